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
from _shared import optimize_paths, parser, progress_bars, save, save_animation

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
    return optimize_paths(
        runs,
        steps,
        inputs,
        feed=lambda k: [v for d in DATA_SETS for v in batch(d, k)],
    )


def error_grid(data_set, limits=(-4, 7, -7, 3), n=120):
    w, b = np.meshgrid(np.linspace(*limits[:2], n), np.linspace(*limits[2:], n))
    return w, b, error(w, b, *DATA_SETS[data_set])


# Colour, line style and width of each optimizer's path. Most paths end in the same minimum: the ones drawn
# first are wider, so that they show around those drawn over them.
STYLES = {
    name: (f"C{i}", style, 4 - 0.4 * i)
    for i, (name, style) in enumerate(zip(OPTIMIZERS, ["-", ":", "--", "-.", "-", "--", "-."], strict=True))
}


def draw_paths(ax, paths, data_set, upto=None):
    """The error surface of ``data_set`` (light: low error) with a colour bar, and every path on it."""
    filled = ax.contourf(*error_grid(data_set), levels=20, cmap="Greys")
    ax.figure.colorbar(filled, ax=ax, label="E(w, b)")
    lines = []
    for name, (colour, style, width) in STYLES.items():
        path = paths[data_set, name][: upto and upto + 1]
        lines += ax.plot(*path.T, style, color=colour, linewidth=width, label=name)
    ax.plot(*START, "ko", label="start")
    ax.set(xlabel="w", ylabel="b", title=f"{data_set}")
    return lines


def plot(paths, out, steps):
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation

    figure, axes = plt.subplots(1, 2, figsize=(12, 4.8), layout="constrained")
    for ax, data_set in zip(axes, DATA_SETS, strict=True):
        draw_paths(ax, paths, data_set)
    figure.legend(*axes[0].get_legend_handles_labels(), loc="outside right center")
    figure.suptitle(f"sigmoid neuron, squared error: {steps} steps from w = b = -2")
    save(figure, out, "optimizer_paths_contour.png")

    figure, axes = plt.subplots(1, 2, figsize=(12, 4), layout="constrained")
    for ax, data_set in zip(axes, DATA_SETS, strict=True):
        for name, (colour, style, width) in STYLES.items():
            loss = error(*paths[data_set, name].T, *DATA_SETS[data_set])
            ax.semilogy(loss, style, color=colour, linewidth=width / 2, label=name)
        ax.set(title=data_set, xlabel="step", ylabel="E(w, b)")
    figure.legend(*axes[0].get_legend_handles_labels(), loc="outside right center")
    save(figure, out, "optimizer_paths_loss.png")

    figure = plt.figure(figsize=(7, 5.5))
    ax = figure.add_subplot(projection="3d")
    ax.plot_surface(*error_grid("two points", n=60), cmap="Greys", alpha=0.35, linewidth=0)
    for name, colour, width in (("gd", "tab:orange", 6), ("adam", "magenta", 2.5)):
        w, b = paths["two points", name].T
        lifted = error(w, b, *DATA_SETS["two points"]) + 0.02  # drawn just above the surface
        ax.plot(w, b, lifted, "-", color=colour, linewidth=width, label=f"{name} path")
        ax.plot(w[-1:], b[-1:], lifted[-1:], "o", color=colour, markersize=7)
    ax.plot(*START, error(*START, *DATA_SETS["two points"]) + 0.02, "ko", markersize=7, label="start")
    ax.set(xlabel="w", ylabel="b", zlabel="E", title="two points: error surface (dots: end points)")
    ax.view_init(elev=55, azim=-50)
    ax.legend(loc="upper left", bbox_to_anchor=(0.0, 1.0))
    save(figure, out, "optimizer_paths_surface.png")

    figure, ax = plt.subplots(figsize=(8, 5.5), layout="constrained")
    frames = np.unique(np.linspace(0, steps, min(steps, 40) + 1).astype(int))
    lines = draw_paths(ax, paths, "two points", upto=0)
    figure.legend(loc="outside right center", fontsize=11)

    def update(k):
        for line, name in zip(lines, OPTIMIZERS, strict=True):
            line.set_data(*paths["two points", name][: k + 1].T)
        ax.set_title(f"two points, step {k}", fontsize=13)
        return lines

    save_animation(FuncAnimation(figure, update, frames=frames), out, "optimizer_paths.gif")


def main(argv=None):
    args = parser(__doc__, steps=300).parse_args(argv)
    progress_bars(args.no_progress)
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
