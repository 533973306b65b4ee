"""Matrix factorization with missing entries: R ~ W @ H, fitted to the observed entries with Adagrad.

    python examples/matrix_factorization.py [--out DIR] [--steps 5000] [--rank 5] [--fit-rank 20] [--l2 1]

The loss is the RMSE over the observed (not NaN) entries, ``sqrt(mean((W @ H - R)[observed]^2))``.

1. The tiny example: 3 users' ratings of 4 items, ``[[3, 4, 5, 2], [4, 4, 3, 3], [5, 5, 4, 3]]``
   transposed (4 x 3), one entry masked, rank 2, ``symupdates.adagrad(learning_rate=0.01)``.
2. A synthetic 200 x 150 matrix of rank ``--rank`` plus noise of standard deviation 0.1 with 80 % of its
   entries missing: the same loss, factors of rank ``--fit-rank`` (default ``--rank``), Adagrad with
   learning rate 0.1. The missing entries are the held-out set, whose RMSE is recorded after every step but
   never trained on. Factors of a higher rank than the data's fit the noise of the observed entries (train
   RMSE far below the noise, held-out RMSE far above it); ``--l2 LAMBDA`` fits the problem a second time
   with the loss ``RMSE + LAMBDA * (mean(W^2) + mean(H^2))`` and draws both fits.

Prints the tiny example's RMSE along the way and its final factors, the synthetic problem's train and
held-out RMSE (and, for scale, the held-out RMSE of predicting the mean of the observed entries), writes
``matrix_factorization.npz`` (initial and final factors, matrices, masks, train and held-out RMSE per step)
and the loss curves ``matrix_factorization.png``.
"""

import argparse

import numpy as np
import pytensor
import pytensor.tensor as pt

import symupdates
from _shared import compiles_on_first_call, parser, progress_bars, save

RATINGS = np.array([[3, 4, 5, 2], [4, 4, 3, 3], [5, 5, 4, 3]], dtype="float64").T
MASKED = (3, 1)  # the entry of the tiny example treated as unknown
NOISE = 0.1


def tiny_problem(seed):
    R = RATINGS.copy()
    R[MASKED] = np.nan
    rng = np.random.default_rng(seed)
    return R, rng.uniform(0, 1, size=(4, 2)), rng.uniform(0, 1, size=(2, 3))


def synthetic_problem(seed, rank, shape=(200, 150), missing=0.8, fit_rank=None):
    """A rank-``rank`` matrix with entries of unit variance plus noise, its copy with ``missing`` of the
    entries set to NaN, and initial factors of rank ``fit_rank`` (default ``rank``)."""
    fit_rank = fit_rank or rank
    rng = np.random.default_rng(seed)
    full = rng.normal(size=(shape[0], rank)) @ rng.normal(size=(rank, shape[1])) / np.sqrt(rank)
    full += NOISE * rng.normal(size=shape)
    R = np.where(rng.uniform(size=shape) < missing, np.nan, full)
    return full, R, 0.5 * rng.normal(size=(shape[0], fit_rank)), 0.5 * rng.normal(size=(fit_rank, shape[1]))


def rmse(W, H, R):
    """Symbolic RMSE of ``W @ H`` over the entries of ``R`` that are not NaN."""
    observed = ~np.isnan(R)
    residual = (W @ H - np.nan_to_num(R)) * observed
    return pt.sqrt(pt.sum(residual**2) / observed.sum())


def factorize(R, W0, H0, learning_rate, steps, held_out=None, l2=0.0, *, name):
    """Fit ``W @ H`` to ``R`` with Adagrad from ``(W0, H0)``, minimising the RMSE plus ``l2`` times the mean
    squares of ``W`` and ``H``; returns ``(W, H, rmse)``, ``rmse[k]`` the RMSE over the observed entries
    after ``k`` steps, and with ``held_out`` (a matrix whose entries not NaN are scored) ``(W, H, rmse,
    held_out_rmse)``. ``name`` goes into the lines printed around the compile."""
    W, H = pytensor.shared(W0.copy(), name="W"), pytensor.shared(H0.copy(), name="H")
    loss = rmse(W, H, R)
    objective = loss + l2 * (pt.mean(W**2) + pt.mean(H**2)) if l2 else loss
    updates = symupdates.adagrad(objective, [W, H], learning_rate=learning_rate)
    outputs = [loss] if held_out is None else [loss, rmse(W, H, held_out)]
    step = pytensor.function([], outputs, updates=updates)
    step = compiles_on_first_call(step, f"the {name} problem's step")
    # each call returns the RMSEs before its step
    history = np.array([[float(value) for value in step()] for _ in range(steps)]).reshape(steps, -1)
    W, H = W.get_value(), H.get_value()
    final = [numpy_rmse(W, H, R)] + ([] if held_out is None else [numpy_rmse(W, H, held_out)])
    return (W, H, *np.vstack([history, final]).T)


def numpy_rmse(W, H, R):
    observed = ~np.isnan(R)
    return float(np.sqrt(np.mean((W @ H - R)[observed] ** 2)))


def non_negative(text):
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def main(argv=None):
    p = parser(__doc__, steps=5000)
    p.add_argument("--rank", type=int, default=5, help="rank of the synthetic matrix")
    p.add_argument("--fit-rank", type=int, default=None, help="rank of the fitted factors (None: --rank)")
    p.add_argument("--seed", type=int, default=0, help="seed of the data, the mask and the initial factors")
    p.add_argument(
        "--l2", type=non_negative, default=0.0,
        help="also fit the synthetic problem with this L2 penalty on the factors and draw both fits (0: no)",
    )  # fmt: skip
    args = p.parse_args(argv)
    progress_bars(args.no_progress)

    R, W0, H0 = tiny_problem(args.seed)
    W, H, tiny_losses = factorize(R, W0, H0, 0.01, args.steps, name="tiny")
    print("tiny 4x3, rank 2, adagrad lr 0.01:")
    for k in sorted({0, 1, 10, 100, 1000, args.steps} & set(range(args.steps + 1))):
        print(f"  step {k:5d}: RMSE {tiny_losses[k]:.10f}")
    print(f"  W @ H =\n{np.array2string(W @ H, precision=3)}")
    print(f"  masked entry {MASKED}: {(W @ H)[MASKED]:.3f} (true rating {RATINGS[MASKED]:g})")

    full, S, SW0, SH0 = synthetic_problem(args.seed, args.rank, fit_rank=args.fit_rank)
    held_out = np.isnan(S)
    T = np.where(held_out, full, np.nan)  # the held-out entries, scored but never trained on
    mean_baseline = float(np.sqrt(np.mean((full[held_out] - np.nanmean(S)) ** 2)))
    fits = {}  # {L2 penalty: (W, H, train RMSE per step, held-out RMSE per step)}, 0 first
    for l2 in sorted({0.0, args.l2}):
        name = "L2-penalised synthetic" if l2 else "synthetic"
        fits[l2] = factorize(S, SW0, SH0, 0.1, args.steps, T, l2, name=name)
    for l2, (SW, _, train_rmse, held_out_rmse) in fits.items():
        penalty = f", L2 penalty {l2:g}" if l2 else ""
        ranks = f"rank {args.rank}, fit rank {SW.shape[1]}"
        print(f"synthetic 200x150, {ranks}, 80% missing, adagrad lr 0.1, {args.steps} steps{penalty}:")
        print(f"  train RMSE: {train_rmse[-1]:.4f}")
        print(f"  held-out RMSE: {held_out_rmse[-1]:.4f} (lowest {held_out_rmse.min():.4f}, step "
              f"{held_out_rmse.argmin()})")  # fmt: skip
    print(f"held-out RMSE of the observed mean: {mean_baseline:.4f} (noise level {NOISE})")

    SW, SH, synthetic_losses, held_out_losses = fits[0.0]
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez(
        args.out / "matrix_factorization.npz",
        tiny_R=R, tiny_W0=W0, tiny_H0=H0, tiny_W=W, tiny_H=H, tiny_rmse=tiny_losses,
        synthetic_full=full, synthetic_R=S, synthetic_W0=SW0, synthetic_H0=SH0,
        synthetic_W=SW, synthetic_H=SH,
        synthetic_rmse=synthetic_losses, synthetic_held_out_rmse=held_out_losses,
        **({"l2": args.l2, "l2_W": fits[args.l2][0], "l2_H": fits[args.l2][1], "l2_rmse": fits[args.l2][2],
            "l2_held_out_rmse": fits[args.l2][3]} if args.l2 else {}),
    )  # fmt: skip
    print(f"wrote {args.out / 'matrix_factorization.npz'}")
    plot(tiny_losses, fits, mean_baseline, ranks, args.out)


def plot(tiny_losses, fits, mean_baseline, ranks, out):
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 4), width_ratios=[1, 1.6], layout="constrained")
    axes[0].plot(tiny_losses)
    axes[0].set(title="tiny 4 x 3, rank 2", xlabel="step", ylabel="RMSE over observed entries")
    # One colour per fit: the L2-penalised fit is there with --l2 only.
    for (l2, (_, _, train_rmse, held_out_rmse)), colour in zip(fits.items(), ("C0", "C1"), strict=False):
        fit = f"L2 penalty {l2:g}" if l2 else "no penalty"
        axes[1].semilogy(train_rmse, color=colour, linewidth=1, label=f"train, {fit}: {train_rmse[-1]:.3f}")
        label = f"held-out, {fit}: {held_out_rmse[-1]:.3f}"
        axes[1].semilogy(held_out_rmse, color=colour, linewidth=2.5, label=label)
        for curve, text in ((train_rmse, "train"), (held_out_rmse, "held-out")):
            axes[1].annotate(text, (len(curve) - 1, curve[-1]), xytext=(3, 0), textcoords="offset points",
                             va="center", color=colour, fontsize=9)  # fmt: skip
    axes[1].axhline(NOISE, color="0.5", linestyle=":", label=f"noise level {NOISE}")
    axes[1].axhline(mean_baseline, color="0.5", linestyle="-.", label="held-out, predicting the mean")
    axes[1].set(title=f"synthetic 200 x 150, {ranks}, 80 % missing (held out)", xlabel="step", ylabel="RMSE")
    axes[1].legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2, fontsize=9)
    save(figure, out, "matrix_factorization.png")


if __name__ == "__main__":
    main()
