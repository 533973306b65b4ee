"""The NaN guard: skip a step whose updates are not all finite (``apply_if_finite``).

When it skips, every param and every state update registered by its inner transform, by the transforms
after it in a chain and by the wrappers around it keeps its value. So wrap the whole rule
(``apply_if_finite(adam(learning_rate=sched))``): a transform chained *before* the wrapper, or a schedule
it resolved first, still changes its state.
"""

import functools
import operator

import pytensor.tensor as pt

from ..core.compat import isfinite
from ..core.transform import Transform, check_transform, transform
from ..core.types import Build, Builder, Steps

__all__ = ["apply_if_finite"]


@transform(rowwise="exact")
def apply_if_finite(inner: Transform) -> Build:
    """Skip the whole step when a gradient is not finite, counting the skipped steps.

    ``ok = all(isfinite(g))`` over every element of every incoming step; when ``ok`` is false every param
    and every state variable keeps its value (bit for bit) except the counter
    ``"apply_if_finite.skipped"`` (int64), which is incremented.

    Parameters
    ----------
    inner : Transform
        The rule to guard, e.g. ``adam(learning_rate=1e-3)``.

    Returns
    -------
    Transform
        Its updates' ``monitors["skipped_steps"]`` is the number of steps skipped so far, this one
        included.

    Notes
    -----
    Like ``optax.apply_if_finite`` without ``max_consecutive_errors`` (it never gives up), and like
    torch's ``GradScaler``, which skips ``optimizer.step()`` on inf/NaN gradients. optax checks the
    inner transform's output; this checks its input, so an overflow inside the rule is not caught.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates as su
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> updates = su.apply_if_finite(su.adam(learning_rate=0.1))([np.array([np.nan, 1.0])], [w])
    >>> updates[w].eval(), updates.monitors["skipped_steps"].eval()
    (array([1., 1.]), array(1))
    """
    check_transform(inner, "inner")

    def build(steps: Steps, builder: Builder) -> Steps:
        finite = functools.reduce(operator.and_, [pt.all(isfinite(s)) for s in steps])
        skipped = builder.scalar("apply_if_finite.skipped", 0, "int64")
        skipped_new = skipped + pt.cast(~finite, "int64")
        builder.set(skipped, skipped_new)
        builder.monitor("skipped_steps", skipped_new)
        start = builder.mark()
        out = inner.build(steps, builder)
        builder.gate(finite, start)
        return out

    return build
