"""Gradient accumulation: one step of the inner rule every ``every_k`` calls, on the mean gradient.

The calls in between skip: every param and every state update registered by the inner transform keeps its
value, as under ``apply_if_finite``.
"""

import pytensor.tensor as pt

from ..core.hyperparams import check_count, typed
from ..core.transform import Transform, check_transform, transform
from ..core.types import Build, Builder, Steps

__all__ = ["accumulate_gradients"]


@transform
def accumulate_gradients(inner: Transform, every_k: int) -> Build:
    """Apply ``inner`` every ``every_k`` calls, to the mean of the gradients of those calls.

    Per param a sum ``a`` (``"<param>.accumulate.sum"``) and one int64 counter
    ``"accumulate.micro_step"`` ``c``: ``a_new = a + g``; the call is a real step when
    ``c + 1 == every_k``; then ``inner`` sees ``a_new / every_k``, and ``a' = 0``, ``c' = 0``. On the other
    calls ``a' = a_new``, ``c' = c + 1`` and the params and all of ``inner``'s state keep their values.

    Parameters
    ----------
    inner : Transform
        The whole rule (decay, clipping and schedules inside it act on real steps only).
    every_k : int >= 1

    Returns
    -------
    Transform

    Notes
    -----
    As ``optax.MultiSteps(inner, every_k_schedule=every_k)``. With micro-batches of equal size and a mean
    loss, ``every_k`` calls equal one step on their concatenated batch.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates as su
    >>> w = pytensor.shared(np.zeros(1), name="w")
    >>> g = pytensor.tensor.vector("g")
    >>> rule = su.accumulate_gradients(su.sgd(learning_rate=1.0), 2)
    >>> step = pytensor.function([g], [], updates=rule([g], [w]))
    >>> _ = step([1.0]); w.get_value()
    array([0.])
    >>> _ = step([3.0]); w.get_value()
    array([-2.])
    """
    check_transform(inner, "inner")
    every_k = check_count(every_k, "every_k")

    def build(steps: Steps, builder: Builder) -> Steps:
        micro = builder.scalar("accumulate.micro_step", 0, "int64")
        real = pt.eq(micro + 1, every_k)
        builder.set(micro, pt.switch(real, 0, micro + 1))
        means = []
        for i, (s, p) in enumerate(zip(steps, builder.params, strict=True)):
            total = builder.slot(i, "accumulate", "sum")
            total_new = total + s
            builder.set(total, pt.switch(real, pt.zeros_like(total_new), total_new))
            means.append(total_new / typed(every_k, p.dtype))
        start = builder.mark()
        out = inner.build(means, builder)
        builder.gate(real, start)
        return out

    return build
