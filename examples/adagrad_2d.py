"""AdaGrad on the ill-conditioned quadratic f(x) = 0.1*x1^2 + 2*x2^2, with sgd, momentum, rmsprop, adam.

    python examples/adagrad_2d.py [--out DIR] [--steps 20]

From (-5, -2), AdaGrad (epsilon 1e-6 inside the square root, symupdates' default) with learning rates 0.4
and 2; then sgd, momentum, rmsprop and adam from the same start for comparison. Prints every final point and
draws the paths on the contour plot of f (``adagrad_2d.png``).
"""

import numpy as np

import symupdates
from _shared import optimize_paths, parser, progress_bars, save

START = (-5.0, -2.0)


def f(x1, x2):
    return 0.1 * x1**2 + 2 * x2**2


def loss(theta):
    return f(theta[0], theta[1])


ADAGRAD_RUNS = {
    "adagrad lr=0.4": symupdates.adagrad(learning_rate=0.4),
    "adagrad lr=2": symupdates.adagrad(learning_rate=2.0),
}
COMPARISON_RUNS = {
    "sgd lr=0.4": symupdates.sgd(learning_rate=0.4),
    "momentum lr=0.1": symupdates.momentum(learning_rate=0.1, momentum=0.9),
    "rmsprop lr=0.4": symupdates.rmsprop(learning_rate=0.4),
    "adam lr=0.4": symupdates.adam(learning_rate=0.4),
}


def plot(paths, out):
    import matplotlib.pyplot as plt

    x1, x2 = np.meshgrid(np.linspace(-6, 6, 200), np.linspace(-3, 3, 200))
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.6), sharey=True, layout="constrained")
    for ax, labels, title in zip(
        axes, (ADAGRAD_RUNS, COMPARISON_RUNS), ("AdaGrad", "other rules"), strict=True
    ):
        filled = ax.contourf(x1, x2, f(x1, x2), levels=np.geomspace(0.05, 20, 12), cmap="Greys",
                             norm="log", extend="both", alpha=0.5)  # fmt: skip
        for i, label in enumerate(labels):
            colour = f"C{i + 2 * (ax is axes[1])}"  # one colour per run across both panels
            ax.plot(*paths[label].T, "o-", markersize=3, linewidth=1.5, label=label, color=colour)
        ax.plot(0, 0, "k*", markersize=12, label="minimum")
        ax.set(title=f"{title}: f(x) = 0.1 x1² + 2 x2², {len(paths[label]) - 1} steps", xlabel="x1")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=3, fontsize=9)
    figure.colorbar(filled, ax=axes, label="f(x)", ticks=[0.1, 1, 10], format="%g")
    axes[0].set_ylabel("x2")
    return save(figure, out, "adagrad_2d.png")


def main(argv=None):
    args = parser(__doc__, steps=20).parse_args(argv)
    runs = {label: (rule, START, loss) for label, rule in {**ADAGRAD_RUNS, **COMPARISON_RUNS}.items()}
    progress_bars(args.no_progress)
    paths = optimize_paths(runs, args.steps)
    for label, path in paths.items():
        x1, x2 = map(float, path[-1])
        print(f"{label:<16} final point {x1!r} {x2!r}  f = {f(x1, x2):.6g}")
    plot(paths, args.out)


if __name__ == "__main__":
    main()
