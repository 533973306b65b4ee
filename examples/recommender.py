"""A recommender: a 1,000,000-row user table and an item table fitted to ~1M ratings with sparse Adagrad.

    python examples/recommender.py [--out DIR] [--epochs 12] [--users 1000000] [--active-users 20000] [...]

The seed's masked matrix factorization at scale. Synthetic ratings: a rank-8 truth ``u_i . v_j`` (unit
variance) plus Gaussian noise of standard deviation ``--noise``, observed for ``--ratings`` random
(user, item) pairs of ``--active-users`` users (the user table has a row for each of ``--users``
accounts, as an embedding table sized for a whole catalogue does; a step touches a few rows of it),
5 % of them held out. The model predicts ``U[user] . V[item]``; each step takes a minibatch of
(user, item, rating) triples and minimises the mean squared error over it, plus ``--l2`` times the mean
squared norm of the looked-up rows, with ``symupdates.sparse(symupdates.adagrad(...))``, which updates only
the looked-up rows of ``U`` and ``V`` (and of their accumulators). The held-out RMSE per epoch is compared
with the noise level (the RMSE of the truth itself), and the seconds per epoch of the sparse step with
those of the dense ``adagrad`` step, which reads and writes every row of both tables and their
accumulators at every step: timed on ``--dense-steps`` steps (times the steps of an epoch), or on
``--dense-epochs`` whole epochs (then its held-out RMSE equals the sparse model's: the two steps are the
same to the last bit). Progress bars show each epoch on a terminal (not with ``--no-progress``). Writes
``recommender.png`` and ``recommender.npz``.
"""

import argparse
import time
from pathlib import Path

import numpy as np
import pytensor
import pytensor.tensor as pt
from tqdm import tqdm

import symupdates
from _shared import add_no_progress, compiles_on_first_call, progress_bars, progress_on, save

RANK, HELD_OUT = 8, 0.05


def ratings(users, items, count, noise, seed, active_users=None):
    """``(user, item, rating)`` arrays of ``count`` distinct pairs: the rank-8 truth plus noise, the users
    among ``active_users`` of the ``users`` rows (all of them by default; else a random choice of rows)."""
    active_users = users if active_users is None else active_users
    rng = np.random.default_rng(seed)
    true_users = rng.normal(size=(active_users, RANK)) / RANK**0.25
    true_items = rng.normal(size=(items, RANK)) / RANK**0.25
    pairs = np.unique(rng.integers(0, active_users * items, size=int(count * 1.01)))[:count]
    rng.shuffle(pairs)
    user, item = pairs // items, pairs % items
    rating = (true_users[user] * true_items[item]).sum(axis=1) + noise * rng.normal(size=len(pairs))
    if active_users < users:  # which rows of the table the active users have
        user = rng.choice(users, size=active_users, replace=False)[user]
    return user.astype("int64"), item.astype("int64"), rating.astype("float32")


def model(users, items, dim, learning_rate, l2, seed, sparse):
    """A compiled training step ``step(user, item, rating) -> batch MSE``, a held-out RMSE function and
    the embedding tables."""
    rng = np.random.default_rng(seed)
    U = pytensor.shared((0.1 * rng.normal(size=(users, dim))).astype("float32"), name="U")
    V = pytensor.shared((0.1 * rng.normal(size=(items, dim))).astype("float32"), name="V")
    user, item, rating = pt.lvector("user"), pt.lvector("item"), pt.fvector("rating")
    predicted = (U[user] * V[item]).sum(axis=1)
    # The L2 penalty is on the looked-up rows, so that the gradient stays a scatter of rows.
    penalty = ((U[user] ** 2).sum(axis=1) + (V[item] ** 2).sum(axis=1)).mean()
    loss = ((predicted - rating) ** 2).mean() + l2 * penalty
    rule = symupdates.adagrad(learning_rate=learning_rate)
    updates = (symupdates.sparse(rule) if sparse else rule)(loss, [U, V])
    step = symupdates.fast_function([user, item, rating], loss, updates=updates)
    # One step on a made-up triple builds the compiled code, so that the first epoch's time is the step's
    # alone; the tables and the accumulators are then put back.
    initial = [U.get_value(), V.get_value()]
    what = f"the {'sparse' if sparse else 'dense'} training step"
    compiles_on_first_call(step, what)(np.zeros(1, "int64"), np.zeros(1, "int64"), np.ones(1, "float32"))
    U.set_value(initial[0]), V.set_value(initial[1])
    symupdates.reset_state(updates)
    rmse = pytensor.function([user, item, rating], pt.sqrt(((predicted - rating) ** 2).mean()))
    return step, rmse, (U, V)


def train(data, args, sparse, epochs, steps=None):
    """Train for ``epochs``, or only ``steps`` steps of the first; returns (held-out RMSE per epoch, seconds
    per epoch, tables). After ``steps`` steps the seconds per epoch are those steps' times the steps of an
    epoch, and there is no held-out RMSE."""
    user, item, rating = data
    split = int(len(rating) * (1 - HELD_OUT))
    step, rmse, tables = model(
        args.users, args.items, args.dim, args.learning_rate, args.l2, args.seed, sparse
    )
    rng = np.random.default_rng(args.seed + 1)
    batches = split // args.batch
    held_out, seconds = [], []
    for epoch in range(epochs):
        order = rng.permutation(split)
        start = time.perf_counter()
        bar = tqdm(
            range(batches),
            desc=f"{'sparse' if sparse else 'dense'} epoch {epoch + 1}/{epochs}",
            unit="step",
            mininterval=1.0,
            disable=not progress_on(),
        )
        for b in bar:
            if b == steps:
                break
            chosen = order[b * args.batch : (b + 1) * args.batch]
            mse = step(user[chosen], item[chosen], rating[chosen])
            if b % 200 == 0:
                bar.set_postfix(mse=f"{float(mse):.3f}")
        bar.close()
        if steps is not None:
            seconds.append((time.perf_counter() - start) / min(steps, batches) * batches)
            print(
                f"dense: {min(steps, batches)} steps timed, {seconds[-1]:.1f} s per epoch of {batches} steps"
            )
            return held_out, seconds, tables
        seconds.append(time.perf_counter() - start)
        held_out.append(float(rmse(user[split:], item[split:], rating[split:])))
        print(
            f"{'sparse' if sparse else 'dense'} epoch {epoch + 1}: held-out RMSE {held_out[-1]:.4f}, "
            f"{seconds[-1]:.1f} s"
        )
    return held_out, seconds, tables


def plot(sparse_rmse, noise, sparse_seconds, dense_seconds, args):
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(
        1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [3, 2]}, layout="constrained"
    )
    epochs = np.arange(1, len(sparse_rmse) + 1)
    left.plot(epochs, sparse_rmse, "o-", label="held-out RMSE (sparse Adagrad)")
    left.axhline(noise, color="k", linestyle="--", label=f"noise level ({noise})")
    left.set(xlabel="epoch", ylabel="RMSE", title="Held-out RMSE per epoch", ylim=(0, None))
    left.legend()
    dense, sparse = np.mean(dense_seconds), np.mean(sparse_seconds)
    bars = right.bar(["dense adagrad", "sparse adagrad"], [dense, sparse], color=["tab:gray", "tab:blue"])
    timed = "" if args.dense_epochs else f"\n(from {args.dense_steps} timed steps)"
    right.bar_label(bars, labels=[f"{dense:.1f} s{timed}", f"{sparse:.2f} s"])
    right.set(ylabel="seconds per epoch", ylim=(0, 1.2 * max(dense, sparse)))
    right.set_title(f"Seconds per epoch: sparse is {dense / sparse:.0f}x faster", fontsize=11)
    figure.suptitle(
        f"U: {args.users:,} x {args.dim} ({min(args.active_users, args.users):,} users rate), "
        f"V: {args.items:,} x {args.dim}. The dense step reads and writes every row of U, V and their "
        "accumulators at every step; the sparse step, the batch's rows.",
        fontsize=10,
    )
    return save(figure, args.out, "recommender.png")


def main(argv=None):
    cli = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    cli.add_argument("--out", type=Path, default=Path("."), help="directory for the outputs")
    cli.add_argument("--epochs", type=int, default=12, help="sparse model's epochs")
    cli.add_argument(
        "--dense-steps", type=int, default=30, help="steps the dense model is timed on (an epoch's share)"
    )
    cli.add_argument(
        "--dense-epochs",
        type=int,
        default=0,
        help="whole epochs of the dense model instead (0: --dense-steps)",
    )
    cli.add_argument("--users", type=int, default=1_000_000, help="users (rows of U)")
    cli.add_argument("--active-users", type=int, default=20_000, help="users who rate (at most --users)")
    cli.add_argument("--items", type=int, default=10_000, help="items (rows of V)")
    cli.add_argument("--ratings", type=int, default=1_000_000, help="observed ratings")
    cli.add_argument("--noise", type=float, default=0.3, help="noise std")
    cli.add_argument("--dim", type=int, default=16, help="embedding size")
    cli.add_argument("--batch", type=int, default=1024, help="triples per step")
    cli.add_argument("--learning-rate", type=float, default=0.3, help="Adagrad's learning rate")
    cli.add_argument("--l2", type=float, default=0.03, help="row penalty")
    cli.add_argument("--seed", type=int, default=0, help="ratings, initial tables, batch order")
    add_no_progress(cli)
    args = cli.parse_args(argv)
    progress_bars(args.no_progress)
    args.out.mkdir(parents=True, exist_ok=True)
    data = ratings(
        args.users, args.items, args.ratings, args.noise, args.seed, min(args.active_users, args.users)
    )
    sparse_rmse, sparse_seconds, (U, V) = train(data, args, sparse=True, epochs=args.epochs)
    if args.dense_epochs:
        dense_rmse, dense_seconds, _ = train(data, args, sparse=False, epochs=args.dense_epochs)
    else:
        dense_rmse, dense_seconds, _ = train(data, args, sparse=False, epochs=1, steps=args.dense_steps)
    print(
        f"seconds per epoch: dense {np.mean(dense_seconds):.1f}, sparse {np.mean(sparse_seconds):.2f} "
        f"({np.mean(dense_seconds) / np.mean(sparse_seconds):.0f}x)"
    )
    np.savez(
        args.out / "recommender.npz",
        held_out_rmse=sparse_rmse,
        dense_held_out_rmse=dense_rmse,
        sparse_seconds=sparse_seconds,
        dense_seconds=dense_seconds,
        noise=args.noise,
        rated_users=np.unique(data[0]),
        U=U.get_value()[np.unique(data[0])],  # the rows of the users who rate (the others keep their start)
        V=V.get_value(),
    )
    plot(sparse_rmse, args.noise, sparse_seconds, dense_seconds, args)


if __name__ == "__main__":
    main()
