"""Guards that skip a step: on non-finite gradients (``apply_if_finite``) or on any symbolic condition of
the step (``skip_if``, with conditions such as ``large_step``), optionally raising from the compiled step
after too many consecutive skips.

When a guard skips, every param and every state update registered by its inner transform, by the
transforms after it in a chain and by the wrappers around it keeps its value. So wrap the whole rule
(``apply_if_finite(adam(learning_rate=sched))``): a transform chained *before* the wrapper, or a schedule
it resolved first, still changes its state.
"""

import dataclasses
import functools
import importlib.util
import operator
from collections.abc import Callable, Sequence
from typing import Any

import pytensor.tensor as pt
from pytensor.graph.basic import Apply
from pytensor.raise_op import CheckAndRaise
from pytensor.tensor.variable import TensorVariable

from ..core.compat import isfinite
from ..core.transform import Transform, check_transform, transform
from ..core.types import Build, Builder, Steps, TensorLike

__all__ = ["apply_if_finite", "skip_if", "large_step", "GuardedStep", "TooManySkippedSteps"]


class TooManySkippedSteps(RuntimeError):
    """Raised by a compiled step whose guard would skip more consecutive steps than it allows."""


@dataclasses.dataclass(frozen=True)
class GuardedStep:
    """What a ``skip_if`` condition sees of one step (all symbolic).

    Attributes
    ----------
    loss : scalar TensorVariable or None
        The loss the rule was applied to (None when it was given gradients).
    grads : list of TensorVariable
        The steps coming into the guarded rule (the gradients, unless a transform is chained before it).
    steps : list of TensorVariable
        The steps the guarded rule proposes: what would be added to each param.
    params : list of SharedVariable
        The params, at their current values.
    """

    loss: TensorVariable | None
    grads: Sequence[TensorVariable]
    steps: Sequence[TensorVariable]
    params: Sequence[TensorVariable]


class _GuardCheck(CheckAndRaise):
    """``CheckAndRaise`` that also raises in JAX mode, where PyTensor drops assertions (its JAX version is
    registered by ``_register_jax``)."""


@functools.cache
def _register_jax() -> None:
    """Let ``_GuardCheck`` raise inside a jitted JAX function, through a host callback (once, and only if
    JAX is installed, so that importing symupdates does not import JAX)."""
    if importlib.util.find_spec("jax") is None:
        return
    import jax
    import numpy as np
    from pytensor.link.jax.dispatch import jax_funcify

    @jax_funcify.register(_GuardCheck)
    def _jax_guard_check(op: _GuardCheck, node: Apply, **kwargs: Any) -> Callable[..., jax.Array]:
        def check(value: np.ndarray, *conditions: np.ndarray) -> np.ndarray:
            if not all(bool(np.all(c)) for c in conditions):
                raise op.exc_type(op.msg)
            return value

        def guard_check(value: jax.Array, *conditions: jax.Array) -> jax.Array:
            shape = jax.ShapeDtypeStruct(value.shape, value.dtype)
            return jax.pure_callback(check, shape, value, *conditions, vmap_method="sequential")

        return guard_check


def _guard(
    inner: Transform,
    builder: Builder,
    steps: Steps,
    tag: str,
    should_skip: Callable[[Steps | None], TensorLike],
    max_consecutive_skips: int | None,
    *,
    sees_steps: bool,
) -> Steps:
    """Build ``inner`` under a guard named ``tag``: skip the step when ``should_skip(out)`` is true
    (``out``: the inner rule's proposed steps; ``None`` unless ``sees_steps``, when the condition is
    built, with the counters, before ``inner``), count skips in ``"<tag>.skipped"`` and, with a limit,
    consecutive ones in ``"<tag>.consecutive"``, raising ``TooManySkippedSteps`` from the compiled step
    instead of skipping once more than ``max_consecutive_skips`` in a row."""
    skipped = builder.scalar(f"{tag}.skipped", 0, "int64")
    consecutive = None
    if max_consecutive_skips is not None:
        consecutive = builder.scalar(f"{tag}.consecutive", 0, "int64")

    def count(condition: TensorLike) -> TensorVariable:
        skip = pt.as_tensor_variable(condition)
        if skip.ndim != 0 or skip.dtype != "bool":
            raise TypeError(f"{tag}: the condition must be a symbolic scalar bool, got {skip.type}")
        skipped_old = skipped
        if consecutive is not None and max_consecutive_skips is not None:  # both set, or neither
            allowed = ~(skip & (consecutive >= max_consecutive_skips))
            check = _GuardCheck(
                TooManySkippedSteps,
                f"{tag}: {max_consecutive_skips + 1} consecutive steps would be skipped "
                f"(max_consecutive_skips={max_consecutive_skips}); nothing was updated by this call",
            )
            _register_jax()
            # Everything the guard writes derives from a checked value, so the check runs before any of it
            # (and before any update computed in place in a shared variable's storage).
            checked: list = [check(v, allowed) for v in (skip, skipped, consecutive)]
            skip, skipped_old, consecutive_old = checked
            consecutive_new = pt.switch(skip, consecutive_old + 1, 0)
            builder.set(consecutive, consecutive_new)
            builder.monitor("consecutive_skips", consecutive_new)
        skipped_new = skipped_old + pt.cast(skip, "int64")
        builder.set(skipped, skipped_new)
        builder.monitor("skipped_steps", skipped_new)
        return skip

    if not sees_steps:
        skip = count(should_skip(None))
    start = builder.mark()
    out = inner.build(steps, builder)
    if sees_steps:
        skip = count(should_skip(out))
    builder.gate(~skip, start, counters=[v for v in (skipped, consecutive) if v is not None])
    return out


@transform(rowwise="exact")
def apply_if_finite(inner: Transform, *, max_consecutive_skips: int | None = None) -> Build:
    """Skip the whole step when a gradient is not finite, counting the skipped steps.

    ``ok = all(isfinite(g))`` over every element of every incoming step; when ``ok`` is false every param
    and every state variable keeps its value (bit for bit) except the counter
    ``"apply_if_finite.skipped"`` (int64), which is incremented.

    Parameters
    ----------
    inner : Transform
        The rule to guard, e.g. ``adam(learning_rate=1e-3)``.
    max_consecutive_skips : int or None, keyword-only
        With a number ``N``, a call that would skip for the ``N + 1``-th time in a row raises
        ``TooManySkippedSteps`` from the compiled step instead (naming the guard and the count), and
        updates nothing; the consecutive skips are counted in ``"apply_if_finite.consecutive"``.

    Returns
    -------
    Transform
        Its updates' ``monitors["skipped_steps"]`` is the number of steps skipped so far, this one
        included (and, with a limit, ``monitors["consecutive_skips"]`` the current run of skips).

    Notes
    -----
    Like ``optax.apply_if_finite``, whose ``max_consecutive_errors`` instead *applies* the non-finite
    update after that many skips; and like torch's ``GradScaler``, which skips ``optimizer.step()`` on
    inf/NaN gradients. optax checks the inner transform's output; this checks its input, so an overflow
    inside the rule is not caught (``skip_if`` with a condition on ``step.steps`` does that). In JAX mode
    the error reaches the caller wrapped in JAX's runtime error, whose message contains this one.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates as su
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> updates = su.apply_if_finite(su.adam(learning_rate=0.1))([np.array([np.nan, 1.0])], [w])
    >>> updates[w].eval(), updates.monitors["skipped_steps"].eval()
    (array([1., 1.]), array(1))
    """
    check_transform(inner, "inner")
    _check_limit(max_consecutive_skips)

    def build(steps: Steps, builder: Builder) -> Steps:
        finite = functools.reduce(operator.and_, [pt.all(isfinite(s)) for s in steps])
        return _guard(
            inner,
            builder,
            steps,
            "apply_if_finite",
            lambda out: ~finite,
            max_consecutive_skips,
            sees_steps=False,
        )

    return build


def _check_limit(max_consecutive_skips: object) -> None:
    if max_consecutive_skips is not None and (
        isinstance(max_consecutive_skips, bool)
        or not isinstance(max_consecutive_skips, int)
        or max_consecutive_skips < 0
    ):
        raise ValueError(
            f"max_consecutive_skips must be None or an integer >= 0, got {max_consecutive_skips!r}"
        )


@transform
def skip_if(
    inner: Transform,
    condition: Callable[[GuardedStep], TensorVariable],
    *,
    max_consecutive_skips: int | None = None,
) -> Build:
    """Skip the whole step when ``condition(step)`` is true, counting the skipped steps.

    ``condition`` receives a ``GuardedStep`` (the step's symbolic ``loss``, incoming ``grads``, the inner
    rule's proposed ``steps`` and the ``params``) and returns a symbolic scalar bool. When it is true
    every param and every state variable of ``inner`` keeps its value (bit for bit) and the counter
    ``"skip_if.skipped"`` (int64) is incremented.

    Parameters
    ----------
    inner : Transform
        The rule to guard, e.g. ``sgd(learning_rate=0.1)`` or ``lbfgs()``.
    condition : callable
        ``condition(step: GuardedStep) -> symbolic bool``, e.g. ``large_step(1.0)`` or
        ``lambda step: step.loss > 1e3``.
    max_consecutive_skips : int or None, keyword-only
        With a number ``N``, a call that would skip for the ``N + 1``-th time in a row raises
        ``TooManySkippedSteps`` from the compiled step instead (naming the guard and the count), and
        updates nothing; the consecutive skips are counted in ``"skip_if.consecutive"``.

    Returns
    -------
    Transform
        Its updates' ``monitors["skipped_steps"]`` counts the skipped steps, this one included (and, with a
        limit, ``monitors["consecutive_skips"]`` the current run of skips).

    Notes
    -----
    pytensor-ml's ``skip_if``; optax has no general one (``apply_if_finite`` is its special case). The
    condition sees the steps ``inner`` returns; a rule that sets the params itself (``lbfgs``) returns
    the change it makes. In JAX mode the error reaches the caller wrapped in JAX's runtime error, whose
    message contains this one.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates as su
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> rule = su.skip_if(su.sgd(learning_rate=1.0), su.large_step(1.0))
    >>> step = pytensor.function([], [], updates=rule((w**2).sum(), [w]))
    >>> _ = step(); w.get_value()          # the step -2 w has norm 2.83 > 1: skipped
    array([1., 1.])
    """
    check_transform(inner, "inner")
    if not callable(condition):
        raise TypeError(f"condition must be a callable of a GuardedStep, got {type(condition).__name__}")
    _check_limit(max_consecutive_skips)

    def build(steps: Steps, builder: Builder) -> Steps:
        def should_skip(out: Steps | None) -> TensorVariable:
            assert out is not None  # _guard passes the inner rule's steps when sees_steps
            return condition(
                GuardedStep(loss=builder.loss, grads=list(steps), steps=list(out), params=builder.params)
            )

        return _guard(inner, builder, steps, "skip_if", should_skip, max_consecutive_skips, sees_steps=True)

    return build


def large_step(max_norm: float) -> Callable[[GuardedStep], TensorVariable]:
    """A ``skip_if`` condition: the proposed step's global L2 norm exceeds ``max_norm`` (or is not finite).

    ``sqrt(sum_i ||step_i||^2) > max_norm``, computed in float64.

    Parameters
    ----------
    max_norm : float or symbolic scalar

    Returns
    -------
    callable
        ``condition(step: GuardedStep) -> symbolic bool``.

    Examples
    --------
    >>> import symupdates as su
    >>> rule = su.skip_if(su.adam(learning_rate=0.1), su.large_step(0.5))
    """
    if isinstance(max_norm, int | float) and not max_norm >= 0:
        raise ValueError(f"max_norm must be >= 0, got {max_norm!r}")

    def condition(step: GuardedStep) -> TensorVariable:
        norm = pt.sqrt(sum(pt.sum(pt.cast(s, "float64") ** 2) for s in step.steps))
        return ~(norm <= max_norm)

    return condition
