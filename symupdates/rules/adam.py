"""The Adam family: Adam and AdamW, AMSGrad, Adamax, NAdam, RAdam, Yogi, AdaBelief.

Each ``scale_by_*`` keeps running moments of the gradient and divides the first by the root of the second,
with bias corrections; its docstring has the equations and its ``build`` the code that builds them, one
elementwise loop per param. Each public rule is one ``chain`` of its scaling and
``scale_by_learning_rate``. Lasagne's ``adam``, ``adamax`` and ``amsgrad`` keep Lasagne's form ("epsilon
hat", see ``EPSILON_PLACEMENTS``); the others follow torch or optax, named in each docstring.
"""

import functools
from typing import Any

import pytensor.tensor as pt

from ..core.builder import Builder
from ..core.hyperparams import NONNEGATIVE, UNIT_INTERVAL, typed
from ..core.transform import Build, Hyper, Transform, chain, rule, scale_by_learning_rate, transform
from ..core.updates import Updates
from .common import (
    EPSILON_PLACEMENTS,
    ascent,
    check_placement,
    decayed_weights,
    per_param,
    root,
    torch_weight_decay,
)

__all__ = [
    "EPSILON_PLACEMENTS",
    "scale_by_adam",
    "adam",
    "adamw",
    "scale_by_amsgrad",
    "amsgrad",
    "scale_by_adamax",
    "adamax",
    "scale_by_nadam",
    "nadam",
    "scale_by_radam",
    "radam",
    "scale_by_yogi",
    "yogi",
    "scale_by_belief",
    "adabelief",
]


@transform(beta1=UNIT_INTERVAL, beta2=UNIT_INTERVAL, epsilon=NONNEGATIVE, rowwise="lazy")
def scale_by_adam(
    beta1: Hyper = 0.9,
    beta2: Hyper = 0.999,
    epsilon: Hyper = 1e-8,
    *,
    epsilon_placement: str = "hat",
    name: str = "adam",
) -> Build:
    """Adam's scaling, in Lasagne's (and the paper's section 2 "efficient") form.

    ``t' = t + 1``; ``m' = beta1 * m + (1 - beta1) * g``; ``v' = beta2 * v + (1 - beta2) * g^2``;
    ``s' = sqrt(1 - beta2^t') / (1 - beta1^t') * m' / (sqrt(v') + epsilon)``.

    Parameters
    ----------
    beta1, beta2 : float or symbolic scalar
        Decay rates of the first and second moment estimates.
    epsilon : float or symbolic scalar, >= 0
        Added to ``sqrt(v')`` before the bias correction is applied ("epsilon hat").
    epsilon_placement : {"hat", "outside", "inside"}, keyword-only
        "hat" (Lasagne, above); "outside": ``s' = m_hat / (sqrt(v_hat) + epsilon)`` with
        ``m_hat = m' / (1 - beta1^t')``, ``v_hat = v' / (1 - beta2^t')`` (torch, optax, the paper's
        Algorithm 1); "inside": ``s' = m_hat / sqrt(v_hat + epsilon)`` (optax's ``eps_root``).
    name : str
        The tag in state names: ``"<param>.<name>.m"``, ``"<param>.<name>.v"`` and the int64 step
        counter ``"<name>.t"``, which is the dict's last entry.

    Returns
    -------
    Transform

    Notes
    -----
    torch and optax add epsilon to the bias-corrected ``sqrt(v_hat)`` (``epsilon_placement="outside"``),
    which differs from the default while the correction is far from 1.

    References
    ----------
    Kingma and Ba (2015), Adam: A method for stochastic optimization, ICLR, arXiv:1412.6980.

    Examples
    --------
    >>> import symupdates as su
    >>> su.scale_by_adam(beta2=0.99)
    scale_by_adam(beta1=0.9, beta2=0.99, epsilon=1e-08)
    """
    check_placement(epsilon_placement, tuple(EPSILON_PLACEMENTS))

    def build(steps: list[Any], builder: Builder) -> list[Any]:
        hyper = builder.resolve(beta1), builder.resolve(beta2), builder.resolve(epsilon)
        _, t = builder.counter(name)

        def step(i: int, g: Any, dt: str) -> Any:
            b1, b2, eps = (typed(x, dt) for x in hyper)
            one, tf = typed(1, dt), pt.cast(t, dt)
            m, v = builder.slot(i, name, "m"), builder.slot(i, name, "v")
            m_new = b1 * m + (one - b1) * g
            v_new = b2 * v + (one - b2) * g**2
            builder.set(m, m_new)
            builder.set(v, v_new)
            first, second = one - b1**tf, one - b2**tf  # the bias corrections
            if epsilon_placement == "hat":
                return pt.sqrt(second) / first * m_new / (pt.sqrt(v_new) + eps)
            return one / first * m_new / root(v_new / second, eps, epsilon_placement)

        return per_param(steps, builder, step)

    return build


@rule(learning_rate=NONNEGATIVE, beta1=UNIT_INTERVAL, beta2=UNIT_INTERVAL, epsilon=NONNEGATIVE)
def adam(
    loss_or_grads: Any = None,
    params: Any = None,
    learning_rate: Hyper = 0.001,
    beta1: Hyper = 0.9,
    beta2: Hyper = 0.999,
    epsilon: Hyper = 1e-8,
    *,
    epsilon_placement: str = "hat",
    maximize: bool = False,
) -> Updates | Transform:
    r"""Adam.

    .. math::

        t' &= t + 1 \\
        a_t &= \mathrm{learning\_rate} \frac{\sqrt{1 - \beta_2^{t'}}}{1 - \beta_1^{t'}} \\
        m' &= \beta_1 m + (1 - \beta_1) g \\
        v' &= \beta_2 v + (1 - \beta_2) g^2 \\
        p' &= p - a_t \frac{m'}{\sqrt{v'} + \epsilon}

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
    epsilon_placement : {"hat", "outside", "inside"}, keyword-only
        "hat" (default, above), "outside" (``p' = p - lr * m_hat / (sqrt(v_hat) + epsilon)``,
        torch and optax) or "inside" (``sqrt(v_hat + epsilon)``). See ``symupdates.EPSILON_PLACEMENTS``.
    maximize : bool, keyword-only
        Ascend the objective instead (torch's ``maximize``): the gradients are negated before anything else.

    Returns
    -------
    Updates or Transform
        Key order ``m1, v1, p1, m2, v2, p2, ..., t``; ``t`` is one int64 counter per call.

    Notes
    -----
    As Lasagne: epsilon is added before the bias correction ("epsilon hat", section 2 of the paper).
    torch and optax add it after, ``p' = p - lr * m_hat / (sqrt(v_hat) + eps)``.

    References
    ----------
    Kingma and Ba (2015), Adam: A method for stochastic optimization, ICLR, arXiv:1412.6980.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> [v.name for v in symupdates.adam((w ** 2).sum(), [w])]
    ['w.adam.m', 'w.adam.v', 'w', 'adam.t']
    """
    scaling = scale_by_adam(beta1, beta2, epsilon, epsilon_placement=epsilon_placement)
    return chain(*ascent(maximize), scaling, scale_by_learning_rate(learning_rate))


@rule(
    weight_decay=NONNEGATIVE,
    learning_rate=NONNEGATIVE,
    beta1=UNIT_INTERVAL,
    beta2=UNIT_INTERVAL,
    epsilon=NONNEGATIVE,
)
def adamw(
    loss_or_grads: Any = None,
    params: Any = None,
    learning_rate: Hyper = 1e-3,
    beta1: Hyper = 0.9,
    beta2: Hyper = 0.999,
    epsilon: Hyper = 1e-8,
    weight_decay: Hyper = 1e-2,
    *,
    epsilon_placement: str = "outside",
    maximize: bool = False,
) -> Updates | Transform:
    """AdamW: Adam with decoupled weight decay.

    ``m_hat``, ``v_hat`` as in Adam; ``p' = p - learning_rate * (m_hat / (sqrt(v_hat) + epsilon)
    + weight_decay * p)``: the decay is multiplied by the learning rate (torch's convention
    ``p -= lr * wd * p``), not by the adaptive scaling.

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
    weight_decay : float or symbolic scalar
        1e-2 (torch; optax's default is 1e-4).
    epsilon_placement : {"outside", "hat", "inside"}, keyword-only
        "outside" as torch and optax; "hat" is Lasagne's ``adam`` form. See
        ``symupdates.EPSILON_PLACEMENTS``.
    maximize : bool, keyword-only
        Ascend the objective instead (torch's ``maximize``): the gradients are negated before anything else.

    Returns
    -------
    Updates or Transform
        Key order ``m1, v1, p1, ..., adam.t``.

    Notes
    -----
    ``chain(scale_by_adam(...), add_decayed_weights(wd), scale_by_learning_rate(lr))``, exactly
    ``torch.optim.AdamW`` and ``optax.adamw`` (tests/integration/test_parity.py). The paper's schedule
    multiplier ``eta_t`` is the learning rate here.

    References
    ----------
    Loshchilov and Hutter (2019), Decoupled weight decay regularization, ICLR, arXiv:1711.05101.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> [v.name for v in symupdates.adamw((w ** 2).sum(), [w], weight_decay=0.1)]
    ['w.adam.m', 'w.adam.v', 'w', 'adam.t']
    """
    scaling = scale_by_adam(beta1, beta2, epsilon, epsilon_placement=epsilon_placement)
    return chain(
        *ascent(maximize), scaling, *decayed_weights(weight_decay), scale_by_learning_rate(learning_rate)
    )


@transform(beta1=UNIT_INTERVAL, beta2=UNIT_INTERVAL, epsilon=NONNEGATIVE)
def scale_by_amsgrad(
    beta1: Hyper = 0.9,
    beta2: Hyper = 0.999,
    epsilon: Hyper = 1e-8,
    *,
    epsilon_placement: str = "hat",
    name: str = "amsgrad",
) -> Build:
    """AMSGrad's scaling: Adam with the running maximum of the second moment.

    ``m'``, ``v'`` and the bias correction as in ``scale_by_adam``; ``vhat' = max(vhat, v')``;
    ``s' = sqrt(1 - beta2^t') / (1 - beta1^t') * m' / (sqrt(vhat') + epsilon)``.

    Parameters
    ----------
    beta1, beta2 : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
    epsilon_placement : {"hat", "outside", "inside"}, keyword-only
        As in ``scale_by_adam``; ``"outside"`` is torch's ``Adam(amsgrad=True)``.
    name : str
        The tag in state names (``m``, ``v``, ``vhat`` per param and the counter ``"<name>.t"``).

    Returns
    -------
    Transform

    Notes
    -----
    As Lasagne (bias-corrected, epsilon hat form), which differs from the paper's uncorrected algorithm.

    References
    ----------
    Reddi, Kale and Kumar (2018), On the convergence of Adam and beyond, ICLR.

    Examples
    --------
    >>> import symupdates as su
    >>> su.scale_by_amsgrad()
    scale_by_amsgrad(beta1=0.9, beta2=0.999, epsilon=1e-08)
    """

    check_placement(epsilon_placement, tuple(EPSILON_PLACEMENTS))

    def build(steps: list[Any], builder: Builder) -> list[Any]:
        hyper = builder.resolve(beta1), builder.resolve(beta2), builder.resolve(epsilon)
        _, t = builder.counter(name)

        def step(i: int, g: Any, dt: str) -> Any:
            b1, b2, eps = (typed(x, dt) for x in hyper)
            one, tf = typed(1, dt), pt.cast(t, dt)
            m, v = builder.slot(i, name, "m"), builder.slot(i, name, "v")
            m_new = b1 * m + (one - b1) * g
            v_new = b2 * v + (one - b2) * g**2
            builder.set(m, m_new)
            builder.set(v, v_new)
            vhat = builder.slot(i, name, "vhat")
            vhat_new = pt.maximum(vhat, v_new)
            builder.set(vhat, vhat_new)
            first, second = one - b1**tf, one - b2**tf  # the bias corrections
            if epsilon_placement == "hat":
                return pt.sqrt(second) / first * m_new / (pt.sqrt(vhat_new) + eps)
            return one / first * m_new / root(vhat_new / second, eps, epsilon_placement)

        return per_param(steps, builder, step)

    return build


@rule(learning_rate=NONNEGATIVE, beta1=UNIT_INTERVAL, beta2=UNIT_INTERVAL, epsilon=NONNEGATIVE)
def amsgrad(
    loss_or_grads: Any = None,
    params: Any = None,
    learning_rate: Hyper = 0.001,
    beta1: Hyper = 0.9,
    beta2: Hyper = 0.999,
    epsilon: Hyper = 1e-8,
    *,
    epsilon_placement: str = "hat",
    maximize: bool = False,
) -> Updates | Transform:
    """AMSGrad: Adam with a non-decreasing second moment.

    ``a_t``, ``m'``, ``v'`` as in ``adam``; ``vhat' = max(vhat, v')``;
    ``p' = p - a_t * m' / (sqrt(vhat') + epsilon)``

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
    epsilon_placement : {"hat", "outside", "inside"}, keyword-only
        As in ``adam``; ``"outside"`` is torch's ``Adam(amsgrad=True)``.
    maximize : bool, keyword-only
        Ascend the objective instead (torch's ``maximize``): the gradients are negated before anything else.

    Returns
    -------
    Updates or Transform
        Key order ``m1, v1, vhat1, p1, ..., t``.

    Notes
    -----
    As Lasagne (bias-corrected). torch's ``Adam(amsgrad=True)`` takes the max of the raw ``v`` and adds
    epsilon after the correction.

    References
    ----------
    Reddi, Kale and Kumar (2018), On the convergence of Adam and beyond, ICLR.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> [v.name for v in symupdates.amsgrad((w ** 2).sum(), [w])]
    ['w.amsgrad.m', 'w.amsgrad.v', 'w.amsgrad.vhat', 'w', 'amsgrad.t']
    """
    scaling = scale_by_amsgrad(beta1, beta2, epsilon, epsilon_placement=epsilon_placement)
    return chain(*ascent(maximize), scaling, scale_by_learning_rate(learning_rate))


@transform(beta1=UNIT_INTERVAL, beta2=UNIT_INTERVAL, epsilon=NONNEGATIVE)
def scale_by_adamax(
    beta1: Hyper = 0.9,
    beta2: Hyper = 0.999,
    epsilon: Hyper = 1e-8,
    *,
    epsilon_placement: str = "outside",
    name: str = "adamax",
) -> Build:
    """Adamax's scaling by the infinity norm of past gradients.

    ``t' = t + 1``; ``m' = beta1 * m + (1 - beta1) * g``; ``u' = max(beta2 * u, |g|)``;
    ``s' = m' / ((1 - beta1^t') * (u' + epsilon))``.

    Parameters
    ----------
    beta1, beta2 : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
    epsilon_placement : {"outside", "inside"}, keyword-only
        "outside" (Lasagne, optax): as above; "inside" (torch): inside the max,
        ``u' = max(beta2 * u, |g| + epsilon)``, ``s' = m' / ((1 - beta1^t') * u')``.
    name : str
        The tag in state names (``m``, ``u`` per param and the counter ``"<name>.t"``).

    Returns
    -------
    Transform

    References
    ----------
    Kingma and Ba (2015), Adam: A method for stochastic optimization, section 7.1.

    Examples
    --------
    >>> import symupdates as su
    >>> su.scale_by_adamax()
    scale_by_adamax(beta1=0.9, beta2=0.999, epsilon=1e-08)
    """
    check_placement(epsilon_placement, ("outside", "inside"))

    def build(steps: list[Any], builder: Builder) -> list[Any]:
        hyper = builder.resolve(beta1), builder.resolve(beta2), builder.resolve(epsilon)
        _, t = builder.counter(name)

        def step(i: int, g: Any, dt: str) -> Any:
            b1, b2, eps = (typed(x, dt) for x in hyper)
            one = typed(1, dt)
            correction = one / (one - b1 ** pt.cast(t, dt))
            m, u = builder.slot(i, name, "m"), builder.slot(i, name, "u")
            m_new = b1 * m + (one - b1) * g
            builder.set(m, m_new)
            if epsilon_placement == "inside":
                u_new = pt.maximum(b2 * u, pt.abs(g) + eps)
                builder.set(u, u_new)
                return correction * m_new / u_new
            u_new = pt.maximum(b2 * u, pt.abs(g))
            builder.set(u, u_new)
            return correction * m_new / (u_new + eps)

        return per_param(steps, builder, step)

    return build


@rule(learning_rate=NONNEGATIVE, beta1=UNIT_INTERVAL, beta2=UNIT_INTERVAL, epsilon=NONNEGATIVE)
def adamax(
    loss_or_grads: Any = None,
    params: Any = None,
    learning_rate: Hyper = 0.002,
    beta1: Hyper = 0.9,
    beta2: Hyper = 0.999,
    epsilon: Hyper = 1e-8,
    *,
    epsilon_placement: str = "outside",
    maximize: bool = False,
) -> Updates | Transform:
    """Adamax, the infinity-norm variant of Adam.

    ``t' = t + 1``; ``a_t = learning_rate / (1 - beta1^t')``; ``m' = beta1 * m + (1 - beta1) * g``;
    ``u' = max(beta2 * u, |g|)``; ``p' = p - a_t * m' / (u' + epsilon)``

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
    epsilon_placement : {"outside", "inside"}, keyword-only
        "outside" (default, above; optax) or "inside": ``u' = max(beta2 * u, |g| + epsilon)``,
        ``p' = p - a_t * m' / u'`` (torch).
    maximize : bool, keyword-only
        Ascend the objective instead (torch's ``maximize``): the gradients are negated before anything else.

    Returns
    -------
    Updates or Transform
        Key order ``m1, u1, p1, m2, u2, p2, ..., t``.

    Notes
    -----
    As Lasagne. torch's ``Adamax`` adds epsilon inside the max, ``u' = max(beta2 * u, |g| + eps)``.

    References
    ----------
    Kingma and Ba (2015), Adam: A method for stochastic optimization, section 7.1.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> [v.name for v in symupdates.adamax((w ** 2).sum(), [w])]
    ['w.adamax.m', 'w.adamax.u', 'w', 'adamax.t']
    """
    scaling = scale_by_adamax(beta1, beta2, epsilon, epsilon_placement=epsilon_placement)
    return chain(*ascent(maximize), scaling, scale_by_learning_rate(learning_rate))


@transform(momentum_decay=NONNEGATIVE, beta1=UNIT_INTERVAL, beta2=UNIT_INTERVAL, epsilon=NONNEGATIVE)
def scale_by_nadam(
    beta1: Hyper = 0.9,
    beta2: Hyper = 0.999,
    epsilon: Hyper = 1e-8,
    momentum_decay: Hyper = 4e-3,
    *,
    name: str = "nadam",
) -> Build:
    """NAdam's scaling: Adam with Nesterov momentum and Dozat's momentum schedule (torch's form).

    ``mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay))``; ``P_t = mu_1 * ... * mu_t``;
    ``m' = beta1 * m + (1 - beta1) * g``; ``v' = beta2 * v + (1 - beta2) * g^2``;
    ``d = sqrt(v' / (1 - beta2^t)) + epsilon``;
    ``s' = (1 - mu_t) / (1 - P_t) * g / d + mu_{t+1} / (1 - P_t * mu_{t+1}) * m' / d``.

    Parameters
    ----------
    beta1, beta2 : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
    momentum_decay : float or symbolic scalar, >= 0
        ``psi`` of the schedule (torch's default 4e-3).
    name : str
        The tag in state names: ``m``, ``v`` per param, the counter ``"<name>.t"`` and the float64
        product ``"<name>.mu_product"``.

    Returns
    -------
    Transform

    Notes
    -----
    The same numbers as ``torch.optim.NAdam``. optax's ``nadam`` drops the schedule
    (``mu_t = beta1``) and corrects ``m`` with ``1 - beta1^(t+1)``; it is a different rule.

    References
    ----------
    Dozat (2016), Incorporating Nesterov momentum into Adam, ICLR workshop.

    Examples
    --------
    >>> import symupdates as su
    >>> su.scale_by_nadam()
    scale_by_nadam(beta1=0.9, beta2=0.999, epsilon=1e-08, momentum_decay=0.004)
    """

    def build(steps: list[Any], builder: Builder) -> list[Any]:
        hyper = [builder.resolve(x) for x in (beta1, beta2, epsilon, momentum_decay)]
        _, t = builder.counter(name)
        # The product of all mu_k cannot be written in closed form: it is state, kept in float64.
        product = builder.scalar(f"{name}.mu_product", 1.0, "float64")

        def mu(k: Any) -> Any:
            f64 = functools.partial(typed, dtype="float64")
            psi = f64(hyper[3])
            return f64(hyper[0]) * (f64(1) - f64(0.5) * f64(0.96) ** (pt.cast(k, "float64") * psi))

        mu_t, mu_next = mu(t), mu(t + 1)
        product_new = product * mu_t
        builder.set(product, product_new)

        def step(i: int, g: Any, dt: str) -> Any:
            b1, b2, eps = (typed(x, dt) for x in hyper[:3])
            one, tf = typed(1, dt), pt.cast(t, dt)
            m, v = builder.slot(i, name, "m"), builder.slot(i, name, "v")
            m_new = b1 * m + (one - b1) * g
            v_new = b2 * v + (one - b2) * g**2
            builder.set(m, m_new)
            builder.set(v, v_new)
            mu_now, mu_after, prod = (pt.cast(x, dt) for x in (mu_t, mu_next, product_new))
            on_gradient = (one - mu_now) / (one - prod)
            on_momentum = mu_after / (one - prod * mu_after)
            denominator = pt.sqrt(v_new / (one - b2**tf)) + eps
            return (on_gradient * g + on_momentum * m_new) / denominator

        return per_param(steps, builder, step)

    return build


@rule(
    momentum_decay=NONNEGATIVE,
    weight_decay=NONNEGATIVE,
    learning_rate=NONNEGATIVE,
    beta1=UNIT_INTERVAL,
    beta2=UNIT_INTERVAL,
    epsilon=NONNEGATIVE,
)
def nadam(
    loss_or_grads: Any = None,
    params: Any = None,
    learning_rate: Hyper = 2e-3,
    beta1: Hyper = 0.9,
    beta2: Hyper = 0.999,
    epsilon: Hyper = 1e-8,
    momentum_decay: Hyper = 4e-3,
    *,
    weight_decay: Hyper = 0.0,
    decoupled_weight_decay: bool = False,
    maximize: bool = False,
) -> Updates | Transform:
    """NAdam: Adam with Nesterov momentum and Dozat's momentum schedule.

    ``p' = p - learning_rate * s`` with ``s`` of ``scale_by_nadam``:
    ``mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay))``, ``P_t = mu_1 ... mu_t``,
    ``s = ((1 - mu_t) / (1 - P_t) * g + mu_{t+1} / (1 - P_t mu_{t+1}) * m')
    / (sqrt(v' / (1 - beta2^t)) + eps)``.

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
        A scalar loss, or one gradient expression per param.
    params : list of SharedVariable, optional
        The parameters to update. Omit both this and ``loss_or_grads`` to get the rule as a ``Transform``
        taking ``(loss_or_grads, params)``.
    learning_rate : float or symbolic scalar
        2e-3 (torch).
    beta1, beta2 : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
    momentum_decay : float or symbolic scalar, >= 0
    weight_decay : float or symbolic scalar, keyword-only
        torch's ``weight_decay``: ``weight_decay * p`` added to the gradient (0: none).
    decoupled_weight_decay : bool, keyword-only
        torch's ``decoupled_weight_decay``: the decay is applied to the param instead,
        ``p' = p - learning_rate * (s + weight_decay * p)`` (AdamW's form).
    maximize : bool, keyword-only
        Ascend the objective instead (torch's ``maximize``): the gradients are negated before anything else.

    Returns
    -------
    Updates or Transform
        Key order ``m1, v1, p1, ..., nadam.t, nadam.mu_product``.

    Notes
    -----
    Defaults and numbers of ``torch.optim.NAdam`` (tests/integration/test_parity.py). optax's ``nadam`` is a
    different simplification (no schedule).

    References
    ----------
    Dozat (2016), Incorporating Nesterov momentum into Adam, ICLR workshop.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> [v.name for v in symupdates.nadam((w ** 2).sum(), [w])]
    ['w.nadam.m', 'w.nadam.v', 'w', 'nadam.t', 'nadam.mu_product']
    """
    scaling = scale_by_nadam(beta1, beta2, epsilon, momentum_decay)
    return chain(
        *ascent(maximize),
        *torch_weight_decay(scaling, weight_decay, decoupled_weight_decay),
        scale_by_learning_rate(learning_rate),
    )


@transform(beta1=UNIT_INTERVAL, beta2=UNIT_INTERVAL, epsilon=NONNEGATIVE)
def scale_by_radam(
    beta1: Hyper = 0.9,
    beta2: Hyper = 0.999,
    epsilon: Hyper = 1e-8,
    threshold: Hyper = 5.0,
    *,
    epsilon_placement: str = "hat",
    name: str = "radam",
) -> Build:
    """RAdam's scaling: Adam whose adaptive part is switched on, and rectified, once its variance is finite.

    ``rho_inf = 2 / (1 - beta2) - 1``; ``rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)``;
    ``m'``, ``v'`` as in Adam; ``m_hat = m' / (1 - beta1^t)``. If ``rho_t > threshold``:
    ``r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))`` and
    ``s' = r_t * m_hat * sqrt(1 - beta2^t) / (sqrt(v') + epsilon)``; otherwise ``s' = m_hat``.

    Parameters
    ----------
    beta1, beta2 : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
    threshold : float or symbolic scalar
        5 in torch and optax (the paper's 4 makes ``r_t`` start at 0).
    epsilon_placement : {"hat", "outside", "inside"}, keyword-only
        "hat" (above) is ``torch.optim.RAdam``; "outside" (``r_t * m_hat / (sqrt(v_hat) + epsilon)``)
        is ``optax.radam``. See ``EPSILON_PLACEMENTS``.
    name : str
        The tag in state names (``m``, ``v`` per param and the counter ``"<name>.t"``).

    Returns
    -------
    Transform

    References
    ----------
    Liu, Jiang, He, Chen, Liu, Gao and Han (2020), On the variance of the adaptive learning rate and
    beyond, ICLR, arXiv:1908.03265.

    Examples
    --------
    >>> import symupdates as su
    >>> su.scale_by_radam()
    scale_by_radam(beta1=0.9, beta2=0.999, epsilon=1e-08, threshold=5.0)
    """
    check_placement(epsilon_placement, tuple(EPSILON_PLACEMENTS))

    def build(steps: list[Any], builder: Builder) -> list[Any]:
        hyper = [builder.resolve(x) for x in (beta1, beta2, epsilon, threshold)]
        _, t = builder.counter(name)

        scalars: dict[str, tuple[Any, ...]] = {}

        def rectification(dt: str) -> tuple[Any, ...]:
            """The step's scalars in dtype ``dt``, built once per dtype: every param's loop reads the same."""
            if dt not in scalars:
                b1, b2, limit = typed(hyper[0], dt), typed(hyper[1], dt), typed(hyper[3], dt)
                one, two, four, tf = typed(1, dt), typed(2, dt), typed(4, dt), pt.cast(t, dt)
                first, second = one / (one - b1**tf), one - b2**tf
                rho_inf = two / (one - b2) - one
                rho_t = rho_inf - two * tf * b2**tf / (one - b2**tf)
                # Only used where rho_t > threshold >= 4; the clip keeps the unused branch finite.
                rho_safe = pt.maximum(rho_t, typed(4.5, dt))
                rect = pt.sqrt(
                    (rho_safe - four)
                    * (rho_safe - two)
                    * rho_inf
                    / ((rho_inf - four) * (rho_inf - two) * rho_safe)
                )
                scalars[dt] = first, second, rho_t > limit, rect
            return scalars[dt]

        def step(i: int, g: Any, dt: str) -> Any:
            b1, b2, eps = (typed(x, dt) for x in hyper[:3])
            one = typed(1, dt)
            m, v = builder.slot(i, name, "m"), builder.slot(i, name, "v")
            m_new = b1 * m + (one - b1) * g
            v_new = b2 * v + (one - b2) * g**2
            builder.set(m, m_new)
            builder.set(v, v_new)
            first, second, adaptive_on, rect = rectification(dt)
            if epsilon_placement == "hat":
                adaptive = pt.sqrt(second) / (pt.sqrt(v_new) + eps)
            else:
                adaptive = one / root(v_new / second, eps, epsilon_placement)
            m_hat = first * m_new
            return pt.switch(adaptive_on, rect * m_hat * adaptive, m_hat)

        return per_param(steps, builder, step)

    return build


@rule(
    weight_decay=NONNEGATIVE,
    learning_rate=NONNEGATIVE,
    beta1=UNIT_INTERVAL,
    beta2=UNIT_INTERVAL,
    epsilon=NONNEGATIVE,
)
def radam(
    loss_or_grads: Any = None,
    params: Any = None,
    learning_rate: Hyper = 1e-3,
    beta1: Hyper = 0.9,
    beta2: Hyper = 0.999,
    epsilon: Hyper = 1e-8,
    *,
    epsilon_placement: str = "hat",
    weight_decay: Hyper = 0.0,
    decoupled_weight_decay: bool = False,
    maximize: bool = False,
) -> Updates | Transform:
    """RAdam: rectified Adam, plain momentum SGD until the variance of the adaptive rate is tractable.

    ``p' = p - learning_rate * s`` with ``s`` of ``scale_by_radam``: ``m_hat`` while
    ``rho_t <= 5``, then ``r_t * m_hat * sqrt(1 - beta2^t) / (sqrt(v') + epsilon)``.

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
    epsilon_placement : {"hat", "outside", "inside"}, keyword-only
        "hat" is ``torch.optim.RAdam``, "outside" is ``optax.radam``.
    weight_decay : float or symbolic scalar, keyword-only
        torch's ``weight_decay``: ``weight_decay * p`` added to the gradient (0: none).
    decoupled_weight_decay : bool, keyword-only
        torch's ``decoupled_weight_decay``: the decay is applied to the param instead,
        ``p' = p - learning_rate * (s + weight_decay * p)`` (AdamW's form).
    maximize : bool, keyword-only
        Ascend the objective instead (torch's ``maximize``): the gradients are negated before anything else.

    Returns
    -------
    Updates or Transform
        Key order ``m1, v1, p1, ..., radam.t``.

    Notes
    -----
    Defaults of torch (and optax). With beta2 = 0.999 the first 5 steps are un-adapted.

    References
    ----------
    Liu et al. (2020), On the variance of the adaptive learning rate and beyond, ICLR, arXiv:1908.03265.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> [v.name for v in symupdates.radam((w ** 2).sum(), [w])]
    ['w.radam.m', 'w.radam.v', 'w', 'radam.t']
    """
    scaling = scale_by_radam(beta1, beta2, epsilon, epsilon_placement=epsilon_placement)
    return chain(
        *ascent(maximize),
        *torch_weight_decay(scaling, weight_decay, decoupled_weight_decay),
        scale_by_learning_rate(learning_rate),
    )


@transform(
    initial_accumulator_value=NONNEGATIVE.numbers_only(),
    beta1=UNIT_INTERVAL,
    beta2=UNIT_INTERVAL,
    epsilon=NONNEGATIVE,
)
def scale_by_yogi(
    beta1: Hyper = 0.9,
    beta2: Hyper = 0.999,
    epsilon: Hyper = 1e-3,
    initial_accumulator_value: float = 1e-6,
    *,
    name: str = "yogi",
) -> Build:
    """Yogi's scaling: Adam whose second moment moves additively towards ``g^2``.

    ``m' = beta1 * m + (1 - beta1) * g``; ``v' = v - (1 - beta2) * sign(v - g^2) * g^2``;
    ``s' = m_hat / (sqrt(v_hat) + epsilon)`` with ``m_hat = m' / (1 - beta1^t)``,
    ``v_hat = v' / (1 - beta2^t)``; ``m`` and ``v`` start at ``initial_accumulator_value``.

    Parameters
    ----------
    beta1, beta2 : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
        1e-3, the paper's recommendation.
    initial_accumulator_value : float >= 0
        The initial ``v`` (1e-6 as the paper and optax) and, as optax, the initial ``m``.
    name : str
        The tag in state names (``m``, ``v`` per param and the counter ``"<name>.t"``).

    Returns
    -------
    Transform

    Notes
    -----
    As ``optax.scale_by_yogi``, bias corrections included (the paper's Algorithm 2 has none) and ``m``
    starting at ``initial_accumulator_value`` rather than 0.

    References
    ----------
    Zaheer, Reddi, Sachan, Kale and Kumar (2018), Adaptive methods for nonconvex optimization, NeurIPS.

    Examples
    --------
    >>> import symupdates as su
    >>> su.scale_by_yogi()
    scale_by_yogi(beta1=0.9, beta2=0.999, epsilon=0.001, initial_accumulator_value=1e-06)
    """

    def build(steps: list[Any], builder: Builder) -> list[Any]:
        hyper = builder.resolve(beta1), builder.resolve(beta2), builder.resolve(epsilon)
        _, t = builder.counter(name)

        def step(i: int, g: Any, dt: str) -> Any:
            b1, b2, eps = (typed(x, dt) for x in hyper)
            one, tf = typed(1, dt), pt.cast(t, dt)
            m = builder.slot(i, name, "m", value=initial_accumulator_value)
            v = builder.slot(i, name, "v", value=initial_accumulator_value)
            m_new = b1 * m + (one - b1) * g
            v_new = v - (one - b2) * pt.sign(v - g**2) * g**2
            builder.set(m, m_new)
            builder.set(v, v_new)
            return one / (one - b1**tf) * m_new / (eps + pt.sqrt(v_new / (one - b2**tf)))

        return per_param(steps, builder, step)

    return build


@rule(
    initial_accumulator_value=NONNEGATIVE.numbers_only(),
    learning_rate=NONNEGATIVE,
    beta1=UNIT_INTERVAL,
    beta2=UNIT_INTERVAL,
    epsilon=NONNEGATIVE,
)
def yogi(
    loss_or_grads: Any = None,
    params: Any = None,
    learning_rate: Hyper = 1e-2,
    beta1: Hyper = 0.9,
    beta2: Hyper = 0.999,
    epsilon: Hyper = 1e-3,
    initial_accumulator_value: float = 1e-6,
) -> Updates | Transform:
    """Yogi: Adam with an additive, sign-controlled second-moment update.

    ``v' = v - (1 - beta2) * sign(v - g^2) * g^2``; ``p' = p - learning_rate * m_hat / (sqrt(v_hat) +
    epsilon)`` (see ``scale_by_yogi``).

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
        A scalar loss, or one gradient expression per param.
    params : list of SharedVariable, optional
        The parameters to update. Omit both this and ``loss_or_grads`` to get the rule as a ``Transform``
        taking ``(loss_or_grads, params)``.
    learning_rate : float or symbolic scalar
        1e-2, the paper's.
    beta1, beta2 : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
    initial_accumulator_value : float >= 0

    Returns
    -------
    Updates or Transform
        Key order ``m1, v1, p1, ..., yogi.t``.

    Notes
    -----
    ``optax.yogi`` (tests/integration/test_parity.py).

    References
    ----------
    Zaheer, Reddi, Sachan, Kale and Kumar (2018), Adaptive methods for nonconvex optimization, NeurIPS.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> [v.name for v in symupdates.yogi((w ** 2).sum(), [w])]
    ['w.yogi.m', 'w.yogi.v', 'w', 'yogi.t']
    """
    scaling = scale_by_yogi(beta1, beta2, epsilon, initial_accumulator_value)
    return chain(scaling, scale_by_learning_rate(learning_rate))


@transform(beta1=UNIT_INTERVAL, beta2=UNIT_INTERVAL, epsilon=NONNEGATIVE)
def scale_by_belief(
    beta1: Hyper = 0.9, beta2: Hyper = 0.999, epsilon: Hyper = 1e-16, *, name: str = "adabelief"
) -> Build:
    """AdaBelief's scaling: Adam with the variance of the gradient around its running mean.

    ``m' = beta1 * m + (1 - beta1) * g``; ``s_v' = beta2 * s_v + (1 - beta2) * (g - m')^2 + epsilon``;
    ``s' = m_hat / (sqrt(s_hat) + epsilon)`` with the bias corrections of Adam.

    Parameters
    ----------
    beta1, beta2 : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
        Added both to ``s_v`` and to its root, as the paper's Algorithm 2 and optax (1e-16 there).
    name : str
        The tag in state names (``m``, ``s`` per param and the counter ``"<name>.t"``).

    Returns
    -------
    Transform

    Notes
    -----
    As ``optax.scale_by_belief`` with ``eps = eps_root = epsilon``.

    References
    ----------
    Zhuang et al. (2020), AdaBelief optimizer: Adapting stepsizes by the belief in observed gradients,
    NeurIPS, arXiv:2010.07468.

    Examples
    --------
    >>> import symupdates as su
    >>> su.scale_by_belief()
    scale_by_belief(beta1=0.9, beta2=0.999, epsilon=1e-16)
    """

    def build(steps: list[Any], builder: Builder) -> list[Any]:
        hyper = builder.resolve(beta1), builder.resolve(beta2), builder.resolve(epsilon)
        _, t = builder.counter(name)

        def step(i: int, g: Any, dt: str) -> Any:
            b1, b2, eps = (typed(x, dt) for x in hyper)
            one, tf = typed(1, dt), pt.cast(t, dt)
            m, s = builder.slot(i, name, "m"), builder.slot(i, name, "s")
            m_new = b1 * m + (one - b1) * g
            s_new = b2 * s + (one - b2) * (g - m_new) ** 2 + eps
            builder.set(m, m_new)
            builder.set(s, s_new)
            return one / (one - b1**tf) * m_new / (eps + pt.sqrt(s_new / (one - b2**tf)))

        return per_param(steps, builder, step)

    return build


@rule(learning_rate=NONNEGATIVE, beta1=UNIT_INTERVAL, beta2=UNIT_INTERVAL, epsilon=NONNEGATIVE)
def adabelief(
    loss_or_grads: Any = None,
    params: Any = None,
    learning_rate: Hyper = 1e-3,
    beta1: Hyper = 0.9,
    beta2: Hyper = 0.999,
    epsilon: Hyper = 1e-16,
) -> Updates | Transform:
    """AdaBelief: Adam whose second moment is the variance of ``g`` around its running mean.

    ``s_v' = beta2 * s_v + (1 - beta2) * (g - m')^2 + epsilon``;
    ``p' = p - learning_rate * m_hat / (sqrt(s_hat) + epsilon)`` (see ``scale_by_belief``).

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
        1e-16, the authors' and optax's default.

    Returns
    -------
    Updates or Transform
        Key order ``m1, s1, p1, ..., adabelief.t``.

    Notes
    -----
    ``optax.adabelief`` (tests/integration/test_parity.py).

    References
    ----------
    Zhuang et al. (2020), AdaBelief optimizer, NeurIPS, arXiv:2010.07468.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> [v.name for v in symupdates.adabelief((w ** 2).sum(), [w])]
    ['w.adabelief.m', 'w.adabelief.s', 'w', 'adabelief.t']
    """
    return chain(scale_by_belief(beta1, beta2, epsilon), scale_by_learning_rate(learning_rate))
