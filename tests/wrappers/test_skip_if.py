"""skip_if, large_step and the consecutive-skip limit of skip_if / apply_if_finite."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import symupdates as su

MODES = ["NUMBA", "CVM", "JAX"]


def test_large_step_skips_exactly_the_steps_over_the_norm():
    w = pytensor.shared(np.array([1.0, -2.0]), name="w")
    scale = pt.scalar("scale")
    updates = su.skip_if(su.sgd(learning_rate=0.1), su.large_step(0.5))((scale * w**2).sum(), [w])
    step = pytensor.function([scale], updates.monitors["skipped_steps"], updates=updates)
    expected = w.get_value().copy()
    for s in [1.0, 10.0, 0.5, 20.0]:
        proposed = -0.1 * 2 * s * expected
        if np.linalg.norm(proposed) <= 0.5:
            expected = expected + proposed
        skipped = step(s)
        np.testing.assert_array_equal(w.get_value(), expected)
    assert skipped == 2  # the steps with scale 10 and 20


def test_condition_on_the_loss_and_state_of_inner_kept_bit_for_bit():
    w = pytensor.shared(np.array([3.0, 1.0]), name="w")
    loss = ((w - 1.0) ** 2).sum()
    updates = su.skip_if(su.adam(learning_rate=0.1), lambda step: step.loss > 1.0)(loss, [w])
    step = pytensor.function([], [], updates=updates)
    state = {v.name: v for v in updates.state}
    step()  # loss 4 > 1: skipped, adam's moments and count untouched
    assert state["adam.t"].get_value() == 0 and state["skip_if.skipped"].get_value() == 1
    np.testing.assert_array_equal(w.get_value(), [3.0, 1.0])
    w.set_value(np.array([1.5, 1.0]))
    step()  # loss 0.25: adam's first step, -0.1 * sign(g)
    np.testing.assert_allclose(w.get_value(), [1.4, 1.0])
    assert state["adam.t"].get_value() == 1


def test_condition_must_be_a_scalar_bool_and_arguments_are_checked():
    w = pytensor.shared(np.ones(2), name="w")
    with pytest.raises(TypeError, match="condition must be a callable"):
        su.skip_if(su.sgd(learning_rate=0.1), 3.0)
    with pytest.raises(ValueError, match="max_consecutive_skips"):
        su.skip_if(su.sgd(learning_rate=0.1), su.large_step(1.0), max_consecutive_skips=-1)
    with pytest.raises(ValueError, match="max_consecutive_skips"):
        su.apply_if_finite(su.sgd(learning_rate=0.1), max_consecutive_skips=1.5)
    with pytest.raises(TypeError, match="symbolic scalar bool"):
        su.skip_if(su.sgd(learning_rate=0.1), lambda step: step.steps[0])((w**2).sum(), [w])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("guard", ["skip_if", "apply_if_finite"])
def test_consecutive_skip_limit_raises_from_the_compiled_step_updating_nothing(guard, mode):
    if mode == "JAX":
        pytest.importorskip("jax")
    w = pytensor.shared(np.array([1.0, 2.0]), name="w")
    bad = pt.scalar("bad")
    loss = (w**2).sum() * bad  # bad = inf makes the gradient non-finite and the step huge
    inner = su.momentum(learning_rate=0.1, momentum=0.9)
    if guard == "skip_if":
        rule = su.skip_if(inner, su.large_step(10.0), max_consecutive_skips=2)
    else:
        rule = su.apply_if_finite(inner, max_consecutive_skips=2)
    updates = rule(loss, [w])
    step = pytensor.function([bad], [], updates=updates, mode=mode)
    shared = [w, *updates.state]
    consecutive = next(v for v in updates.state if v.name == f"{guard}.consecutive")
    step(1.0)
    step(np.inf)
    step(1.0)  # a step taken resets the run of skips
    assert consecutive.get_value() == 0
    step(np.inf)
    step(np.inf)
    assert consecutive.get_value() == 2
    before = [v.get_value().copy() for v in shared]
    with pytest.raises(Exception, match=f"{guard}: 3 consecutive steps would be skipped") as raised:
        step(np.inf)
    if mode != "JAX":  # JAX wraps the callback's exception in its own runtime error
        assert raised.type is su.TooManySkippedSteps
    for var, value in zip(shared, before, strict=True):
        np.testing.assert_array_equal(var.get_value(), value, err_msg=var.name)
    step(1.0)
    assert consecutive.get_value() == 0


def test_skip_if_wraps_lbfgs():
    w = pytensor.shared(np.array([3.0, -2.0]), name="w")
    limit = pytensor.shared(0.1, name="limit")
    rule = su.skip_if(su.lbfgs(max_iter=5), lambda step: pt.max(pt.abs(step.steps[0])) > limit)
    updates = rule(((w - 1.0) ** 2).sum(), [w])
    step = pytensor.function([], [], updates=updates)
    step()
    np.testing.assert_array_equal(w.get_value(), [3.0, -2.0])
    limit.set_value(100.0)
    step()
    np.testing.assert_allclose(w.get_value(), [1.0, 1.0])
