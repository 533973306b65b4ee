"""Hessian-aware rules: AdaHessian and Sophia-H scale their steps by Hutchinson estimates of the Hessian
diagonal, ``diag(H) ~ z * (H z)`` with Rademacher ``z``, where ``H z`` is an exact symbolic Hessian-vector
product (the gradient of ``sum(g * z)``) taken in the same compiled step.

The random signs are a counter-based hash of ``(seed, draw, param index, element index)`` in int64
arithmetic inside the graph, not a shared NumPy ``Generator``: the only random state is the rule's step
counter, so a checkpoint restores the same future signs, and NUMBA, C and JAX draw the same ones (a
``RandomGeneratorSharedVariable`` would draw different numbers in JAX and needs its own checkpoint format).
"""

import numbers
from typing import Any, cast

import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import disconnected_grad
from pytensor.ifelse import ifelse

from ..core.builder import Builder, as_update
from ..core.hyperparams import NONNEGATIVE, POSITIVE, UNIT_INTERVAL, typed
from ..core.transform import (
    Build,
    Hyper,
    Transform,
    add_decayed_weights,
    chain,
    is_zero,
    rule,
    scale_by_learning_rate,
    transform,
)
from ..core.updates import Updates

__all__ = ["hutchinson_diagonal", "scale_by_adahessian", "adahessian", "scale_by_sophia", "sophia"]

_PRIME = 2**31 - 1  # hash values live in [0, 2^31): products with the 31-bit multipliers fit in int64
_MULTIPLIERS = (48271, 1103515245)


def _mix(h: Any) -> Any:
    """A 31-bit integer hash step: multiplications modulo a prime, each followed by a xor-shift."""
    for multiplier, shift in zip(_MULTIPLIERS, (2**16, 2**13), strict=True):
        h = (h * multiplier) % _PRIME
        h = pt.bitwise_xor(h, h // shift)
    return h


def _rademacher(shape: Any, seed: Any, draw: Any, index: Any) -> Any:
    """An int64 array of ``shape`` of signs +-1, a hash of ``(seed, draw, index, element position)``."""
    h = _mix(pt.constant(np.int64((seed + 0x2545F491) % _PRIME)))
    h = _mix(pt.bitwise_xor(h, pt.cast(draw, "int64") % _PRIME))
    h = _mix(pt.bitwise_xor(h, index))
    h = _mix(_mix(pt.bitwise_xor(h, pt.arange(int(np.prod(shape)), dtype="int64").reshape(shape))))
    return 1 - 2 * (h // 2**30)


def _check_seed(seed: Any) -> None:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= int(seed) < _PRIME:
        raise ValueError(f"seed must be an integer in [0, 2^31 - 1), got {seed!r}")


def hutchinson_diagonal(loss: Any, params: Any, draw: Any, seed: int = 0) -> Any:
    """Hutchinson's estimate of the Hessian diagonal: ``z * (H z)`` for each param, with Rademacher ``z``.

    ``g = grad(loss, params)``; ``H z = grad(sum_i sum(g_i * z_i), params)`` (exact, symbolic: one more
    backward pass through the gradient graph); the estimate is ``z * (H z)``, whose expectation over ``z`` is
    ``diag(H)`` (and which is ``diag(H)`` exactly when ``H`` is diagonal, as ``z^2 = 1``).

    Parameters
    ----------
    loss : scalar TensorVariable
    params : list of SharedVariable
    draw : int or symbolic integer scalar
        Which vectors: the same ``(seed, draw)`` gives the same ``z`` in every backend and process.
    seed : int in [0, 2^31 - 1)

    Returns
    -------
    estimates, vectors : list of TensorVariable
        Per param, ``z * (H z)`` and ``z`` (in the param's dtype).

    Notes
    -----
    ``z`` is a hash of ``(seed, draw, param index, element index)`` in int64 arithmetic (multiplications
    modulo ``2^31 - 1`` and xor-shifts), not a draw from a random generator: it needs no state besides
    ``draw``, which the rules take from their step counter. Its signs are balanced and uncorrelated to the
    precision ``tests/rules/test_curvature.py`` checks, which is all a Hutchinson estimate needs; it is no
    cryptographic or statistical-grade generator. optax draws ``z`` from JAX's generator and the reference
    implementations from torch's, so no rule here reproduces their random numbers.

    References
    ----------
    Hutchinson (1990), A stochastic estimator of the trace of the influence matrix for Laplacian smoothing
    splines, Communications in Statistics - Simulation and Computation 19(2). Bekas, Kokiopoulou and Saad
    (2007), An estimator for the diagonal of a matrix, Applied Numerical Mathematics 57(11).

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates as su
    >>> w = pytensor.shared(np.array([1.0, 2.0, 3.0]), name="w")
    >>> estimates, _ = su.hutchinson_diagonal((w ** 4).sum(), [w], draw=0)   # H = diag(12 w^2)
    >>> pytensor.function([], estimates[0])()
    array([ 12.,  48., 108.])
    """
    _check_seed(seed)
    params = list(params)
    grads = cast(list[Any], pt.grad(loss, params))
    shapes = [p.get_value(borrow=True).shape for p in params]
    vectors = [
        pt.cast(_rademacher(s, seed, draw, i), p.dtype)
        for i, (s, p) in enumerate(zip(shapes, params, strict=True))
    ]
    # z is a constant of the second backward pass; a param the gradient does not depend on has H z = 0.
    inner = sum(pt.sum(g * disconnected_grad(z)) for g, z in zip(grads, vectors, strict=True))
    hvps = cast(list[Any], pt.grad(inner, params, disconnected_inputs="ignore", return_disconnected="zero"))
    return [z * hz for z, hz in zip(vectors, hvps, strict=True)], vectors


def _estimate_every(
    builder: Builder, count: Any, update_interval: Any, seed: Any, fresh: Any, old: Any
) -> Any:
    """``fresh(estimates)`` on steps where ``count % update_interval == 0``, else ``old``: one lazy ``ifelse``
    over all params, so that a lazy linker may skip the Hessian-vector product in between. It evaluates the
    loss (its transform is declared ``needs_loss``)."""
    estimates, _ = hutchinson_diagonal(builder.loss, builder.params, count, seed)
    new = [as_update(var, value) for var, value in zip(old, fresh(estimates), strict=True)]
    refresh = pt.eq(count % update_interval, 0)
    chosen = ifelse(refresh, new, list(old))
    return list(chosen) if isinstance(chosen, list | tuple) else [chosen]


def _check_interval(update_interval: Any) -> None:
    integer = isinstance(update_interval, numbers.Integral) and not isinstance(update_interval, bool)
    if not integer or update_interval < 1:
        raise ValueError(f"update_interval must be an integer >= 1, got {update_interval!r}")


def _spatial_average(estimate: Any) -> Any:
    """AdaHessian's block average of a 4-D (convolution kernel) estimate: the mean of ``|d|`` over the
    kernel's spatial axes 2 and 3, broadcast back; other shapes unchanged."""
    if estimate.ndim != 4:
        return estimate
    return pt.broadcast_to(pt.mean(abs(estimate), axis=(2, 3), keepdims=True), estimate.shape)


ADAHESSIAN_DOMAINS = {"beta1": UNIT_INTERVAL, "beta2": UNIT_INTERVAL, "epsilon": NONNEGATIVE}


@transform(
    beta1=UNIT_INTERVAL, beta2=UNIT_INTERVAL, epsilon=NONNEGATIVE, hessian_power=NONNEGATIVE, needs_loss=True
)
def scale_by_adahessian(
    beta1: Hyper = 0.9,
    beta2: Hyper = 0.999,
    epsilon: Hyper = 1e-4,
    hessian_power: Hyper = 1.0,
    update_interval: int = 1,
    seed: int = 0,
    *,
    name: str = "adahessian",
) -> Build:
    """AdaHessian's scaling: Adam with the squared gradient replaced by a squared Hessian-diagonal estimate.

    With ``t`` the step (1, 2, ...), every ``update_interval`` steps (``t = 1, 1 + k, ...``) a new estimate
    ``D = z * (H z)`` (``hutchinson_diagonal``; for a 4-D param, the mean of ``|D|`` over axes 2 and 3),
    kept in between; ``m' = beta1 * m + (1 - beta1) * g``; ``v' = beta2 * v + (1 - beta2) * D^2``;
    step ``(m' / (1 - beta1^t)) / ((v' / (1 - beta2^t))^(hessian_power / 2) + epsilon)``.

    Parameters
    ----------
    beta1, beta2 : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
    hessian_power : float or symbolic scalar, >= 0
    update_interval : int >= 1
    seed : int in [0, 2^31 - 1)
    name : str
        The tag in state names: per param ``m``, ``v``, ``hessian`` (the last estimate ``D``), and the
        counter ``"<name>.t"``, which also selects the random vectors.

    Returns
    -------
    Transform
        It needs the loss: apply it as ``rule(loss, params)``.

    Examples
    --------
    >>> import symupdates as su
    >>> su.scale_by_adahessian()
    scale_by_adahessian(beta1=0.9, beta2=0.999, epsilon=0.0001, hessian_power=1.0, update_interval=1, seed=0)
    """
    _check_interval(update_interval)
    _check_seed(seed)

    def build(steps: Any, builder: Builder) -> list[Any]:
        hyper = [builder.resolve(x) for x in (beta1, beta2, epsilon, hessian_power)]
        count, t = builder.counter(name)
        params = builder.params
        diagonals = [builder.slot(i, name, "hessian") for i in range(len(params))]
        diagonals_new = _estimate_every(
            builder,
            count,
            update_interval,
            seed,
            lambda es: [_spatial_average(e) for e in es],
            diagonals,
        )
        out = []
        for i, (g, p, d, d_new) in enumerate(zip(steps, params, diagonals, diagonals_new, strict=True)):
            dt = p.dtype
            b1, b2, eps, power = (typed(x, dt) for x in hyper)
            one, tf = typed(1, dt), pt.cast(t, dt)
            m, v = builder.slot(i, name, "m"), builder.slot(i, name, "v")
            m_new = b1 * m + (one - b1) * g
            v_new = b2 * v + (one - b2) * d_new**2
            for var, value in ((d, d_new), (m, m_new), (v, v_new)):
                builder.set(var, value)
            denominator = (v_new / (one - b2**tf)) ** (power / 2) + eps
            out.append(m_new / (one - b1**tf) / denominator)
        return out

    return build


@rule(learning_rate=NONNEGATIVE, weight_decay=NONNEGATIVE, hessian_power=NONNEGATIVE, **ADAHESSIAN_DOMAINS)
def adahessian(
    loss_or_grads: Any = None,
    params: Any = None,
    learning_rate: Hyper = 0.15,
    beta1: Hyper = 0.9,
    beta2: Hyper = 0.999,
    epsilon: Hyper = 1e-4,
    weight_decay: Hyper = 0.0,
    hessian_power: Hyper = 1.0,
    update_interval: int = 1,
    seed: int = 0,
) -> Updates | Transform:
    """AdaHessian (Yao et al. 2021): Adam whose second moment is that of a Hessian-diagonal estimate.

    ``D = z * (H z)`` (Rademacher ``z``, exact Hessian-vector product; for 4-D params averaged over the
    kernel's spatial axes 2 and 3), refreshed every ``update_interval`` steps and kept in between;
    ``m' = beta1 * m + (1 - beta1) * g``; ``v' = beta2 * v + (1 - beta2) * D^2``;
    ``p' = p - learning_rate * ((m' / (1 - beta1^t)) / ((v' / (1 - beta2^t))^(hessian_power / 2) + epsilon)
    + weight_decay * p)``.

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
        A scalar loss, or one gradient expression per param.
    params : list of SharedVariable, optional
        The parameters to update. Omit both this and ``loss_or_grads`` to get the rule as a ``Transform``
        taking ``(loss_or_grads, params)``.
        It must be the loss: the Hessian-vector products differentiate it twice.
    learning_rate : float, symbolic scalar or Schedule
    beta1, beta2 : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
    weight_decay : float or symbolic scalar, >= 0
        Decoupled (AdamW's form), as the authors' implementation.
    hessian_power : float or symbolic scalar, >= 0
        ``k`` of the paper: 1 is a Newton-like step, 0 momentum SGD.
    update_interval : int >= 1
        Steps between two estimates (timm's ``update_each``); the Hessian-vector product is one more
        backward pass, so the estimate costs about one gradient evaluation.
    seed : int in [0, 2^31 - 1)
        Selects the random vectors (see ``hutchinson_diagonal``).

    Returns
    -------
    Updates or Transform
        Per param ``hessian`` (the last estimate), ``m``, ``v``; then the counter ``"adahessian.t"``.

    Raises
    ------
    ValueError
        When applied to gradients instead of a loss, or for a bad ``update_interval`` or ``seed``.

    Notes
    -----
    Defaults of the authors' implementation (github.com/amirgholami/adahessian: lr 0.15, betas (0.9, 0.999),
    eps 1e-4, hessian_power 1) with timm's ``update_each``; one Rademacher vector per estimate (timm's
    ``n_samples=1``). The authors' code averages ``|D|`` over axes 2 and 3 of 4-D params (as here) and takes
    ``|D|`` elsewhere, which the square in ``v`` makes the same. The estimate is chosen with PyTensor's
    ``ifelse``, which a lazy linker may use to skip the Hessian-vector product between refreshes; in our
    timings neither NUMBA nor the C VM did, so count on its cost (about one more backward pass) at every
    step, whatever ``update_interval``.
    The random vectors are a hash, not torch's generator (``hutchinson_diagonal``): the numbers do not
    reproduce torch's, only the algorithm.

    References
    ----------
    Yao, Gholami, Shen, Mustafa, Keutzer and Mahoney (2021), ADAHESSIAN: An adaptive second order optimizer
    for machine learning, AAAI, arXiv:2006.00719.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates as su
    >>> w = pytensor.shared(np.array([1.0, -2.0]), name="w")
    >>> updates = su.adahessian((3 * w ** 2).sum(), [w], learning_rate=0.5)
    >>> [v.name for v in updates]
    ['w.adahessian.hessian', 'w.adahessian.m', 'w.adahessian.v', 'w', 'adahessian.t']
    >>> step = pytensor.function([], [], updates=updates)
    >>> _ = step(); w.get_value().round(4)    # m_hat = g = 6 w, sqrt(v_hat) = |D| = 6: half a Newton step
    array([ 0.5, -1. ])
    """
    decay = [] if is_zero(weight_decay) else [add_decayed_weights(weight_decay)]
    return chain(
        scale_by_adahessian(beta1, beta2, epsilon, hessian_power, update_interval, seed),
        *decay,
        scale_by_learning_rate(learning_rate),
    )


SOPHIA_DOMAINS = {
    "beta1": UNIT_INTERVAL,
    "beta2": UNIT_INTERVAL,
    "epsilon": NONNEGATIVE,
    "gamma": POSITIVE,
    "clip_threshold": POSITIVE,
}


@transform(
    beta1=UNIT_INTERVAL,
    beta2=UNIT_INTERVAL,
    epsilon=NONNEGATIVE,
    gamma=POSITIVE,
    clip_threshold=POSITIVE,
    needs_loss=True,
)
def scale_by_sophia(
    beta1: Hyper = 0.965,
    beta2: Hyper = 0.99,
    epsilon: Hyper = 1e-8,
    gamma: Hyper = 0.01,
    clip_threshold: Hyper = 1.0,
    update_interval: int = 10,
    seed: int = 0,
    *,
    name: str = "sophia",
) -> Build:
    """Sophia-H's scaling: clipped momentum over a running Hessian-diagonal estimate.

    With ``t`` the step (1, 2, ...) and ``h`` the state before this step:
    ``m' = beta1 * m + (1 - beta1) * g``;
    step ``clip((m' / (1 - beta1^t)) / max(gamma * h, epsilon), -clip_threshold, clip_threshold)``;
    then, on steps ``t = 1, 1 + k, 1 + 2k, ...`` (``k = update_interval``),
    ``h' = beta2 * h + (1 - beta2) * z * (H z)`` (``hutchinson_diagonal``), else ``h' = h``.

    Parameters
    ----------
    beta1, beta2 : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
    gamma : float or symbolic scalar, > 0
    clip_threshold : float, symbolic scalar or None
        None: no clipping.
    update_interval : int >= 1
    seed : int in [0, 2^31 - 1)
    name : str
        The tag in state names: per param ``m``, ``h``, and the counter ``"<name>.t"``, which also selects
        the random vectors.

    Returns
    -------
    Transform
        It needs the loss: apply it as ``rule(loss, params)``.

    Examples
    --------
    >>> import symupdates as su
    >>> su.scale_by_sophia()  # doctest: +NORMALIZE_WHITESPACE
    scale_by_sophia(beta1=0.965, beta2=0.99, epsilon=1e-08, gamma=0.01, clip_threshold=1.0,
    update_interval=10, seed=0)
    """
    _check_interval(update_interval)
    _check_seed(seed)

    def build(steps: Any, builder: Builder) -> list[Any]:
        beta1_now, beta2_now, epsilon_now, gamma_now, clip_threshold_now = (
            builder.resolve(x) for x in (beta1, beta2, epsilon, gamma, clip_threshold)
        )
        count, t = builder.counter(name)
        params = builder.params
        hessians = [builder.slot(i, name, "h") for i in range(len(params))]

        def moving_average(estimates: Any) -> Any:
            return [
                typed(beta2_now, h.dtype) * h + (1 - typed(beta2_now, h.dtype)) * e
                for h, e in zip(hessians, estimates, strict=True)
            ]

        hessians_new = _estimate_every(builder, count, update_interval, seed, moving_average, hessians)
        out = []
        for i, (g, p, h, h_new) in enumerate(zip(steps, params, hessians, hessians_new, strict=True)):
            dt = p.dtype
            b1, one = typed(beta1_now, dt), typed(1, dt)
            m = builder.slot(i, name, "m")
            m_new = b1 * m + (one - b1) * g
            builder.set(m, m_new)
            builder.set(h, h_new)
            step = (
                m_new
                / (one - b1 ** pt.cast(t, dt))
                / pt.maximum(typed(gamma_now, dt) * h, typed(epsilon_now, dt))
            )
            if clip_threshold_now is not None:
                step = pt.clip(step, -typed(clip_threshold_now, dt), typed(clip_threshold_now, dt))
            out.append(step)
        return out

    return build


@rule(learning_rate=NONNEGATIVE, weight_decay=NONNEGATIVE, **SOPHIA_DOMAINS)
def sophia(
    loss_or_grads: Any = None,
    params: Any = None,
    learning_rate: Hyper = 1e-3,
    beta1: Hyper = 0.965,
    beta2: Hyper = 0.99,
    epsilon: Hyper = 1e-8,
    weight_decay: Hyper = 1e-4,
    gamma: Hyper = 0.01,
    clip_threshold: Hyper = 1.0,
    update_interval: int = 10,
    seed: int = 0,
) -> Updates | Transform:
    """Sophia-H (Liu et al. 2023): clipped momentum divided by a Hutchinson estimate of the Hessian diagonal.

    ``m' = beta1 * m + (1 - beta1) * g``;
    ``u = clip((m' / (1 - beta1^t)) / max(gamma * h, epsilon), -clip_threshold, clip_threshold)`` with the
    estimate ``h`` from before the step; ``p' = p - learning_rate * (u + weight_decay * p)``; every
    ``update_interval`` steps (the first step included) ``h' = beta2 * h + (1 - beta2) * z * (H z)``
    (Rademacher ``z``, exact Hessian-vector product), else ``h' = h``.

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
        A scalar loss, or one gradient expression per param.
    params : list of SharedVariable, optional
        The parameters to update. Omit both this and ``loss_or_grads`` to get the rule as a ``Transform``
        taking ``(loss_or_grads, params)``.
        It must be the loss: the Hessian-vector products differentiate it twice.
    learning_rate : float, symbolic scalar or Schedule
        optax requires it; 1e-3 here, as the other rules' default.
    beta1, beta2 : float or symbolic scalar
        The effective decay of ``h`` per step is about ``1 - (1 - beta2) / update_interval``.
    epsilon : float or symbolic scalar, >= 0
    weight_decay : float or symbolic scalar, >= 0
        Decoupled, multiplied by the learning rate.
    gamma : float or symbolic scalar, > 0
        Scales the estimate; raise it if most steps are clipped.
    clip_threshold : float, symbolic scalar or None
        Elementwise bound of ``u``; None: no clipping.
    update_interval : int >= 1
        Steps between two estimates.
    seed : int in [0, 2^31 - 1)
        Selects the random vectors (see ``hutchinson_diagonal``).

    Returns
    -------
    Updates or Transform
        Per param ``m``, ``h``; then the counter ``"sophia.t"``.

    Raises
    ------
    ValueError
        When applied to gradients instead of a loss, or for a bad ``update_interval`` or ``seed``.

    Notes
    -----
    ``optax.contrib.sophia``'s defaults and equations (optax 0.2.8; its ``b1``, ``b2``, ``eps`` are
    ``beta1``, ``beta2``, ``epsilon``), including that the first step divides by ``epsilon`` (``h = 0``),
    so its step is ``learning_rate * clip_threshold`` in the gradient's sign (plus the decay). optax's
    ``weight_decay_mask`` is ``masked``/``multi_transform`` here; its win-rate printing is left out. Its
    random vectors come from JAX's generator, ours from a hash (``hutchinson_diagonal``): the numbers
    agree with optax's given the same vectors (to 5e-14 relative over 20 steps:
    ``python scripts/check_sophia_optax.py``), not the same seed. The estimate is chosen with ``ifelse``
    (see ``adahessian`` on its cost).

    References
    ----------
    Liu, Li, Hall, Liang and Ma (2023), Sophia: A scalable stochastic second-order optimizer for language
    model pre-training, ICLR 2024, arXiv:2305.14342.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates as su
    >>> w = pytensor.shared(np.array([1.0, -2.0]), name="w")
    >>> updates = su.sophia((3 * w ** 2).sum(), [w], learning_rate=0.1, weight_decay=0.0)
    >>> [v.name for v in updates]
    ['w.sophia.m', 'w.sophia.h', 'w', 'sophia.t']
    >>> step = pytensor.function([], [], updates=updates)
    >>> _ = step(); w.get_value()      # the first step divides by epsilon: clipped, 0.1 * sign(g)
    array([ 0.9, -1.9])
    """
    decay = [] if is_zero(weight_decay) else [add_decayed_weights(weight_decay)]
    return chain(
        scale_by_sophia(beta1, beta2, epsilon, gamma, clip_threshold, update_interval, seed),
        *decay,
        scale_by_learning_rate(learning_rate),
    )
