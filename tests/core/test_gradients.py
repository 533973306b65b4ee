"""get_or_compute_grads and the graph-build-time errors every rule shares."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import symupdates
from support.reference import DEFAULTS

RULES = sorted(DEFAULTS)


def test_given_gradients_are_returned_unchanged():
    w = pytensor.shared(np.ones(3), name="w")
    grads = [pt.vector("g")]
    assert symupdates.get_or_compute_grads(grads, [w]) is grads
    grads = (pt.vector("g"),)
    assert symupdates.get_or_compute_grads(grads, [w]) is grads


def test_computed_gradients_match_calculus():
    w = pytensor.shared(np.array([1.0, 2.0, 3.0]), name="w")
    [g] = symupdates.get_or_compute_grads((w**3).sum(), [w])
    np.testing.assert_allclose(g.eval(), 3 * np.array([1.0, 2.0, 3.0]) ** 2)


def test_length_mismatch():
    w = pytensor.shared(np.ones(3), name="w")
    with pytest.raises(ValueError, match="Got 2 gradient expressions for 1 parameters"):
        symupdates.get_or_compute_grads([pt.vector(), pt.vector()], [w])


def test_gradient_ndim_mismatch_names_the_gradient():
    w = pytensor.shared(np.ones(3), name="w")
    with pytest.raises(ValueError, match=r"loss_or_grads\[0\] has ndim 2 but params\[0\] \('w'\)"):
        symupdates.adam([pt.matrix()], [w])


@pytest.mark.parametrize("rule", RULES)
def test_param_not_a_shared_variable(rule):
    w = pytensor.shared(np.ones(3), name="w")
    x = pt.vector("x")
    with pytest.raises(ValueError, match=r"shared variables only.*params\[1\] \('x'\)"):
        getattr(symupdates, rule)((w**2).sum() + (x**2).sum(), [w, x])


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
def test_integer_or_boolean_params_are_refused(dtype):
    w = pytensor.shared(np.ones(3), name="w")
    n = pytensor.shared(np.ones(3, dtype=dtype), name="n")
    with pytest.raises(TypeError, match=rf"params\[1\] \('n'\) has dtype {dtype}"):
        symupdates.adagrad([pt.vector(), pt.vector()], [w, n])


def test_params_must_be_a_list():
    w = pytensor.shared(np.ones(3), name="w")
    with pytest.raises(TypeError, match="params must be a list"):
        symupdates.sgd((w**2).sum(), w)


def test_repeated_param():
    w = pytensor.shared(np.ones(3), name="w")
    with pytest.raises(ValueError, match="appears more than once"):
        symupdates.sgd((w**2).sum(), [w, w])


@pytest.mark.parametrize("rule", RULES)
def test_loss_must_be_a_scalar(rule):
    w = pytensor.shared(np.ones(3), name="w")
    with pytest.raises(ValueError, match="loss_or_grads must be a scalar loss"):
        getattr(symupdates, rule)(w**2, [w])


def test_loss_must_be_an_expression():
    w = pytensor.shared(np.ones(3), name="w")
    with pytest.raises(TypeError, match="loss_or_grads"):
        symupdates.sgd("loss", [w])


@pytest.mark.parametrize("rule", RULES)
def test_param_the_loss_does_not_depend_on(rule):
    w = pytensor.shared(np.ones(3), name="w")
    b = pytensor.shared(np.ones(3), name="b")
    with pytest.raises(ValueError, match=r"does not depend on params\[1\] \('b'\)"):
        getattr(symupdates, rule)((w**2).sum(), [w, b])


def test_errors_happen_before_any_state_is_created(monkeypatch):
    created = []
    original = pytensor.shared

    def spy(*args, **kwargs):
        var = original(*args, **kwargs)
        created.append(var)
        return var

    w = pytensor.shared(np.ones(3), name="w")
    b = pytensor.shared(np.ones(3), name="b")
    monkeypatch.setattr(pytensor, "shared", spy)
    for call in [
        lambda: symupdates.adam((w**2).sum(), [w, b]),
        lambda: symupdates.adam((w**2).sum(), [w], learning_rate="fast"),
        lambda: symupdates.adam((w**2).sum(), [w], epsilon=-1.0),
        lambda: symupdates.adadelta([pt.vector(), pt.vector()], [w]),
    ]:
        with pytest.raises((ValueError, TypeError)):
            call()
    assert created == []


@pytest.mark.parametrize("rule", RULES)
def test_float16_params_are_refused_naming_the_param_and_the_reason(rule):
    # The reason, checked: adam's epsilon is 0 in float16, and a squared gradient of 1e-4 underflows.
    assert np.float16(1e-8) == 0 and np.float16(1e-4) ** 2 == 0
    w = pytensor.shared(np.ones(3, dtype="float32"), name="w")
    h = pytensor.shared(np.ones(3, dtype="float16"), name="h")
    with pytest.raises(TypeError, match=r"params\[1\] \('h'\) has dtype float16.*NUMBA.*cannot compile"):
        getattr(symupdates, rule)((w**2).sum() + (h**2).sum(), [w, h])
