"""Running averages of squared gradients: RMSProp (``scale_by_rms``, ``rmsprop``) and Adadelta
(``scale_by_adadelta``, ``adadelta``).
"""

from typing import Any

import pytensor.tensor as pt

from ..core.builder import Builder
from ..core.hyperparams import NONNEGATIVE, UNIT_INTERVAL, typed
from ..core.transform import Build, Hyper, Transform, chain, is_zero, rule, scale_by_learning_rate, transform
from ..core.updates import Updates
from .common import ascent, check_placement, per_param, root
from .sgd import trace

__all__ = [
    "scale_by_rms",
    "rmsprop",
    "scale_by_adadelta",
    "adadelta",
]


@transform(rho=UNIT_INTERVAL, epsilon=NONNEGATIVE, rowwise="lazy")
def scale_by_rms(
    rho: Hyper = 0.9,
    epsilon: Hyper = 1e-6,
    *,
    centered: bool = False,
    epsilon_placement: str = "inside",
    name: str = "rmsprop",
) -> Build:
    """RMSProp's scaling by a running root mean square of the gradients.

    ``a' = rho * a + (1 - rho) * g^2``, ``s' = g / sqrt(a' + epsilon)`` (epsilon inside the root), or
    ``s' = g / (sqrt(a') + epsilon)`` with ``epsilon_placement="outside"``. With ``centered=True`` the
    running variance replaces ``a'``: ``b' = rho * b + (1 - rho) * g``, ``a' - b'^2`` under the root.

    Parameters
    ----------
    rho : float or symbolic scalar
        Decay of the running average.
    epsilon : float or symbolic scalar, >= 0
    centered : bool, keyword-only
        torch's ``centered``: divide by an estimate of the standard deviation of the gradient (state
        ``"<param>.<name>.grad_avg"``).
    epsilon_placement : {"inside", "outside"}, keyword-only
        See ``EPSILON_PLACEMENTS``; torch's ``RMSprop`` is ``"outside"``.
    name : str
        The tag in state names: ``"<param>.<name>.accu"``.

    Returns
    -------
    Transform

    Notes
    -----
    As Lasagne. torch adds epsilon outside the root; optax's ``scale_by_rms`` puts it inside.

    References
    ----------
    Tieleman and Hinton (2012), Lecture 6.5 - rmsprop, COURSERA: Neural Networks for Machine Learning.

    Examples
    --------
    >>> import symupdates as su
    >>> su.scale_by_rms(rho=0.95)
    scale_by_rms(rho=0.95, epsilon=1e-06)
    """
    check_placement(epsilon_placement, ("inside", "outside"))
    if not isinstance(centered, bool):
        raise TypeError(f"centered must be a bool, got {centered!r}")

    def build(steps: list[Any], builder: Builder) -> list[Any]:
        hyper = builder.resolve(rho), builder.resolve(epsilon)

        def step(i: int, g: Any, dt: str) -> Any:
            r, eps = (typed(x, dt) for x in hyper)
            one = typed(1, dt)
            accu = builder.slot(i, name, "accu")
            accu_new = r * accu + (one - r) * g**2
            builder.set(accu, accu_new)
            if centered:
                mean = builder.slot(i, name, "grad_avg")
                mean_new = r * mean + (one - r) * g
                builder.set(mean, mean_new)
                accu_new = accu_new - mean_new**2
            return g / root(accu_new, eps, epsilon_placement)

        return per_param(steps, builder, step)

    return build


@rule(learning_rate=NONNEGATIVE, rho=UNIT_INTERVAL, epsilon=NONNEGATIVE, momentum=UNIT_INTERVAL)
def rmsprop(
    loss_or_grads: Any = None,
    params: Any = None,
    learning_rate: Hyper = 1.0,
    rho: Hyper = 0.9,
    epsilon: Hyper = 1e-6,
    *,
    epsilon_placement: str = "inside",
    centered: bool = False,
    momentum: Hyper = 0.0,
    maximize: bool = False,
) -> Updates | Transform:
    """RMSProp.

    ``a' = rho * a + (1 - rho) * g^2``; ``p' = p - learning_rate * g / sqrt(a' + epsilon)``. With the
    keyword-only options, torch's: ``centered`` uses ``a' - b'^2`` with ``b' = rho * b + (1 - rho) * g``
    in place of ``a'``; ``momentum`` keeps ``u' = momentum * u + g / sqrt(...)`` and steps by
    ``-learning_rate * u'``.

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
        A scalar loss, or one gradient expression per param.
    params : list of SharedVariable, optional
        The parameters to update. Omit both this and ``loss_or_grads`` to get the rule as a ``Transform``
        taking ``(loss_or_grads, params)``.
    learning_rate : float or symbolic scalar
    rho : float or symbolic scalar
        Decay of the running average of squared gradients.
    epsilon : float or symbolic scalar, >= 0
        Added inside the square root.
    epsilon_placement : {"inside", "outside"}, keyword-only
        "outside": ``g / (sqrt(a') + epsilon)``. See ``symupdates.EPSILON_PLACEMENTS``.
    centered : bool, keyword-only
        torch's ``centered`` (state ``"<param>.rmsprop.grad_avg"``).
    momentum : float or symbolic scalar, keyword-only
        torch's ``momentum`` (0: none; state ``"<param>.rmsprop.velocity"``).
    maximize : bool, keyword-only
        Ascend the objective instead (torch's ``maximize``): the gradients are negated before anything else.

    Returns
    -------
    Updates or Transform
        Key order ``a1, p1, a2, p2, ...``.

    Notes
    -----
    As Lasagne. torch's ``RMSprop(lr, alpha, eps)`` (0.01, 0.99, 1e-8) is ``rmsprop(..., lr, rho=alpha,
    epsilon=eps, epsilon_placement="outside")``; optax's ``rmsprop(lr, decay, eps)`` (decay 0.9, eps 1e-8,
    inside the root) is ``rmsprop(..., lr, rho=decay, epsilon=eps)``.

    References
    ----------
    Tieleman and Hinton (2012), Lecture 6.5 - rmsprop, COURSERA: Neural Networks for Machine Learning.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> [v.name for v in symupdates.rmsprop((w ** 2).sum(), [w], learning_rate=0.01)]
    ['w.rmsprop.accu', 'w']
    """
    scaling = scale_by_rms(rho, epsilon, centered=centered, epsilon_placement=epsilon_placement)
    velocity = [] if is_zero(momentum) else [trace(momentum, name="rmsprop")]
    return chain(*ascent(maximize), scaling, *velocity, scale_by_learning_rate(learning_rate))


@transform(rho=UNIT_INTERVAL, epsilon=NONNEGATIVE)
def scale_by_adadelta(rho: Hyper = 0.95, epsilon: Hyper = 1e-6, *, name: str = "adadelta") -> Build:
    """Adadelta's unit-correcting scaling.

    ``a' = rho * a + (1 - rho) * g^2``;  ``d = g * sqrt(u + epsilon) / sqrt(a' + epsilon)``;
    ``u' = rho * u + (1 - rho) * d^2``;  ``s' = d``.  (``u`` is the old delta accumulator.)

    Parameters
    ----------
    rho : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
    name : str
        The tag in state names: ``"<param>.<name>.accu"`` and ``"<param>.<name>.delta_accu"``.

    Returns
    -------
    Transform

    Notes
    -----
    As Lasagne, including its key order: ``accu``, the param, then ``delta_accu``.

    References
    ----------
    Zeiler (2012), ADADELTA: An adaptive learning rate method, arXiv:1212.5701.

    Examples
    --------
    >>> import symupdates as su
    >>> su.scale_by_adadelta()
    scale_by_adadelta(rho=0.95, epsilon=1e-06)
    """

    def build(steps: list[Any], builder: Builder) -> list[Any]:
        hyper = builder.resolve(rho), builder.resolve(epsilon)

        def step(i: int, g: Any, dt: str) -> Any:
            r, eps = (typed(x, dt) for x in hyper)
            one = typed(1, dt)
            accu = builder.slot(i, name, "accu")
            delta_accu = builder.slot(i, name, "delta_accu")
            accu_new = r * accu + (one - r) * g**2
            delta = g * pt.sqrt(delta_accu + eps) / pt.sqrt(accu_new + eps)
            builder.set(accu, accu_new)
            builder.set(delta_accu, r * delta_accu + (one - r) * delta**2, after_param=True)
            return delta

        return per_param(steps, builder, step)

    return build


@rule(learning_rate=NONNEGATIVE, rho=UNIT_INTERVAL, epsilon=NONNEGATIVE)
def adadelta(
    loss_or_grads: Any = None,
    params: Any = None,
    learning_rate: Hyper = 1.0,
    rho: Hyper = 0.95,
    epsilon: Hyper = 1e-6,
    *,
    maximize: bool = False,
) -> Updates | Transform:
    """Adadelta.

    ``a' = rho * a + (1 - rho) * g^2``; ``d = g * sqrt(u + epsilon) / sqrt(a' + epsilon)``;
    ``p' = p - learning_rate * d``; ``u' = rho * u + (1 - rho) * d^2``

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
        A scalar loss, or one gradient expression per param.
    params : list of SharedVariable, optional
        The parameters to update. Omit both this and ``loss_or_grads`` to get the rule as a ``Transform``
        taking ``(loss_or_grads, params)``.
    learning_rate : float or symbolic scalar
        The paper has none (1.0).
    rho : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
    maximize : bool, keyword-only
        Ascend the objective instead (torch's ``maximize``): the gradients are negated before anything else.

    Returns
    -------
    Updates or Transform
        Key order ``a1, p1, u1, a2, p2, u2, ...``.

    Notes
    -----
    As Lasagne; torch's ``Adadelta`` is the same rule (rho=0.9 there).

    References
    ----------
    Zeiler (2012), ADADELTA: An adaptive learning rate method, arXiv:1212.5701.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> [v.name for v in symupdates.adadelta((w ** 2).sum(), [w])]
    ['w.adadelta.accu', 'w', 'w.adadelta.delta_accu']
    """
    return chain(*ascent(maximize), scale_by_adadelta(rho, epsilon), scale_by_learning_rate(learning_rate))
