"""AdaGrad on the ill-conditioned quadratic f(x) = 0.1*x1^2 + 2*x2^2, with sgd, momentum, rmsprop, adam.

    python examples/adagrad_2d.py [--out DIR] [--steps 20]

From (-5, -2), AdaGrad (epsilon 1e-6 inside the square root, symupdates' default) with learning rates 0.4
and 2; then sgd, momentum, rmsprop and adam from the same start for comparison. Prints every final point and
draws the paths on the contour plot of f (``adagrad_2d.png``).
"""

import numpy as np

import symupdates
from _shared import optimize_paths, parser, save

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
    figure, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, labels, title in zip(axes, (ADAGRAD_RUNS, COMPARISON_RUNS), ("AdaGrad", "other rules")):
        ax.contour(x1, x2, f(x1, x2), levels=np.geomspace(0.05, 20, 12), colors="0.75", linewidths=0.8)
        for label in labels:
            ax.plot(*paths[label].T, "o-", markersize=3, linewidth=1.2, label=label)
        ax.plot(0, 0, "k*", markersize=10)
        ax.set(title=f"{title}: f(x) = 0.1 x1² + 2 x2², {len(paths[label]) - 1} steps", xlabel="x1")
        ax.legend(loc="upper right", fontsize=8)
    axes[0].set_ylabel("x2")
    return save(figure, out, "adagrad_2d.png")


def main(argv=None):
    args = parser(__doc__, steps=20).parse_args(argv)
    runs = {label: (rule, START, loss) for label, rule in {**ADAGRAD_RUNS, **COMPARISON_RUNS}.items()}
    paths = optimize_paths(runs, args.steps)
    for label, path in paths.items():
        x1, x2 = map(float, path[-1])
        print(f"{label:<16} final point {x1!r} {x2!r}  f = {f(x1, x2):.6g}")
    plot(paths, args.out)


if __name__ == "__main__":
    main()
