"""Embedding-table training step: a float32 table N x 64, a loss on 256 looked-up rows, one step of sgd,
adagrad or (lazy) adam; microseconds per step, forward and backward included.

Peers: symupdates dense (the rule as is) and sparse (``symupdates.sparse(rule)``, ``lazy=True`` for adam),
both through ``fast_function`` (NUMBA); torch ``nn.Embedding(sparse=True)`` with ``SGD`` / ``Adagrad`` /
``SparseAdam`` (1 thread); optax (dense gradient, ``jax.jit`` with donated buffers). Run alone with
``python benchmarks/sparse_step.py [--sizes 1e4 1e5] [--repeats 5]``; ``benchmarks/run.py`` runs it too.
"""

import argparse
import functools
import gc

from common import interleaved_median_us, ratio_table  # first: puts this checkout on sys.path

# isort: split

import numpy as np
import pytensor
import pytensor.tensor as pt

import symupdates as su

DIM, BATCH, LR = 64, 256, 0.01
SIZES = [10**4, 10**5, 10**6]
RULES = ["sgd", "adagrad", "adam"]
PEERS = ["symupdates dense", "symupdates sparse", "torch sparse", "optax dense"]
TORCH = {"sgd": "SGD", "adagrad": "Adagrad", "adam": "SparseAdam"}


def batch(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, n, size=BATCH).astype("int64"), rng.normal(size=(BATCH, DIM)).astype("float32")


def symupdates_step(rule, n, sparse):
    table = pytensor.shared(np.random.default_rng(1).normal(size=(n, DIM)).astype("float32"), name="E")
    idx, target = pt.lvector("idx"), pt.fmatrix("target")
    loss = ((table[idx] - target) ** 2).sum() / 2
    made = {
        "sgd": su.sgd(learning_rate=LR),
        "adagrad": su.adagrad(learning_rate=LR),
        "adam": su.adam(learning_rate=LR),
    }[rule]
    if sparse:
        made = su.sparse(made, lazy=rule == "adam")
    return su.fast_function([idx, target], [], updates=made(loss, [table]))


def torch_step(rule, n):
    import torch

    torch.set_num_threads(1)
    embedding = torch.nn.Embedding(n, DIM, sparse=True)
    opt = getattr(torch.optim, TORCH[rule])(embedding.parameters(), lr=LR)

    def step(idx, target):
        opt.zero_grad()
        loss = ((embedding(idx) - target) ** 2).sum() / 2
        loss.backward()
        opt.step()

    return step


def optax_step(rule, n):
    import jax
    import jax.numpy as jnp
    import optax

    opt = getattr(optax, rule)(LR)
    table = jnp.asarray(np.random.default_rng(1).normal(size=(n, DIM)).astype("float32"))
    state = [table, opt.init(table)]

    @jax.jit
    def loss(table, idx, target):
        return ((table[idx] - target) ** 2).sum() / 2

    def update(table, opt_state, idx, target):
        grads = jax.grad(loss)(table, idx, target)
        updates, opt_state = opt.update(grads, opt_state, table)
        return optax.apply_updates(table, updates), opt_state

    update = jax.jit(update, donate_argnums=(0, 1))

    def step(idx, target):
        state[0], state[1] = update(state[0], state[1], idx, target)
        state[0].block_until_ready()

    return step


def run(sizes=SIZES, rules=RULES, repeats=5, log=print):
    import torch

    rows = []
    for rule in rules:
        for n in sizes:
            idx, target = batch(n)
            t_idx, t_target = torch.from_numpy(idx), torch.from_numpy(target)
            dense, sparse = symupdates_step(rule, n, False), symupdates_step(rule, n, True)
            torch_call, optax_call = torch_step(rule, n), optax_step(rule, n)
            calls = {
                "symupdates dense": functools.partial(dense, idx, target),
                "symupdates sparse": functools.partial(sparse, idx, target),
                "torch sparse": functools.partial(torch_call, t_idx, t_target),
                "optax dense": functools.partial(optax_call, idx, target),
            }
            times = interleaved_median_us(calls, repeats=repeats)
            label = f"{'lazy adam' if rule == 'adam' else rule}, N={n:.0e}"
            log(f"{label}: " + ", ".join(f"{k} {v:,.0f}" for k, v in times.items()))
            rows.append((label, times))
            del dense, sparse, torch_call, optax_call, calls
            gc.collect()
    return rows


def table(rows):
    return ratio_table(
        "Embedding-table step (N x 64 float32, 256 looked-up rows), forward + backward + update",
        rows,
        PEERS,
        reference_peers=["torch sparse"],
        note="In parentheses the ratio to torch's sparse optimizer (nn.Embedding(sparse=True); SparseAdam "
        "for lazy adam). `symupdates dense` and `optax dense` update the whole table; `symupdates sparse` "
        "is `symupdates.sparse(rule)` (`lazy=True` for adam).",
    )


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=float, nargs="+", default=SIZES, help="rows (default: %(default)s)")
    parser.add_argument("--rules", nargs="+", default=RULES, choices=RULES, help="default: %(default)s")
    parser.add_argument("--repeats", type=int, default=5, help="repeats per peer (default: %(default)s)")
    args = parser.parse_args()
    print(table(run([int(n) for n in args.sizes], args.rules, args.repeats)))


if __name__ == "__main__":
    main()
