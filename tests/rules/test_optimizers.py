"""Every classic rule against an independent NumPy implementation of its equations, plus Lasagne's
published torch7 reference values, key order, state, partial application and dtype behaviour."""

from collections import OrderedDict

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import symupdates
from support.params import (
    ABSOLUTE,
    TOLERANCE,
    compile_with_grad_inputs,
    gradient_sequence,
    make_params,
    mixed_params,
    run_steps,
)
from support.reference import DEFAULTS, OTHER, REFERENCES

RULES = sorted(REFERENCES)


def assert_matches_reference(rule, initial, params, grads, hyper, history):
    """``history[step][k]``, the value of ``params[k]`` after each step, equals the NumPy reference."""
    for k, (p0, p) in enumerate(zip(initial, params, strict=True)):
        expected = REFERENCES[rule](p0, [g[k] for g in grads], **hyper)
        for step, (values, want) in enumerate(zip(history, expected, strict=True)):
            assert values[k].dtype == p0.dtype
            np.testing.assert_allclose(
                values[k],
                want,
                rtol=TOLERANCE[p.dtype],
                atol=ABSOLUTE[p.dtype],
                err_msg=f"{rule} {p.name} step {step}",
            )


def run_and_compare(rule, hyper, steps=12, shrink=1.0, seed=0):
    params = mixed_params(seed)
    initial = [p.get_value() for p in params]
    fn, _ = compile_with_grad_inputs(getattr(symupdates, rule), params, **hyper)
    grads = gradient_sequence(params, steps, seed=seed + 1, shrink=shrink)
    assert_matches_reference(rule, initial, params, grads, hyper, run_steps(fn, params, grads))


@pytest.mark.fast
@pytest.mark.parametrize("rule", RULES)
def test_matches_numpy_reference_with_default_hyperparameters(rule):
    run_and_compare(rule, DEFAULTS[rule])


def test_shrinking_gradients_separate_adam_and_amsgrad():
    p = np.ones(4)
    grads = [np.full(4, 0.5**k) for k in range(12)]
    hyper = OTHER["adam"]
    from support.reference import ref_adam, ref_amsgrad

    assert not np.allclose(ref_adam(p, grads, **hyper)[-1], ref_amsgrad(p, grads, **hyper)[-1])
    run_and_compare("amsgrad", hyper, shrink=0.5)
    run_and_compare("adam", hyper, shrink=0.5)


def test_adagrad_window_without_the_current_gradient_matches_reference():
    """pymc#8444's estimator: the normaliser holds the previous n_win squared gradients only."""
    from support.reference import ref_adagrad_window

    hyper = {**OTHER["adagrad_window"], "include_current_gradient": False}
    p, grads = np.ones(3), [np.array([0.1, -2.0, 5.0]) * (k + 1) for k in range(5)]
    assert not np.allclose(
        ref_adagrad_window(p, grads, **hyper)[-1], ref_adagrad_window(p, grads, **OTHER["adagrad_window"])[-1]
    )
    run_and_compare("adagrad_window", hyper)
    assert "include_current_gradient=False" in repr(symupdates.adagrad_window(**hyper))
    with pytest.raises(ValueError, match="include_current_gradient"):
        symupdates.adagrad_window(include_current_gradient="no")


# Symbolic hyper-parameters: one compiled function per rule, many settings drawn by hypothesis. They are
# float64 scalars, also for the float32 params: updates must keep their params' type anyway.
HYPER_STRATEGIES = {
    "learning_rate": st.floats(1e-4, 0.5),
    "momentum": st.floats(0.0, 0.99),
    "epsilon": st.floats(1e-8, 1e-2),
    "rho": st.floats(0.1, 0.99),
    "beta1": st.floats(0.0, 0.99),
    "beta2": st.floats(0.5, 0.9999),
}


@pytest.mark.parametrize("rule", RULES)
def test_symbolic_hyperparameters_match_reference(rule):
    params = mixed_params(seed=3)
    names = [k for k in DEFAULTS[rule] if k in HYPER_STRATEGIES]
    symbols = [pt.scalar(k, dtype="float64") for k in names]
    extra = {k: v for k, v in DEFAULTS[rule].items() if k not in names}
    grads = [pt.tensor(f"g{i}", dtype=p.dtype, shape=p.type.shape) for i, p in enumerate(params)]
    updates = getattr(symupdates, rule)(grads, params, **dict(zip(names, symbols, strict=True)), **extra)
    fn = pytensor.function(grads + symbols, [], updates=updates)

    @settings(max_examples=8, deadline=None, database=None)
    @given(hyper=st.fixed_dictionaries({k: HYPER_STRATEGIES[k] for k in names}), seed=st.integers(0, 2**16))
    def check(hyper, seed):
        rng = np.random.default_rng(seed)
        initial = [rng.normal(size=p.get_value().shape).astype(p.dtype) for p in params]
        for p, v in zip(params, initial, strict=True):
            p.set_value(v)
        for var in updates.state:
            var.set_value(np.zeros_like(var.get_value()))
        steps = gradient_sequence(params, 10, seed=seed, shrink=0.8)
        history = run_steps(fn, params, steps, *[hyper[k] for k in names])
        assert_matches_reference(rule, initial, params, steps, {**hyper, **extra}, history)

    check()


# Lasagne's test suite checked its rules against torch7's optim on f(X) = sum([0.1, 0.2, 0.3] * X^2),
# A = B = [1, 1, 1], loss f(A) + f(B), 10 steps; these are torch7's results for A.
TORCH7 = {
    "sgd": ({"learning_rate": 0.1}, [0.81707280688755, 0.6648326359915, 0.5386151140949]),
    "momentum": (
        {"learning_rate": 0.1, "momentum": 0.5},
        [0.6848486952183, 0.44803321781003, 0.27431190123502],
    ),
    "nesterov_momentum": (
        {"learning_rate": 0.1, "momentum": 0.5},
        [0.67466543592725, 0.44108468114241, 0.2769002108997],
    ),
    "adadelta": ({}, [0.95453237704725, 0.9545237471374, 0.95452214847397]),
    "adam": ({"learning_rate": 0.01}, [0.90034972009036, 0.90034967993061, 0.90034966654402]),
    "adamax": ({"learning_rate": 0.01}, [0.90211749000754, 0.90211748762402, 0.90211748682951]),
}


@pytest.mark.parametrize("rule", sorted(TORCH7))
def test_lasagne_torch7_reference_values(rule):
    hyper, expected = TORCH7[rule]
    A = pytensor.shared(np.ones(3), name="A")
    B = pytensor.shared(np.ones(3), name="B")
    c = np.array([0.1, 0.2, 0.3])
    loss = (c * A**2).sum() + (c * B**2).sum()
    fn = pytensor.function([], [], updates=getattr(symupdates, rule)(loss, [A, B], **hyper))
    for _ in range(10):
        fn()
    assert np.allclose(A.get_value(), expected)
    assert np.allclose(B.get_value(), expected)


KEY_ORDER = {
    "sgd": ["p0", "p1"],
    "momentum": ["p0", "p1", "p0.momentum.velocity", "p1.momentum.velocity"],
    "nesterov_momentum": ["p0", "p1", "p0.nesterov_momentum.velocity", "p1.nesterov_momentum.velocity"],
    "adagrad": ["p0.adagrad.accu", "p0", "p1.adagrad.accu", "p1"],
    "rmsprop": ["p0.rmsprop.accu", "p0", "p1.rmsprop.accu", "p1"],
    "adadelta": [
        "p0.adadelta.accu",
        "p0",
        "p0.adadelta.delta_accu",
        "p1.adadelta.accu",
        "p1",
        "p1.adadelta.delta_accu",
    ],
    "adam": ["p0.adam.m", "p0.adam.v", "p0", "p1.adam.m", "p1.adam.v", "p1", "adam.t"],
    "adamax": ["p0.adamax.m", "p0.adamax.u", "p0", "p1.adamax.m", "p1.adamax.u", "p1", "adamax.t"],
    "amsgrad": [
        "p0.amsgrad.m",
        "p0.amsgrad.v",
        "p0.amsgrad.vhat",
        "p0",
        "p1.amsgrad.m",
        "p1.amsgrad.v",
        "p1.amsgrad.vhat",
        "p1",
        "amsgrad.t",
    ],
    "adagrad_window": [
        "p0.adagrad_window.accu",
        "p0.adagrad_window.index",
        "p0",
        "p1.adagrad_window.accu",
        "p1.adagrad_window.index",
        "p1",
    ],
}


@pytest.mark.parametrize("rule", RULES)
def test_key_order_names_and_state(rule):
    params = make_params("float64", shapes=[(2,), (3, 2)])
    updates = getattr(symupdates, rule)((params[0] ** 2).sum() + (params[1] ** 2).sum(), params)
    assert isinstance(updates, OrderedDict)
    assert [v.name for v in updates] == KEY_ORDER[rule]
    assert list(updates)[: len(params)] != [] and all(p in updates for p in params)
    state = [v for v in updates if v not in params]
    assert set(updates.state) == set(state)
    for var in state:
        value = var.get_value()
        if var.name.endswith(".t") or var.name.endswith(".index"):
            assert value.dtype == np.int64 and value.shape == () and value == 0
        else:
            owner = params[int(var.name[1])]
            extra = (10,) if rule == "adagrad_window" else ()
            assert value.dtype == owner.dtype and value.shape == owner.get_value().shape + extra
            assert not value.any()
            assert var.type.shape == owner.type.shape + extra
    for var, expr in updates.items():
        assert expr.type == var.type


@pytest.mark.parametrize("rule", RULES)
def test_two_calls_never_share_state(rule):
    (p,) = make_params("float64", shapes=[(3,)])
    first = getattr(symupdates, rule)((p**2).sum(), [p])
    second = getattr(symupdates, rule)((p**2).sum(), [p])
    assert not set(first.state) & set(second.state)
    assert [v.name for v in first] == [v.name for v in second]


def test_counter_is_last_integer_and_shared_by_params():
    params = make_params("float32", shapes=[(2,), (3,)])
    updates = symupdates.adam((params[0] ** 2).sum() + (params[1] ** 2).sum(), params)
    counters = [v for v in updates if v.name == "adam.t"]
    assert len(counters) == 1 and list(updates)[-1] is counters[0]
    assert counters[0].dtype == "int64"


def test_unnamed_and_duplicate_names_get_positional_state_names():
    a = pytensor.shared(np.ones(2), name="W")
    b = pytensor.shared(np.ones(2), name="W")
    c = pytensor.shared(np.ones(2))
    updates = symupdates.adagrad((a.sum() + b.sum() + c.sum()) ** 2, [a, b, c])
    assert [v.name for v in updates.state] == [
        "W[0].adagrad.accu",
        "W[1].adagrad.accu",
        "param[2].adagrad.accu",
    ]


@pytest.mark.parametrize("rule", RULES)
def test_partial_application(rule):
    hyper = OTHER[rule]
    partial = getattr(symupdates, rule)(**hyper)
    assert callable(partial)
    a = make_params("float64", shapes=[(3,)])
    b = make_params("float64", shapes=[(3,)])
    grads = gradient_sequence(a, 5)
    results = []
    for params, updates_of in [(a, partial), (b, lambda g, p: getattr(symupdates, rule)(g, p, **hyper))]:
        g = [pt.vector("g")]
        fn = pytensor.function(g, [], updates=updates_of(g, params))
        for step in grads:
            fn(*step)
        results.append(params[0].get_value())
    np.testing.assert_array_equal(results[0], results[1])


@pytest.mark.parametrize("rule", RULES)
def test_exactly_one_of_loss_and_params_is_an_error(rule):
    (p,) = make_params("float64", shapes=[(3,)])
    fn = getattr(symupdates, rule)
    with pytest.raises(ValueError, match="params is missing"):
        fn((p**2).sum())
    with pytest.raises(ValueError, match="loss_or_grads is missing"):
        fn(params=[p])


def test_positional_learning_rate_like_lasagne():
    (p,) = make_params("float64", shapes=[(3,)])
    p.set_value(np.ones(3))
    fn = pytensor.function([], [], updates=symupdates.sgd((p**2).sum(), [p], 0.1))
    fn()
    np.testing.assert_allclose(p.get_value(), np.full(3, 0.8))


def hyper_kinds(value):
    return {
        "python float": value,
        "numpy float64": np.float64(value),
        "float64 shared": pytensor.shared(np.float64(value)),
        "float32 shared": pytensor.shared(np.float32(value)),
        "symbolic expression": pt.constant(value, dtype="float64") * pt.constant(1.0, dtype="float64"),
        "python int": int(round(value)) or 1,
    }


@pytest.mark.parametrize("kind", list(hyper_kinds(0.5)))
@pytest.mark.parametrize("rule", RULES)
def test_update_types_match_whatever_the_hyperparameter_type(rule, kind):
    params = make_params("float32", shapes=[(2, 2), ()])
    hyper = {k: (hyper_kinds(v)[kind] if k != "n_win" else v) for k, v in DEFAULTS[rule].items()}
    if kind == "python int":
        hyper = {k: v for k, v in hyper.items() if k == "learning_rate"}
    updates = getattr(symupdates, rule)((params[0] ** 2).sum() + params[1] ** 2, params, **hyper)
    for var, expr in updates.items():
        assert expr.type == var.type, (var.name, expr.type, var.type)


def test_float32_network_with_float64_shared_learning_rate_compiles_and_changes_without_recompiling():
    W = pytensor.shared(np.ones((3, 2), dtype="float32"), name="W")
    x = pt.matrix("x", dtype="float32")
    lr = pytensor.shared(np.float64(0.1), name="lr")
    loss = pt.sum(pt.dot(x, W) ** 2)
    fn = pytensor.function([x], loss, updates=symupdates.adam(loss, [W], learning_rate=lr))
    data = np.ones((4, 3), dtype="float32")
    fn(data)
    before = W.get_value()
    lr.set_value(0.0)
    fn(data)
    np.testing.assert_array_equal(W.get_value(), before)  # the new rate took effect in the same function
    lr.set_value(0.1)
    fn(data)
    assert not np.array_equal(W.get_value(), before)
    assert W.get_value().dtype == np.float32
