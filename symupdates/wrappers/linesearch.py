"""Line searches as transforms: scale the incoming direction by a step size found by re-evaluating the loss
at trial points inside the compiled step (optax's ``scale_by_backtracking_linesearch`` and
``scale_by_zoom_linesearch``)."""

from typing import cast

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.graph.replace import clone_replace
from pytensor.scan.utils import until
from pytensor.tensor.variable import TensorVariable

from ..core.hyperparams import NONNEGATIVE, POSITIVE, Domain, check_count, typed
from ..core.transform import transform
from ..core.types import Build, Builder, Steps
from ..rules.lbfgs import Tensors, _scan

__all__ = ["scale_by_backtracking_linesearch", "scale_by_zoom_linesearch"]


@transform(
    slope_rtol=NONNEGATIVE,
    decrease_factor=POSITIVE,
    increase_factor=POSITIVE,
    max_learning_rate=POSITIVE,
    atol=NONNEGATIVE,
    rtol=NONNEGATIVE,
)
def scale_by_backtracking_linesearch(
    max_backtracking_steps: int,
    slope_rtol: float = 1e-4,
    decrease_factor: float = 0.8,
    increase_factor: float = 1.5,
    max_learning_rate: float = 1.0,
    atol: float = 0.0,
    rtol: float = 0.0,
) -> Build:
    """Backtracking (Armijo) line search: scale the incoming direction ``u`` by a step ``eta`` with

    ``f(w + eta u) <= (1 + rtol) f(w) + eta slope_rtol <u, grad f(w)> + atol``,

    trying ``eta_0 = min(increase_factor eta_prev, max_learning_rate)`` (``eta_prev`` the last step's
    size, state ``"backtracking.learning_rate"`` starting at 1), then ``decrease_factor`` times the last
    trial, at most ``max_backtracking_steps + 1`` evaluations of the loss. When no trial satisfies it the
    last one is taken, unless its error was not finite (NaN loss), then the step is 0.

    Parameters
    ----------
    max_backtracking_steps : int
    slope_rtol, decrease_factor, increase_factor, max_learning_rate, atol, rtol : float
        optax's arguments and defaults.

    Returns
    -------
    Transform
        Put it after a transform producing a descent direction (steps that are added to the params), e.g.
        ``chain(sgd(learning_rate=1.0), scale_by_backtracking_linesearch(15))``. It needs the loss:
        apply the rule to a loss, not to gradients. Its updates' ``monitors`` hold
        ``"linesearch_steps"`` and ``"decrease_error"`` (optax's ``info``).

    Notes
    -----
    optax's ``scale_by_backtracking_linesearch`` (0.2.8), with the loss re-evaluated inside the compiled
    step instead of through ``value_fn``; ``f(w)`` and ``grad f(w)`` are the rule's loss and its gradient
    at the current params (optax's ``value`` and ``grad`` arguments). Its ``store_grad`` and ``verbose``
    are not offered: the loss's value is not kept in the state.

    References
    ----------
    Nocedal and Wright (2006), Numerical Optimization, 2nd ed., algorithm 3.1.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates as su
    >>> w = pytensor.shared(np.array([1.0, 2.0, 3.0]), name="w")
    >>> rule = su.chain(su.sgd(learning_rate=1.0), su.scale_by_backtracking_linesearch(15))
    >>> step = pytensor.function([], [], updates=rule((w**2).sum(), [w]))
    >>> _ = step(); round(float((w.get_value() ** 2).sum()), 4)   # eta = 1 fails, 0.8 passes (as optax)
    5.04
    """
    check_count(max_backtracking_steps, "max_backtracking_steps")

    def build(steps: Steps, builder: Builder) -> Steps:
        if builder.loss is None:
            raise ValueError(
                "scale_by_backtracking_linesearch needs the loss (it evaluates it), not gradients"
            )
        params = builder.params
        loss = pt.as_tensor_variable(builder.loss)
        dtype = loss.dtype
        grads: list = pytensor.grad(loss, params)  # type: ignore[assignment]
        slope = sum(pt.sum(u * g) for u, g in zip(steps, grads, strict=True))
        previous = builder.scalar("backtracking.learning_rate", 1.0, dtype)
        first = pt.minimum(typed(increase_factor, dtype) * previous, typed(max_learning_rate, dtype))

        def trial(
            learning_rate: TensorVariable,
            _value: TensorVariable,
            _error: TensorVariable,
            iteration: TensorVariable,
        ) -> tuple[tuple[TensorVariable, ...], until]:
            learning_rate = pt.switch(
                iteration > 0, typed(decrease_factor, dtype) * learning_rate, learning_rate
            )
            moved = {p: p + pt.cast(learning_rate, p.dtype) * u for p, u in zip(params, steps, strict=True)}
            value = cast(TensorVariable, clone_replace(loss, moved))
            error = value - (1 + typed(rtol, dtype)) * loss - learning_rate * typed(slope_rtol, dtype) * slope
            error = pt.maximum(pt.switch(pt.isnan(error), np.inf, error), 0).astype(dtype)
            done = (error <= atol) | (iteration + 1 > max_backtracking_steps)
            return (learning_rate, value, error, iteration + 1), until(done)

        start = [first, loss, pt.constant(np.inf, dtype=dtype), pt.constant(0, dtype="int64")]
        outputs = _scan(trial, outputs_info=start, n_steps=max_backtracking_steps + 1, name="backtracking")
        learning_rate, _, error, iterations = (o[-1] for o in outputs)
        accepted = pt.switch(pt.isinf(error), 0, learning_rate).astype(dtype)
        builder.set(previous, accepted)
        builder.monitor("linesearch_steps", iterations)
        builder.monitor("decrease_error", error)
        return [pt.cast(accepted, u.dtype) * u for u in steps]

    return build


#: curv_rtol may be inf: no curvature condition (optax's note), a backtracking search with interpolation.
_NONNEGATIVE_OR_INF = Domain("a number >= 0 (inf allowed)", lambda v: v >= 0)


def _cubicmin(
    a: TensorVariable,
    fa: TensorVariable,
    fpa: TensorVariable,
    b: TensorVariable,
    fb: TensorVariable,
    c: TensorVariable,
    fc: TensorVariable,
) -> TensorVariable:
    """optax's ``_cubicmin`` (from scipy): the critical point of the cubic through ``(a, fa)``, ``(b, fb)``,
    ``(c, fc)`` with slope ``fpa`` at ``a``; NaN when it has none (the zoom then ignores it)::

        p(x) = A (x - a)^3 + B (x - a)^2 + fpa (x - a) + fa,   x = a + (-B + sqrt(B^2 - 3 A fpa)) / (3 A)
    """
    db, dc = b - a, c - a
    denom = (db * dc) ** 2 * (db - dc)
    rb, rc = fb - fa - fpa * db, fc - fa - fpa * dc
    big_a = (dc**2 * rb - db**2 * rc) / denom
    big_b = (-(dc**3) * rb + db**3 * rc) / denom
    return a + (-big_b + pt.sqrt(big_b * big_b - 3.0 * big_a * fpa)) / (3.0 * big_a)


def _quadmin(
    a: TensorVariable, fa: TensorVariable, fpa: TensorVariable, b: TensorVariable, fb: TensorVariable
) -> TensorVariable:
    """optax's ``_quadmin``: the critical point of the parabola through ``(a, fa)``, ``(b, fb)`` with slope
    ``fpa`` at ``a``: ``a - fpa / (2 B)``, ``B = (fb - fa - fpa (b - a)) / (b - a)^2``."""
    db = b - a
    return a - fpa / (2.0 * ((fb - fa - fpa * db) / db**2))


@transform(
    needs_loss=True,
    max_learning_rate=POSITIVE,
    tol=NONNEGATIVE,
    increase_factor=POSITIVE,
    slope_rtol=NONNEGATIVE,
    curv_rtol=_NONNEGATIVE_OR_INF,
    approx_dec_rtol=NONNEGATIVE,
    stepsize_precision=NONNEGATIVE,
)
def scale_by_zoom_linesearch(
    max_linesearch_steps: int,
    max_learning_rate: float | None = None,
    tol: float = 0.0,
    increase_factor: float = 2.0,
    slope_rtol: float = 1e-4,
    curv_rtol: float = 0.9,
    approx_dec_rtol: float | None = 1e-6,
    stepsize_precision: float = 1e-5,
    initial_guess_strategy: str = "keep",
) -> Build:
    """Zoom (strong-Wolfe) line search: scale the incoming direction ``u`` by a step ``eta`` with sufficient
    decrease and small curvature, ``phi(eta) = f(w + eta u)``, ``phi'(eta) = <grad f(w + eta u), u>``::

        decrease:   phi(eta) <= phi(0) + slope_rtol eta phi'(0) + tol
        curvature:  |phi'(eta)| <= curv_rtol |phi'(0)| + tol

    where, with ``approx_dec_rtol`` not None, the decrease condition also passes when Hager and Zhang's
    approximate one does: ``phi'(eta) <= (2 slope_rtol - 1) phi'(0) + tol`` and ``phi(eta) <= phi(0) +
    approx_dec_rtol |phi(0)| + tol``. Each search step evaluates the loss and its gradient at one trial
    ``eta``, at most ``max_linesearch_steps`` of them:

    1. interval search (Nocedal and Wright's algorithm 3.5): ``eta`` starts at 1 (``initial_guess_strategy=
       "one"``) or at the last call's step (``"keep"``, state ``"zoom_linesearch.learning_rate"``, 1 at
       first) and is multiplied by ``increase_factor`` (capped at ``max_learning_rate``) until the trial
       satisfies both conditions (done), or brackets one (it fails the decrease, does not lower ``phi``,
       or ``phi'(eta) >= 0``), or reaches ``max_learning_rate`` unbracketed (done, that step);
    2. zoom (algorithm 3.6): the next trial is the minimiser of the cubic through the bracket's ends and the
       previous end (kept if at least 0.2 of the bracket away from its ends), else of the parabola through
       the ends (0.1 away), else the midpoint, and the bracket shrinks around it.

    When the steps run out, or the zoom's bracket is shorter than ``stepsize_precision`` once a trial had
    sufficient decrease, the search fails and takes the safe step: the trial with sufficient decrease it kept
    (the last such of the interval search, the lowest of the zoom), else the last trial (0 if its loss was
    not finite).

    Parameters
    ----------
    max_linesearch_steps : int
        The most trials (loss and gradient evaluations) in one call.
    max_learning_rate : float or None
        The largest step; None for none.
    tol, increase_factor, slope_rtol, curv_rtol, approx_dec_rtol, stepsize_precision : float
        optax's arguments and defaults (``curv_rtol=inf`` drops the curvature condition,
        ``approx_dec_rtol=None`` the approximate decrease one).
    initial_guess_strategy : {"keep", "one"}
        The first trial: the last call's step (for first-order directions) or 1 (for (quasi-)Newton ones).

    Returns
    -------
    Transform
        Put it after a transform producing a descent direction (steps that are added to the params), e.g.
        ``chain(sgd(learning_rate=1.0), scale_by_zoom_linesearch(15))``. It needs the loss: apply the rule
        to a loss, not to gradients. Its updates' ``monitors`` hold ``"linesearch_steps"``,
        ``"decrease_error"`` and ``"curvature_error"`` (optax's ``info``; an error is 0 where its condition
        holds).

    Raises
    ------
    ValueError
        For a bad argument (named), or when applied to gradients.

    Notes
    -----
    optax's ``scale_by_zoom_linesearch`` (0.2.8): the same trials and the same step, the whole search one
    ``scan`` inside the compiled step whose carries are the changing fields of optax's
    ``ZoomLinesearchState`` (its ``jax.lax.while_loop``); the loss and its gradient (``pytensor.grad``)
    are cloned at the trial params instead of calling ``value_fn``, so random inputs of the loss are the
    same at every trial. One trial is evaluated per step: the interval-search and zoom branches (optax's
    ``lax.cond``) share it. The gradients at the trials are not kept in the state (optax keeps the last one
    for ``value_and_grad_from_state``) and ``verbose`` is not offered.

    References
    ----------
    Nocedal and Wright (2006), Numerical Optimization, 2nd ed., algorithms 3.5 and 3.6. Hager and Zhang
    (2006), Algorithm 851: CG_DESCENT, ACM TOMS 32(1), for the approximate decrease condition.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates as su
    >>> w = pytensor.shared(np.array([1.0, 2.0, 3.0]), name="w")
    >>> rule = su.chain(su.sgd(learning_rate=1.0), su.scale_by_zoom_linesearch(15))
    >>> updates = rule((w**2).sum(), [w])
    >>> step = pytensor.function([], updates.monitors["linesearch_steps"], updates=updates)
    >>> int(step()), w.get_value()   # eta = 1 overshoots, the zoom's parabola gives 0.5: the minimum
    (2, array([0., 0., 0.]))
    """
    check_count(max_linesearch_steps, "max_linesearch_steps")
    if initial_guess_strategy not in ("keep", "one"):
        raise ValueError(f"initial_guess_strategy must be 'keep' or 'one', got {initial_guess_strategy!r}")

    def build(steps: Steps, builder: Builder) -> Steps:
        params = builder.params
        loss = pt.as_tensor_variable(builder.loss)
        dtype = loss.dtype
        grads: list = pytensor.grad(loss, params)  # type: ignore[assignment]

        def const(value: float) -> TensorVariable:
            return typed(value, dtype)

        def directional(gradients: list) -> TensorVariable:
            return pt.cast(sum(pt.sum(u * g) for u, g in zip(steps, gradients, strict=True)), dtype)

        value_init, slope_init = loss, directional(grads)
        previous = builder.scalar("zoom_linesearch.learning_rate", 1.0, dtype)
        stepsize_guess = previous if initial_guess_strategy == "keep" else const(1.0)

        def decrease_error_at(
            stepsize: TensorVariable, value: TensorVariable, slope: TensorVariable
        ) -> TensorVariable:
            error = value - value_init - const(slope_rtol) * stepsize * slope_init
            if approx_dec_rtol is not None:
                approx_error = pt.maximum(
                    slope - (2 * const(slope_rtol) - 1.0) * slope_init,
                    value - value_init - const(approx_dec_rtol) * pt.abs(value_init),
                )
                error = pt.minimum(approx_error, error)
            error = pt.maximum(error, 0.0)
            return pt.switch(pt.isnan(error), np.inf, error)

        def curvature_error_at(slope: TensorVariable) -> TensorVariable:
            error = pt.maximum(pt.abs(slope) - const(curv_rtol) * pt.abs(slope_init), 0.0)
            return pt.switch(pt.isnan(error), np.inf, error)

        def where(condition: TensorVariable, if_true: Tensors, if_false: Tensors) -> Tensors:
            return tuple(pt.switch(condition, a, b) for a, b in zip(if_true, if_false, strict=True))

        def trial(*state: TensorVariable) -> tuple[Tensors, until]:
            # optax's ZoomLinesearchState, less its fixed fields and gradients
            (count, stepsize, value, slope, _decrease_error, _curvature_error, _error) = state[:7]
            (interval_found, _done, _failed) = state[7:10]
            (low, value_low, slope_low, high, value_high, slope_high) = state[10:16]
            (cubic_ref, value_cubic_ref, safe_stepsize, safe_value) = state[16:]

            # _search_interval's trial: the guess, then larger steps
            new_stepsize = pt.switch(pt.eq(count, 0), stepsize_guess, const(increase_factor) * stepsize)
            if max_learning_rate is None:
                max_stepsize_reached = pt.constant(np.array(False))
            else:
                max_stepsize_reached = new_stepsize >= const(max_learning_rate)
                new_stepsize = pt.minimum(new_stepsize, const(max_learning_rate))

            # _zoom_into_interval's trial: cubic, else quadratic interpolation, else bisection
            delta = pt.abs(high - low)
            left, right = pt.minimum(high, low), pt.maximum(high, low)
            middle_cubic = _cubicmin(low, value_low, slope_low, high, value_high, cubic_ref, value_cubic_ref)
            use_cubic = (middle_cubic > left + 0.2 * delta) & (middle_cubic < right - 0.2 * delta)
            middle_quad = _quadmin(low, value_low, slope_low, high, value_high)
            use_quad = ~use_cubic & (middle_quad > left + 0.1 * delta) & (middle_quad < right - 0.1 * delta)
            middle = pt.switch(use_cubic, middle_cubic, pt.switch(use_quad, middle_quad, (low + high) / 2.0))

            # the loss and its gradient at the trial (optax's _value_and_slope_on_line)
            new = pt.switch(interval_found, middle, new_stepsize)
            moved = {p: p + pt.cast(new, p.dtype) * u for p, u in zip(params, steps, strict=True)}
            new_value, *new_grads = cast(list[TensorVariable], clone_replace([loss, *grads], moved))
            new_value = pt.cast(new_value, dtype)
            new_slope = directional(new_grads)
            decrease_error = decrease_error_at(new, new_value, new_slope)
            curvature_error = curvature_error_at(new_slope)
            error = pt.maximum(decrease_error, curvature_error)
            last_step = count + 1 >= max_linesearch_steps

            # _search_interval's new state
            set_high_to_new = (decrease_error > 0.0) | ((new_value >= value) & (count > 0))
            set_low_to_new = (new_slope >= 0.0) & ~set_high_to_new
            searched_bracket = where(
                set_low_to_new,
                (new, new_value, new_slope, stepsize, value, slope),
                (stepsize, value, slope, new, new_value, new_slope),
            )
            searched_found = set_high_to_new | set_low_to_new | (error <= tol)
            searched_done = (error <= tol) | (max_stepsize_reached & ~searched_found)
            searched_safe = where(decrease_error <= tol, (new, new_value), (safe_stepsize, safe_value))

            # _zoom_into_interval's new state
            set_high_to_middle = (decrease_error > 0.0) | (new_value >= value_low)
            set_high_to_low = (new_slope * (high - low) >= 0.0) & ~set_high_to_middle
            new_high = where(set_high_to_middle, (new, new_value, new_slope), (high, value_high, slope_high))
            new_high = where(set_high_to_low, (low, value_low, slope_low), new_high)
            new_low = where(~set_high_to_middle, (new, new_value, new_slope), (low, value_low, slope_low))
            zoomed_cubic_ref = where(
                set_high_to_middle | set_high_to_low, (high, value_high), (low, value_low)
            )
            better_safe = (decrease_error <= tol) & (new_value < safe_value)
            zoomed_safe = where(better_safe, (new, new_value), (safe_stepsize, safe_value))
            zoomed_done = error <= tol
            too_small_interval = delta <= stepsize_precision
            zoomed_stop = last_step | (too_small_interval & (zoomed_safe[0] > 0.0))

            bracket = where(interval_found, (*new_low, *new_high), searched_bracket)
            cubic_refs = where(interval_found, zoomed_cubic_ref, searched_bracket[:2])
            new_safe = where(interval_found, zoomed_safe, searched_safe)
            done = pt.switch(interval_found, zoomed_done, searched_done)
            failed = pt.switch(interval_found, zoomed_stop, last_step) & ~done
            # _try_safe_step, when the search failed
            outside_domain = pt.isinf(decrease_error)
            fallback = where((new_safe[0] > 0.0) | outside_domain, new_safe, (new, new_value))
            final_stepsize, final_value = where(failed, fallback, (new, new_value))
            new_state = (
                count + 1,
                final_stepsize,
                final_value,
                new_slope,
                decrease_error,
                curvature_error,
                error,
                interval_found | searched_found,  # the zoom keeps it
                done,
                failed,
                *bracket,
                *cubic_refs,
                *new_safe,
            )
            typed_state = tuple(pt.cast(n, o.dtype) for n, o in zip(new_state, state, strict=True))
            return typed_state, until(done | failed)

        zero, inf = const(0.0), const(np.inf)
        false = pt.constant(np.array(False))
        # optax's init_fn: the low, high and cubic reference points and the safe step start at 0
        start = (
            pt.constant(0, dtype="int64"),  # count
            zero,  # stepsize
            value_init,  # value
            slope_init,  # slope
            inf,  # decrease_error
            inf,  # curvature_error
            inf,  # error
            false,  # interval_found
            false,  # done
            false,  # failed
            zero,  # low
            value_init,  # value_low
            slope_init,  # slope_low
            zero,  # high
            value_init,  # value_high
            slope_init,  # slope_high
            zero,  # cubic_ref
            value_init,  # value_cubic_ref
            zero,  # safe_stepsize
            value_init,  # safe_value
        )
        outputs = _scan(trial, outputs_info=list(start), n_steps=max_linesearch_steps, name="zoom_linesearch")
        count, stepsize, _, _, decrease_error, curvature_error = (o[-1] for o in outputs[:6])
        builder.set(previous, stepsize)
        builder.monitor("linesearch_steps", count)
        builder.monitor("decrease_error", decrease_error)
        builder.monitor("curvature_error", curvature_error)
        return [pt.cast(stepsize, u.dtype) * u for u in steps]

    return build
