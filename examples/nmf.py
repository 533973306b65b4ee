"""Non-negative matrix factorization of scikit-learn's bundled digits with symupdates.multiplicative.

The 1797 8x8 digit images (scaled to [0, 1]) form X (1797 x 64), factored as X ~ W H with W, H >= 0. The
losses are written as plain PyTensor expressions; ``symupdates.multiplicative`` splits their gradients into
positive and negative parts and applies Lee and Seung's alternating rule (W with H fixed, then H with the new
W), so no multiplicative rule is written by hand:

* Frobenius: ``0.5 * ||X - W H||^2``
* Kullback-Leibler: ``sum(W H - X log(W H))``, the generalized KL divergence up to a constant

Then it runs ``sklearn.decomposition.NMF(solver="mu")`` from the same initial factors for the same number of
iterations and prints both final losses. It draws the loss after every step, with scikit-learn's loss after
1, 2, 5, 10, 20, 50, 100, ... iterations on it (``nmf_losses.png``), and the learned components, the rows of
H as 8x8 images (``nmf_components.png``).

    python examples/nmf.py [--out DIR] [--steps 200] [--components 16] [--seed 0] [--mode NUMBA]
"""

import time
import warnings
from pathlib import Path

import numpy as np
import pytensor
from scipy.special import xlogy
from sklearn.datasets import load_digits
from sklearn.decomposition import NMF
from sklearn.exceptions import ConvergenceWarning
from tqdm import tqdm

import symupdates
from _shared import compiles_on_first_call, parser, progress_bars, progress_on, save

warnings.filterwarnings("ignore", category=ConvergenceWarning)  # sklearn: we stop it after `steps` on purpose

SKLEARN_LOSS = {"frobenius": "frobenius", "kl": "kullback-leibler"}
TITLES = {
    "frobenius": r"Frobenius: $\frac{1}{2}\,\Vert X - WH\Vert^2$",
    "kl": r"generalized Kullback-Leibler: $\sum\, X \log\frac{X}{WH} - X + WH$",
}


def load_data():
    """The digits as a 1797 x 64 float64 matrix with entries in [0, 1]."""
    return load_digits().data / 16.0


def init_factors(X, components, seed):
    """Random positive factors at the data's scale (scikit-learn's ``init="random"`` formula)."""
    rng = np.random.default_rng(seed)
    scale = np.sqrt(X.mean() / components)
    W = scale * np.abs(rng.standard_normal((X.shape[0], components)))
    H = scale * np.abs(rng.standard_normal((components, X.shape[1])))
    return W, H


def frobenius(X, W, H):
    """``0.5 * ||X - W H||^2``, in NumPy."""
    return 0.5 * float(((X - W @ H) ** 2).sum())


def kl_divergence(X, W, H):
    """The generalized KL divergence ``sum(X log(X / WH) - X + WH)``, in NumPy (0 log 0 = 0)."""
    WH = W @ H
    return float((xlogy(X, X) - xlogy(X, WH) - X + WH).sum())


NUMPY_LOSS = {"frobenius": frobenius, "kl": kl_divergence}


def symbolic_loss(name, X, W, H):
    if name == "frobenius":
        return 0.5 * ((X - W @ H) ** 2).sum()
    # X log X - X is constant, and X log(X / WH) is NaN where X = 0: leave both out of the graph. Pixels
    # that are 0 in every image drive their column of W H to 0 (underflow), where the gradient's X / WH
    # would be 0 / 0: a floor of 1e-12 inside the log keeps it 0 (scikit-learn clips W H the same way).
    return (W @ H - X * pytensor.tensor.log(W @ H + 1e-12)).sum()


def factorize(X, W0, H0, loss_name, steps, mode=None):
    """``steps`` alternating multiplicative steps; returns (W, H, loss before each step and at the end)."""
    X_shared = pytensor.shared(X, name="X")
    W = pytensor.shared(W0.copy(), name="W")
    H = pytensor.shared(H0.copy(), name="H")
    loss = symbolic_loss(loss_name, X_shared, W, H)
    updates = symupdates.multiplicative(loss, [W, H], nonnegative=[X_shared], alternating=True)
    step = pytensor.function([], [], updates=updates, mode=mode)
    step = compiles_on_first_call(step, f"the {loss_name} step")
    history = [NUMPY_LOSS[loss_name](X, W0, H0)]
    for _ in tqdm(range(steps), desc=loss_name, unit="step", disable=not progress_on(), leave=False):
        step()
        history.append(NUMPY_LOSS[loss_name](X, W.get_value(), H.get_value()))
    return W.get_value(), H.get_value(), history


def sklearn_factorize(X, W0, H0, loss_name, steps):
    model = NMF(
        n_components=W0.shape[1],
        init="custom",
        solver="mu",
        beta_loss=SKLEARN_LOSS[loss_name],
        max_iter=steps,
        tol=0.0,
    )
    W = model.fit_transform(X, W=W0.copy(), H=H0.copy())
    return W, model.components_


def sklearn_losses(X, W0, H0, loss_name, steps):
    """``{k: loss}`` of scikit-learn's mu solver stopped after k = 1, 2, 5, 10, 20, 50, ... and ``steps``
    iterations (it records no loss per iteration, so each k is a fit of its own from the same start)."""
    checkpoints = {m * 10**e for e in range(len(str(steps))) for m in (1, 2, 5)} | {steps}
    return {
        k: NUMPY_LOSS[loss_name](X, *sklearn_factorize(X, W0, H0, loss_name, k))
        for k in sorted(checkpoints)
        if 0 < k <= steps
    }


def plot_losses(histories, references, problem, out):
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(histories), figsize=(5.5 * len(histories), 4), layout="constrained")
    for ax, (name, history) in zip(np.atleast_1d(axes), histories.items(), strict=True):
        steps, losses = zip(*references[name].items(), strict=True)
        difference = abs(history[-1] - losses[-1]) / losses[-1]
        ax.semilogy(history, linewidth=2, label="symupdates.multiplicative")
        label = f'sklearn NMF(solver="mu", max_iter=k)\n(k = {steps[-1]}: rel. difference {difference:.1e})'
        ax.semilogy(steps, losses, "o", markersize=8, markerfacecolor="none", label=label)
        ax.set(title=TITLES[name], xlabel="alternating step k (W, then H)", ylabel="loss (log scale)")
        ax.grid(alpha=0.3, which="both")
        ax.legend()
    figure.suptitle(f"{problem}: the loss after each step, from the same start")
    save(figure, out, "nmf_losses.png")


def plot_components(factors, problem, out):
    """The rows of H as 8x8 images, one block of images per loss."""
    import matplotlib.pyplot as plt

    columns = 4
    rows = -(-len(next(iter(factors.values()))) // columns)
    figure = plt.figure(figsize=(1.4 * columns * len(factors), 1.4 * rows + 0.8), layout="constrained")
    for block, (name, H) in zip(
        figure.subfigures(1, len(factors), wspace=0.05), factors.items(), strict=True
    ):
        axes = block.subplots(rows, columns, squeeze=False, subplot_kw={"xticks": [], "yticks": []}).ravel()
        for ax in axes[len(H) :]:
            ax.axis("off")
        for ax, component in zip(axes, H, strict=False):  # the spare axes were switched off above
            ax.imshow(component.reshape(8, 8), cmap="gray_r")
            ax.spines[:].set_color("0.75")  # a frame, so that neighbouring components do not run together
        block.suptitle(TITLES[name])
    figure.suptitle(f"{problem}:\nthe components (rows of H) as 8x8 images")
    save(figure, out, "nmf_components.png")


def run(out=".", steps=200, components=16, seed=0, mode=None, log=print):
    """Factorize with both losses, compare with scikit-learn, save the figures; returns the summary rows."""
    X = load_data()
    W0, H0 = init_factors(X, components, seed)
    histories, references, factors, rows = {}, {}, {}, []
    for name in NUMPY_LOSS:
        start = time.perf_counter()
        _, factors[name], histories[name] = factorize(X, W0, H0, name, steps, mode=mode)
        log(f"{name}: {steps} steps of symupdates.multiplicative in {time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        references[name] = sklearn_losses(X, W0, H0, name, steps)
        stops = ", ".join(map(str, references[name]))
        log(f"{name}: sklearn NMF stopped after {stops} iterations in {time.perf_counter() - start:.1f} s")
        history = histories[name]
        monotone = bool(np.all(np.diff(history) <= 1e-12 * np.abs(history[:-1])))
        rows.append((name, history[0], history[-1], references[name][steps], monotone))
    problem = f"NMF of the digits, X {X.shape[0]} x {X.shape[1]} ~ WH, {components} components, {steps} steps"
    log(problem)
    log(f"{'loss':<10} {'initial':>16} {'symupdates':>16} {'sklearn mu':>16} {'rel. diff':>10} monotone")
    for name, initial, final, sklearn_final, monotone in rows:
        log(
            f"{name:<10} {initial:16.10g} {final:16.10g} {sklearn_final:16.10g} "
            f"{(final - sklearn_final) / sklearn_final:10.2e} {monotone}"
        )
    plot_losses(histories, references, problem, Path(out))
    plot_components(factors, problem, Path(out))
    return rows


def main(argv=None):
    p = parser(__doc__, steps=200)
    p.add_argument("--components", type=int, default=16, help="rank of the factors: rows of H")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial factors")
    p.add_argument("--mode", default=None, help="PyTensor mode: None (NUMBA), CVM or JAX")
    args = p.parse_args(argv)
    progress_bars(args.no_progress)
    run(args.out, args.steps, args.components, args.seed, args.mode)


if __name__ == "__main__":
    main()
