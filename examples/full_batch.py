"""Full-batch L-BFGS on scikit-learn's digits: symupdates.lbfgs against torch's LBFGS and scipy's L-BFGS-B.

A logistic regression fitted with ``symupdates.lbfgs`` (one compiled call = one
``torch.optim.LBFGS.step``, its line search inside the call), torch's LBFGS and scipy's L-BFGS-B from the
same start, and a picture of the loss against function evaluations.

Each optimizer keeps 10 curvature pairs and runs to a gradient max-norm below ``--tolerance``:
symupdates and torch with the strong-Wolfe search, ``--max-iter`` iterations per call (the same
algorithm: their iterates part only by rounding, which this problem amplifies after tens of iterations, so
the counts differ by a few), scipy with its own line search. Printed per optimizer: iterations, function
evaluations, wall time (symupdates: after compiling, which is printed apart) and the final loss.

Then, if PyMC is installed, a PyMC model's MAP (maximum a posteriori) point found by ``symupdates.lbfgs``
minimising ``-logp`` against ``pm.find_MAP``'s: a linear regression with an unknown noise scale on generated
data, whose ``sigma`` (HalfNormal) is optimised as ``log(sigma)``, as ``find_MAP`` does. Both points must
agree to ``MAP_TOLERANCE`` in the unconstrained space.

Usage: ``python examples/full_batch.py [--tolerance 1e-5] [--max-iter 20] [--out DIR]``
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
import scipy.optimize  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

import symupdates as su  # noqa: E402

HISTORY = 10
PENALTY = 1e-3
MAP_TOLERANCE = 1e-6


def data():
    digits = load_digits()
    return digits.data / 16.0, np.eye(10)[digits.target]


def logistic_loss(w, x, y, log_softmax):
    """Mean cross-entropy of a softmax regression (weights ``w[:640]``, biases ``w[640:]``) plus an L2
    penalty on the weights; ``log_softmax`` is the framework's."""
    logits = x @ w[:640].reshape((64, 10)) + w[640:]
    return -(y * log_softmax(logits)).sum(1).mean() + PENALTY * (w[:640] ** 2).sum()


def run_symupdates(x, y, args):
    w = pytensor.shared(np.zeros(650), name="w")
    loss = logistic_loss(w, pt.constant(x), pt.constant(y), lambda z: pt.special.log_softmax(z, axis=1))
    updates = su.lbfgs(
        loss,
        [w],
        max_iter=args.max_iter,
        tolerance_grad=args.tolerance,
        history_size=HISTORY,
        line_search_fn="strong_wolfe",
    )
    started = time.perf_counter()
    step = pytensor.function([], [updates.monitors["loss"], updates.monitors["func_evals"]], updates=updates)
    step()  # the first call finishes compiling (NUMBA); the run starts again from zero, warm
    su.reset_state(updates)
    w.set_value(np.zeros(650))
    print(f"symupdates: compiled in {time.perf_counter() - started:.1f} s")
    n_iter = next(v for v in updates.state if v.name == "lbfgs.n_iter")
    curve, seconds, evals = [], 0.0, 0
    for _ in range(args.calls):
        iterations = n_iter.get_value().item()
        started = time.perf_counter()
        loss_at_start, evals_after = step()
        seconds += time.perf_counter() - started
        curve.append((evals + 1, float(loss_at_start)))  # a call's first evaluation is at its start
        evals = int(evals_after)
        if n_iter.get_value() == iterations:  # the call returned at once: the gradient test passed
            break
    final = float(pytensor.function([], loss)())
    return {
        "iterations": int(n_iter.get_value()),
        "evals": curve[-1][0],
        "seconds": seconds,
        "loss": final,
    }, curve


def run_torch(x, y, args):
    import torch

    torch.set_num_threads(1)
    w = torch.zeros(650, dtype=torch.float64, requires_grad=True)
    x, y = torch.tensor(x), torch.tensor(y)
    optimizer = torch.optim.LBFGS(
        [w],
        max_iter=args.max_iter,
        tolerance_grad=args.tolerance,
        history_size=HISTORY,
        line_search_fn="strong_wolfe",
    )
    curve = []

    def closure():
        optimizer.zero_grad()
        loss = logistic_loss(w, x, y, lambda z: torch.log_softmax(z, dim=1))
        loss.backward()
        curve.append((len(curve) + 1, loss.item()))
        return loss

    started = time.perf_counter()
    for _ in range(args.calls):
        iterations = optimizer.state[w].get("n_iter", 0)
        optimizer.step(closure)
        if optimizer.state[w]["n_iter"] == iterations:
            break
    seconds = time.perf_counter() - started
    state = optimizer.state[w]
    with torch.no_grad():
        final = logistic_loss(w, x, y, lambda z: torch.log_softmax(z, dim=1)).item()
    return {
        "iterations": state["n_iter"],
        "evals": state["func_evals"],
        "seconds": seconds,
        "loss": final,
    }, curve


def run_scipy(x, y, args):
    w = pt.vector("w", dtype="float64")
    loss = logistic_loss(w, pt.constant(x), pt.constant(y), lambda z: pt.special.log_softmax(z, axis=1))
    f_and_g = pytensor.function([w], [loss, pytensor.grad(loss, w)])
    curve = []

    def objective(v):
        f, g = f_and_g(v)
        curve.append((len(curve) + 1, float(f)))
        return f, g

    started = time.perf_counter()
    result = scipy.optimize.minimize(
        objective,
        np.zeros(650),
        jac=True,
        method="L-BFGS-B",
        options={"maxcor": HISTORY, "gtol": args.tolerance},
    )
    seconds = time.perf_counter() - started
    return {
        "iterations": result.nit,
        "evals": result.nfev,
        "seconds": seconds,
        "loss": float(result.fun),
    }, curve


def pymc_map(mode=None):
    """A small PyMC model's MAP by ``symupdates.lbfgs`` and by ``pm.find_MAP``.

    The model's log-density in the unconstrained space (``sigma`` as ``sigma_log__``) is a graph of its
    value variables; these are replaced by shared variables starting at ``model.initial_point()``, and
    ``-logp`` is minimised by calls of ``lbfgs`` with the strong-Wolfe search until one returns at once
    (gradient max-norm below 1e-9). ``find_MAP`` maximises the log-density without the transforms'
    Jacobian terms (so its optimum is the mode of the constrained density), hence ``jacobian=False`` here
    too; its scipy L-BFGS-B is given tolerances tight enough for the comparison. ``mode`` compiles the
    ``lbfgs`` step (None: PyTensor's default).

    Returns ``{value variable name: (symupdates value, find_MAP value)}`` and the compile seconds.
    """
    import pymc as pm
    from pytensor.graph.replace import graph_replace

    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 2))
    y = 0.5 + x @ np.array([1.0, -2.0]) + rng.normal(scale=0.7, size=50)
    with pm.Model() as model:
        alpha = pm.Normal("alpha", 0.0, 5.0)
        beta = pm.Normal("beta", 0.0, 2.0, shape=2)
        sigma = pm.HalfNormal("sigma", 1.0)
        pm.Normal("y", alpha + x @ beta, sigma, observed=y)
    start = model.initial_point()
    params = [
        pytensor.shared(start[v.name], name=v.name, shape=start[v.name].shape) for v in model.value_vars
    ]
    logp = graph_replace(model.logp(jacobian=False), dict(zip(model.value_vars, params, strict=True)))
    updates = su.lbfgs(
        -logp, params, tolerance_grad=1e-9, tolerance_change=0.0, line_search_fn="strong_wolfe"
    )
    started = time.perf_counter()
    step = pytensor.function([], [], updates=updates, mode=mode)
    step()
    compile_seconds = time.perf_counter() - started
    n_iter = next(v for v in updates.state if v.name == "lbfgs.n_iter")
    for _ in range(50):
        iterations = n_iter.get_value().item()
        step()
        if n_iter.get_value() == iterations:  # returned at once: max|gradient| <= 1e-9
            break
    found = pm.find_MAP(model=model, progressbar=False, options={"gtol": 1e-12, "ftol": 0.0})
    return {p.name: (p.get_value(), found[p.name]) for p in params}, compile_seconds


def print_pymc_map():
    try:
        import pymc
    except ImportError:
        print("PyMC is not installed: the MAP comparison with pm.find_MAP is skipped")
        return
    print(f"\nPyMC {pymc.__version__} MAP of a linear regression (sigma optimised as log(sigma)):")
    print("compiling symupdates.lbfgs for -logp ...")
    points, compile_seconds = pymc_map()
    print(f"compiled symupdates.lbfgs for -logp in {compile_seconds:.1f} s")
    print("| value variable | symupdates.lbfgs | pm.find_MAP | abs difference |")
    print("|---|---|---|---|")
    for name, (ours, theirs) in points.items():
        for index, (a, b) in enumerate(zip(np.ravel(ours), np.ravel(theirs), strict=True)):
            label = f"{name}[{index}]" if np.ndim(ours) else name
            print(f"| {label} | {a:.10f} | {b:.10f} | {abs(a - b):.1e} |")
    largest = max(np.max(np.abs(ours - theirs)) for ours, theirs in points.values())
    verdict = "agree" if largest <= MAP_TOLERANCE else "DISAGREE"
    print(f"max abs difference {largest:.1e}: the MAP points {verdict} to {MAP_TOLERANCE:g}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--tolerance", type=float, default=1e-5, help="gradient max-norm to stop at")
    parser.add_argument("--max-iter", type=int, default=20, help="L-BFGS iterations per call")
    parser.add_argument("--calls", type=int, default=100, help="at most this many calls")
    parser.add_argument("--out", type=Path, default=Path("."), help="directory for full_batch.png")
    args = parser.parse_args(argv)
    x, y = data()
    runs = {"symupdates.lbfgs": run_symupdates(x, y, args)}
    try:
        import torch  # noqa: F401

        runs["torch LBFGS"] = run_torch(x, y, args)
    except ImportError:
        print("torch is not installed: torch's LBFGS is left out")
    runs["scipy L-BFGS-B"] = run_scipy(x, y, args)
    print("| optimizer | iterations | function evaluations | wall time (ms) | final loss |")
    print("|---|---|---|---|---|")
    for name, (summary, _) in runs.items():
        print(
            f"| {name} | {summary['iterations']} | {summary['evals']} | {summary['seconds'] * 1e3:.0f} | "
            f"{summary['loss']:.10f} |"
        )
    best = min(summary["loss"] for summary, _ in runs.values())
    figure, axes = plt.subplots(figsize=(6, 4))
    for (name, (_, curve)), marker in zip(runs.items(), "o.x", strict=False):
        evals, losses = np.array(curve).T
        axes.semilogy(evals, losses - best + 1e-12, marker=marker, markersize=4, label=name)
    axes.set_xlabel("function evaluations")
    axes.set_ylabel("loss - best final loss")
    axes.set_title("Logistic regression on digits, full batch")
    axes.legend()
    figure.tight_layout()
    args.out.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.out / "full_batch.png", dpi=100)
    print("wrote", args.out / "full_batch.png")
    print_pymc_map()


if __name__ == "__main__":
    main()
