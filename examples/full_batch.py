"""Full-batch L-BFGS on scikit-learn's digits: symupdates.lbfgs against torch's LBFGS and scipy's L-BFGS-B.

A logistic regression fitted with ``symupdates.lbfgs`` (one compiled call = one
``torch.optim.LBFGS.step``, its line search inside the call), torch's LBFGS and scipy's L-BFGS-B from the
same start, and a picture of the loss against function evaluations.

Each optimizer keeps 10 curvature pairs and runs to a gradient max-norm below ``--tolerance``:
symupdates and torch with the strong-Wolfe search, ``--max-iter`` iterations per call (so the same
iterates, by construction), scipy with its own line search. Printed per optimizer: iterations, function
evaluations, wall time (symupdates: after compiling, which is printed apart) and the final loss. A PyMC
model's MAP against ``pm.find_MAP`` would follow if PyMC were installed.

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
    try:
        import pymc  # noqa: F401

        print("PyMC is installed, but its MAP comparison is not written yet")
    except ImportError:
        print("PyMC is not installed: the MAP comparison with pm.find_MAP is skipped")

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


if __name__ == "__main__":
    main()
