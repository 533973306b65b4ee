"""Matrix factorization with missing entries: R ~ W @ H, fitted to the observed entries with Adagrad.

    python examples/matrix_factorization.py [--out DIR] [--steps 5000] [--rank 5]

The loss is the RMSE over the observed (not NaN) entries, ``sqrt(mean((W @ H - R)[observed]^2))``.

1. The tiny example: 3 users' ratings of 4 items, ``[[3, 4, 5, 2], [4, 4, 3, 3], [5, 5, 4, 3]]``
   transposed (4 x 3), one entry masked, rank 2, ``symupdates.adagrad(learning_rate=0.01)``.
2. A synthetic 200 x 150 matrix of rank ``--rank`` plus noise of standard deviation 0.1 with 80 % of its
   entries missing: the same loss, rank ``--rank``, Adagrad with learning rate 0.1. The missing entries are
   the held-out set.

Prints the tiny example's RMSE along the way and its final factors, the synthetic problem's train and
held-out RMSE (and, for scale, the held-out RMSE of predicting the mean of the observed entries), writes
``matrix_factorization.npz`` (initial and final factors, matrices, masks, RMSE per step) and the loss curves
``matrix_factorization.png``.
"""

import numpy as np
import pytensor
import pytensor.tensor as pt

import symupdates
from _shared import parser, save

RATINGS = np.array([[3, 4, 5, 2], [4, 4, 3, 3], [5, 5, 4, 3]], dtype="float64").T
MASKED = (3, 1)  # the entry of the tiny example treated as unknown
NOISE = 0.1


def tiny_problem(seed):
    R = RATINGS.copy()
    R[MASKED] = np.nan
    rng = np.random.default_rng(seed)
    return R, rng.uniform(0, 1, size=(4, 2)), rng.uniform(0, 1, size=(2, 3))


def synthetic_problem(seed, rank, shape=(200, 150), missing=0.8):
    """A rank-``rank`` matrix with entries of unit variance plus noise, its copy with ``missing`` of the
    entries set to NaN, and initial factors."""
    rng = np.random.default_rng(seed)
    full = rng.normal(size=(shape[0], rank)) @ rng.normal(size=(rank, shape[1])) / np.sqrt(rank)
    full += NOISE * rng.normal(size=shape)
    R = np.where(rng.uniform(size=shape) < missing, np.nan, full)
    return full, R, 0.5 * rng.normal(size=(shape[0], rank)), 0.5 * rng.normal(size=(rank, shape[1]))


def rmse(W, H, R):
    """Symbolic RMSE of ``W @ H`` over the entries of ``R`` that are not NaN."""
    observed = ~np.isnan(R)
    residual = (W @ H - np.nan_to_num(R)) * observed
    return pt.sqrt(pt.sum(residual**2) / observed.sum())


def factorize(R, W0, H0, learning_rate, steps):
    """Fit ``W @ H`` to ``R`` with Adagrad from ``(W0, H0)``; returns ``(W, H, rmse)``, ``rmse[k]`` the
    RMSE after ``k`` steps."""
    W, H = pytensor.shared(W0.copy(), name="W"), pytensor.shared(H0.copy(), name="H")
    loss = rmse(W, H, R)
    step = pytensor.function([], loss, updates=symupdates.adagrad(loss, [W, H], learning_rate=learning_rate))
    losses = [float(step()) for _ in range(steps)]  # each call returns the RMSE before its step
    W, H = W.get_value(), H.get_value()
    return W, H, np.array(losses + [numpy_rmse(W, H, R)])


def numpy_rmse(W, H, R):
    observed = ~np.isnan(R)
    return float(np.sqrt(np.mean((W @ H - R)[observed] ** 2)))


def main(argv=None):
    p = parser(__doc__, steps=5000)
    p.add_argument("--rank", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    R, W0, H0 = tiny_problem(args.seed)
    W, H, tiny_losses = factorize(R, W0, H0, learning_rate=0.01, steps=args.steps)
    print("tiny 4x3, rank 2, adagrad lr 0.01:")
    for k in sorted({0, 1, 10, 100, 1000, args.steps} & set(range(args.steps + 1))):
        print(f"  step {k:5d}: RMSE {tiny_losses[k]:.10f}")
    print(f"  W @ H =\n{np.array2string(W @ H, precision=3)}")
    print(f"  masked entry {MASKED}: {(W @ H)[MASKED]:.3f} (true rating {RATINGS[MASKED]:g})")

    full, S, SW0, SH0 = synthetic_problem(args.seed, args.rank)
    SW, SH, synthetic_losses = factorize(S, SW0, SH0, learning_rate=0.1, steps=args.steps)
    held_out = np.isnan(S)
    mean_baseline = float(np.sqrt(np.mean((full[held_out] - np.nanmean(S)) ** 2)))
    print(f"synthetic 200x150, rank {args.rank}, 80% missing, adagrad lr 0.1, {args.steps} steps:")
    print(f"  train RMSE: {numpy_rmse(SW, SH, S):.4f}")
    print(f"  held-out RMSE: {float(np.sqrt(np.mean((SW @ SH - full)[held_out] ** 2))):.4f}")
    print(f"  held-out RMSE of the observed mean: {mean_baseline:.4f} (noise level {NOISE})")

    args.out.mkdir(parents=True, exist_ok=True)
    np.savez(
        args.out / "matrix_factorization.npz",
        tiny_R=R, tiny_W0=W0, tiny_H0=H0, tiny_W=W, tiny_H=H, tiny_rmse=tiny_losses,
        synthetic_full=full, synthetic_R=S, synthetic_W=SW, synthetic_H=SH, synthetic_rmse=synthetic_losses,
    )  # fmt: skip
    print(f"wrote {args.out / 'matrix_factorization.npz'}")
    plot(tiny_losses, synthetic_losses, args.out)


def plot(tiny_losses, synthetic_losses, out):
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    axes[0].plot(tiny_losses)
    axes[0].set(title="tiny 4 x 3, rank 2", xlabel="step", ylabel="RMSE over observed entries")
    axes[1].semilogy(synthetic_losses, label="train")
    axes[1].axhline(NOISE, color="0.5", linestyle="--", label="noise level")
    axes[1].set(title="synthetic 200 x 150, 80 % missing", xlabel="step")
    axes[1].legend()
    save(figure, out, "matrix_factorization.png")


if __name__ == "__main__":
    main()
