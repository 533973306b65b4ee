"""The evaluation params of schedule-free rules (their numbers against optax are in
tests/integration/test_parity.py): swapped in and out by swap_parameters, refused for updates without
schedule-free state; bad arguments."""

import numpy as np
import pytensor
import pytest

import symupdates as su
from support.modes import EQUATIONS


@pytest.mark.fast
def test_swap_parameters_evaluates_at_the_average_and_restores_the_params():
    w = pytensor.shared(np.array([2.0, -1.0]), name="w")
    v = pytensor.shared(np.array([1.0]), name="v")
    updates = su.schedule_free_sgd((w**2).sum() + (v**2).sum(), [w, v], learning_rate=0.1, beta1=0.5)
    step = pytensor.function([], [], updates=updates, mode=EQUATIONS)
    for _ in range(3):
        step()
    y = {p: p.get_value() for p in (w, v)}
    z = {p: s.get_value() for s in updates.state for p in (w, v) if s.name == f"{p.name}.schedule_free.z"}
    with su.swap_parameters(su.schedule_free_eval_parameters(updates)):
        for p in (w, v):
            np.testing.assert_allclose(p.get_value(), (y[p] - 0.5 * z[p]) / 0.5)  # x = (y - (1 - b1) z) / b1
    for p in (w, v):
        np.testing.assert_array_equal(p.get_value(), y[p])


def test_updates_without_schedule_free_state_are_refused():
    w = pytensor.shared(np.ones(2), name="w")
    with pytest.raises(ValueError, match="no schedule-free state"):
        su.schedule_free_eval_parameters(su.adam((w**2).sum(), [w]))


def test_bad_arguments_are_refused_when_built():
    with pytest.raises(ValueError, match="beta1 must be a finite number > 0"):
        su.schedule_free_adamw(beta1=0.0)
    with pytest.raises(TypeError, match="inner must be a Transform"):
        su.schedule_free(su.adam, 0.1)
    with pytest.raises(ValueError, match="epsilon"):
        su.schedule_free_adamw(epsilon=-1.0)
