"""symupdates.lbfgs against torch.optim.LBFGS 2.13 (float64 trajectories recorded by
scripts/record_lbfgs_parity.py), its state and checkpoints, and its argument checks."""

import json
import pathlib

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from sklearn.datasets import load_digits

import symupdates as su

FIXTURE = pathlib.Path(__file__).parents[1] / "fixtures" / "lbfgs_torch_parity.npz"
RECORDED = np.load(FIXTURE)
CASES = sorted({key.split("/")[0] for key in RECORDED.files if "/" in key})


def digits(n):
    data = load_digits()
    return data.data[:n] / 16.0, np.eye(10)[data.target[:n]]


def problem(name, start):
    """The recording script's problem in PyTensor: ``(loss, params)``, params starting at ``start``
    (the flat recorded start is cut into the script's shapes)."""
    shapes = {
        "rosenbrock2": [(2,)],
        "rosenbrock10": [(10,)],
        "logistic": [(64, 10), (10,)],
        "mlp": [(64, 16), (16,), (16, 10), (10,)],
    }[name]
    pieces = np.split(start, np.cumsum([np.prod(s) for s in shapes])[:-1])
    params = [pytensor.shared(p.reshape(s).copy(), name=f"p{i}") for i, (p, s) in enumerate(zip(pieces, shapes))]
    if name.startswith("rosenbrock"):
        (w,) = params
        return pt.sum(100 * (w[1:] - w[:-1] ** 2) ** 2 + (1 - w[:-1]) ** 2), params
    x, y = (pt.constant(a) for a in digits(1797 if name == "logistic" else 300))
    if name == "logistic":
        w, b = params
        logits = x @ w + b
        penalty = 1e-3 * (w**2).sum()
    else:
        w1, b1, w2, b2 = params
        logits = pt.tanh(x @ w1 + b1) @ w2 + b2
        penalty = 1e-4 * ((w1**2).sum() + (w2**2).sum())
    return -(y * pt.special.log_softmax(logits, axis=1)).sum(axis=1).mean() + penalty, params


def start_of(case):
    """The recorded start: the script's initial params, which the first call's loss was evaluated at."""
    spec = json.loads(str(RECORDED[f"{case}/case"]))
    rng = np.random.default_rng(0)
    name = spec["problem"]
    if name == "rosenbrock2":
        start = [np.array([-1.2, 1.0])]
    elif name == "rosenbrock10":
        start = [np.tile([-1.2, 1.0], 5)]
    elif name == "logistic":
        start = [rng.normal(scale=0.01, size=(64, 10)), np.zeros(10)]
    else:
        start = [rng.normal(scale=0.3, size=(64, 16)), np.zeros(16), rng.normal(scale=0.3, size=(16, 10)), np.zeros(10)]
    return name, spec["options"], np.concatenate([a.ravel() for a in start])


def flat(params):
    return np.concatenate([p.get_value().ravel() for p in params])


@pytest.mark.parametrize("case", CASES)
def test_matches_torch_trajectory(case):
    name, options, start = start_of(case)
    loss, params = problem(name, start)
    updates = su.lbfgs(loss, params, **options)
    step = pytensor.function([], updates.monitors["loss"], updates=updates)
    func_evals = next(v for v in updates.state if v.name == "lbfgs.func_evals")
    n_iter = next(v for v in updates.state if v.name == "lbfgs.n_iter")
    for call, expected in enumerate(RECORDED[f"{case}/params"]):
        returned = step()
        np.testing.assert_allclose(returned, RECORDED[f"{case}/loss"][call], rtol=1e-9, err_msg=f"call {call}")
        # rtol 1e-9 in norm: single entries near 0 (a bias) are off by the trajectory's rounding, ~1e-12.
        assert np.linalg.norm(flat(params) - expected) <= 1e-9 * np.linalg.norm(expected), f"call {call}"
        assert func_evals.get_value() == RECORDED[f"{case}/func_evals"][call], f"call {call}"
        assert n_iter.get_value() == RECORDED[f"{case}/n_iter"][call], f"call {call}"
