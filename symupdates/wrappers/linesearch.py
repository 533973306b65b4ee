"""Line searches as transforms: scale the incoming direction by a step size found by re-evaluating the loss
at trial points inside the compiled step (``scale_by_backtracking_linesearch``, optax's)."""

from typing import cast

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.graph.replace import clone_replace
from pytensor.scan.utils import until
from pytensor.tensor.variable import TensorVariable

from ..core.hyperparams import NONNEGATIVE, POSITIVE, check_count, typed
from ..core.transform import transform
from ..core.types import Build, Builder, Steps
from ..rules.lbfgs import _scan

__all__ = ["scale_by_backtracking_linesearch"]


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
