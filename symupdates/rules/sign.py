"""Sign-based rules: signSGD and Signum (``scale_by_sign``), Lion (``scale_by_lion``) and Rprop
(``scale_by_rprop``): each element moves by a step size that does not depend on the gradient's magnitude.
"""

from typing import Any

import pytensor.tensor as pt

from ..core.builder import Builder
from ..core.hyperparams import NONNEGATIVE, UNIT_INTERVAL, typed
from ..core.transform import Build, Hyper, Transform, chain, rule, scale, scale_by_learning_rate, transform
from ..core.updates import Updates
from .common import ascent, decayed_weights, per_param
from .sgd import trace

__all__ = [
    "scale_by_sign",
    "sign_sgd",
    "signum",
    "scale_by_lion",
    "lion",
    "scale_by_rprop",
    "rprop",
]


@transform(rowwise="exact", piecewise_constant=True)
def scale_by_sign() -> Build:
    """The elementwise sign of each step: ``s' = sign(s)`` (0 where ``s`` is 0).

    Returns
    -------
    Transform

    References
    ----------
    Bernstein, Wang, Azizzadenesheli and Anandkumar (2018), signSGD: Compressed optimisation for
    non-convex problems, ICML, arXiv:1802.04434.

    Examples
    --------
    >>> import symupdates as su
    >>> su.scale_by_sign()
    scale_by_sign()
    """

    def build(steps: list[Any], builder: Builder) -> list[Any]:
        return [pt.sign(s) for s in steps]

    return build


@rule(learning_rate=NONNEGATIVE)
def sign_sgd(
    loss_or_grads: Any = None, params: Any = None, learning_rate: Hyper = 1e-3
) -> Updates | Transform:
    """signSGD: ``p' = p - learning_rate * sign(g)``.

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
        A scalar loss, or one gradient expression per param.
    params : list of SharedVariable, optional
        The parameters to update. Omit both this and ``loss_or_grads`` to get the rule as a ``Transform``
        taking ``(loss_or_grads, params)``.
    learning_rate : float or symbolic scalar

    Returns
    -------
    Updates or Transform

    Notes
    -----
    The paper gives no default rate; 1e-3 as ``sgd``.

    References
    ----------
    Bernstein, Wang, Azizzadenesheli and Anandkumar (2018), signSGD: Compressed optimisation for
    non-convex problems, ICML, arXiv:1802.04434.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.array([2.0, -3.0]), name="w")
    >>> step = pytensor.function([], [], updates=symupdates.sign_sgd((w ** 2).sum(), [w], 0.5))
    >>> _ = step(); w.get_value()
    array([ 1.5, -2.5])
    """
    return chain(scale_by_sign(), scale_by_learning_rate(learning_rate))


@rule(learning_rate=NONNEGATIVE, momentum=UNIT_INTERVAL)
def signum(
    loss_or_grads: Any = None, params: Any = None, learning_rate: Hyper = 1e-3, momentum: Hyper = 0.9
) -> Updates | Transform:
    """Signum: signSGD on a momentum of the gradients.

    ``m' = momentum * m + (1 - momentum) * g``; ``p' = p - learning_rate * sign(m')``.

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
        A scalar loss, or one gradient expression per param.
    params : list of SharedVariable, optional
        The parameters to update. Omit both this and ``loss_or_grads`` to get the rule as a ``Transform``
        taking ``(loss_or_grads, params)``.
    learning_rate : float or symbolic scalar
    momentum : float or symbolic scalar
        0.9, the paper's.

    Returns
    -------
    Updates or Transform
        Key order ``b1, p1, b2, p2, ...`` (``"<param>.signum.velocity"``).

    Notes
    -----
    Built as ``chain(trace(momentum), scale_by_sign(), scale_by_learning_rate(lr))``: the trace
    ``b' = momentum * b + g`` is ``m' / (1 - momentum)``, a positive multiple with the same sign.

    References
    ----------
    Bernstein et al. (2018), signSGD, ICML, arXiv:1802.04434.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> [v.name for v in symupdates.signum((w ** 2).sum(), [w])]
    ['w.signum.velocity', 'w']
    """
    return chain(trace(momentum, name="signum"), scale_by_sign(), scale_by_learning_rate(learning_rate))


@transform(beta1=UNIT_INTERVAL, beta2=UNIT_INTERVAL, piecewise_constant=True)
def scale_by_lion(beta1: Hyper = 0.9, beta2: Hyper = 0.99, *, name: str = "lion") -> Build:
    """Lion's scaling: the sign of an interpolation of momentum and gradient.

    ``s' = sign(beta1 * m + (1 - beta1) * g)``; ``m' = beta2 * m + (1 - beta2) * g``.

    Parameters
    ----------
    beta1 : float or symbolic scalar
        Interpolation used for the step.
    beta2 : float or symbolic scalar
        Decay of the momentum kept in state.
    name : str
        The tag in state names: ``"<param>.<name>.m"``.

    Returns
    -------
    Transform

    Notes
    -----
    As ``optax.scale_by_lion`` (defaults 0.9, 0.99 from the paper).

    References
    ----------
    Chen et al. (2023), Symbolic discovery of optimization algorithms, NeurIPS, arXiv:2302.06675.

    Examples
    --------
    >>> import symupdates as su
    >>> su.scale_by_lion()
    scale_by_lion(beta1=0.9, beta2=0.99)
    """

    def build(steps: list[Any], builder: Builder) -> list[Any]:
        hyper = builder.resolve(beta1), builder.resolve(beta2)

        def step(i: int, g: Any, dt: str) -> Any:
            b1, b2 = (typed(x, dt) for x in hyper)
            one = typed(1, dt)
            m = builder.slot(i, name, "m")
            builder.set(m, b2 * m + (one - b2) * g)
            return pt.sign(b1 * m + (one - b1) * g)

        return per_param(steps, builder, step)

    return build


@rule(learning_rate=NONNEGATIVE, beta1=UNIT_INTERVAL, beta2=UNIT_INTERVAL, weight_decay=NONNEGATIVE)
def lion(
    loss_or_grads: Any = None,
    params: Any = None,
    learning_rate: Hyper = 1e-4,
    beta1: Hyper = 0.9,
    beta2: Hyper = 0.99,
    weight_decay: Hyper = 0.0,
) -> Updates | Transform:
    """Lion (EvoLved Sign Momentum).

    ``p' = p - learning_rate * (sign(beta1 * m + (1 - beta1) * g) + weight_decay * p)``;
    ``m' = beta2 * m + (1 - beta2) * g``.

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
        A scalar loss, or one gradient expression per param.
    params : list of SharedVariable, optional
        The parameters to update. Omit both this and ``loss_or_grads`` to get the rule as a ``Transform``
        taking ``(loss_or_grads, params)``.
    learning_rate : float or symbolic scalar
        1e-4: the paper advises 3-10x less than AdamW's, since every element moves by the full rate.
    beta1, beta2 : float or symbolic scalar
    weight_decay : float or symbolic scalar
        Decoupled, multiplied by the learning rate (0 here; optax's default is 1e-3).

    Returns
    -------
    Updates or Transform
        Key order ``m1, p1, m2, p2, ...``.

    Notes
    -----
    As ``optax.lion`` (tests/integration/test_parity.py). torch has no Lion.

    References
    ----------
    Chen et al. (2023), Symbolic discovery of optimization algorithms, NeurIPS, arXiv:2302.06675.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> [v.name for v in symupdates.lion((w ** 2).sum(), [w])]
    ['w.lion.m', 'w']
    """
    return chain(
        scale_by_lion(beta1, beta2), *decayed_weights(weight_decay), scale_by_learning_rate(learning_rate)
    )


@transform(
    initial_step=NONNEGATIVE.numbers_only(),
    etaminus=NONNEGATIVE,
    etaplus=NONNEGATIVE,
    min_step=NONNEGATIVE,
    max_step=NONNEGATIVE,
    piecewise_constant=True,
)
def scale_by_rprop(
    initial_step: float = 1e-2,
    etaminus: Hyper = 0.5,
    etaplus: Hyper = 1.2,
    min_step: Hyper = 1e-6,
    max_step: Hyper = 50.0,
    *,
    name: str = "rprop",
) -> Build:
    """Rprop's scaling: per-element step sizes grown while the gradient keeps its sign.

    With ``q = g * g_prev``: ``eta = etaplus`` where ``q > 0``, ``etaminus`` where ``q < 0``, 1 else;
    ``d' = clip(d * eta, min_step, max_step)``; ``g_used = 0 where q < 0 else g``;
    ``s' = sign(g_used) * d'``; ``g_prev' = g_used``. ``d`` starts at ``initial_step``.

    Parameters
    ----------
    initial_step : float
        The initial step size of every element; a number because it fills the state.
    etaminus, etaplus : float or symbolic scalar
        Multiplicative decrease (after a sign change) and increase (same sign).
    min_step, max_step : float or symbolic scalar
    name : str
        The tag in state names: ``"<param>.<name>.prev"`` and ``"<param>.<name>.step_size"``.

    Returns
    -------
    Transform

    Notes
    -----
    As ``torch.optim.Rprop`` (iRprop-: after a sign change the element does not move and its gradient is
    forgotten). It is meant for full-batch gradients.

    References
    ----------
    Riedmiller and Braun (1993), A direct adaptive method for faster backpropagation learning: the RPROP
    algorithm, IEEE ICNN; Igel and Huesken (2000), Improving the Rprop learning algorithm.

    Examples
    --------
    >>> import symupdates as su
    >>> su.scale_by_rprop(0.1)
    scale_by_rprop(initial_step=0.1, etaminus=0.5, etaplus=1.2, min_step=1e-06, max_step=50.0)
    """

    def build(steps: list[Any], builder: Builder) -> list[Any]:
        hyper = [builder.resolve(x) for x in (etaminus, etaplus, min_step, max_step)]

        def step(i: int, g: Any, dt: str) -> Any:
            decrease, increase, smallest, largest = (typed(x, dt) for x in hyper)
            prev = builder.slot(i, name, "prev")
            size = builder.slot(i, name, "step_size", value=initial_step)
            q = g * prev
            zero, one = typed(0, dt), typed(1, dt)
            eta = pt.switch(q > zero, increase, pt.switch(q < zero, decrease, one))
            size_new = pt.clip(size * eta, smallest, largest)
            g_used = pt.switch(q < zero, zero, g)
            builder.set(prev, g_used)
            builder.set(size, size_new)
            return pt.sign(g_used) * size_new

        return per_param(steps, builder, step)

    return build


@rule(
    learning_rate=NONNEGATIVE.numbers_only(),
    etaminus=NONNEGATIVE,
    etaplus=NONNEGATIVE,
    min_step=NONNEGATIVE,
    max_step=NONNEGATIVE,
)
def rprop(
    loss_or_grads: Any = None,
    params: Any = None,
    learning_rate: float = 1e-2,
    etaminus: Hyper = 0.5,
    etaplus: Hyper = 1.2,
    min_step: Hyper = 1e-6,
    max_step: Hyper = 50.0,
    *,
    maximize: bool = False,
) -> Updates | Transform:
    """Rprop: resilient backpropagation, sign-based steps with per-element adaptive sizes.

    With ``q = g * g_prev``: ``d' = clip(d * (etaplus if q > 0, etaminus if q < 0, else 1), min_step,
    max_step)``; ``g' = 0 where q < 0 else g``; ``p' = p - sign(g') * d'``; ``g_prev = g'``;
    ``d`` starts at ``learning_rate``.

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
        A scalar loss, or one gradient expression per param.
    params : list of SharedVariable, optional
        The parameters to update. Omit both this and ``loss_or_grads`` to get the rule as a ``Transform``
        taking ``(loss_or_grads, params)``.
    learning_rate : float
        The initial step size (a number: it fills the state).
    etaminus, etaplus : float or symbolic scalar
    min_step, max_step : float or symbolic scalar
    maximize : bool, keyword-only
        Ascend the objective instead (torch's ``maximize``): the gradients are negated before anything else.

    Returns
    -------
    Updates or Transform
        Key order ``prev1, size1, p1, ...``.

    Notes
    -----
    ``torch.optim.Rprop`` (defaults ``lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50)``; same numbers,
    tests/integration/test_parity.py). Meant for full-batch training.

    References
    ----------
    Riedmiller and Braun (1993), IEEE ICNN; Igel and Huesken (2000).

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> [v.name for v in symupdates.rprop((w ** 2).sum(), [w])]
    ['w.rprop.prev', 'w.rprop.step_size', 'w']
    """
    scaling = scale_by_rprop(learning_rate, etaminus, etaplus, min_step, max_step)
    return chain(*ascent(maximize), scaling, scale(-1))
