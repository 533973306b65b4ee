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
    params = [
        pytensor.shared(p.reshape(s).copy(), name=f"p{i}")
        for i, (p, s) in enumerate(zip(pieces, shapes, strict=True))
    ]
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
        start = [
            rng.normal(scale=0.3, size=(64, 16)),
            np.zeros(16),
            rng.normal(scale=0.3, size=(16, 10)),
            np.zeros(10),
        ]
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
    # The calls over which torch's own trajectory is insensitive to rounding (see the recording script);
    # later ones amplify the last bits any two implementations differ by.
    stable = int(RECORDED[f"{case}/stable_calls"])
    assert stable >= 2
    for call, expected in enumerate(RECORDED[f"{case}/params"][:stable]):
        returned = step()
        # Near the minimum the loss is ~1e-8 of its start; its rounding is measured on the start's scale.
        losses = RECORDED[f"{case}/loss"]
        np.testing.assert_allclose(
            returned, losses[call], rtol=1e-9, atol=1e-12 * losses[0], err_msg=f"call {call}"
        )
        # rtol 1e-9 in norm: single entries near 0 (a bias) are off by the trajectory's rounding, ~1e-12.
        assert np.linalg.norm(flat(params) - expected) <= 1e-9 * np.linalg.norm(expected), f"call {call}"
        assert func_evals.get_value() == RECORDED[f"{case}/func_evals"][call], f"call {call}"
        assert n_iter.get_value() == RECORDED[f"{case}/n_iter"][call], f"call {call}"


def quadratic():
    w = pytensor.shared(np.array([3.0, -2.0, 0.5]), name="w")
    b = pytensor.shared(np.array(1.0), name="b")
    loss = (pt.exp(w) - w).sum() + (b - w.sum()) ** 2 + b**2
    return loss, [w, b]


def test_checkpoint_resumes_bit_for_bit(tmp_path):
    loss, params = quadratic()
    updates = su.lbfgs(loss, params, max_iter=3, history_size=2, line_search_fn="strong_wolfe")
    step = pytensor.function([], [], updates=updates)
    step()
    path = tmp_path / "lbfgs.npz"
    su.save_state(updates, path, include_params=True)
    step(), step()
    expected = [v.get_value().copy() for v in [*params, *updates.state]]
    su.reset_state(updates)
    for p in params:
        p.set_value(np.zeros_like(p.get_value()))
    su.load_state(updates, path, include_params=True)
    step(), step()
    for var, value in zip([*params, *updates.state], expected, strict=True):
        np.testing.assert_array_equal(var.get_value(), value, err_msg=var.name)
    names = [v.name for v in updates.state]
    assert {"lbfgs.old_dirs", "lbfgs.old_stps", "lbfgs.ro", "lbfgs.n_iter", "lbfgs.func_evals"} <= set(names)


def test_as_a_transform_and_returns_at_once_when_optimal():
    loss, params = quadratic()
    # torch's defaults stop at |g.d| < tolerance_change = 1e-9, so max|g| ~ 1e-5 is as low as they go.
    updates = su.lbfgs(line_search_fn="strong_wolfe", tolerance_grad=1e-4)(loss, params)
    step = pytensor.function([], updates.monitors["loss"], updates=updates)
    largest_gradient = pytensor.function([], pt.max([pt.abs(g).max() for g in pytensor.grad(loss, params)]))
    for _ in range(20):
        step()
        if largest_gradient() <= 1e-4:
            break
    assert largest_gradient() <= 1e-4
    func_evals = next(v for v in updates.state if v.name == "lbfgs.func_evals")
    before = [v.get_value().copy() for v in [*params, *updates.state] if v is not func_evals]
    evals = func_evals.get_value()
    step()  # max|g| <= tolerance_grad: only the evaluation is counted, as torch does
    after = [v.get_value() for v in [*params, *updates.state] if v is not func_evals]
    for a, b in zip(after, before, strict=True):
        np.testing.assert_array_equal(a, b)
    assert func_evals.get_value() == evals + 1


def test_bad_arguments():
    loss, params = quadratic()
    with pytest.raises(ValueError, match="line_search_fn"):
        su.lbfgs(loss, params, line_search_fn="backtracking")
    with pytest.raises(ValueError, match="history_size"):
        su.lbfgs(loss, params, history_size=0)
    with pytest.raises(ValueError, match="learning_rate"):
        su.lbfgs(loss, params, learning_rate=-1.0)
    with pytest.raises(ValueError, match="needs the loss"):
        su.lbfgs(pytensor.grad(loss, params), params)
    half = pytensor.shared(np.ones(2, dtype="float32"), name="half")
    with pytest.raises(ValueError, match="share a dtype"):
        su.lbfgs(loss + half.sum(), [*params, half])
    with pytest.raises(ValueError, match="must come last"):
        su.chain(su.lbfgs(), su.scale(0.5))(loss, params)


@pytest.mark.parametrize(
    ("memory_size", "scale_init_precond"), [(10, True), (3, False)], ids=["optax-default", "memory3-unscaled"]
)
def test_scale_by_lbfgs_with_the_zoom_search_is_optax_lbfgs(memory_size, scale_init_precond):
    """chain(scale_by_lbfgs, scale(-1), zoom search) against live optax.lbfgs 0.2.8 (float64): a tanh
    net of two params (so the dot products run over params) from a hard start, 15 calls."""
    optax = pytest.importorskip("optax")
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    x, y = digits(60)
    rng = np.random.default_rng(3)
    start = [rng.normal(scale=0.3, size=(64, 10)), rng.normal(scale=0.3, size=10)]

    def loss_of(w, b, np_like):
        logits = np_like.tanh(x @ w + b)
        return ((logits - y) ** 2).sum() / len(x) + 0.01 * (w**2).sum()

    params = [pytensor.shared(p.copy(), name=n) for p, n in zip(start, ["w", "b"], strict=True)]
    search = su.scale_by_zoom_linesearch(20, initial_guess_strategy="one")
    rule = su.chain(su.scale_by_lbfgs(memory_size, scale_init_precond), su.scale(-1.0), search)
    updates = rule(loss_of(*params, pt), params)
    step = pytensor.function([], updates.monitors["linesearch_steps"], updates=updates)

    solver = optax.lbfgs(memory_size=memory_size, scale_init_precond=scale_init_precond)
    theirs = [jnp.asarray(p) for p in start]
    state = solver.init(theirs)

    def fn(ps):
        return loss_of(*ps, jnp)

    for call in range(15):
        value, grad = jax.value_and_grad(fn)(theirs)
        change, state = solver.update(grad, state, theirs, value=value, grad=grad, value_fn=fn)
        theirs = optax.apply_updates(theirs, change)
        steps = step()
        for ours, other in zip(params, theirs, strict=True):
            np.testing.assert_allclose(
                ours.get_value(), np.asarray(other), rtol=1e-10, atol=1e-13, err_msg=f"{call}"
            )
        assert steps == int(state[-1].info.num_linesearch_steps), f"call {call}"
    assert float(fn(theirs)) < 0.5 * float(fn([jnp.asarray(p) for p in start]))  # it did optimise


def test_scale_by_lbfgs_names_its_state_and_checks_arguments():
    loss, params = quadratic()
    updates = su.chain(su.scale_by_lbfgs(memory_size=4), su.scale(-1.0))(loss, params)
    names = {v.name for v in updates.state}
    assert {"lbfgs_direction.t", "lbfgs_direction.weights"} <= names
    key = params[0].name
    assert {
        f"{key}.lbfgs_direction.{s}" for s in ("params", "updates", "diff_params", "diff_updates")
    } <= names
    memory = next(v for v in updates.state if v.name == f"{key}.lbfgs_direction.diff_params")
    assert memory.get_value().shape == (4, *params[0].get_value().shape)
    with pytest.raises(ValueError, match="memory_size"):
        su.scale_by_lbfgs(memory_size=0)
    with pytest.raises(ValueError, match="scale_init_precond"):
        su.scale_by_lbfgs(scale_init_precond="yes")
