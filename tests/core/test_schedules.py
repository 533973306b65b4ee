"""Schedules against their closed forms (written here from optax's / torch's definitions), driven by the
step counter of real updates, in one compiled function; reduce_on_plateau against a NumPy reference of the
plateau logic."""

import math

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import symupdates as su
from symupdates.core.hyperparams import typed

STEPS = 50


def cos_anneal(start, end, progress):
    return end + (start - end) * (1 + math.cos(math.pi * progress)) / 2


def sgdr_closed_form(t, init, period, mult, end):
    start, length = 0, period
    while t >= start + length:
        start, length = start + length, length * mult
    return cos_anneal(init, end, (t - start) / length)


def onecycle_closed_form(t, total, peak, pct, div, final_div):
    rise = int(pct * total)
    low = peak / div
    if t < rise:
        return cos_anneal(low, peak, t / rise)
    return cos_anneal(peak, low / final_div, min((t - rise) / (total - rise), 1.0))


# name: (schedule, closed form of step t), each step t = 0, 1, ... of training.
CASES = {
    "constant": (su.constant_schedule(0.3), lambda t: 0.3),
    "exponential": (
        su.exponential_decay(0.5, 7, 0.8, transition_begin=5),
        lambda t: 0.5 * 0.8 ** (max(t - 5, 0) / 7),
    ),
    "exponential_staircase": (
        su.exponential_decay(0.5, 7, 0.8, staircase=True, end_value=0.3),
        lambda t: max(0.5 * 0.8 ** (t // 7), 0.3),
    ),
    "inverse_time": (su.inverse_time_decay(1.0, 0.5, 10), lambda t: 1.0 / (1 + 0.5 * t / 10)),
    "inverse_time_staircase": (
        su.inverse_time_decay(1.0, 0.5, 10, staircase=True),
        lambda t: 1.0 / (1 + 0.5 * (t // 10)),
    ),
    "piecewise": (
        su.piecewise_constant_schedule(0.2, {10: 0.5, 25: 0.1}),
        lambda t: 0.2 * (0.5 if t >= 10 else 1) * (0.1 if t >= 25 else 1),
    ),
    "polynomial": (
        su.polynomial_schedule(1.0, 0.1, 2.0, 30, transition_begin=5),
        lambda t: (1.0 - 0.1) * (1 - min(max(t - 5, 0), 30) / 30) ** 2 + 0.1,
    ),
    "linear": (su.linear_schedule(0.0, 1.0, 20), lambda t: min(t, 20) / 20),
    "cosine": (
        su.cosine_decay_schedule(0.4, 40, alpha=0.1),
        lambda t: 0.4 * ((1 - 0.1) * (1 + math.cos(math.pi * min(t, 40) / 40)) / 2 + 0.1),
    ),
    "warmup_cosine": (
        su.warmup_cosine_decay_schedule(0.0, 1.0, 10, 40, end_value=0.05),
        lambda t: t / 10 if t < 10 else cos_anneal(1.0, 0.05, min((t - 10) / 30, 1.0)),
    ),
    "sgdr": (su.sgdr_schedule(1.0, 3, 1, 0.1), lambda t: sgdr_closed_form(t, 1.0, 3, 1, 0.1)),
    "sgdr_growing": (su.sgdr_schedule(1.0, 3, 2), lambda t: sgdr_closed_form(t, 1.0, 3, 2, 0.0)),
    "one_cycle": (
        su.cosine_onecycle_schedule(40, 0.8),
        lambda t: onecycle_closed_form(t, 40, 0.8, 0.3, 25.0, 1e4),
    ),
    "joined": (
        su.join_schedules([su.linear_schedule(0.0, 0.6, 5), su.exponential_decay(0.6, 1, 0.9)], [5]),
        lambda t: 0.6 * t / 5 if t < 5 else 0.6 * 0.9 ** (t - 5),
    ),
}


@pytest.mark.fast
def test_learning_rates_over_50_steps_equal_the_closed_forms_and_shared_values_change_them():
    """One compiled function: an sgd per schedule, each fed a gradient of ones, so each param moves by
    exactly -lr(t) at step t; the monitors report the same lr. A shared init value is changed mid-run."""
    init = pytensor.shared(np.float64(0.5), name="init")
    cases = dict(CASES)
    cases["shared_init"] = (su.exponential_decay(init, 10, 0.5), None)
    params, updates, rates = {}, {}, []
    for i, (name, (schedule, _)) in enumerate(cases.items()):
        dtype = "float32" if i % 2 else "float64"
        params[name] = pytensor.shared(np.zeros(2, dtype=dtype), name=name)
        u = su.sgd([pt.ones(2, dtype=dtype)], [params[name]], learning_rate=schedule)
        assert [v.name for v in u.state] == ["schedule.t"]
        updates.update(u)
        rates.append(u.monitors["learning_rate"])
    fn = pytensor.function([], rates, updates=updates)

    totals = dict.fromkeys(cases, 0.0)
    for t in range(STEPS):
        if t == 30:
            init.set_value(2.0)  # the same compiled function takes the new value from the next step on
        got = dict(zip(cases, fn(), strict=True))
        for name, (_, closed_form) in cases.items():
            want = closed_form(t) if closed_form else (0.5 if t < 30 else 2.0) * 0.5 ** (t / 10)
            np.testing.assert_allclose(got[name], want, rtol=1e-12, atol=1e-15, err_msg=f"{name} at step {t}")
            totals[name] += want
            p = params[name].get_value()
            rtol = 1e-5 if p.dtype == np.float32 else 1e-12
            np.testing.assert_allclose(p, -totals[name], rtol=rtol, atol=1e-6, err_msg=f"{name} at step {t}")


def ref_plateau(losses, init_value, factor, patience, rtol, atol, cooldown, accumulation_size, min_value):
    """The learning rate each step uses: optax.contrib.reduce_on_plateau's logic, with a floor."""
    scale, best, bad, cool, count, total = 1.0, math.inf, 0, 0, 0, 0.0
    rates = []
    for loss in losses:
        if math.isfinite(loss):
            count, total = count + 1, total + loss
            if count == accumulation_size:
                mean = total / count
                count, total = 0, 0.0
                if mean < (1 - rtol) * best - atol:
                    best, bad = mean, 0
                else:
                    bad += 1
                if cool > 0:
                    cool, bad = cool - 1, 0
                elif bad >= patience:
                    scale, bad, cool = scale * factor, 0, cooldown
        rates.append(max(init_value * scale, min_value))
    return rates


PLATEAU_CASES = [
    dict(
        init_value=0.1,
        factor=0.5,
        patience=3,
        rtol=1e-2,
        atol=0.0,
        cooldown=2,
        accumulation_size=1,
        min_value=0.004,
    ),
    dict(
        init_value=1.0,
        factor=0.1,
        patience=2,
        rtol=0.0,
        atol=0.05,
        cooldown=0,
        accumulation_size=3,
        min_value=0.0,
    ),
]


@pytest.mark.fast
def test_reduce_on_plateau_matches_numpy_reference_and_ignores_non_finite_losses():
    loss = pt.dscalar("loss")
    params, updates, rates = [], {}, []
    for i, hyper in enumerate(PLATEAU_CASES):
        p = pytensor.shared(np.zeros(1, dtype="float32" if i else "float64"), name=f"w{i}")
        u = su.sgd([pt.ones(1, dtype=p.dtype)], [p], learning_rate=su.reduce_on_plateau(loss, **hyper))
        params.append(p)
        updates.update(u)
        rates.append(u.monitors["learning_rate"])
    fn = pytensor.function([loss], rates, updates=updates)
    state = [v for v in updates if v not in params]

    rng = np.random.default_rng(0)
    losses = list(np.concatenate([np.linspace(5, 1, 10), 1 + 0.01 * rng.random(40)]))
    losses[12], losses[20] = np.nan, np.inf
    wants = [ref_plateau(losses, **hyper) for hyper in PLATEAU_CASES]
    for t, value in enumerate(losses):
        before = [v.get_value() for v in state]
        got = fn(value)
        for k, want in enumerate(wants):
            np.testing.assert_allclose(got[k], want[t], rtol=1e-12, err_msg=f"case {k} step {t}")
        if not np.isfinite(value):
            for v, old in zip(state, before, strict=True):
                assert np.array_equal(v.get_value(), old), v.name
    for want in wants:
        assert want[-1] < want[0], "the sequence must exercise at least one reduction"


def test_schedule_errors():
    with pytest.raises(ValueError, match="can only be used inside a transform"):
        typed(su.constant_schedule(1.0), "float64")
    with pytest.raises(ValueError, match="transition_steps must be an integer >= 1"):
        su.exponential_decay(1.0, 0, 0.5)
    with pytest.raises(ValueError, match="boundaries must be 1 increasing steps"):
        su.join_schedules([su.constant_schedule(1.0), su.constant_schedule(2.0)], [])
    with pytest.raises(ValueError, match="loss must be a scalar"):
        su.reduce_on_plateau(pt.vector())
    with pytest.raises(TypeError, match="depends on the loss"):
        su.reduce_on_plateau(pt.dscalar())(3)
    with pytest.raises(TypeError, match="learning_rate must be a number"):
        su.sgd(learning_rate="0.1")


def test_one_counter_per_rule_even_when_a_schedule_is_used_twice():
    w = pytensor.shared(np.ones(2), name="w")
    lr = su.linear_schedule(0.1, 0.0, 10)
    updates = su.chain(
        su.scale_by_adam(beta1=su.constant_schedule(0.9)),
        su.scale_by_learning_rate(lr),
        su.scale_by_learning_rate(lr),
    )((w**2).sum(), [w])
    assert [v.name for v in updates.state].count("schedule.t") == 1
    assert list(updates.monitors) == ["learning_rate", "learning_rate#2"]
