"""Non-negative matrix factorization of scikit-learn's bundled digits with symupdates.multiplicative.

The 1797 8x8 digit images (scaled to [0, 1]) form X (1797 x 64), factored as X ~ W H with W, H >= 0. The
losses are written as plain PyTensor expressions; ``symupdates.multiplicative`` splits their gradients into
positive and negative parts and applies Lee and Seung's alternating rule (W with H fixed, then H with the new
W), so no multiplicative rule is written by hand:

* Frobenius: ``0.5 * ||X - W H||^2``
* Kullback-Leibler: ``sum(W H - X log(W H))``, the generalized KL divergence up to a constant

Then it runs ``sklearn.decomposition.NMF(solver="mu")`` from the same initial factors for the same number of
iterations and prints both final losses, and saves the loss curves and the learned components (rows of H,
as 8x8 images) as PNG files.

    python examples/nmf.py [--out DIR] [--steps 200] [--components 16] [--seed 0] [--mode NUMBA]
"""

import argparse
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytensor  # noqa: E402
from scipy.special import xlogy  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.decomposition import NMF  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from tqdm import tqdm  # noqa: E402

import symupdates  # noqa: E402
from _shared import compiles_on_first_call  # noqa: E402

warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")
warnings.filterwarnings("ignore", category=ConvergenceWarning)  # sklearn: we stop it after `steps` on purpose

SKLEARN_LOSS = {"frobenius": "frobenius", "kl": "kullback-leibler"}
COLD_COMPILE_SECONDS = 5  # one loss's step (CPU seconds, empty PyTensor cache)


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
    step = compiles_on_first_call(step, f"the {loss_name} step", COLD_COMPILE_SECONDS)
    history = [NUMPY_LOSS[loss_name](X, W0, H0)]
    for _ in tqdm(range(steps), desc=loss_name, unit="step", disable=None, leave=False):  # on a terminal
        step()
        history.append(NUMPY_LOSS[loss_name](X, W.get_value(), H.get_value()))
    return W.get_value(), H.get_value(), history


def sklearn_factorize(X, W0, H0, loss_name, steps):
    model = NMF(
        n_components=W0.shape[1], init="custom", solver="mu", beta_loss=SKLEARN_LOSS[loss_name],
        max_iter=steps, tol=0.0,
    )
    W = model.fit_transform(X, W=W0.copy(), H=H0.copy())
    return W, model.components_


def plot_losses(histories, sklearn_losses, path):
    fig, axes = plt.subplots(1, len(histories), figsize=(5 * len(histories), 3.5))
    for ax, (name, history) in zip(np.atleast_1d(axes), histories.items()):
        ax.semilogy(history, label="symupdates.multiplicative")
        ax.semilogy([len(history) - 1], [sklearn_losses[name]], "o", label='sklearn NMF(solver="mu")')
        ax.set(title=f"{name} loss", xlabel="alternating step", ylabel="loss")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_components(H, title, path):
    columns = 8
    rows = -(-H.shape[0] // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(columns, rows + 0.4))
    for ax in np.ravel(axes):
        ax.axis("off")
    for ax, component in zip(np.ravel(axes), H):
        ax.imshow(component.reshape(8, 8), cmap="gray_r")
    fig.suptitle(title)
    fig.savefig(path)
    plt.close(fig)


def run(out=".", steps=200, components=16, seed=0, mode=None, log=print):
    """Factorize with both losses, compare with scikit-learn, save the figures; returns the summary rows."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    X = load_data()
    W0, H0 = init_factors(X, components, seed)
    histories, sklearn_losses, rows = {}, {}, []
    for name in NUMPY_LOSS:
        start = time.perf_counter()
        W, H, history = factorize(X, W0, H0, name, steps, mode=mode)
        log(f"{name}: {steps} steps of symupdates.multiplicative in {time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        W_sk, H_sk = sklearn_factorize(X, W0, H0, name, steps)
        log(f"{name}: {steps} iterations of sklearn NMF in {time.perf_counter() - start:.1f} s")
        histories[name], sklearn_losses[name] = history, NUMPY_LOSS[name](X, W_sk, H_sk)
        monotone = bool(np.all(np.diff(history) <= 1e-12 * np.abs(history[:-1])))
        rows.append((name, history[0], history[-1], sklearn_losses[name], monotone))
        title = f"{name} NMF components (rows of H), {steps} steps"
        plot_components(H, title, out / f"components_{name}.png")
    plot_losses(histories, sklearn_losses, out / "loss_curves.png")
    log(f"digits X: {X.shape[0]} x {X.shape[1]}, {components} components, {steps} alternating steps")
    log(f"{'loss':<10} {'initial':>16} {'symupdates':>16} {'sklearn mu':>16} {'rel. diff':>10} monotone")
    for name, initial, final, sklearn_final, monotone in rows:
        log(
            f"{name:<10} {initial:16.10g} {final:16.10g} {sklearn_final:16.10g} "
            f"{(final - sklearn_final) / sklearn_final:10.2e} {monotone}"
        )
    names = ["loss_curves", "components_frobenius", "components_kl"]
    figures = ", ".join(str(out / f"{n}.png") for n in names)
    log(f"figures: {figures}")
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--out", default=".", help="directory for the PNG files")
    parser.add_argument("--steps", type=int, default=200, help="alternating steps (W then H), per loss")
    parser.add_argument("--components", type=int, default=16, help="rank of the factors: rows of H")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial factors")
    parser.add_argument("--mode", default=None, help="PyTensor mode: None (NUMBA), CVM or JAX")
    args = parser.parse_args(argv)
    run(args.out, args.steps, args.components, args.seed, args.mode)


if __name__ == "__main__":
    main()
