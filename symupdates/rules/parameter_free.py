"""Learning-rate-free rules: D-Adaptation and Prodigy estimate the distance ``d`` to the solution as they go
and scale Adam's steps by it, so that ``learning_rate`` stays at 1 (or a schedule's shape around 1).

Their estimate ``d`` is one number for all params: inner products and L1 norms are summed over every param,
so each step has a reduction between the moment updates and the param updates.
"""

from typing import Any

import pytensor.tensor as pt

from ..core.builder import Builder
from ..core.hyperparams import NONNEGATIVE, POSITIVE, UNIT_INTERVAL, typed
from ..core.transform import Build, Hyper, Transform, chain, rule, scale, transform
from ..core.updates import Updates

__all__ = ["scale_by_prodigy", "prodigy", "scale_by_dadapt_adamw", "dadapt_adamw"]

F64 = "float64"


def _f64(value: Any) -> Any:
    return typed(value, F64)


def _total(terms: Any) -> Any:
    """The float64 sum of one scalar per param."""
    return sum((pt.cast(t, F64) for t in terms), pt.constant(0.0, dtype=F64))


def _bias_correction(t: Any, beta1: Any, beta2: Any) -> Any:
    tf = pt.cast(t, F64)
    return pt.sqrt(1 - _f64(beta2) ** tf) / (1 - _f64(beta1) ** tf)


# estim_lr0 is the initial value of the state d.
DOMAINS = {
    "learning_rate": NONNEGATIVE,
    "beta1": UNIT_INTERVAL,
    "beta2": UNIT_INTERVAL,
    "epsilon": NONNEGATIVE,
    "estim_lr0": POSITIVE.numbers_only(),
    "weight_decay": NONNEGATIVE,
}


@transform(
    learning_rate=NONNEGATIVE,
    beta1=UNIT_INTERVAL,
    beta2=UNIT_INTERVAL,
    beta3=UNIT_INTERVAL,
    epsilon=NONNEGATIVE,
    estim_lr0=POSITIVE.numbers_only(),
    weight_decay=NONNEGATIVE,
)
def scale_by_prodigy(
    learning_rate: Hyper = 1.0,
    beta1: Hyper = 0.9,
    beta2: Hyper = 0.999,
    beta3: Hyper | None = None,
    epsilon: Hyper = 1e-8,
    estim_lr0: Hyper = 1e-6,
    estim_lr_coef: Hyper = 1.0,
    weight_decay: Hyper = 0.0,
    safeguard_warmup: bool = False,
    *,
    name: str = "prodigy",
) -> Build:
    """Prodigy's scaling (the step before its sign flip, learning rate and distance estimate included).

    With ``d`` the current estimate, ``t`` the step (1, 2, ...), ``x0`` the initial params:
    ``lam = d * learning_rate * sqrt(1 - beta2^t) / (1 - beta1^t)``;
    ``m' = beta1 * m + (1 - beta1) * d * g``; ``v' = beta2 * v + (1 - beta2) * d^2 * g^2``;
    ``s' = beta3 * s + (d if safeguard_warmup else lam) * d * g / estim_lr0``;
    ``r' = beta3 * r + d / estim_lr0 * lam * sum(g * (x0 - p))``;
    ``d' = max(d, estim_lr_coef * r' / sum(|s'|))`` (sums over all params' elements);
    step ``lam * (m' / (sqrt(v') + d' * epsilon) + weight_decay * p)``.

    Parameters
    ----------
    learning_rate : float or symbolic scalar
    beta1, beta2 : float or symbolic scalar
    beta3 : float or symbolic scalar, optional
        ``sqrt(beta2)`` by default.
    epsilon : float or symbolic scalar, >= 0
    estim_lr0 : float > 0
        The initial ``d``.
    estim_lr_coef : float or symbolic scalar
    weight_decay : float or symbolic scalar
    safeguard_warmup : bool
    name : str
        The tag in state names: per param ``m``, ``v``, ``s``, ``x0``; float64 scalars ``"<name>.d"``,
        ``"<name>.numerator"`` and the counter ``"<name>.t"``.

    Returns
    -------
    Transform

    Examples
    --------
    >>> import symupdates as su
    >>> su.scale_by_prodigy()  # doctest: +NORMALIZE_WHITESPACE
    scale_by_prodigy(learning_rate=1.0, beta1=0.9, beta2=0.999, beta3=None, epsilon=1e-08, estim_lr0=1e-06,
    estim_lr_coef=1.0, weight_decay=0.0, safeguard_warmup=False)
    """
    if not isinstance(safeguard_warmup, bool):
        raise TypeError(f"safeguard_warmup must be a bool, got {safeguard_warmup!r}")

    def build(steps: Any, builder: Builder) -> list[Any]:
        (
            learning_rate_now,
            beta1_now,
            beta2_now,
            beta3_now,
            epsilon_now,
            estim_lr_coef_now,
            weight_decay_now,
        ) = (
            builder.resolve(x)
            for x in (learning_rate, beta1, beta2, beta3, epsilon, estim_lr_coef, weight_decay)
        )
        _, t = builder.counter(name)
        d = builder.scalar(f"{name}.d", estim_lr0, F64)
        numerator = builder.scalar(f"{name}.numerator", 0.0, F64)
        b3 = pt.sqrt(_f64(beta2_now)) if beta3_now is None else _f64(beta3_now)
        lam = d * _f64(learning_rate_now) * _bias_correction(t, beta1_now, beta2_now)
        params = builder.params
        x0 = [builder.slot(i, name, "x0", value=p.get_value()) for i, p in enumerate(params)]
        progress = _total(pt.sum(g * (x - p)) for g, x, p in zip(steps, x0, params, strict=True))
        numerator_new = b3 * numerator + d / _f64(estim_lr0) * lam * progress
        sums, moments = [], []
        for i, (g, p) in enumerate(zip(steps, params, strict=True)):
            dt = p.dtype
            b1, b2, one = typed(beta1_now, dt), typed(beta2_now, dt), typed(1, dt)
            d_g = pt.cast(d, dt) * g
            m, v, s = (builder.slot(i, name, k) for k in ("m", "v", "s"))
            m_new = b1 * m + (one - b1) * d_g
            v_new = b2 * v + (one - b2) * d_g**2
            s_new = (
                pt.cast(b3, dt) * s + pt.cast((d if safeguard_warmup else lam) / _f64(estim_lr0), dt) * d_g
            )
            for var, value in ((m, m_new), (v, v_new), (s, s_new)):
                builder.set(var, value)
            sums.append(s_new)
            moments.append((m_new, v_new))
        d_new = pt.maximum(d, _f64(estim_lr_coef_now) * numerator_new / _total(pt.sum(abs(s)) for s in sums))
        builder.set(numerator, numerator_new)
        builder.set(d, d_new)
        out = []
        for (m_new, v_new), p in zip(moments, params, strict=True):
            dt = p.dtype
            step = m_new / (pt.sqrt(v_new) + pt.cast(d_new, dt) * typed(epsilon_now, dt))
            out.append(pt.cast(lam, dt) * (step + typed(weight_decay_now, dt) * p))
        return out

    return build


@rule(beta3=UNIT_INTERVAL, **DOMAINS)
def prodigy(
    loss_or_grads: Any = None,
    params: Any = None,
    learning_rate: Hyper = 1.0,
    beta1: Hyper = 0.9,
    beta2: Hyper = 0.999,
    beta3: Hyper | None = None,
    epsilon: Hyper = 1e-8,
    estim_lr0: Hyper = 1e-6,
    estim_lr_coef: Hyper = 1.0,
    weight_decay: Hyper = 0.0,
    safeguard_warmup: bool = False,
) -> Updates | Transform:
    """Prodigy: Adam whose step size is a running estimate ``d`` of the distance to the solution.

    ``p' = p - lam * (m' / (sqrt(v') + d' * epsilon) + weight_decay * p)`` with the moments of ``d * g``,
    ``lam = d * learning_rate * sqrt(1 - beta2^t) / (1 - beta1^t)`` and ``d`` grown from ``estim_lr0`` by
    ``d' = max(d, r' / sum|s'|)``: see ``scale_by_prodigy`` for every equation.

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
        A scalar loss, or one gradient expression per param.
    params : list of SharedVariable, optional
        The parameters to update. Omit both this and ``loss_or_grads`` to get the rule as a ``Transform``
        taking ``(loss_or_grads, params)``.
    learning_rate : float or symbolic scalar
        A multiplier of the estimated step size (1 is the method's point; a schedule's shape goes here).
    beta1, beta2 : float or symbolic scalar
    beta3 : float or symbolic scalar, optional
        Decay of the distance estimate's sums, ``sqrt(beta2)`` by default.
    epsilon : float or symbolic scalar, >= 0
    estim_lr0 : float > 0
        The initial distance estimate ``d``.
    estim_lr_coef : float or symbolic scalar
        Multiplies each new estimate.
    weight_decay : float or symbolic scalar
        Decoupled, multiplied by ``lam``.
    safeguard_warmup : bool
        Weigh the sum ``s`` by ``d`` rather than ``lam`` (avoids overestimates during a warmup).

    Returns
    -------
    Updates or Transform
        Per param ``m``, ``v``, ``s``; then the float64 scalars ``d``, ``numerator`` and the counter
        ``"prodigy.t"``; ``updates.state`` also holds each param's initial value ``"<param>.prodigy.x0"``
        (constant, so it has no update).

    Notes
    -----
    Defaults and numbers of ``optax.contrib.prodigy`` (optax 0.2.8), with ``betas=(beta1, beta2)`` and
    ``eps=epsilon``; the scalars are float64 whatever the params' dtype (optax: the params' dtype).
    The reductions over all params make it several loops per param, not one.

    References
    ----------
    Mishchenko and Defazio (2024), Prodigy: An expeditiously adaptive parameter-free learner, ICML,
    arXiv:2306.06101.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates as su
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> [v.name for v in su.prodigy((w ** 2).sum(), [w])]
    ['w.prodigy.m', 'w.prodigy.v', 'w.prodigy.s', 'w', 'prodigy.t', 'prodigy.numerator', 'prodigy.d']
    """
    scaling = scale_by_prodigy(
        learning_rate, beta1, beta2, beta3, epsilon, estim_lr0, estim_lr_coef, weight_decay, safeguard_warmup
    )
    return chain(scaling, scale(-1))


@transform(
    learning_rate=NONNEGATIVE,
    beta1=UNIT_INTERVAL,
    beta2=UNIT_INTERVAL,
    epsilon=NONNEGATIVE,
    estim_lr0=POSITIVE.numbers_only(),
    weight_decay=NONNEGATIVE,
)
def scale_by_dadapt_adamw(
    learning_rate: Hyper = 1.0,
    beta1: Hyper = 0.9,
    beta2: Hyper = 0.999,
    epsilon: Hyper = 1e-8,
    estim_lr0: Hyper = 1e-6,
    weight_decay: Hyper = 0.0,
    *,
    name: str = "dadapt_adamw",
) -> Build:
    """D-Adaptation AdamW's scaling (the step before its sign flip, learning rate and estimate included).

    With ``d`` the current estimate and ``t`` the step (1, 2, ...):
    ``lam = d * learning_rate * sqrt(1 - beta2^t) / (1 - beta1^t)``; ``r' = sqrt(beta2) * r + (1 -
    sqrt(beta2)) * lam * sum(g * s / (sqrt(v) + epsilon))`` (with the previous ``s`` and ``v``);
    ``m' = beta1 * m + (1 - beta1) * lam * g``; ``v' = beta2 * v + (1 - beta2) * g^2``;
    ``s' = sqrt(beta2) * s + (1 - sqrt(beta2)) * lam * g``;
    ``d' = max(d, r' / ((1 - sqrt(beta2)) * sum(|s'|)))``;
    step ``m' / (sqrt(v') + epsilon) + weight_decay * lam * p``.

    Parameters
    ----------
    learning_rate : float or symbolic scalar
    beta1, beta2 : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
    estim_lr0 : float > 0
    weight_decay : float or symbolic scalar
    name : str
        The tag in state names: per param ``m``, ``v``, ``s``; float64 scalars ``"<name>.d"``,
        ``"<name>.numerator"`` and the counter ``"<name>.t"``.

    Returns
    -------
    Transform

    Examples
    --------
    >>> import symupdates as su
    >>> su.scale_by_dadapt_adamw()  # doctest: +NORMALIZE_WHITESPACE
    scale_by_dadapt_adamw(learning_rate=1.0, beta1=0.9, beta2=0.999, epsilon=1e-08, estim_lr0=1e-06,
    weight_decay=0.0)
    """

    def build(steps: Any, builder: Builder) -> list[Any]:
        learning_rate_now, beta1_now, beta2_now, epsilon_now, weight_decay_now = (
            builder.resolve(x) for x in (learning_rate, beta1, beta2, epsilon, weight_decay)
        )
        _, t = builder.counter(name)
        d = builder.scalar(f"{name}.d", estim_lr0, F64)
        numerator = builder.scalar(f"{name}.numerator", 0.0, F64)
        sb2 = pt.sqrt(_f64(beta2_now))
        lam = d * _f64(learning_rate_now) * _bias_correction(t, beta1_now, beta2_now)
        params = builder.params
        slots = [[builder.slot(i, name, k) for k in ("m", "v", "s")] for i in range(len(params))]
        progress = _total(
            pt.sum(g * s / (pt.sqrt(v) + typed(epsilon_now, p.dtype)))
            for g, (_, v, s), p in zip(steps, slots, params, strict=True)
        )
        numerator_new = sb2 * numerator + (1 - sb2) * lam * progress
        sums, moments = [], []
        for g, (m, v, s), p in zip(steps, slots, params, strict=True):
            dt = p.dtype
            b1, b2, one, sb2_, lam_ = (
                typed(beta1_now, dt),
                typed(beta2_now, dt),
                typed(1, dt),
                pt.cast(sb2, dt),
                pt.cast(lam, dt),
            )
            m_new = b1 * m + (one - b1) * lam_ * g
            v_new = b2 * v + (one - b2) * g**2
            s_new = sb2_ * s + (one - sb2_) * lam_ * g
            for var, value in ((m, m_new), (v, v_new), (s, s_new)):
                builder.set(var, value)
            sums.append(s_new)
            moments.append((m_new, v_new))
        d_new = pt.maximum(d, numerator_new / ((1 - sb2) * _total(pt.sum(abs(s)) for s in sums)))
        builder.set(numerator, numerator_new)
        builder.set(d, d_new)
        return [
            m_new / (pt.sqrt(v_new) + typed(epsilon_now, p.dtype))
            + pt.cast(lam, p.dtype) * typed(weight_decay_now, p.dtype) * p
            for (m_new, v_new), p in zip(moments, params, strict=True)
        ]

    return build


@rule(**DOMAINS)
def dadapt_adamw(
    loss_or_grads: Any = None,
    params: Any = None,
    learning_rate: Hyper = 1.0,
    beta1: Hyper = 0.9,
    beta2: Hyper = 0.999,
    epsilon: Hyper = 1e-8,
    estim_lr0: Hyper = 1e-6,
    weight_decay: Hyper = 0.0,
) -> Updates | Transform:
    """D-Adaptation AdamW: Adam on ``lam * g`` with ``lam`` set by a running lower bound ``d`` of the
    distance to the solution.

    ``p' = p - m' / (sqrt(v') + epsilon) - weight_decay * lam * p`` with
    ``m' = beta1 * m + (1 - beta1) * lam * g``, ``lam = d * learning_rate * sqrt(1 - beta2^t) / (1 -
    beta1^t)`` and ``d`` grown from ``estim_lr0``: see ``scale_by_dadapt_adamw`` for every equation.

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
        A scalar loss, or one gradient expression per param.
    params : list of SharedVariable, optional
        The parameters to update. Omit both this and ``loss_or_grads`` to get the rule as a ``Transform``
        taking ``(loss_or_grads, params)``.
    learning_rate : float or symbolic scalar
        A multiplier of the estimated step size.
    beta1, beta2 : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
    estim_lr0 : float > 0
        The initial estimate ``d``.
    weight_decay : float or symbolic scalar
        Decoupled, multiplied by ``lam``.

    Returns
    -------
    Updates or Transform
        Per param ``m``, ``v``, ``s``; the float64 scalars ``d``, ``numerator`` and the counter
        ``"dadapt_adamw.t"``.

    Notes
    -----
    Defaults and numbers of ``optax.contrib.dadapt_adamw`` (optax 0.2.8), with ``betas=(beta1, beta2)``
    and ``eps=epsilon``; the scalars are float64 whatever the params' dtype.

    References
    ----------
    Defazio and Mishchenko (2023), Learning-rate-free learning by D-Adaptation, ICML, arXiv:2301.07733.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates as su
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> [v.name for v in su.dadapt_adamw((w ** 2).sum(), [w])]  # doctest: +NORMALIZE_WHITESPACE
    ['w.dadapt_adamw.m', 'w.dadapt_adamw.v', 'w.dadapt_adamw.s', 'w', 'dadapt_adamw.t',
    'dadapt_adamw.numerator', 'dadapt_adamw.d']
    """
    return chain(
        scale_by_dadapt_adamw(learning_rate, beta1, beta2, epsilon, estim_lr0, weight_decay), scale(-1)
    )
