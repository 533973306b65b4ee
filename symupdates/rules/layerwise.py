"""Rules that look at whole tensors: the layer-wise trust ratio of LARS and LAMB
(``scale_by_trust_ratio``), NovoGrad's per-layer second moment and Adafactor's factored one. Their norms and
row or column means are reductions, so these rules are not one elementwise loop per param.
"""

from typing import Any

import numpy as np
import pytensor.tensor as pt

from ..core.builder import Builder
from ..core.hyperparams import NONNEGATIVE, UNIT_INTERVAL, typed
from ..core.transform import (
    Build,
    Hyper,
    Transform,
    chain,
    rule,
    scale,
    scale_by_learning_rate,
    transform,
)
from ..core.updates import Updates
from .adam import scale_by_adam
from .common import ascent, decayed_weights, per_param
from .sgd import trace

__all__ = [
    "scale_by_trust_ratio",
    "lamb",
    "lars",
    "scale_by_novograd",
    "novograd",
    "scale_by_adafactor",
    "adafactor",
]


def _norm(x: Any) -> Any:
    return pt.sqrt(pt.sum(x**2))


@transform(epsilon=NONNEGATIVE)
def scale_by_trust_ratio(trust_coefficient: Hyper = 1.0, epsilon: Hyper = 0.0) -> Build:
    """Layer-wise trust ratio of LARS and LAMB: rescale each step to a fraction of its param's norm.

    ``s' = s * trust_coefficient * ||p|| / (||s|| + epsilon)``, or ``s' = s`` where ``||p||`` or
    ``||s||`` is 0. Norms are Frobenius norms over the whole param.

    Parameters
    ----------
    trust_coefficient : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0

    Returns
    -------
    Transform

    Notes
    -----
    As ``optax.scale_by_trust_ratio``. The norms are reductions, so a rule using this transform is not
    one elementwise loop per parameter.

    References
    ----------
    You, Gitman and Ginsburg (2017), Large batch training of convolutional networks, arXiv:1708.03888.

    Examples
    --------
    >>> import symupdates as su
    >>> su.scale_by_trust_ratio(0.001)
    scale_by_trust_ratio(trust_coefficient=0.001, epsilon=0.0)
    """

    def build(steps: list[Any], builder: Builder) -> list[Any]:
        hyper = builder.resolve(trust_coefficient), builder.resolve(epsilon)

        def step(i: int, s: Any, dt: str) -> Any:
            coefficient, eps = (typed(x, dt) for x in hyper)
            p_norm, s_norm = _norm(builder.params[i]), _norm(s)
            zero = typed(0, dt)
            ratio = coefficient * p_norm / (s_norm + eps)
            return s * pt.switch(pt.eq(p_norm, zero) | pt.eq(s_norm, zero), typed(1, dt), ratio)

        return per_param(steps, builder, step)

    return build


@rule(
    weight_decay=NONNEGATIVE,
    learning_rate=NONNEGATIVE,
    beta1=UNIT_INTERVAL,
    beta2=UNIT_INTERVAL,
    epsilon=NONNEGATIVE,
)
def lamb(
    loss_or_grads: Any = None,
    params: Any = None,
    learning_rate: Hyper = 1e-3,
    beta1: Hyper = 0.9,
    beta2: Hyper = 0.999,
    epsilon: Hyper = 1e-6,
    weight_decay: Hyper = 0.0,
) -> Updates | Transform:
    """LAMB: Adam steps plus decoupled weight decay, rescaled per layer by a trust ratio.

    ``u = m_hat / (sqrt(v_hat) + epsilon) + weight_decay * p``;
    ``p' = p - learning_rate * ||p|| / ||u|| * u`` (ratio 1 where a norm is 0).

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
        A scalar loss, or one gradient expression per param.
    params : list of SharedVariable, optional
        The parameters to update. Omit both this and ``loss_or_grads`` to get the rule as a ``Transform``
        taking ``(loss_or_grads, params)``.
    learning_rate : float or symbolic scalar
    beta1, beta2 : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
        1e-6, the paper's and optax's.
    weight_decay : float or symbolic scalar

    Returns
    -------
    Updates or Transform
        Key order ``m1, v1, p1, ..., adam.t``.

    Notes
    -----
    ``optax.lamb``: ``chain(scale_by_adam(epsilon_placement="outside"), add_decayed_weights(wd),
    scale_by_trust_ratio(), scale_by_learning_rate(lr))`` (tests/integration/test_parity.py). The trust ratio
    needs two norms per param, so the update is not a single elementwise loop.

    References
    ----------
    You et al. (2020), Large batch optimization for deep learning: Training BERT in 76 minutes, ICLR,
    arXiv:1904.00962.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> [v.name for v in symupdates.lamb((w ** 2).sum(), [w])]
    ['w.adam.m', 'w.adam.v', 'w', 'adam.t']
    """
    scaling = scale_by_adam(beta1, beta2, epsilon, epsilon_placement="outside")
    trust = scale_by_trust_ratio()
    return chain(scaling, *decayed_weights(weight_decay), trust, scale_by_learning_rate(learning_rate))


@rule(learning_rate=NONNEGATIVE, momentum=UNIT_INTERVAL, weight_decay=NONNEGATIVE, epsilon=NONNEGATIVE)
def lars(
    loss_or_grads: Any = None,
    params: Any = None,
    learning_rate: Hyper = 0.1,
    momentum: Hyper = 0.9,
    weight_decay: Hyper = 0.0,
    trust_coefficient: Hyper = 1e-3,
    epsilon: Hyper = 0.0,
    *,
    nesterov: bool = False,
) -> Updates | Transform:
    """LARS: momentum SGD with a layer-wise trust ratio.

    ``u = g + weight_decay * p``; ``u = u * trust_coefficient * ||p|| / (||u|| + epsilon)`` (unchanged
    where a norm is 0); ``b' = momentum * b + u``; ``p' = p - learning_rate * b'`` (Nesterov:
    ``p - learning_rate * (u + momentum * b')``).

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
        A scalar loss, or one gradient expression per param.
    params : list of SharedVariable, optional
        The parameters to update. Omit both this and ``loss_or_grads`` to get the rule as a ``Transform``
        taking ``(loss_or_grads, params)``.
    learning_rate : float or symbolic scalar
        0.1 (the paper scales it with the batch size; optax has no default).
    momentum : float or symbolic scalar
    weight_decay : float or symbolic scalar
        Coupled: added to the gradient before the trust ratio.
    trust_coefficient : float or symbolic scalar
        ``eta`` of the paper, 1e-3.
    epsilon : float or symbolic scalar, >= 0
    nesterov : bool, keyword-only

    Returns
    -------
    Updates or Transform
        Key order ``b1, p1, ...`` (``"<param>.lars.velocity"``).

    Notes
    -----
    ``optax.lars`` (tests/integration/test_parity.py) applies the momentum after the learning rate; for a
    constant rate that is the same trajectory. It has masks to spare biases from decay and trust ratio; use
    ``add_decayed_weights(mask=...)`` in your own chain for that. Not a single elementwise loop (norms).

    References
    ----------
    You, Gitman and Ginsburg (2017), Large batch training of convolutional networks, arXiv:1708.03888.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> [v.name for v in symupdates.lars((w ** 2).sum(), [w])]
    ['w.lars.velocity', 'w']
    """
    return chain(
        *decayed_weights(weight_decay),
        scale_by_trust_ratio(trust_coefficient, epsilon),
        trace(momentum, nesterov=nesterov, name="lars"),
        scale_by_learning_rate(learning_rate),
    )


@transform(beta2=UNIT_INTERVAL, epsilon=NONNEGATIVE)
def scale_by_novograd(beta2: Hyper = 0.25, epsilon: Hyper = 1e-6, *, name: str = "novograd") -> Build:
    """NovoGrad's normalisation by a per-layer running average of the squared gradient norm.

    ``n' = ||g||^2`` at the first step, then ``n' = beta2 * n + (1 - beta2) * ||g||^2``;
    ``s' = g / (sqrt(n') + epsilon)``. NovoGrad's momentum and weight decay come after it in
    ``novograd``'s chain.

    Parameters
    ----------
    beta2 : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
    name : str
        The tag in state names: the scalar ``"<param>.<name>.nu"`` per param and the counter
        ``"<name>.t"``.

    Returns
    -------
    Transform

    Notes
    -----
    The second-moment part of ``optax.scale_by_novograd``.

    References
    ----------
    Ginsburg et al. (2019), Stochastic gradient methods with layer-wise adaptive moments for training of
    deep networks, arXiv:1905.11286.

    Examples
    --------
    >>> import symupdates as su
    >>> su.scale_by_novograd()
    scale_by_novograd(beta2=0.25, epsilon=1e-06)
    """

    def build(steps: list[Any], builder: Builder) -> list[Any]:
        hyper = builder.resolve(beta2), builder.resolve(epsilon)
        count, _ = builder.counter(name)

        def step(i: int, g: Any, dt: str) -> Any:
            b2, eps = (typed(x, dt) for x in hyper)
            one = typed(1, dt)
            nu = builder.scalar(f"{builder.keys[i]}.{name}.nu", 0.0, dt, owner=i)
            squared_norm = pt.sum(g**2)
            nu_new = pt.switch(pt.eq(count, 0), squared_norm, b2 * nu + (one - b2) * squared_norm)
            builder.set(nu, nu_new)
            return g / (pt.sqrt(nu_new) + eps)

        return per_param(steps, builder, step)

    return build


@rule(
    learning_rate=NONNEGATIVE,
    beta1=UNIT_INTERVAL,
    beta2=UNIT_INTERVAL,
    epsilon=NONNEGATIVE,
    weight_decay=NONNEGATIVE,
)
def novograd(
    loss_or_grads: Any = None,
    params: Any = None,
    learning_rate: Hyper = 1e-3,
    beta1: Hyper = 0.9,
    beta2: Hyper = 0.25,
    epsilon: Hyper = 1e-6,
    weight_decay: Hyper = 0.0,
) -> Updates | Transform:
    """NovoGrad: layer-wise second moments, momentum on normalised gradients.

    ``n' = ||g||^2`` (first step), then ``beta2 * n + (1 - beta2) * ||g||^2``;
    ``m' = beta1 * m + (g / (sqrt(n') + epsilon) + weight_decay * p)``; ``p' = p - learning_rate * m'``.

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
        A scalar loss, or one gradient expression per param.
    params : list of SharedVariable, optional
        The parameters to update. Omit both this and ``loss_or_grads`` to get the rule as a ``Transform``
        taking ``(loss_or_grads, params)``.
    learning_rate : float or symbolic scalar
    beta1 : float or symbolic scalar
        Momentum (0.9).
    beta2 : float or symbolic scalar
        Decay of the layer norm average (0.25, optax's; the paper uses 0.98 in its experiments).
    epsilon : float or symbolic scalar, >= 0
    weight_decay : float or symbolic scalar

    Returns
    -------
    Updates or Transform
        Key order ``nu1, m1, p1, ..., novograd.t``; ``nu`` is a scalar per param, ``m`` is named
        ``"<param>.novograd.velocity"``.

    Notes
    -----
    ``optax.novograd`` (tests/integration/test_parity.py): ``chain(scale_by_novograd(beta2, epsilon),
    add_decayed_weights(wd), trace(beta1), scale_by_learning_rate(lr))``. Per-tensor norms: not a
    single elementwise loop.

    References
    ----------
    Ginsburg et al. (2019), Stochastic gradient methods with layer-wise adaptive moments for training of
    deep networks, arXiv:1905.11286.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> [v.name for v in symupdates.novograd((w ** 2).sum(), [w])]
    ['w.novograd.nu', 'w.novograd.velocity', 'w', 'novograd.t']
    """
    scaling = scale_by_novograd(beta2, epsilon)
    momentum = trace(beta1, name="novograd")
    return chain(scaling, *decayed_weights(weight_decay), momentum, scale_by_learning_rate(learning_rate))


def _rms(x: Any) -> Any:
    return pt.sqrt(pt.mean(x**2))


@transform(learning_rate=NONNEGATIVE, epsilon1=NONNEGATIVE, epsilon2=NONNEGATIVE)
def scale_by_adafactor(
    learning_rate: Hyper = 1e-2,
    decay_rate: Hyper = 0.8,
    clipping_threshold: Hyper = 1.0,
    epsilon1: Hyper | None = None,
    epsilon2: Hyper = 1e-3,
    *,
    name: str = "adafactor",
) -> Build:
    """Adafactor's scaling: factored second moments for matrices, relative steps, update clipping.

    ``t' = t + 1``; ``w = t'^(-decay_rate)``; ``rho = min(learning_rate, 1 / sqrt(t'))``;
    ``alpha = max(epsilon2, RMS(p)) * rho``. For a param with 2 or more dims (factored over its last
    two): ``R' = (1 - w) R + w * mean(g^2, -1)``, ``C' = (1 - w) C + w * mean(g^2, -2)``,
    ``V = R' C' / max(mean(R', -2), epsilon1)``; otherwise ``V' = (1 - w) V + w g^2``.
    ``U = g / sqrt(max(V, epsilon1^2))``; ``s' = alpha * U / max(1, RMS(U) / clipping_threshold)``.

    Parameters
    ----------
    learning_rate : float or symbolic scalar
        The cap on the relative step size ``rho``.
    decay_rate : float or symbolic scalar
        0.8: ``1 - beta2_t = t^-0.8`` (torch's ``beta2_decay=-0.8``).
    clipping_threshold : float or symbolic scalar
        ``d``, the largest RMS of an update (1.0).
    epsilon1 : float, symbolic scalar or None
        Floor of the second-moment estimate; None is the machine epsilon of each param's dtype
        (torch's default).
    epsilon2 : float or symbolic scalar
        Floor of ``RMS(p)`` in the parameter scale (1e-3).
    name : str
        Tag of the state: ``"<param>.<name>.row"`` and ``".col"`` (factored) or ``".v"``, and the counter.

    Returns
    -------
    Transform

    Notes
    -----
    As ``torch.optim.Adafactor`` (no momentum, relative step and parameter scaling always on). The paper
    adds ``epsilon1 = 1e-30`` to ``g^2`` instead of flooring ``V``; optax's ``adafactor`` follows the
    paper and only factors dimensions of size >= 128.

    References
    ----------
    Shazeer and Stern (2018), Adafactor: Adaptive learning rates with sublinear memory cost, ICML,
    arXiv:1804.04235.

    Examples
    --------
    >>> import symupdates as su
    >>> su.scale_by_adafactor()  # doctest: +NORMALIZE_WHITESPACE
    scale_by_adafactor(learning_rate=0.01, decay_rate=0.8, clipping_threshold=1.0, epsilon1=None,
    epsilon2=0.001)
    """

    def build(steps: list[Any], builder: Builder) -> list[Any]:
        rate, decay, threshold, floor1, floor2 = (
            builder.resolve(x) for x in (learning_rate, decay_rate, clipping_threshold, epsilon1, epsilon2)
        )
        _, t = builder.counter(name)

        def step(i: int, g: Any, dt: str) -> Any:
            p, one, tf = builder.params[i], typed(1, dt), pt.cast(t, dt)
            weight, rho = tf ** -typed(decay, dt), pt.minimum(typed(rate, dt), one / pt.sqrt(tf))
            eps1 = typed(np.finfo(dt).eps if floor1 is None else floor1, dt)
            g2 = g**2
            if p.ndim >= 2:
                row = builder.slot(i, name, "row", reduced_axis=-1)
                col = builder.slot(i, name, "col", reduced_axis=-2)
                row_new = (one - weight) * row + weight * pt.mean(g2, axis=-1, keepdims=True)
                col_new = (one - weight) * col + weight * pt.mean(g2, axis=-2, keepdims=True)
                builder.set(row, row_new)
                builder.set(col, col_new)
                v = row_new * col_new / pt.maximum(pt.mean(row_new, axis=-2, keepdims=True), eps1)
            else:
                variance = builder.slot(i, name, "v")
                v = (one - weight) * variance + weight * g2
                builder.set(variance, v)
            u = g / pt.sqrt(pt.maximum(v, eps1 * eps1))
            alpha = pt.maximum(typed(floor2, dt), _rms(p)) * rho
            return alpha * u / pt.maximum(one, _rms(u) / typed(threshold, dt))

        return per_param(steps, builder, step)

    return build


@rule(learning_rate=NONNEGATIVE, epsilon1=NONNEGATIVE, epsilon2=NONNEGATIVE, weight_decay=NONNEGATIVE)
def adafactor(
    loss_or_grads: Any = None,
    params: Any = None,
    learning_rate: Hyper = 1e-2,
    decay_rate: Hyper = 0.8,
    clipping_threshold: Hyper = 1.0,
    epsilon1: Hyper | None = None,
    epsilon2: Hyper = 1e-3,
    weight_decay: Hyper = 0.0,
    *,
    maximize: bool = False,
) -> Updates | Transform:
    """Adafactor: factored second moments (a row and a column statistic per matrix), relative steps.

    ``p' = p - s - learning_rate * weight_decay * p`` with ``s`` of ``scale_by_adafactor``:
    ``alpha = max(epsilon2, RMS(p)) * min(learning_rate, 1 / sqrt(t))``, ``V`` the (factored for
    ndim >= 2) running mean of ``g^2`` with weight ``t^-decay_rate``, ``U = g / sqrt(V)``,
    ``s = alpha * U / max(1, RMS(U) / clipping_threshold)``.

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
        A scalar loss, or one gradient expression per param.
    params : list of SharedVariable, optional
        The parameters to update. Omit both this and ``loss_or_grads`` to get the rule as a ``Transform``
        taking ``(loss_or_grads, params)``.
    learning_rate : float or symbolic scalar
        Cap of the relative step size (torch's ``lr=1e-2``).
    decay_rate : float or symbolic scalar
        0.8 (torch's ``beta2_decay=-0.8``).
    clipping_threshold : float or symbolic scalar
        ``d`` of the paper and torch (1.0).
    epsilon1 : float, symbolic scalar or None
        None: the dtype's machine epsilon (torch's ``eps=(None, 1e-3)``).
    epsilon2 : float or symbolic scalar
    weight_decay : float or symbolic scalar
        Decoupled, ``p -= learning_rate * weight_decay * p`` (torch's convention).
    maximize : bool, keyword-only
        Ascend the objective instead (torch's ``maximize``): the gradients are negated before anything else.

    Returns
    -------
    Updates or Transform
        Key order ``row1, col1, p1, v2, p2, ..., adafactor.t`` (a matrix gets ``row`` and ``col``,
        a vector or scalar ``v``).

    Notes
    -----
    ``torch.optim.Adafactor`` (tests/integration/test_parity.py). The memory saving is the paper's: a ``(n,
    m)`` matrix keeps ``n + m`` statistics. Needs per-tensor reductions (RMS, row and column means).

    References
    ----------
    Shazeer and Stern (2018), Adafactor: Adaptive learning rates with sublinear memory cost, ICML,
    arXiv:1804.04235.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.ones((2, 3)), name="w")
    >>> [v.name for v in symupdates.adafactor((w ** 2).sum(), [w])]
    ['w.adafactor.row', 'w.adafactor.col', 'w', 'adafactor.t']
    """
    scaling = scale_by_adafactor(learning_rate, decay_rate, clipping_threshold, epsilon1, epsilon2)
    # Decoupled and multiplied by the learning rate: torch's ``p -= lr * weight_decay * p``.
    decay = decayed_weights(learning_rate * weight_decay)  # type: ignore[operator]  # not with a Schedule
    return chain(*ascent(maximize), scaling, *decay, scale(-1))
