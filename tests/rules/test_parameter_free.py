"""prodigy and dadapt_adamw (their numbers against optax.contrib are in tests/integration/test_parity.py): the
distance estimate grows from estim_lr0 and never shrinks, float32 params stay float32; bad arguments."""

import numpy as np
import pytensor
import pytest

import symupdates as su
from support.modes import EQUATIONS


@pytest.mark.fast
@pytest.mark.parametrize("rule", [su.prodigy, su.dadapt_adamw])
def test_distance_estimate_grows_monotonically_from_its_initial_value(rule):
    w = pytensor.shared(np.array([3.0, -2.0], dtype="float32"), name="w")
    updates = rule(((w - 1) ** 2).sum(), [w])
    assert all(expr.dtype == var.dtype for var, expr in updates.items())
    (d,) = [v for v in updates.state if v.name.endswith(".d")]
    step = pytensor.function([], [], updates=updates, mode=EQUATIONS)
    estimates = [float(d.get_value())]
    for _ in range(30):
        step()
        estimates.append(float(d.get_value()))
    assert estimates[0] == 1e-6
    assert (
        np.all(np.diff(estimates) >= 0) and estimates[-1] > 1e-3
    )  # learned a step size of the problem's scale


def test_bad_arguments_are_refused_when_built():
    with pytest.raises(ValueError, match="estim_lr0 must be a finite number > 0"):
        su.prodigy(estim_lr0=0.0)
    with pytest.raises(TypeError, match="safeguard_warmup"):
        su.prodigy(safeguard_warmup=1)
    with pytest.raises(TypeError, match="estim_lr0"):
        su.dadapt_adamw(estim_lr0=pytensor.shared(1e-6))
