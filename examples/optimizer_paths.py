"""Seven optimizers train one sigmoid neuron; watch their paths over the error surface.

    python examples/optimizer_paths.py [--out DIR] [--steps 300]

The neuron is ``y = sigma(w * x + b)`` with the squared error ``E(w, b) = 1/2 * sum((y(x_i) - y_i)^2)``,
started at ``w = b = -2`` on two toy data sets: the classic two points X = [0.5, 2.5], Y = [0.2, 0.9] and a
harder six-point set. It is trained with gradient descent, stochastic / mini-batch gradient descent (one
batch per step, batches taken in order), momentum, Nesterov momentum, AdaGrad, RMSProp and Adam, all
symupdates rules compiled into one PyTensor function.

Writes ``optimizer_paths_histories.npz`` (``"<data set>/<optimizer>/path"``, the (w, b) after each step,
and ``".../loss"``, E along the path), ``optimizer_paths_contour.png`` (every path on the error surface of
each data set), ``optimizer_paths_loss.png``, ``optimizer_paths_surface.png`` (3-D) and
``optimizer_paths.gif`` (the paths growing), and prints the final (w, b) and error of every run.
"""

import numpy as np
import pytensor.tensor as pt

import symupdates
from _shared import optimize_paths, parser, save, save_animation

START = (-2.0, -2.0)
DATA_SETS = {
    "two points": (np.array([0.5, 2.5]), np.array([0.2, 0.9])),
    "six points": (np.array([-1.0, 0.3, 1.1, 2.0, 3.2, 4.5]), np.array([0.25, 0.15, 0.6, 0.5, 0.9, 0.8])),
}
BATCH_SIZES = {"two points": 1, "six points": 2}
OPTIMIZERS = {
    "gd": symupdates.sgd(learning_rate=1.0),
    "minibatch gd": symupdates.sgd(learning_rate=1.0),
    "momentum": symupdates.momentum(learning_rate=1.0, momentum=0.9),
    "nesterov": symupdates.nesterov_momentum(learning_rate=1.0, momentum=0.9),
    "adagrad": symupdates.adagrad(learning_rate=1.0),
    "rmsprop": symupdates.rmsprop(learning_rate=0.1),
    "adam": symupdates.adam(learning_rate=0.1),
}


def error(w, b, X, Y):
    """E(w, b) on (X, Y), broadcasting over arrays of w and b (NumPy)."""
    prediction = 1 / (1 + np.exp(-(np.multiply.outer(w, X) + np.multiply.outer(b, np.ones_like(X)))))
    return 0.5 * np.sum((prediction - Y) ** 2, axis=-1)


def symbolic_error(theta, X, Y):
    return 0.5 * pt.sum((pt.sigmoid(theta[0] * X + theta[1]) - Y) ** 2)


def batch(data_set, k):
    """The ``k``-th mini-batch (0-based step) of ``data_set``: consecutive points, cycling."""
    X, Y = DATA_SETS[data_set]
    size = BATCH_SIZES[data_set]
    start = (k * size) % len(X)
    return X[start : start + size], Y[start : start + size]


def train(steps):
    """``{(data set, optimizer): path}``."""
    runs, inputs = {}, []
    for data_set, (X, Y) in DATA_SETS.items():
        xb, yb = pt.vector(f"{data_set} x"), pt.vector(f"{data_set} y")
        inputs += [xb, yb]
        for name, rule in OPTIMIZERS.items():
            data = (xb, yb) if name == "minibatch gd" else (X, Y)
            runs[data_set, name] = (rule, START, lambda theta, data=data: symbolic_error(theta, *data))
    return optimize_paths(runs, steps, inputs, feed=lambda k: [v for d in DATA_SETS for v in batch(d, k)])


def error_grid(data_set, limits=(-7, 7, -7, 7), n=120):
    w, b = np.meshgrid(np.linspace(*limits[:2], n), np.linspace(*limits[2:], n))
    return w, b, error(w, b, *DATA_SETS[data_set])


def draw_paths(ax, paths, data_set, upto=None):
    ax.contourf(*error_grid(data_set), levels=20, cmap="Blues_r")
    lines = []
    for name in OPTIMIZERS:
        path = paths[data_set, name][: upto and upto + 1]
        lines += ax.plot(*path.T, "-", linewidth=1.5, label=name)
    ax.plot(*START, "ko")
    ax.set(xlabel="w", ylabel="b", title=f"{data_set}")
    return lines


def plot(paths, out, steps):
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation

    figure, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, data_set in zip(axes, DATA_SETS):
        draw_paths(ax, paths, data_set)
    axes[0].legend(loc="lower right", fontsize=8)
    figure.suptitle(f"sigmoid neuron, squared error: {steps} steps from w = b = -2")
    save(figure, out, "optimizer_paths_contour.png")

    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, data_set in zip(axes, DATA_SETS):
        for name in OPTIMIZERS:
            ax.semilogy(error(*paths[data_set, name].T, *DATA_SETS[data_set]), label=name)
        ax.set(title=data_set, xlabel="step", ylabel="E(w, b)")
    axes[0].legend(fontsize=8)
    save(figure, out, "optimizer_paths_loss.png")

    figure = plt.figure(figsize=(6, 4.5))
    ax = figure.add_subplot(projection="3d")
    ax.plot_surface(*error_grid("two points", n=60), cmap="viridis", alpha=0.5, linewidth=0)
    for name in ("gd", "adam"):
        w, b = paths["two points", name].T
        lifted = error(w, b, *DATA_SETS["two points"]) + 0.01  # drawn just above the surface
        ax.plot(w, b, lifted, "-", color="red" if name == "adam" else "k", linewidth=2, label=name)
    ax.set(xlabel="w", ylabel="b", zlabel="E", title="two points: error surface")
    ax.view_init(elev=50, azim=-60)
    ax.legend()
    save(figure, out, "optimizer_paths_surface.png")

    figure, ax = plt.subplots(figsize=(5, 4))
    frames = np.unique(np.linspace(0, steps, min(steps, 40) + 1).astype(int))
    lines = draw_paths(ax, paths, "two points", upto=0)
    ax.legend(loc="lower right", fontsize=7)

    def update(k):
        for line, name in zip(lines, OPTIMIZERS):
            line.set_data(*paths["two points", name][: k + 1].T)
        ax.set_title(f"two points, step {k}")
        return lines

    save_animation(FuncAnimation(figure, update, frames=frames), out, "optimizer_paths.gif")


def main(argv=None):
    args = parser(__doc__, steps=300).parse_args(argv)
    paths = train(args.steps)
    histories = {}
    for (data_set, name), path in paths.items():
        loss = error(*path.T, *DATA_SETS[data_set])
        histories[f"{data_set}/{name}/path"], histories[f"{data_set}/{name}/loss"] = path, loss
        w, b = map(float, path[-1])
        print(f"{data_set:<10} {name:<12} final w {w!r} b {b!r} error {float(loss[-1]):.6g}")
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez(args.out / "optimizer_paths_histories.npz", **histories)
    print(f"wrote {args.out / 'optimizer_paths_histories.npz'}")
    plot(paths, args.out, args.steps)


if __name__ == "__main__":
    main()
