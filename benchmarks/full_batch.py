"""Time to a gradient max-norm below ``--gtol`` (1e-6): symupdates.lbfgs (NUMBA) against torch.optim.LBFGS
(one thread) and scipy's L-BFGS-B, on a logistic regression on scikit-learn's digits and Rosenbrock 10-D.

Each optimizer starts from the same point with a 10-pair history and the strong-Wolfe search (scipy's
L-BFGS-B has its own, More-Thuente-like, search), and runs until its own gradient test passes: one
``LBFGS.step`` with ``max_iter`` large (symupdates: calls of ``--iterations-per-call`` (5000) iterations
until one returns at once) and ``tolerance_grad=gtol`` (``tolerance_change=0``), scipy with ``gtol``
(its projected-gradient max-norm, the same test without bounds) and ``ftol=0``. The reported time is the
best of ``--repeats`` runs (symupdates after compiling; the compile time is listed apart); every run's
final gradient is checked against ``gtol``. BLAS is held to one thread for all three (set before NumPy is
imported), so the ratios compare the algorithms' loops.

Usage: ``python benchmarks/full_batch.py [--repeats 3] [--gtol 1e-6] [--iterations-per-call 5000]``
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import pytensor  # noqa: E402
import pytensor.tensor as pt  # noqa: E402
import scipy.optimize  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

import symupdates as su  # noqa: E402

HISTORY = 10
MAX_ITER = 5000
# symupdates runs calls of this many iterations until one returns at once; by default one call, as torch's
# one step: the compiled scans keep only their last state (PyTensor 3.0.7), so memory does not grow with
# max_iter (before, it did, and the benchmark ran calls of 50).
ITERATIONS_PER_CALL = MAX_ITER


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        return next(
            line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")
        )
    except (OSError, subprocess.CalledProcessError, StopIteration):
        return platform.processor() or "unknown"


def digits():
    data = load_digits()
    return data.data / 16.0, np.eye(10)[data.target]


def problems():
    """``{name: (x0, pytensor_loss(flat), torch_loss(flat))}``; the params are one flat vector."""
    x, y = digits()

    def logistic_pt(w):
        logits = pt.constant(x) @ w[:640].reshape((64, 10)) + w[640:]
        return (
            -(pt.constant(y) * pt.special.log_softmax(logits, axis=1)).sum(axis=1).mean()
            + 1e-3 * (w[:640] ** 2).sum()
        )

    def logistic_torch(w):
        import torch

        logits = torch.tensor(x) @ w[:640].reshape(64, 10) + w[640:]
        return (
            -(torch.tensor(y) * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()
            + 1e-3 * (w[:640] ** 2).sum()
        )

    def rosenbrock(w):
        return (100 * (w[1:] - w[:-1] ** 2) ** 2 + (1 - w[:-1]) ** 2).sum()

    return {
        "logistic regression (digits, 650 params)": (np.zeros(650), logistic_pt, logistic_torch),
        "Rosenbrock 10-D": (np.tile([-1.2, 1.0], 5), rosenbrock, rosenbrock),
    }


def run_symupdates(x0, loss_fn, gtol, repeats, iterations_per_call=ITERATIONS_PER_CALL):
    w = pytensor.shared(x0.copy(), name="w")
    loss = loss_fn(w)
    updates = su.lbfgs(
        loss,
        [w],
        max_iter=iterations_per_call,
        max_eval=2 * iterations_per_call,
        tolerance_grad=gtol,
        tolerance_change=0.0,
        history_size=HISTORY,
        line_search_fn="strong_wolfe",
    )
    started = time.perf_counter()
    step = pytensor.function([], [], updates=updates)
    compile_seconds = time.perf_counter() - started
    gradient = pytensor.function([], pt.abs(pytensor.grad(loss, w)).max())
    func_evals = next(v for v in updates.state if v.name == "lbfgs.func_evals")
    n_iter = next(v for v in updates.state if v.name == "lbfgs.n_iter")
    times = []
    for _ in range(repeats):
        su.reset_state(updates)
        w.set_value(x0.copy())
        started = time.perf_counter()
        evals = -2
        # A call that only counts its first evaluation returned at once: max|g| <= gtol, or no descent.
        while func_evals.get_value() > evals + 1 and n_iter.get_value() < MAX_ITER:
            evals = func_evals.get_value().item()
            step()
        times.append(time.perf_counter() - started)
    return (
        min(times),
        float(gradient()),
        int(n_iter.get_value()),
        int(func_evals.get_value()),
        compile_seconds,
    )


def run_torch(x0, loss_fn, gtol, repeats):
    import torch

    torch.set_num_threads(1)
    times = []
    for _ in range(repeats):
        w = torch.tensor(x0.copy(), requires_grad=True)
        optimizer = torch.optim.LBFGS(
            [w],
            max_iter=MAX_ITER,
            max_eval=2 * MAX_ITER,
            tolerance_grad=gtol,
            tolerance_change=0.0,
            history_size=HISTORY,
            line_search_fn="strong_wolfe",
        )

        def closure(optimizer=optimizer, w=w):
            optimizer.zero_grad()
            loss = loss_fn(w)
            loss.backward()
            return loss

        started = time.perf_counter()
        optimizer.step(closure)
        times.append(time.perf_counter() - started)
    closure()
    state = optimizer.state[w]
    return min(times), float(w.grad.abs().max()), state["n_iter"], state["func_evals"], 0.0


def run_scipy(x0, loss_fn, gtol, repeats):
    w = pt.vector("w", dtype="float64")
    loss = loss_fn(w)
    f_and_g = pytensor.function([w], [loss, pytensor.grad(loss, w)])
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = scipy.optimize.minimize(
            f_and_g,
            x0.copy(),
            jac=True,
            method="L-BFGS-B",
            options={
                "maxcor": HISTORY,
                "gtol": gtol,
                "ftol": 0.0,
                "maxiter": MAX_ITER,
                "maxfun": 2 * MAX_ITER,
            },
        )
        times.append(time.perf_counter() - started)
    return min(times), float(np.abs(result.jac).max()), result.nit, result.nfev, 0.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--gtol", type=float, default=1e-6)
    parser.add_argument("--iterations-per-call", type=int, default=ITERATIONS_PER_CALL)
    args = parser.parse_args()

    def symupdates_runner(x0, loss_fn, gtol, repeats):
        return run_symupdates(x0, loss_fn, gtol, repeats, args.iterations_per_call)

    runners = {"symupdates.lbfgs (NUMBA)": symupdates_runner, "scipy L-BFGS-B": run_scipy}
    try:
        import torch  # noqa: F401

        runners["torch LBFGS (1 thread)"] = run_torch
    except ImportError:
        print("torch is not installed: torch's LBFGS is left out")
    print(f"CPU: {cpu_model()}; pytensor {pytensor.__version__}; best of {args.repeats}; gtol {args.gtol:g}")
    for name, (x0, loss_pt, loss_torch) in problems().items():
        print(f"\n{name}")
        print("| optimizer | time (ms) | max abs grad | iterations | evals | compile (s) | / fastest other |")
        print("|---|---|---|---|---|---|---|")
        results = {}
        for runner_name, runner in runners.items():
            loss_fn = loss_torch if runner is run_torch else loss_pt
            results[runner_name] = runner(x0, loss_fn, args.gtol, args.repeats)
        for runner_name, (seconds, grad, iters, evals, compile_seconds) in results.items():
            others = [r[0] for n, r in results.items() if n != runner_name]
            flag = "" if grad <= args.gtol else " (tolerance NOT reached)"
            print(
                f"| {runner_name} | {seconds * 1e3:.1f} | {grad:.2e}{flag} | {iters} | {evals} | "
                f"{compile_seconds:.1f} | {seconds / min(others):.2f} |"
            )


if __name__ == "__main__":
    main()
