"""Schedules: hyper-parameters that are symbolic functions of the step, so they cost no recompilation.

Any hyper-parameter given to a rule or transform may be a ``Schedule``. While the rule is built it becomes an
expression of one int64 shared counter ``"schedule.t"`` (0 at the first step) that the updates increment, so
the compiled step computes this step's value itself::

    lr = su.warmup_cosine_decay_schedule(0.0, 1e-3, warmup_steps=100, decay_steps=10_000)
    updates = su.adam(loss, params, learning_rate=lr)
    train = pytensor.function([x, y], [loss, updates.monitors["learning_rate"]], updates=updates)

Names and signatures follow optax (``optax.schedules``); every number may also be a shared variable, which
changes the schedule between calls without recompiling. ``reduce_on_plateau`` is a stateful schedule driven
by the loss inside the same step. ``schedule(count)`` evaluates a schedule at any integer tensor.
"""

import numbers
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pytensor.tensor as pt

from .compat import isfinite
from .hyperparams import NONNEGATIVE, REAL, Schedule, check_hyper, typed
from .types import Scalar

if TYPE_CHECKING:
    from pytensor.tensor.variable import TensorVariable

    from .types import Builder

__all__ = [
    "Schedule",
    "constant_schedule",
    "exponential_decay",
    "inverse_time_decay",
    "piecewise_constant_schedule",
    "polynomial_schedule",
    "linear_schedule",
    "cosine_decay_schedule",
    "warmup_cosine_decay_schedule",
    "sgdr_schedule",
    "cosine_onecycle_schedule",
    "join_schedules",
    "reduce_on_plateau",
]


def _f64(value: Scalar) -> "TensorVariable":
    return typed(value, "float64")


def _check_steps(value: Any, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def constant_schedule(value: Scalar) -> Schedule:
    """``v(t) = value``.

    Parameters
    ----------
    value : float or symbolic scalar

    Returns
    -------
    Schedule

    Notes
    -----
    As ``optax.constant_schedule``.

    Examples
    --------
    >>> import symupdates as su
    >>> su.constant_schedule(0.1)(5).eval()
    array(0.1)
    """
    check_hyper(value, "value")
    return Schedule(lambda t: pt.zeros_like(t) + _f64(value), "constant_schedule", {"value": value})


def exponential_decay(
    init_value: Scalar,
    transition_steps: int,
    decay_rate: Scalar,
    transition_begin: int = 0,
    staircase: bool = False,
    end_value: Scalar | None = None,
) -> Schedule:
    """Exponential decay from ``init_value`` by ``decay_rate`` every ``transition_steps`` steps.

    ``v(t) = init_value * decay_rate ** (max(t - transition_begin, 0) / transition_steps)``.

    With ``staircase=True`` the exponent is floored (the value drops every ``transition_steps`` steps).
    With ``end_value`` the value is bounded by it (below when ``decay_rate < 1``, above otherwise).

    Parameters
    ----------
    init_value, decay_rate : float or symbolic scalar
    transition_steps : int >= 1
    transition_begin : int >= 0
        Steps during which the value stays at ``init_value``.
    staircase : bool
    end_value : float or symbolic scalar, optional

    Returns
    -------
    Schedule

    Notes
    -----
    As ``optax.exponential_decay``; TF's ``ExponentialDecay`` and torch's ``ExponentialLR``
    (``transition_steps=1``) are special cases.

    Examples
    --------
    >>> import numpy as np, symupdates as su
    >>> su.exponential_decay(1.0, 2, 0.5, staircase=True)(np.arange(5)).eval()
    array([1.  , 1.  , 0.5 , 0.5 , 0.25])
    """
    for value, name in [(init_value, "init_value"), (decay_rate, "decay_rate")]:
        check_hyper(value, name)
    transition_steps = _check_steps(transition_steps, "transition_steps")
    transition_begin = _check_steps(transition_begin, "transition_begin", 0)
    if end_value is not None:
        check_hyper(end_value, "end_value")

    def fn(t: "TensorVariable") -> "TensorVariable":
        exponent = pt.maximum(t - transition_begin, 0) / transition_steps
        if staircase:
            exponent = pt.floor(exponent)
        value = _f64(init_value) * _f64(decay_rate) ** exponent
        if end_value is not None:
            end = _f64(end_value)
            value = pt.switch(_f64(decay_rate) < 1, pt.maximum(value, end), pt.minimum(value, end))
        return value

    config = {
        "init_value": init_value,
        "transition_steps": transition_steps,
        "decay_rate": decay_rate,
        "transition_begin": transition_begin,
        "staircase": staircase,
        "end_value": end_value,
    }
    return Schedule(fn, "exponential_decay", config)


def inverse_time_decay(
    init_value: Scalar, decay_rate: Scalar, transition_steps: int = 1, staircase: bool = False
) -> Schedule:
    """Inverse time decay: ``v(t) = init_value / (1 + decay_rate * t / transition_steps)``.

    With ``staircase=True``, ``t / transition_steps`` is floored.

    Parameters
    ----------
    init_value, decay_rate : float or symbolic scalar
    transition_steps : int >= 1
    staircase : bool

    Returns
    -------
    Schedule

    Notes
    -----
    As TF's ``InverseTimeDecay`` (optax has none); ``decay_rate=d, transition_steps=1`` is the classic
    ``lr / (1 + d t)`` of Bottou (2012).

    Examples
    --------
    >>> import numpy as np, symupdates as su
    >>> su.inverse_time_decay(1.0, 1.0)(np.arange(4)).eval()
    array([1.        , 0.5       , 0.33333333, 0.25      ])
    """
    check_hyper(init_value, "init_value")
    check_hyper(decay_rate, "decay_rate")
    transition_steps = _check_steps(transition_steps, "transition_steps")

    def fn(t: "TensorVariable") -> "TensorVariable":
        progress = t / transition_steps
        if staircase:
            progress = pt.floor(progress)
        return _f64(init_value) / (1 + _f64(decay_rate) * progress)

    config = {
        "init_value": init_value,
        "decay_rate": decay_rate,
        "transition_steps": transition_steps,
        "staircase": staircase,
    }
    return Schedule(fn, "inverse_time_decay", config)


def piecewise_constant_schedule(
    init_value: Scalar, boundaries_and_scales: Mapping[int, Scalar] | None = None
) -> Schedule:
    """Multiply the value by ``scale`` from step ``boundary`` on, for each ``{boundary: scale}``.

    ``v(t) = init_value * prod(scale_b for b <= t)``.

    Parameters
    ----------
    init_value : float or symbolic scalar
    boundaries_and_scales : dict of int to (float or symbolic scalar), optional

    Returns
    -------
    Schedule

    Notes
    -----
    As ``optax.piecewise_constant_schedule`` (scales are cumulative factors, not values); torch's
    ``MultiStepLR(milestones, gamma)`` is ``{m: gamma for m in milestones}``.

    Examples
    --------
    >>> import numpy as np, symupdates as su
    >>> su.piecewise_constant_schedule(1.0, {2: 0.1, 4: 0.5})(np.arange(5)).eval()
    array([1.  , 1.  , 0.1 , 0.1 , 0.05])
    """
    check_hyper(init_value, "init_value")
    pairs = sorted(dict(boundaries_and_scales or {}).items())
    for boundary, scale_value in pairs:
        _check_steps(boundary, "boundaries_and_scales key", 0)
        check_hyper(scale_value, f"boundaries_and_scales[{boundary}]")

    def fn(t: "TensorVariable") -> "TensorVariable":
        value = pt.zeros_like(t) + _f64(init_value)
        for boundary, scale_value in pairs:
            value = pt.switch(t >= boundary, value * _f64(scale_value), value)
        return value

    return Schedule(
        fn, "piecewise_constant_schedule", {"init_value": init_value, "boundaries_and_scales": dict(pairs)}
    )


def polynomial_schedule(
    init_value: Scalar, end_value: Scalar, power: Scalar, transition_steps: int, transition_begin: int = 0
) -> Schedule:
    """Polynomial decay from ``init_value`` to ``end_value`` over ``transition_steps`` steps.

    ``k = clip(t - transition_begin, 0, transition_steps)``;
    ``v(t) = (init_value - end_value) * (1 - k / transition_steps) ** power + end_value``.

    Parameters
    ----------
    init_value, end_value, power : float or symbolic scalar
    transition_steps : int >= 1
    transition_begin : int >= 0

    Returns
    -------
    Schedule

    Notes
    -----
    As ``optax.polynomial_schedule``; torch's ``PolynomialLR`` decays to 0 over ``total_iters``.

    Examples
    --------
    >>> import numpy as np, symupdates as su
    >>> su.polynomial_schedule(1.0, 0.0, 2, 4)(np.arange(6)).eval()
    array([1.    , 0.5625, 0.25  , 0.0625, 0.    , 0.    ])
    """
    for value, name in [(init_value, "init_value"), (end_value, "end_value"), (power, "power")]:
        check_hyper(value, name)
    transition_steps = _check_steps(transition_steps, "transition_steps")
    transition_begin = _check_steps(transition_begin, "transition_begin", 0)

    def fn(t: "TensorVariable") -> "TensorVariable":
        k = pt.clip(t - transition_begin, 0, transition_steps)
        end = _f64(end_value)
        return (_f64(init_value) - end) * (1 - k / transition_steps) ** _f64(power) + end

    config = {
        "init_value": init_value,
        "end_value": end_value,
        "power": power,
        "transition_steps": transition_steps,
        "transition_begin": transition_begin,
    }
    return Schedule(fn, "polynomial_schedule", config)


def linear_schedule(
    init_value: Scalar, end_value: Scalar, transition_steps: int, transition_begin: int = 0
) -> Schedule:
    """Linear interpolation from ``init_value`` to ``end_value``: ``polynomial_schedule`` with power 1.

    Parameters
    ----------
    init_value, end_value : float or symbolic scalar
    transition_steps : int >= 1
    transition_begin : int >= 0

    Returns
    -------
    Schedule

    Notes
    -----
    As ``optax.linear_schedule``; torch's ``LinearLR`` takes factors of the base rate instead.

    Examples
    --------
    >>> import numpy as np, symupdates as su
    >>> su.linear_schedule(0.0, 1.0, 4)(np.arange(6)).eval()
    array([0.  , 0.25, 0.5 , 0.75, 1.  , 1.  ])
    """
    schedule = polynomial_schedule(init_value, end_value, 1, transition_steps, transition_begin)
    del schedule.config["power"]
    schedule.name = "linear_schedule"
    return schedule


def _cosine(
    init_value: Scalar, end_value: Scalar, progress: "TensorVariable", exponent: Scalar = 1
) -> "TensorVariable":
    """``end + (init - end) * ((1 + cos(pi * progress)) / 2) ** exponent``, progress in [0, 1]."""
    end = _f64(end_value)
    return end + (_f64(init_value) - end) * ((1 + pt.cos(np.pi * progress)) / 2) ** _f64(exponent)


def cosine_decay_schedule(
    init_value: Scalar, decay_steps: int, alpha: Scalar = 0.0, exponent: Scalar = 1.0
) -> Schedule:
    """Cosine decay from ``init_value`` to ``alpha * init_value`` over ``decay_steps`` steps.

    ``v(t) = init_value * ((1 - alpha) * ((1 + cos(pi * min(t, decay_steps) / decay_steps)) / 2) ** exponent
    + alpha)``.

    Parameters
    ----------
    init_value, alpha, exponent : float or symbolic scalar
    decay_steps : int >= 1

    Returns
    -------
    Schedule

    Notes
    -----
    As ``optax.cosine_decay_schedule``; torch's ``CosineAnnealingLR(T_max, eta_min)`` is
    ``alpha = eta_min / lr`` without restarts past ``T_max``.

    References
    ----------
    Loshchilov and Hutter (2017), SGDR: Stochastic gradient descent with warm restarts, ICLR.

    Examples
    --------
    >>> import numpy as np, symupdates as su
    >>> su.cosine_decay_schedule(1.0, 4)(np.arange(6)).eval().round(4)
    array([1.    , 0.8536, 0.5   , 0.1464, 0.    , 0.    ])
    """
    for value, name in [(init_value, "init_value"), (alpha, "alpha"), (exponent, "exponent")]:
        check_hyper(value, name)
    decay_steps = _check_steps(decay_steps, "decay_steps")

    def fn(t: "TensorVariable") -> "TensorVariable":
        decayed = _cosine(1, alpha, pt.minimum(t, decay_steps) / decay_steps, exponent)
        return _f64(init_value) * decayed

    config = {"init_value": init_value, "decay_steps": decay_steps, "alpha": alpha, "exponent": exponent}
    return Schedule(fn, "cosine_decay_schedule", config)


def join_schedules(schedules: Sequence[Schedule], boundaries: Sequence[int]) -> Schedule:
    """Run ``schedules[0]`` until ``boundaries[0]``, then ``schedules[1]`` restarted at step 0, ...

    ``v(t) = schedules[i](t - boundaries[i-1])`` for ``boundaries[i-1] <= t < boundaries[i]``.

    Parameters
    ----------
    schedules : list of Schedule
        Time-based schedules (not ``reduce_on_plateau``).
    boundaries : list of int
        Increasing, one fewer than ``schedules``.

    Returns
    -------
    Schedule

    Notes
    -----
    As ``optax.join_schedules``; torch's ``SequentialLR``.

    Examples
    --------
    >>> import numpy as np, symupdates as su
    >>> warmup = su.linear_schedule(0.0, 1.0, 2)
    >>> su.join_schedules([warmup, su.constant_schedule(0.5)], [2])(np.arange(4)).eval()
    array([0. , 0.5, 0.5, 0.5])
    """
    schedules, boundaries = list(schedules), [_check_steps(b, "boundaries", 0) for b in boundaries]
    for i, s in enumerate(schedules):
        if type(s) is not Schedule:
            raise TypeError(f"schedules[{i}] must be a time-based Schedule, got {s!r}")
    if len(boundaries) != len(schedules) - 1 or boundaries != sorted(boundaries):
        raise ValueError(f"boundaries must be {len(schedules) - 1} increasing steps, got {boundaries!r}")

    def fn(t: "TensorVariable") -> "TensorVariable":
        value = schedules[0](t)
        for boundary, schedule in zip(boundaries, schedules[1:], strict=True):
            value = pt.switch(t < boundary, value, schedule(t - boundary))
        return value

    return Schedule(fn, "join_schedules", {"schedules": schedules, "boundaries": boundaries})


def warmup_cosine_decay_schedule(
    init_value: Scalar,
    peak_value: Scalar,
    warmup_steps: int,
    decay_steps: int,
    end_value: Scalar = 0.0,
    exponent: Scalar = 1.0,
) -> Schedule:
    """Linear warmup from ``init_value`` to ``peak_value``, then cosine decay to ``end_value``.

    Steps ``0..warmup_steps`` rise linearly; the cosine decay takes ``decay_steps - warmup_steps`` steps
    (``decay_steps`` counts the warmup, as in optax) and the value stays at ``end_value`` afterwards.

    Parameters
    ----------
    init_value, peak_value, end_value, exponent : float or symbolic scalar
    warmup_steps : int >= 0
    decay_steps : int > warmup_steps

    Returns
    -------
    Schedule

    Notes
    -----
    As ``optax.warmup_cosine_decay_schedule``.

    Examples
    --------
    >>> import numpy as np, symupdates as su
    >>> su.warmup_cosine_decay_schedule(0.0, 1.0, 2, 4)(np.arange(6)).eval().round(4)
    array([0. , 0.5, 1. , 0.5, 0. , 0. ])
    """
    for value, name in [
        (init_value, "init_value"),
        (peak_value, "peak_value"),
        (end_value, "end_value"),
        (exponent, "exponent"),
    ]:
        check_hyper(value, name)
    warmup_steps = _check_steps(warmup_steps, "warmup_steps", 0)
    decay_steps = _check_steps(decay_steps, "decay_steps", warmup_steps + 1)

    def fn(t: "TensorVariable") -> "TensorVariable":
        warm = _f64(init_value) + (_f64(peak_value) - _f64(init_value)) * t / max(warmup_steps, 1)
        progress = pt.clip((t - warmup_steps) / (decay_steps - warmup_steps), 0, 1)
        return pt.switch(t < warmup_steps, warm, _cosine(peak_value, end_value, progress, exponent))

    config = {
        "init_value": init_value,
        "peak_value": peak_value,
        "warmup_steps": warmup_steps,
        "decay_steps": decay_steps,
        "end_value": end_value,
        "exponent": exponent,
    }
    return Schedule(fn, "warmup_cosine_decay_schedule", config)


def sgdr_schedule(
    init_value: Scalar, period: int, period_multiplier: int = 1, end_value: Scalar = 0.0
) -> Schedule:
    """Cosine annealing with warm restarts: cycle ``i`` lasts ``period * period_multiplier ** i`` steps.

    With ``t_i`` the step within the current cycle and ``T_i`` its length:
    ``v(t) = end_value + (init_value - end_value) * (1 + cos(pi * t_i / T_i)) / 2``.

    Parameters
    ----------
    init_value, end_value : float or symbolic scalar
    period : int >= 1
        Length of the first cycle.
    period_multiplier : int >= 1
        Each cycle is this many times longer than the previous one.

    Returns
    -------
    Schedule

    Notes
    -----
    torch's ``CosineAnnealingWarmRestarts(T_0=period, T_mult=period_multiplier, eta_min=end_value)``.
    ``optax.sgdr_schedule`` takes a list of ``warmup_cosine_decay_schedule`` arguments instead: use
    ``join_schedules`` for that.

    References
    ----------
    Loshchilov and Hutter (2017), SGDR: Stochastic gradient descent with warm restarts, ICLR.

    Examples
    --------
    >>> import numpy as np, symupdates as su
    >>> su.sgdr_schedule(1.0, 2, 2)(np.arange(8)).eval().round(4)
    array([1.    , 0.5   , 1.    , 0.8536, 0.5   , 0.1464, 1.    , 0.9619])
    """
    check_hyper(init_value, "init_value")
    check_hyper(end_value, "end_value")
    period = _check_steps(period, "period")
    period_multiplier = _check_steps(period_multiplier, "period_multiplier")
    m = period_multiplier

    def cycle_start(i: Any) -> Any:
        return period * i if m == 1 else period * (m**i - 1) / (m - 1)

    def fn(t: "TensorVariable") -> "TensorVariable":
        if m == 1:
            cycle = pt.floor(t / period)
        else:
            cycle = pt.floor(pt.log1p(t * (m - 1) / period) / np.log(m))
            # The logarithm can land a hair off an integer at a cycle's first step.
            cycle = cycle + (t >= cycle_start(cycle + 1)) - (t < cycle_start(cycle))
        length = period * pt.cast(m, "float64") ** cycle
        return _cosine(init_value, end_value, (t - cycle_start(cycle)) / length)

    config = {
        "init_value": init_value,
        "period": period,
        "period_multiplier": period_multiplier,
        "end_value": end_value,
    }
    return Schedule(fn, "sgdr_schedule", config)


def cosine_onecycle_schedule(
    transition_steps: int,
    peak_value: Scalar,
    pct_start: float = 0.3,
    div_factor: Scalar = 25.0,
    final_div_factor: Scalar = 1e4,
) -> Schedule:
    """The one-cycle policy: cosine rise from ``peak_value / div_factor`` to ``peak_value`` over the first
    ``int(pct_start * transition_steps)`` steps, cosine fall to ``peak_value / (div_factor *
    final_div_factor)`` at ``transition_steps``, constant afterwards.

    Parameters
    ----------
    transition_steps : int >= 2
    peak_value, div_factor, final_div_factor : float or symbolic scalar
    pct_start : float in (0, 1)

    Returns
    -------
    Schedule

    Notes
    -----
    As ``optax.cosine_onecycle_schedule``. torch's ``OneCycleLR`` ends its phases one step earlier
    (at ``pct_start * total - 1`` and ``total - 1``) and also cycles momentum, which this does not.

    References
    ----------
    Smith and Topin (2019), Super-convergence: very fast training of neural networks using large learning
    rates, SPIE 11006.

    Examples
    --------
    >>> import numpy as np, symupdates as su
    >>> su.cosine_onecycle_schedule(4, 1.0, pct_start=0.5, div_factor=2.0, final_div_factor=5.0)(
    ...     np.arange(5)).eval().round(4)
    array([0.5 , 0.75, 1.  , 0.55, 0.1 ])
    """
    transition_steps = _check_steps(transition_steps, "transition_steps", 2)
    for value, name in [
        (peak_value, "peak_value"),
        (div_factor, "div_factor"),
        (final_div_factor, "final_div_factor"),
    ]:
        check_hyper(value, name)
    if not 0 < pct_start < 1:
        raise ValueError(f"pct_start must be in (0, 1), got {pct_start!r}")
    rise = max(int(pct_start * transition_steps), 1)

    def fn(t: "TensorVariable") -> "TensorVariable":
        low = _f64(peak_value) / _f64(div_factor)
        up = _cosine(low, peak_value, pt.clip(t / rise, 0, 1))
        down = _cosine(
            peak_value, low / _f64(final_div_factor), pt.clip((t - rise) / (transition_steps - rise), 0, 1)
        )
        return pt.switch(t < rise, up, down)

    config = {
        "transition_steps": transition_steps,
        "peak_value": peak_value,
        "pct_start": pct_start,
        "div_factor": div_factor,
        "final_div_factor": final_div_factor,
    }
    return Schedule(fn, "cosine_onecycle_schedule", config)


class _Plateau(Schedule):
    """A schedule whose value is ``init_value * scale``, ``scale`` shrinking when the loss plateaus."""

    def __init__(self, loss: "TensorVariable", init_value: Scalar, config: dict[str, Any]) -> None:
        super().__init__(None, "reduce_on_plateau", {"init_value": init_value, **config})
        self.loss = loss

    def __call__(self, count: Any) -> "TensorVariable":
        raise TypeError("reduce_on_plateau depends on the loss, not only on the step: use it inside a rule")

    def build(self, builder: "Builder") -> "TensorVariable":
        c = self.config
        value = pt.cast(self.loss, "float64")
        scale = builder.scalar("plateau.scale", 1.0, "float64")
        best = builder.scalar("plateau.best", np.inf, "float64")
        bad = builder.scalar("plateau.bad_steps", 0, "int64")
        cooldown = builder.scalar("plateau.cooldown", 0, "int64")
        count = builder.scalar("plateau.count", 0, "int64")
        mean = builder.scalar("plateau.mean", 0.0, "float64")

        count_new = count + 1
        mean_new = (count * mean + value) / count_new
        ready = count_new >= c["accumulation_size"]
        improved = mean_new < (1 - _f64(c["rtol"])) * best - _f64(c["atol"])
        bad_new = pt.switch(improved, 0, bad + 1)
        cooling = cooldown > 0
        reduce = ~cooling & (bad_new >= c["patience"])
        changes = {
            scale: pt.switch(ready & reduce, scale * _f64(c["factor"]), scale),
            best: pt.switch(ready & improved, mean_new, best),
            bad: pt.switch(ready, pt.switch(cooling | reduce, 0, bad_new), bad),
            cooldown: pt.switch(
                ready, pt.switch(cooling, cooldown - 1, pt.switch(reduce, c["cooldown"], 0)), cooldown
            ),
            count: pt.switch(ready, 0, count_new),
            mean: pt.switch(ready, 0.0, mean_new),
        }
        finite = isfinite(value)
        changes = {var: pt.switch(finite, new, var) for var, new in changes.items()}
        for var, new in changes.items():
            builder.set(var, new)
        return pt.maximum(_f64(self.config["init_value"]) * changes[scale], _f64(c["min_value"]))


def reduce_on_plateau(
    loss: "TensorVariable",
    init_value: Scalar = 1.0,
    factor: Scalar = 0.1,
    patience: int = 10,
    rtol: Scalar = 1e-4,
    atol: Scalar = 0.0,
    cooldown: int = 0,
    accumulation_size: int = 1,
    min_value: Scalar = 0.0,
) -> Schedule:
    """A value (learning rate) multiplied by ``factor`` when ``loss`` stops improving, inside the step.

    Every ``accumulation_size`` steps the mean ``L`` of the last losses is compared with the best so far:
    it improved when ``L < (1 - rtol) * best - atol``. After ``patience`` such checks without improvement
    the scale is multiplied by ``factor`` and the next ``cooldown`` checks are ignored.
    ``v = max(init_value * scale, min_value)``; the step uses the value decided from its own loss.

    Parameters
    ----------
    loss : scalar TensorVariable
        The same loss expression the rule differentiates (or any scalar the step computes).
    init_value, factor, rtol, atol, min_value : float or symbolic scalar
    patience : int >= 1
    cooldown : int >= 0
    accumulation_size : int >= 1
        How many steps' losses are averaged per check (use the number of minibatches per epoch to
        decide per epoch, as torch users do).

    Returns
    -------
    Schedule
        Its state is float64/int64 shared variables ``"plateau.scale"``, ``"plateau.best"``,
        ``"plateau.bad_steps"``, ``"plateau.cooldown"``, ``"plateau.count"`` and ``"plateau.mean"``.
        A step whose loss is not finite changes none of them.

    Notes
    -----
    As ``optax.contrib.reduce_on_plateau`` (a reduction after ``patience`` non-improving checks), with
    torch's ``min_lr`` as ``min_value``. torch's ``ReduceLROnPlateau`` waits one more check
    (``patience + 1``) and compares with a relative ``threshold`` (our ``rtol``).

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates as su
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> loss = (w ** 2).sum()
    >>> updates = su.sgd(loss, [w], learning_rate=su.reduce_on_plateau(loss, 0.1, patience=2))
    >>> [v.name for v in updates.state][:2]
    ['plateau.scale', 'plateau.best']
    """
    if not hasattr(loss, "ndim") or loss.ndim != 0 or np.dtype(loss.dtype).kind != "f":
        raise ValueError(f"loss must be a scalar floating-point expression, got {loss!r}")
    for value, name in [
        (init_value, "init_value"),
        (factor, "factor"),
        (rtol, "rtol"),
        (atol, "atol"),
        (min_value, "min_value"),
    ]:
        check_hyper(value, name, REAL if name == "init_value" else NONNEGATIVE)
    config = {
        "factor": factor,
        "patience": _check_steps(patience, "patience"),
        "rtol": rtol,
        "atol": atol,
        "cooldown": _check_steps(cooldown, "cooldown", 0),
        "accumulation_size": _check_steps(accumulation_size, "accumulation_size"),
        "min_value": min_value,
    }
    return _Plateau(loss, init_value, config)
