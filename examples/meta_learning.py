"""Meta-learning per-layer learning rates by differentiating through training.

The digits MLP (64-32-10, tanh) is trained for ``k`` steps of SGD with momentum, each layer with its own
learning rate ``exp(s_layer)``. ``symupdates.unroll`` makes those ``k`` steps one graph, so the held-out
loss after them is a function of ``s`` that ``pytensor.grad`` differentiates; ``s`` is then trained by Adam
on that hypergradient (a new draw of mini-batches each meta-iteration, always from the same initial
weights). The picture compares the held-out loss reached with the learned learning rates against the best
single learning rate of a grid search, evaluated on the same mini-batch draws.

Run ``python examples/meta_learning.py --help`` for the options; the figure goes to
``docs/images/meta_learning.png`` by default.
"""

import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytensor  # noqa: E402
import pytensor.tensor as pt  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

import symupdates as su  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=20, help="k, the unrolled training steps")
    parser.add_argument("--batch", type=int, default=64, help="mini-batch size of the inner training")
    parser.add_argument(
        "--meta-iterations", type=int, default=40, help="Adam steps on the log learning rates"
    )
    parser.add_argument("--meta-lr", type=float, default=0.1, help="Adam's learning rate on the log rates")
    parser.add_argument("--initial-lr", type=float, default=0.01, help="both layers' learning rate at start")
    parser.add_argument("--grid", type=int, default=13, help="learning rates in the grid (1e-2 .. 10)")
    parser.add_argument("--draws", type=int, default=4, help="mini-batch draws the final comparison averages")
    parser.add_argument("--mode", default="NUMBA", help="PyTensor mode: NUMBA, CVM, JAX")
    parser.add_argument("--seed", type=int, default=0, help="data split, initial weights and mini-batches")
    parser.add_argument("--out", type=Path, default=Path("."), help="directory for meta_learning.png")
    return parser.parse_args(argv)


def mlp(sizes, rng):
    params = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        params.append(pytensor.shared(rng.normal(scale=1 / np.sqrt(n_in), size=(n_in, n_out)), name=f"W{i}"))
        params.append(pytensor.shared(np.zeros(n_out), name=f"b{i}"))
    return params


def cross_entropy(params, x, y):
    W0, b0, W1, b1 = params
    logits = pt.dot(pt.tanh(pt.dot(x, W0) + b0), W1) + b1
    return -(y * pt.special.log_softmax(logits, axis=-1)).sum(axis=-1).mean()


def main(argv=None):
    args = parse_args(argv)
    rng = np.random.default_rng(args.seed)
    digits = load_digits()
    order = rng.permutation(len(digits.target))
    X, Y = digits.data[order] / 16.0, np.eye(10)[digits.target[order]]
    X_train, Y_train, X_held, Y_held = X[:1200], Y[:1200], X[1200:], Y[1200:]

    params = mlp([64, 32, 10], rng)
    x, y = pt.dmatrix("x"), pt.dmatrix("y")
    xs, ys = pt.dtensor3("xs"), pt.dtensor3("ys")
    log_rates = pt.dvector("log_rates")  # one per layer
    rule = su.multi_transform(
        {f"layer{i}": su.sgd(learning_rate=pt.exp(log_rates[i]), momentum=0.9) for i in range(2)},
        ["layer0", "layer0", "layer1", "layer1"],
    )
    result = su.unroll(rule, cross_entropy(params, x, y), params, {x: xs, y: ys}, args.steps)
    held_out = cross_entropy(result.params, X_held, Y_held)

    start = time.perf_counter()
    meta_step = pytensor.function(
        [log_rates, xs, ys], [held_out, pytensor.grad(held_out, log_rates)], mode=args.mode
    )
    evaluate = pytensor.function([log_rates, xs, ys], held_out, mode=args.mode)

    def draw(generator):
        rows = generator.integers(len(X_train), size=(args.steps, args.batch))
        return X_train[rows], Y_train[rows]

    # NUMBA compiles the loop at the first call: a warm-up call of each, counted with the compilation.
    warm_up = draw(np.random.default_rng(12345))
    meta_step(np.zeros(2), *warm_up)
    evaluate(np.zeros(2), *warm_up)
    print(f"compiled in {time.perf_counter() - start:.1f} s")

    start = time.perf_counter()
    s = np.full(2, np.log(args.initial_lr))
    m, v = np.zeros(2), np.zeros(2)
    history = []
    for t in range(1, args.meta_iterations + 1):
        loss, grad = meta_step(s, *draw(rng))
        history.append(float(loss))
        m, v = 0.9 * m + 0.1 * grad, 0.999 * v + 0.001 * grad**2
        s = s - args.meta_lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    print(f"{args.meta_iterations} meta-iterations in {time.perf_counter() - start:.1f} s")

    # The comparison: the same mini-batch draws for the learned rates and for every rate of the grid.
    draws = [draw(np.random.default_rng(1000 + i)) for i in range(args.draws)]
    grid = np.logspace(-2, 1, args.grid)
    grid_losses = np.array([np.mean([evaluate(np.full(2, np.log(lr)), *d) for d in draws]) for lr in grid])
    best = int(np.nanargmin(grid_losses))
    learned = float(np.mean([evaluate(s, *d) for d in draws]))
    print(f"grid search: best learning rate {grid[best]:.3g}, held-out loss {grid_losses[best]:.4f}")
    print(f"learned: layer rates {np.exp(s)[0]:.3g}, {np.exp(s)[1]:.3g}, held-out loss {learned:.4f}")

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(np.arange(1, len(history) + 1), history, label="meta-training (a new draw each iteration)")
    left.axhline(grid_losses[best], color="C1", ls="--", label=f"best grid rate {grid[best]:.3g}")
    left.axhline(learned, color="C2", ls=":", label="learned rates")
    left.set(xlabel="meta-iteration", ylabel=f"held-out loss after {args.steps} steps", yscale="log")
    left.legend(fontsize=8)
    right.plot(grid, grid_losses, "o-", color="C1", label="grid: one rate for both layers")
    for i in range(2):
        right.axvline(np.exp(s)[i], color="C2", ls=":" if i else "--", label=f"learned rate, layer {i}")
    right.axhline(learned, color="C2", lw=0.8)
    right.set(
        xscale="log", yscale="log", xlabel="learning rate", ylabel=f"held-out loss after {args.steps} steps"
    )
    right.legend(fontsize=8)
    fig.suptitle(f"digits MLP 64-32-10, SGD with momentum, {args.steps} unrolled steps")
    fig.tight_layout()
    args.out.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out / "meta_learning.png", dpi=100)
    print(f"wrote {args.out / 'meta_learning.png'}")


if __name__ == "__main__":
    main()
