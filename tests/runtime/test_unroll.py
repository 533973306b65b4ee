"""symupdates.unroll: k steps of a rule as a differentiable graph.

References: ``jax.grad`` through the same k steps of live optax in float64, central finite differences, and
k calls of the ordinary compiled one-step function (bit for bit in NUMBA).
"""

import functools

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import symupdates as su
from support.fusion import fused_programs

# Without jax and optax (the PyMC 5 and pytensor-ml legs) only the comparison with them is skipped.
try:
    import jax
    import jax.numpy as jnp
    import optax
except ImportError:
    jax = jnp = optax = None
needs_optax = pytest.mark.skipif(optax is None, reason="jax and optax are not installed")

STEPS, BATCH, FEATURES, CLASSES = 6, 8, 5, 3


@pytest.fixture
def float64_jax():
    """Float64 in JAX for one test only."""
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", previous)


def make_data(seed=0):
    rng = np.random.default_rng(seed)
    return {
        "W": rng.normal(scale=0.5, size=(FEATURES, CLASSES)),
        "b": rng.normal(scale=0.1, size=CLASSES),
        "X": rng.normal(size=(STEPS, BATCH, FEATURES)),
        "Y": np.eye(CLASSES)[rng.integers(CLASSES, size=(STEPS, BATCH))],
        "Xv": rng.normal(size=(20, FEATURES)),
        "Yv": np.eye(CLASSES)[rng.integers(CLASSES, size=20)],
    }


def pt_loss(W, b, x, y):
    logits = pt.dot(x, W) + b
    return -(y * pt.special.log_softmax(logits, axis=-1)).sum(axis=-1).mean()


def jax_loss(params, x, y):
    logits = x @ params["W"] + params["b"]
    return -(y * jax.nn.log_softmax(logits, axis=-1)).sum(axis=-1).mean()


def build(rule_of, data):
    """The unrolled graph of ``rule_of(lr)`` and a function of (lr, X, Y) returning the meta-objective and
    its gradients with respect to lr, the starting W and the data X."""
    W = pytensor.shared(data["W"], name="W")
    b = pytensor.shared(data["b"], name="b")
    x, y = pt.dmatrix("x"), pt.dmatrix("y")
    X, Y = pt.dtensor3("X"), pt.dtensor3("Y")
    lr = pt.dscalar("lr")
    result = su.unroll(rule_of(lr), pt_loss(W, b, x, y), [W, b], {x: X, y: Y}, STEPS)
    meta = pt_loss(*result.params, data["Xv"], data["Yv"]) + 0.1 * result.losses.sum()
    grads = pytensor.grad(meta, [lr, W, X])
    return pytensor.function([lr, X, Y], [meta, *grads]), result


def jax_meta(optimizer_of, data):
    """The same meta-objective through ``STEPS`` optax steps, as a function of (lr, W0, X)."""

    def meta(lr, W0, X):
        params = {"W": W0, "b": jnp.asarray(data["b"])}
        optimizer = optimizer_of(lr)
        state = optimizer.init(params)
        losses = []
        for t in range(STEPS):
            loss, grads = jax.value_and_grad(jax_loss)(params, X[t], data["Y"][t])
            losses.append(loss)
            updates, state = optimizer.update(grads, state, params)
            params = optax.apply_updates(params, updates)
        return jax_loss(params, data["Xv"], data["Yv"]) + 0.1 * sum(losses)

    return meta


# (symupdates rule, optax optimizer, learning rate): the same equations in both libraries' conventions.
CASES = {
    "sgd_momentum": (
        lambda lr: su.sgd(learning_rate=lr, momentum=0.9),
        lambda lr: optax.sgd(lr, momentum=0.9),
        0.3,
    ),
    "adam": (
        lambda lr: su.adam(learning_rate=lr, epsilon_placement="outside"),
        lambda lr: optax.adam(lr),
        0.05,
    ),
    "adamw_cosine_clip": (
        lambda lr: su.chain(
            su.clip_by_global_norm(0.3),
            su.adamw(learning_rate=su.cosine_decay_schedule(lr, STEPS, alpha=0.1), weight_decay=0.05),
        ),
        lambda lr: optax.chain(
            optax.clip_by_global_norm(0.3),
            optax.adamw(optax.cosine_decay_schedule(lr, STEPS, alpha=0.1), weight_decay=0.05),
        ),
        0.05,
    ),
}


@functools.cache
def compiled(case):
    """``build``'s function for ``CASES[case]`` on ``make_data()``, compiled once for the tests sharing it."""
    return build(CASES[case][0], make_data())[0]


@needs_optax
@pytest.mark.parametrize("case", sorted(CASES))
def test_hypergradients_equal_jax_grad_through_optax(case, float64_jax):
    _, optimizer_of, lr = CASES[case]
    data = make_data()
    f = compiled(case)
    meta, g_lr, g_W, g_X = f(lr, data["X"], data["Y"])
    reference = jax_meta(optimizer_of, data)
    ref_meta, (ref_lr, ref_W, ref_X) = jax.value_and_grad(reference, argnums=(0, 1, 2))(
        lr, jnp.asarray(data["W"]), jnp.asarray(data["X"])
    )
    np.testing.assert_allclose(meta, ref_meta, rtol=1e-12)
    np.testing.assert_allclose(g_lr, ref_lr, rtol=1e-8)
    np.testing.assert_allclose(g_W, ref_W, rtol=1e-8, atol=1e-14)
    np.testing.assert_allclose(g_X, ref_X, rtol=1e-8, atol=1e-14)


@pytest.mark.parametrize("case", sorted(CASES))
def test_hypergradient_equals_central_differences(case):
    _, _, lr = CASES[case]
    data = make_data()
    f = compiled(case)
    g_lr = f(lr, data["X"], data["Y"])[1]
    # Central differences in the learning rate, step h: the error is O(h^2) plus rounding O(eps / h).
    h = 1e-5
    plus, minus = f(lr + h, data["X"], data["Y"])[0], f(lr - h, data["X"], data["Y"])[0]
    np.testing.assert_allclose(g_lr, (plus - minus) / (2 * h), rtol=1e-6)
    # The hypergradient is not trivially small: the check above means something.
    assert abs(g_lr) > 1e-3


def test_final_params_equal_k_compiled_steps_bit_for_bit_in_numba():
    data = make_data(1)
    W = pytensor.shared(data["W"], name="W")
    b = pytensor.shared(data["b"], name="b")
    x, y = pt.dmatrix("x"), pt.dmatrix("y")
    X, Y = pt.dtensor3("X"), pt.dtensor3("Y")
    lr = pt.dscalar("lr")
    rule = su.chain(su.clip_by_global_norm(0.3), su.adam(learning_rate=lr, epsilon_placement="outside"))
    loss = pt_loss(W, b, x, y)
    result = su.unroll(rule, loss, [W, b], {x: X, y: Y}, STEPS)
    unrolled = pytensor.function([lr, X, Y], [*result.params, result.losses], mode="NUMBA")
    final_W, final_b, losses = unrolled(0.05, data["X"], data["Y"])
    assert W.get_value().tolist() == data["W"].tolist()  # unrolling updates nothing

    step = pytensor.function([lr, x, y], loss, updates=result.updates, mode="NUMBA")
    stepped = [step(0.05, data["X"][t], data["Y"][t]) for t in range(STEPS)]
    got = [final_W, final_b, np.asarray(losses)]
    want = [W.get_value(), b.get_value(), np.asarray(stepped)]
    # Bit for bit where the loop body fuses like the one-step function (PyTensor 3; 2.38's fuser orders the
    # operands otherwise, see tests/runtime/test_steps.py, and the moments differ in the last bits).
    [scan] = [n for n in unrolled.maker.fgraph.apply_nodes if type(n.op).__name__ == "Scan"]
    if fused_programs(step.maker.fgraph) == fused_programs(scan.op.fgraph):
        assert [array.tobytes() for array in got] == [array.tobytes() for array in want]
    else:
        for ours, reference in zip(got, want, strict=True):
            np.testing.assert_allclose(ours, reference, rtol=1e-12, atol=0)


def test_state_and_monitors_follow_the_steps():
    W = pytensor.shared(np.ones(2), name="W")
    x, X = pt.dvector("x"), pt.dmatrix("X")
    rule = su.adam(learning_rate=su.linear_schedule(1.0, 0.0, 4))
    result = su.unroll(rule, ((W - x) ** 2).sum(), [W], {x: X}, 4)
    counter = next(var for var in result.updates.state if var.name == "adam.t")
    f = pytensor.function([X], [result.state[counter], result.monitors["learning_rate"]])
    count, rates = f(np.zeros((4, 2)))
    assert count == 4
    np.testing.assert_allclose(rates, [1.0, 0.75, 0.5, 0.25])
    assert counter.get_value() == 0


@pytest.mark.parametrize(
    "rule", [su.sign_sgd(), su.signum(), su.lion(), su.rprop(), su.inject_hyperparams(su.lion)()]
)
def test_sign_rules_are_refused_unless_allowed(rule):
    W = pytensor.shared(np.ones(2), name="W")
    x = pt.dvector("x")
    with pytest.raises(ValueError, match="sign of its gradients.*allow_piecewise_constant"):
        su.unroll(rule, ((W - x) ** 2).sum(), [W], {x: pt.dmatrix("X")}, 2)


def test_lion_allowed_differentiates_through_the_learning_rate_only():
    # p' = p - lr * sign(...): with the signs held constant, d p_k / d lr = -(sum of the k signs).
    W = pytensor.shared(np.array([1.0, -2.0]), name="W")
    x, X = pt.dvector("x"), pt.dmatrix("X")
    lr = pt.dscalar("lr")
    rule = su.lion(learning_rate=lr)
    result = su.unroll(rule, ((W - x) ** 2).sum(), [W], {x: X}, 3, allow_piecewise_constant=True)
    f = pytensor.function([lr, X], pytensor.gradient.jacobian(result.params[0], lr))
    np.testing.assert_array_equal(f(0.1, np.zeros((3, 2))), [-3.0, 3.0])


def test_bad_arguments_are_named():
    W = pytensor.shared(np.ones(2), name="W")
    x, z = pt.dvector("x"), pt.dvector("z")
    loss = ((W - x) ** 2).sum()
    with pytest.raises(ValueError, match="steps must be an int >= 1"):
        su.unroll(su.sgd(learning_rate=0.1), loss, [W], {x: pt.dmatrix()}, 0)
    with pytest.raises(ValueError, match="the key z is not a free"):
        su.unroll(su.sgd(learning_rate=0.1), loss, [W], {z: pt.dmatrix()}, 2)
    with pytest.raises(ValueError, match=r"sequences\[x\] must have 2 dimensions"):
        su.unroll(su.sgd(learning_rate=0.1), loss, [W], {x: pt.dvector()}, 2)
    with pytest.raises(ValueError, match=r"sequences\[x\] has 3 steps"):
        su.unroll(su.sgd(learning_rate=0.1), loss, [W], {x: pt.tensor(shape=(3, 2))}, 2)
    with pytest.raises(TypeError, match="rule must be a Transform"):
        su.unroll(su.sgd, loss, [W], {x: pt.dmatrix()}, 2)
