"""Record torch.optim.LBFGS trajectories (float64) for tests/rules/test_lbfgs.py.

Each case runs ``calls`` steps of ``torch.optim.LBFGS(params, **options)`` from a fixed start and records,
after every call, the flat params (concatenated in order), the loss the call returned, and
``state["func_evals"]`` / ``state["n_iter"]``.

Some of these trajectories amplify rounding: a second torch run with the loss scaled by ``1 + 2**-52`` (a
rounding-level change of every evaluation, like another summation order) drifts away from the first.
``stable_calls`` is the number of leading calls over which that run stays within ``1e-10`` of the first
(relative, in norm): the calls on which another implementation can be held to ``rtol=1e-9``. The
problems are defined again, in PyTensor, in the test,
which only reads the fixture (it does not need torch).

Usage: ``python scripts/record_lbfgs_parity.py [--out tests/fixtures/lbfgs_torch_parity.npz]``
"""

import argparse
import json

import numpy as np
import torch
from sklearn.datasets import load_digits

CASES = {
    "rosenbrock2_plain": ("rosenbrock2", 6, {"max_iter": 20}),
    "rosenbrock2_wolfe": ("rosenbrock2", 4, {"max_iter": 20, "line_search_fn": "strong_wolfe"}),
    "rosenbrock10_wolfe_h5": (
        "rosenbrock10",
        6,
        {"max_iter": 10, "history_size": 5, "line_search_fn": "strong_wolfe"},
    ),
    "rosenbrock10_plain_lr": ("rosenbrock10", 5, {"learning_rate": 0.1, "max_iter": 7, "history_size": 4}),
    "logistic_wolfe": ("logistic", 4, {"max_iter": 20, "history_size": 10, "line_search_fn": "strong_wolfe"}),
    "logistic_plain": ("logistic", 5, {"max_iter": 6, "history_size": 3}),
    "mlp_wolfe": ("mlp", 4, {"max_iter": 15, "history_size": 7, "line_search_fn": "strong_wolfe"}),
    "mlp_plain_eval": ("mlp", 5, {"learning_rate": 0.5, "max_iter": 8, "max_eval": 5, "history_size": 2}),
}


def digits(n):
    """The first ``n`` of scikit-learn's bundled digits, pixels scaled to [0, 1]; one-hot labels."""
    data = load_digits()
    return data.data[:n] / 16.0, np.eye(10)[data.target[:n]]


def start(problem):
    """The problem's initial params (a list of float64 arrays)."""
    rng = np.random.default_rng(0)
    if problem == "rosenbrock2":
        return [np.array([-1.2, 1.0])]
    if problem == "rosenbrock10":
        return [np.tile([-1.2, 1.0], 5)]
    if problem == "logistic":
        return [rng.normal(scale=0.01, size=(64, 10)), np.zeros(10)]
    return [
        rng.normal(scale=0.3, size=(64, 16)),
        np.zeros(16),
        rng.normal(scale=0.3, size=(16, 10)),
        np.zeros(10),
    ]


def torch_loss(problem, params):
    if problem.startswith("rosenbrock"):
        (w,) = params
        return torch.sum(100 * (w[1:] - w[:-1] ** 2) ** 2 + (1 - w[:-1]) ** 2)
    x, y = (torch.tensor(a) for a in digits(1797 if problem == "logistic" else 300))
    if problem == "logistic":
        w, b = params
        logits = x @ w + b
        penalty = 1e-3 * (w**2).sum()
    else:
        w1, b1, w2, b2 = params
        logits = torch.tanh(x @ w1 + b1) @ w2 + b2
        penalty = 1e-4 * ((w1**2).sum() + (w2**2).sum())
    return -(y * torch.log_softmax(logits, dim=1)).sum(dim=1).mean() + penalty


def record(problem, calls, options, loss_scale=1.0):
    params = [torch.tensor(a, requires_grad=True) for a in start(problem)]
    torch_options = {("lr" if k == "learning_rate" else k): v for k, v in options.items()}
    optimizer = torch.optim.LBFGS(params, **torch_options)

    def closure():
        optimizer.zero_grad()
        loss = torch_loss(problem, params) * loss_scale
        loss.backward()
        return loss

    flat, losses, func_evals, n_iter = [], [], [], []
    for _ in range(calls):
        losses.append(float(optimizer.step(closure)))
        flat.append(np.concatenate([p.detach().numpy().ravel() for p in params]))
        state = optimizer.state[params[0]]
        func_evals.append(state["func_evals"])
        n_iter.append(state["n_iter"])
    return {
        "params": np.array(flat),
        "loss": np.array(losses),
        "func_evals": np.array(func_evals),
        "n_iter": np.array(n_iter),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="tests/fixtures/lbfgs_torch_parity.npz")
    args = parser.parse_args()
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(1)
    arrays = {}
    for name, (problem, calls, options) in CASES.items():
        recorded = record(problem, calls, options)
        for key, value in recorded.items():
            arrays[f"{name}/{key}"] = value
        perturbed = record(problem, calls, options, loss_scale=1 + 2.0**-52)["params"]
        drift = np.linalg.norm(perturbed - recorded["params"], axis=1) / np.linalg.norm(
            recorded["params"], axis=1
        )
        arrays[f"{name}/stable_calls"] = np.array(int(np.argmax(np.append(drift, np.inf) > 1e-10)))
        print(name, "torch's own drift per call", drift)
        arrays[f"{name}/case"] = np.array(json.dumps({"problem": problem, "options": options}))
        print(name, "stable calls", arrays[f"{name}/stable_calls"], "final loss", recorded["loss"][-1])
    arrays["torch_version"] = np.array(torch.__version__)
    np.savez_compressed(args.out, **arrays)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
