"""Mini-batch linear regression on scikit-learn's diabetes data, from scratch in NumPy and with symupdates.

    python examples/linear_regression.py [--out DIR] [--epochs 2]

The ten standardised features and the standardised target of ``sklearn.datasets.load_diabetes`` (shipped
with scikit-learn, nothing is downloaded); the model ``y = X @ w + b`` from zeros; the loss, the mean
squared error of a batch of 10; Adagrad with learning rate 0.1 (epsilon 1e-6 inside the square root) for
``--epochs`` epochs (2 by default; ``--steps`` is the option's old name), the examples shuffled each epoch
by ``numpy.random.default_rng(seed)``.

The training runs twice from the same batches: once as a NumPy loop written from the equations, once as a
PyTensor function with ``symupdates.adagrad``. Prints both final losses and the largest difference between
the two loss curves, and plots them (``linear_regression.png``).
"""

import numpy as np
import pytensor
import pytensor.tensor as pt
from sklearn.datasets import load_diabetes

import symupdates
from _shared import compiles_on_first_call, parser, progress_bars, save

BATCH_SIZE = 10
LEARNING_RATE = 0.1
EPSILON = 1e-6


def load_data():
    X, y = load_diabetes(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), (y - y.mean()) / y.std()


def batches(n, epochs, seed):
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, BATCH_SIZE):
            yield order[start : start + BATCH_SIZE]


def from_scratch(X, y, epochs, seed):
    """Batch losses of mini-batch Adagrad on the mean squared error, in NumPy."""
    w, b = np.zeros(X.shape[1]), 0.0
    accumulated_w, accumulated_b = np.zeros_like(w), 0.0
    losses = []
    for batch in batches(len(X), epochs, seed):
        residual = X[batch] @ w + b - y[batch]
        losses.append(np.mean(residual**2))
        grad_w, grad_b = 2 * X[batch].T @ residual / len(batch), 2 * np.mean(residual)
        accumulated_w, accumulated_b = accumulated_w + grad_w**2, accumulated_b + grad_b**2
        w = w - LEARNING_RATE * grad_w / np.sqrt(accumulated_w + EPSILON)
        b = b - LEARNING_RATE * grad_b / np.sqrt(accumulated_b + EPSILON)
    return np.array(losses)


def with_symupdates(X, y, epochs, seed):
    """The same training as a compiled PyTensor function with ``symupdates.adagrad``."""
    w = pytensor.shared(np.zeros(X.shape[1]), name="w")
    b = pytensor.shared(0.0, name="b")
    x_batch, y_batch = pt.matrix("x"), pt.vector("y")
    loss = pt.mean((x_batch @ w + b - y_batch) ** 2)
    updates = symupdates.adagrad(loss, [w, b], learning_rate=LEARNING_RATE, epsilon=EPSILON)
    step = pytensor.function([x_batch, y_batch], loss, updates=updates)
    step = compiles_on_first_call(step, "the training step")
    return np.array([step(X[batch], y[batch]) for batch in batches(len(X), epochs, seed)])


def main(argv=None):
    p = parser(__doc__, epochs=2)
    p.add_argument("--seed", type=int, default=0, help="seed of the batch order")
    args = p.parse_args(argv)
    progress_bars(args.no_progress)
    X, y = load_data()
    numpy_losses = from_scratch(X, y, args.epochs, args.seed)
    symupdates_losses = with_symupdates(X, y, args.epochs, args.seed)
    print(f"diabetes: {len(X)} examples, batch {BATCH_SIZE}, {args.epochs} epochs, {len(numpy_losses)} steps")
    print(f"final batch loss, from scratch: {float(numpy_losses[-1])!r}")
    print(f"final batch loss, symupdates:   {float(symupdates_losses[-1])!r}")
    difference = np.max(np.abs(numpy_losses - symupdates_losses))
    print(f"largest difference between the loss curves: {difference:.3g}")

    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(numpy_losses, linewidth=4, alpha=0.4, label="from scratch (NumPy)")
    ax.plot(symupdates_losses, "k--", linewidth=1, label="symupdates.adagrad")
    ax.set(xlabel="step (batch of 10)", ylabel="batch MSE (standardised)", title="diabetes, Adagrad lr 0.1")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
    save(figure, args.out, "linear_regression.png")


if __name__ == "__main__":
    main()
