"""Clipping transforms: bound each step element, each param's step norm, or the norm of all steps.

Put them first in a chain to clip gradients (``chain(clip_by_global_norm(1.0), scale_by_adam(), ...)``), or
after a scaling transform to clip the steps it produces.
"""

import functools
import numbers
import operator

import pytensor.tensor as pt
from pytensor.tensor.variable import TensorVariable

from ..core.hyperparams import NONNEGATIVE, REAL, typed
from ..core.transform import transform
from ..core.types import Build, Builder, Scalar, Steps

__all__ = ["clip_by_value", "clip_by_norm", "clip_by_global_norm"]


@transform(min_value=REAL, max_value=REAL)
def clip_by_value(min_value: Scalar, max_value: Scalar) -> Build:
    """Clip every element of every step: ``s' = min(max(s, min_value), max_value)``.

    Parameters
    ----------
    min_value, max_value : float or symbolic scalar
        With numbers, ``min_value <= max_value``.

    Returns
    -------
    Transform

    Notes
    -----
    As ``optax.clip`` with ``-max_delta, max_delta`` and torch's ``clip_grad_value_(clip_value)`` with
    ``-clip_value, clip_value``.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates as su
    >>> w = pytensor.shared(np.zeros(3), name="w")
    >>> tx = su.chain(su.clip_by_value(-1.0, 1.0), su.scale_by_learning_rate(1.0))
    >>> updates = tx([np.array([-5.0, 0.5, 5.0])], [w])
    >>> updates[w].eval()
    array([ 1. , -0.5, -1. ])
    """
    if isinstance(min_value, numbers.Real) and isinstance(max_value, numbers.Real) and min_value > max_value:
        raise ValueError(f"min_value must be <= max_value, got {min_value!r} > {max_value!r}")

    def build(steps: Steps, builder: Builder) -> Steps:
        min_value_now, max_value_now = (builder.resolve(x) for x in (min_value, max_value))
        return [
            pt.clip(s, typed(min_value_now, p.dtype), typed(max_value_now, p.dtype))
            for s, p in zip(steps, builder.params, strict=True)
        ]

    return build


def _sum_squares(step: TensorVariable) -> TensorVariable:
    """``sum(step ** 2)`` accumulated in float64, a float64 scalar (an explicit float64 result: PyTensor's
    JAX backend would otherwise leak its float64 accumulator into float32 updates)."""
    return pt.sum(step**2, dtype="float64")


def _shrink(norm: TensorVariable, max_norm: Scalar, dtype: str) -> TensorVariable:
    """``1`` when ``norm <= max_norm``, else ``max_norm / norm`` (optax's form: no epsilon)."""
    limit = typed(max_norm, dtype)
    return pt.switch(norm <= limit, typed(1, dtype), limit / norm)


@transform(max_norm=NONNEGATIVE)
def clip_by_norm(max_norm: Scalar) -> Build:
    """Per-parameter max-norm: scale each param's step so that its L2 norm is at most ``max_norm``.

    ``s' = s * min(1, max_norm / ||s||)`` with ``||s||`` the norm of the whole tensor.

    Parameters
    ----------
    max_norm : float or symbolic scalar, >= 0

    Returns
    -------
    Transform

    Notes
    -----
    Clips each tensor's gradient (or step) separately, as ``optax.clip_by_block_rms`` does with the RMS.
    To constrain the weights themselves (Srivastava et al.'s max-norm regularization), apply
    ``symupdates.norm_constraint`` to the param updates.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates as su
    >>> w = pytensor.shared(np.zeros(2), name="w")
    >>> updates = su.chain(su.clip_by_norm(1.0), su.scale_by_learning_rate(1.0))([np.array([3.0, 4.0])], [w])
    >>> updates[w].eval()
    array([-0.6, -0.8])
    """

    def build(steps: Steps, builder: Builder) -> Steps:
        max_norm_now = builder.resolve(max_norm)
        return [
            s * _shrink(pt.cast(pt.sqrt(_sum_squares(s)), p.dtype), max_norm_now, p.dtype)
            for s, p in zip(steps, builder.params, strict=True)
        ]

    return build


@transform(max_norm=NONNEGATIVE, rowwise="exact")
def clip_by_global_norm(max_norm: Scalar) -> Build:
    """Scale all steps together so that their global L2 norm is at most ``max_norm``.

    ``n = sqrt(sum_i ||s_i||^2)``;  ``s_i' = s_i * min(1, max_norm / n)``.

    Parameters
    ----------
    max_norm : float or symbolic scalar, >= 0

    Returns
    -------
    Transform
        Its updates' ``monitors["global_norm"]`` is ``n`` before clipping (float64), to add to a compiled
        function's outputs.

    Notes
    -----
    As ``optax.clip_by_global_norm``. torch's ``clip_grad_norm_`` scales by ``max_norm / (n + 1e-6)``
    and returns ``n``, as Lasagne's ``total_norm_constraint(..., return_norm=True)`` (epsilon 1e-7) does.
    Norms are accumulated in float64 whatever the params' dtypes; the steps keep their dtype.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates as su
    >>> a, b = pytensor.shared(np.zeros(1), name="a"), pytensor.shared(np.zeros(1), name="b")
    >>> tx = su.chain(su.clip_by_global_norm(1.0), su.scale_by_learning_rate(1.0))
    >>> updates = tx([np.array([3.0]), np.array([4.0])], [a, b])
    >>> updates[a].eval(), updates[b].eval(), updates.monitors["global_norm"].eval()
    (array([-0.6]), array([-0.8]), array(5.))
    """

    def build(steps: Steps, builder: Builder) -> Steps:
        max_norm_now = builder.resolve(max_norm)
        norm = pt.sqrt(functools.reduce(operator.add, [_sum_squares(s) for s in steps]))
        builder.monitor("global_norm", norm)
        return [
            s * _shrink(pt.cast(norm, p.dtype), max_norm_now, p.dtype)
            for s, p in zip(steps, builder.params, strict=True)
        ]

    return build
