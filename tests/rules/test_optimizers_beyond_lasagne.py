"""The optimizers beyond Lasagne and the torch/optax options of the classic ones, against independent NumPy
implementations (tests/support/reference_more.py): float32 and float64 params of four shapes in one function
per rule, two hyper-parameter settings fed as symbolic inputs, several steps each.

These tests check the equations, so they run the graphs with PyTensor's Python linker (NumPy, nothing to
compile); tests/integration/test_backends.py checks that NUMBA, CVM and JAX give the same numbers for every
rule.
"""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import symupdates as su
from support.modes import EQUATIONS
from support.params import ABSOLUTE, TOLERANCE, gradient_sequence, make_params, mixed_params, run_steps
from support.reference_more import (
    DEFAULTS_MORE,
    OTHER_MORE,
    REFERENCES_MORE,
    ref_adagrad_torch,
    ref_adam_outside,
    ref_radam,
    ref_sgd_torch,
)

RULES = sorted(REFERENCES_MORE)
# Hyper-parameters that fill state (rprop's initial step size) or are not scalars stay numbers.
NUMERIC = {"rprop": {"learning_rate"}, "yogi": {"initial_accumulator_value"}}


def assert_trajectory(name, initial, grads, history, reference):
    for k, p0 in enumerate(initial):
        expected = reference(p0, [g[k] for g in grads])
        for step, (values, want) in enumerate(zip(history, expected, strict=True)):
            assert values[k].dtype == p0.dtype
            np.testing.assert_allclose(
                values[k],
                want,
                rtol=TOLERANCE[p0.dtype.name],
                atol=ABSOLUTE[p0.dtype.name],
                err_msg=f"{name} param {k} step {step}",
            )


@pytest.mark.fast
@pytest.mark.parametrize("rule", RULES)
def test_matches_numpy_reference_for_two_settings_in_one_compile(rule):
    params = mixed_params(seed=7)
    names = [k for k in DEFAULTS_MORE[rule] if k not in NUMERIC.get(rule, ())]
    fixed = {k: v for k, v in DEFAULTS_MORE[rule].items() if k not in names}
    symbols = [pt.scalar(k, dtype="float64") for k in names]
    grads_in = [pt.tensor(f"g{i}", dtype=p.dtype, shape=p.type.shape) for i, p in enumerate(params)]
    updates = getattr(su, rule)(grads_in, params, **dict(zip(names, symbols, strict=True)), **fixed)
    for var, expr in updates.items():
        assert expr.type == var.type, var.name
    fn = pytensor.function(grads_in + symbols, [], updates=updates, mode=EQUATIONS)
    initial_state = {v: v.get_value() for v in updates.state}
    for setting, seed in [(DEFAULTS_MORE[rule], 11), (OTHER_MORE[rule], 12)]:
        rng = np.random.default_rng(seed)
        initial = [rng.normal(size=p.get_value().shape).astype(p.dtype) for p in params]
        for p, v in zip(params, initial, strict=True):
            p.set_value(v)
        for var, value in initial_state.items():
            var.set_value(value)
        grads = gradient_sequence(params, 8, seed=seed, shrink=0.9)
        history = run_steps(fn, params, grads, *[setting[k] for k in names])
        hyper = {**setting, **fixed} if setting is DEFAULTS_MORE[rule] else setting
        assert_trajectory(
            rule, initial, grads, history, lambda p, g, hyper=hyper: REFERENCES_MORE[rule](p, g, **hyper)
        )


# The keyword-only options of the classic rules, each against its NumPy reference; all in one compile.
VARIANTS = {
    "sgd weight decay": (
        su.sgd(learning_rate=0.1, weight_decay=0.3),
        lambda p, g: ref_sgd_torch(p, g, 0.1, weight_decay=0.3),
    ),
    "sgd momentum": (
        su.sgd(learning_rate=0.1, momentum=0.6),
        lambda p, g: ref_sgd_torch(p, g, 0.1, momentum=0.6),
    ),
    "sgd nesterov decay": (
        su.sgd(learning_rate=0.1, momentum=0.6, nesterov=True, weight_decay=0.2),
        lambda p, g: ref_sgd_torch(p, g, 0.1, 0.6, 0.2, nesterov=True),
    ),
    "adagrad torch": (
        su.adagrad(
            learning_rate=0.2,
            epsilon=1e-3,
            lr_decay=0.3,
            initial_accumulator_value=0.5,
            epsilon_placement="outside",
        ),
        lambda p, g: ref_adagrad_torch(p, g, 0.2, 1e-3, 0.3, 0.5, outside=True),
    ),
    "adagrad optax": (
        su.adagrad(learning_rate=0.2, epsilon=1e-3, initial_accumulator_value=0.1),
        lambda p, g: ref_adagrad_torch(p, g, 0.2, 1e-3, initial_accumulator_value=0.1),
    ),
    "adam outside": (
        su.adam(learning_rate=0.05, beta1=0.5, beta2=0.9, epsilon=1e-3, epsilon_placement="outside"),
        lambda p, g: ref_adam_outside(p, g, 0.05, 0.5, 0.9, 1e-3),
    ),
    "radam outside": (
        su.radam(learning_rate=0.05, beta1=0.5, beta2=0.9, epsilon=1e-3, epsilon_placement="outside"),
        lambda p, g: ref_radam(p, g, 0.05, 0.5, 0.9, 1e-3, hat=False),
    ),
}


@pytest.mark.fast
def test_keyword_options_of_classic_rules_match_numpy_references():
    cases = {name: mixed_params(seed=9) for name in VARIANTS}
    grads_in = [
        pt.tensor(f"g{i}", dtype=p.dtype, shape=p.type.shape) for i, p in enumerate(cases["sgd momentum"])
    ]
    updates = {}
    for name, (rule, _) in VARIANTS.items():
        updates.update(rule(grads_in, cases[name]))
    fn = pytensor.function(grads_in, [], updates=updates, mode=EQUATIONS)
    initial = {name: [p.get_value() for p in params] for name, params in cases.items()}
    grads = gradient_sequence(cases["sgd momentum"], 10, seed=4, shrink=0.9)
    history = {name: [] for name in cases}
    for g in grads:
        fn(*g)
        for name, params in cases.items():
            history[name].append([p.get_value() for p in params])
    for name, (_, reference) in VARIANTS.items():
        assert_trajectory(name, initial[name], grads, history[name], reference)


def test_options_left_at_their_defaults_add_nothing_to_the_graph():
    (p,) = make_params("float64", shapes=[(3,)])
    loss = (p**2).sum()
    assert [v.name for v in su.sgd(loss, [p], 0.1, momentum=0.0, weight_decay=0.0)] == ["p0"]
    assert [v.name for v in su.adagrad(loss, [p], lr_decay=0.0)] == ["p0.adagrad.accu", "p0"]
    assert [v.name for v in su.adagrad(loss, [p], lr_decay=0.1)] == ["p0.adagrad.accu", "p0", "adagrad.t"]
    assert [v.name for v in su.sgd(loss, [p], momentum=0.9)] == ["p0.sgd.velocity", "p0"]
    assert repr(su.sgd(learning_rate=0.1)) == "sgd(learning_rate=0.1)"


def test_bad_options_raise_naming_the_argument():
    (p,) = make_params("float64", shapes=[(3,)])
    loss = (p**2).sum()
    with pytest.raises(ValueError, match="epsilon_placement"):
        su.adagrad(loss, [p], epsilon_placement="hat")
    with pytest.raises(ValueError, match="epsilon_placement"):
        su.adam(loss, [p], epsilon_placement="under")
    with pytest.raises(ValueError, match="nesterov"):
        su.sgd(loss, [p], nesterov=True)
    with pytest.raises(ValueError, match="initial_accumulator_value"):
        su.adagrad(loss, [p], initial_accumulator_value=-1.0)
    with pytest.raises(TypeError, match="learning_rate must be a number"):
        su.rprop(loss, [p], learning_rate=pytensor.shared(0.1))
    with pytest.raises(TypeError, match="weight_decay"):
        su.adamw(loss, [p], weight_decay="0.1")
    with pytest.raises(TypeError, match="mask"):
        su.add_decayed_weights(0.1, mask="all")
    with pytest.raises(TypeError, match="sgd\\(\\) takes from 0 to 3 positional"):
        su.sgd(loss, [p], 0.1, 0.9)


def test_lasagne_positional_sgd_is_unchanged():
    (p,) = make_params("float64", shapes=[(3,)])
    p.set_value(np.ones(3))
    fn = pytensor.function([], [], updates=su.sgd((p**2).sum(), [p], 0.1))
    fn()
    np.testing.assert_array_equal(p.get_value(), np.full(3, 0.8))


def test_add_decayed_weights_coupled_and_decoupled_placements():
    """Before the scaling the decay is rescaled by adagrad; after it, it is plain ``lr * wd * p``."""
    a, b, c = (make_params("float64", shapes=[(4,)], prefix=x) for x in "abc")
    grads = gradient_sequence(a, 6)
    g = [pt.vector("g")]
    coupled = su.chain(su.add_decayed_weights(0.5), su.scale_by_rss(), su.scale_by_learning_rate(0.1))
    decoupled = su.chain(su.scale_by_rss(), su.add_decayed_weights(0.5), su.scale_by_learning_rate(0.1))
    masked = su.chain(
        su.scale_by_rss(),
        su.add_decayed_weights(0.5, mask=lambda p: p.name != "c0"),
        su.scale_by_learning_rate(0.1),
    )
    updates = {**coupled(g, a), **decoupled(g, b), **masked(g, c)}
    fn = pytensor.function(g, [], updates=updates, mode=EQUATIONS)
    starts = [x[0].get_value() for x in (a, b, c)]
    for step in grads:
        fn(*step)
    # independent references
    pa, pb, pc, acc_a, acc_b = *starts, 0.0, 0.0
    for (gk,) in grads:
        d = gk + 0.5 * pa
        acc_a = acc_a + d**2
        pa = pa - 0.1 * d / np.sqrt(acc_a + 1e-6)
        acc_b = acc_b + gk**2
        pb = pb - 0.1 * (gk / np.sqrt(acc_b + 1e-6) + 0.5 * pb)
        pc = pc - 0.1 * gk / np.sqrt(acc_b + 1e-6)
    np.testing.assert_allclose(a[0].get_value(), pa, rtol=1e-12)
    np.testing.assert_allclose(b[0].get_value(), pb, rtol=1e-12)
    np.testing.assert_allclose(c[0].get_value(), pc, rtol=1e-12)


def test_adafactor_keeps_factored_statistics_for_matrices():
    params = make_params("float32", shapes=[(5, 4), (2, 3, 4), (6,)])
    updates = su.adafactor(sum((p**2).sum() for p in params), params)
    shapes = {v.name: v.get_value().shape for v in updates.state}
    assert shapes == {
        "p0.adafactor.row": (5, 1),
        "p0.adafactor.col": (1, 4),
        "p1.adafactor.row": (2, 3, 1),
        "p1.adafactor.col": (2, 1, 4),
        "p2.adafactor.v": (6,),
        "adafactor.t": (),
    }
    for var, expr in updates.items():
        assert expr.type == var.type, var.name


def test_radam_is_unadapted_momentum_for_its_first_steps():
    """With beta2 = 0.999, rho_t <= 5 for t <= 5 (the paper): the step is lr * m_hat, SGD-momentum's form."""
    (p,) = make_params("float64", shapes=[(3,)])
    start = p.get_value()
    grads = gradient_sequence([p], 5)
    g = [pt.vector("g")]
    fn = pytensor.function(g, [], updates=su.radam(g, [p], learning_rate=0.1, beta1=0.0), mode=EQUATIONS)
    for step in grads:
        fn(*step)
    np.testing.assert_allclose(p.get_value(), start - 0.1 * sum(s[0] for s in grads), rtol=1e-12)
