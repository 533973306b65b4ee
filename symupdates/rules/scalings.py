"""Scalings: one small transform per published rule, carrying its equations, grouped by family.

Each ``scale_by_*`` (and ``trace``) maps gradients to ascent directions; the public optimizers in
``optimizers`` chain them with ``add_decayed_weights`` and ``scale_by_learning_rate``. The families:
accumulated squared gradients (Adagrad, its window, RMSProp, Adadelta, Adagrad's learning-rate decay),
bias-corrected moment estimates (Adam and its variants: AMSGrad, Adamax, NAdam, RAdam, Yogi, AdaBelief),
momentum and signs (trace, sign, Lion, Rprop), and per-tensor norms (trust ratio, NovoGrad, Adafactor).
Lasagne's rules keep Lasagne's form (epsilon placement, bias-correction form). Rules whose state is per
element compile to one fused loop per parameter; ``scale_by_window_rss``, ``scale_by_trust_ratio``,
``scale_by_novograd`` and ``scale_by_adafactor`` need per-tensor reductions (window sums, norms, row and
column means). Each is declared with ``symupdates.core.transform.transform`` (config, checks and schedules in
one place) and loops over the params the one way, ``per_param``.
"""

import functools

import numpy as np
import pytensor.tensor as pt

from ..core.hyperparams import NONNEGATIVE, UNIT_INTERVAL, Domain, typed
from ..core.transform import is_zero, transform

CLOSED_UNIT_INTERVAL = Domain("in [0, 1]", lambda v: 0 <= v <= 1)

__all__ = [
    "EPSILON_PLACEMENTS",
    "scale_by_rss",
    "scale_by_window_rss",
    "scale_by_rms",
    "scale_by_adadelta",
    "scale_by_inverse_time",
    "scale_by_adam",
    "scale_by_amsgrad",
    "scale_by_adamax",
    "scale_by_nadam",
    "scale_by_radam",
    "scale_by_yogi",
    "scale_by_belief",
    "trace",
    "scale_by_sign",
    "scale_by_lion",
    "scale_by_rprop",
    "scale_by_trust_ratio",
    "scale_by_novograd",
    "scale_by_adafactor",
]


#: Where a rule adds epsilon to the root of its second-moment estimate ``v``. Frameworks disagree, and the
#: choice changes the numbers whenever ``sqrt(v)`` is not much larger than epsilon (early steps, small
#: gradients). One keyword, ``epsilon_placement``, selects the form in every rule that has the choice:
EPSILON_PLACEMENTS = {
    "inside": "sqrt(v + epsilon): Lasagne's adagrad, rmsprop and adadelta; optax's adagrad",
    "outside": "sqrt(v) + epsilon, v bias-corrected if the rule corrects it: torch and optax adam, "
    "torch's adagrad and rmsprop",
    "hat": "sqrt(v) + epsilon with v NOT bias-corrected, the correction applied to the quotient "
    "(Kingma and Ba's 'epsilon hat'): Lasagne's and TF1's adam, torch's radam",
}


def check_placement(value, allowed):
    """Raise a ValueError naming ``epsilon_placement`` unless ``value`` is one of ``allowed``."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"epsilon_placement must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return value


def root(v, epsilon, placement):
    """The denominator ``sqrt(epsilon + v)`` ("inside") or ``epsilon + sqrt(v)`` (otherwise)."""
    return pt.sqrt(epsilon + v) if placement == "inside" else epsilon + pt.sqrt(v)


def per_param(steps, builder, step):
    """``[step(i, g, dtype) for each param i]``: the one loop of every scaling (``g`` is param i's step)."""
    return [step(i, g, p.dtype) for i, (g, p) in enumerate(zip(steps, builder.params))]


def _bias_corrections(count, formula):
    """``correction(dtype)``: ``formula(count as dtype, dtype)``, built once per dtype."""
    cache = {}

    def correction(dtype):
        if dtype not in cache:
            cache[dtype] = formula(pt.cast(count, dtype), dtype)
        return cache[dtype]

    return correction


# -- Accumulated squared gradients: Adagrad, its window, RMSProp, Adadelta --------------------------------


@transform(epsilon=NONNEGATIVE, initial_accumulator_value=NONNEGATIVE.numbers_only())
def scale_by_rss(epsilon=1e-6, *, initial_accumulator_value=0.0, epsilon_placement="inside", name="adagrad"):
    """Adagrad's scaling by the root of the sum of squared gradients.

    ``a' = a + g^2``, ``s' = g / sqrt(a' + epsilon)`` (epsilon inside the square root, as Lasagne), or
    ``s' = g / (sqrt(a') + epsilon)`` with ``epsilon_placement="outside"`` (torch); ``a`` starts at
    ``initial_accumulator_value``.

    Parameters
    ----------
    epsilon : float or symbolic scalar, >= 0
    initial_accumulator_value : float >= 0, keyword-only
        0 as Lasagne and torch; optax uses 0.1.
    epsilon_placement : {"inside", "outside"}, keyword-only
        See ``EPSILON_PLACEMENTS``.
    name : str
        The tag in state names: ``"<param>.<name>.accu"``.

    Returns
    -------
    Transform

    Notes
    -----
    optax's ``scale_by_rss`` starts the accumulator at 0.1 with epsilon 1e-7 inside the root
    (``initial_accumulator_value=0.1, epsilon=1e-7``); torch adds ``eps=1e-10`` outside the root
    (``epsilon=1e-10, epsilon_placement="outside"``).

    References
    ----------
    Duchi, Hazan and Singer (2011), Adaptive subgradient methods for online learning and stochastic
    optimization, JMLR 12.

    Examples
    --------
    >>> import symupdates as su
    >>> su.scale_by_rss()
    scale_by_rss(epsilon=1e-06)
    """
    check_placement(epsilon_placement, ("inside", "outside"))

    def build(steps, builder):
        def step(i, g, dt):
            accu = builder.slot(i, name, "accu", value=initial_accumulator_value)
            accu_new = accu + g**2
            builder.set(accu, accu_new)
            return g / root(accu_new, typed(epsilon, dt), epsilon_placement)

        return per_param(steps, builder, step)

    return build


@transform(epsilon=NONNEGATIVE)
def scale_by_window_rss(n_win=10, epsilon=0.1, *, include_current_gradient=True, name="adagrad_window"):
    """Adagrad over a window: scale by the root of the sum of the last ``n_win`` squared gradients.

    A ring buffer ``w`` of shape ``param.shape + (n_win,)`` and a write index ``i`` per param:
    ``w'[..., i] = g^2``; ``i' = (i + 1) mod n_win``; ``s' = g / sqrt(sum(w', axis=-1) + epsilon)``, or
    ``s' = g / sqrt(sum(w, axis=-1) + epsilon)`` (the previous ``n_win`` squared gradients) with
    ``include_current_gradient=False``.

    Parameters
    ----------
    n_win : int >= 1
        How many of the most recent squared gradients are summed.
    epsilon : float or symbolic scalar, >= 0
    include_current_gradient : bool, keyword-only
        True (PyMC): the step's own squared gradient is in its normaliser, which shrinks large steps more
        than small ones, so the noisy steps of stochastic VI do not average to the gradient's direction
        (pymc#8444). False: the normaliser is the previous ``n_win`` squared gradients only, independent
        of the current one (the first step divides by ``sqrt(epsilon)``).
    name : str
        The tag in state names: ``"<param>.<name>.accu"`` and ``"<param>.<name>.index"``.

    Returns
    -------
    Transform

    Notes
    -----
    As PyMC's ``adagrad_window`` (same key order: buffer, index, param); the index is an int64 here
    rather than a float cast to int32.

    References
    ----------
    PyMC, ``pymc.variational.updates.adagrad_window``.

    Examples
    --------
    >>> import symupdates as su
    >>> su.scale_by_window_rss(n_win=5)
    scale_by_window_rss(n_win=5, epsilon=0.1)
    """
    if isinstance(n_win, bool) or not isinstance(n_win, int) or n_win < 1:
        raise ValueError(f"n_win must be an integer >= 1, got {n_win!r}")
    if not isinstance(include_current_gradient, bool):
        raise ValueError(f"include_current_gradient must be True or False, got {include_current_gradient!r}")

    def build(steps, builder):
        def step(i, g, dt):
            window = builder.slot(i, name, "accu", extra_shape=(n_win,))
            index = builder.scalar(f"{builder.keys[i]}.{name}.index", 0, "int64", owner=i)
            window_new = pt.set_subtensor(window[..., index], g**2)
            builder.set(window, window_new)
            builder.set(index, pt.switch(index + 1 < n_win, index + 1, 0))
            normalised_by = window_new if include_current_gradient else window
            return g / pt.sqrt(normalised_by.sum(axis=-1, acc_dtype=dt) + typed(epsilon, dt))

        return per_param(steps, builder, step)

    return build


@transform(rho=UNIT_INTERVAL, epsilon=NONNEGATIVE)
def scale_by_rms(rho=0.9, epsilon=1e-6, *, centered=False, epsilon_placement="inside", name="rmsprop"):
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

    def build(steps, builder):
        def step(i, g, dt):
            r, one = typed(rho, dt), typed(1, dt)
            accu = builder.slot(i, name, "accu")
            accu_new = r * accu + (one - r) * g**2
            builder.set(accu, accu_new)
            if centered:
                mean = builder.slot(i, name, "grad_avg")
                mean_new = r * mean + (one - r) * g
                builder.set(mean, mean_new)
                accu_new = accu_new - mean_new**2
            return g / root(accu_new, typed(epsilon, dt), epsilon_placement)

        return per_param(steps, builder, step)

    return build


@transform(rho=UNIT_INTERVAL, epsilon=NONNEGATIVE)
def scale_by_adadelta(rho=0.95, epsilon=1e-6, *, name="adadelta"):
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

    def build(steps, builder):
        def step(i, g, dt):
            r, one, eps = typed(rho, dt), typed(1, dt), typed(epsilon, dt)
            accu = builder.slot(i, name, "accu")
            delta_accu = builder.slot(i, name, "delta_accu")
            accu_new = r * accu + (one - r) * g**2
            delta = g * pt.sqrt(delta_accu + eps) / pt.sqrt(accu_new + eps)
            builder.set(accu, accu_new)
            builder.set(delta_accu, r * delta_accu + (one - r) * delta**2, after_param=True)
            return delta

        return per_param(steps, builder, step)

    return build


@transform(decay=NONNEGATIVE)
def scale_by_inverse_time(decay, *, name="lr_decay"):
    """torch's Adagrad ``lr_decay``: ``s' = s / (1 + (t - 1) * decay)`` at step ``t`` (1, 2, ...).

    Parameters
    ----------
    decay : float or symbolic scalar, >= 0
    name : str
        Tag of the int64 step counter ``"<name>.t"``.

    Returns
    -------
    Transform

    Examples
    --------
    >>> import symupdates as su
    >>> su.scale_by_inverse_time(0.01)
    scale_by_inverse_time(decay=0.01)
    """

    def build(steps, builder):
        count, _ = builder.counter(name)
        factor = _bias_corrections(
            count, lambda tf, dt: typed(1, dt) / (typed(1, dt) + tf * typed(decay, dt))
        )
        return per_param(steps, builder, lambda i, s, dt: s * factor(dt))

    return build


# -- Bias-corrected moment estimates: Adam, AMSGrad, Adamax, NAdam, RAdam, Yogi, AdaBelief -------------------


def _adam_moments(builder, name, i, g, b1, b2, one):
    """Adam's first and second moment slots ``m``, ``v`` of param ``i``, updated; returns ``m', v'``."""
    m = builder.slot(i, name, "m")
    v = builder.slot(i, name, "v")
    m_new = b1 * m + (one - b1) * g
    v_new = b2 * v + (one - b2) * g**2
    builder.set(m, m_new)
    builder.set(v, v_new)
    return m_new, v_new


def adam_corrections(count, beta1, beta2, placement):
    """Adam's bias corrections, once per dtype: ``sqrt(1-beta2^t)/(1-beta1^t)`` for the "hat" form,
    else the pair ``(1/(1-beta1^t), 1-beta2^t)``."""

    def formula(tf, dtype):
        one = typed(1, dtype)
        first, second = one - typed(beta1, dtype) ** tf, one - typed(beta2, dtype) ** tf
        return pt.sqrt(second) / first if placement == "hat" else (one / first, second)

    return _bias_corrections(count, formula)


def adam_quotient(m, v, epsilon, correction, placement):
    """The bias-corrected ``m_hat / (sqrt(v_hat) + epsilon)`` with epsilon where ``placement`` says."""
    if placement == "hat":
        return correction * m / (pt.sqrt(v) + epsilon)
    first, second = correction
    return first * m / root(v / second, epsilon, placement)


def _adam_family(name, beta1, beta2, epsilon, epsilon_placement, second_moment):
    """The build of Adam-like rules: Adam's moments, ``second_moment(builder, i, v')`` as the second
    moment used, and Adam's quotient with the bias corrections of ``epsilon_placement``."""
    check_placement(epsilon_placement, tuple(EPSILON_PLACEMENTS))

    def build(steps, builder):
        _, t = builder.counter(name)
        correction = adam_corrections(t, beta1, beta2, epsilon_placement)

        def step(i, g, dt):
            b1, b2, one, eps = typed(beta1, dt), typed(beta2, dt), typed(1, dt), typed(epsilon, dt)
            m_new, v_new = _adam_moments(builder, name, i, g, b1, b2, one)
            v_used = second_moment(builder, i, v_new)
            return adam_quotient(m_new, v_used, eps, correction(dt), epsilon_placement)

        return per_param(steps, builder, step)

    return build


ADAM_DOMAINS = {"beta1": UNIT_INTERVAL, "beta2": UNIT_INTERVAL, "epsilon": NONNEGATIVE}


@transform(**ADAM_DOMAINS)
def scale_by_adam(beta1=0.9, beta2=0.999, epsilon=1e-8, *, epsilon_placement="hat", name="adam"):
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
    return _adam_family(name, beta1, beta2, epsilon, epsilon_placement, lambda b, i, v: v)


@transform(**ADAM_DOMAINS)
def scale_by_amsgrad(beta1=0.9, beta2=0.999, epsilon=1e-8, *, epsilon_placement="hat", name="amsgrad"):
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

    def second_moment(builder, i, v_new):
        vhat = builder.slot(i, name, "vhat")
        vhat_new = pt.maximum(vhat, v_new)
        builder.set(vhat, vhat_new)
        return vhat_new

    return _adam_family(name, beta1, beta2, epsilon, epsilon_placement, second_moment)


@transform(**ADAM_DOMAINS)
def scale_by_adamax(beta1=0.9, beta2=0.999, epsilon=1e-8, *, epsilon_placement="outside", name="adamax"):
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

    def build(steps, builder):
        _, t = builder.counter(name)
        correction = _bias_corrections(
            t, lambda tf, dtype: typed(1, dtype) / (typed(1, dtype) - typed(beta1, dtype) ** tf)
        )

        def step(i, g, dt):
            b1, b2, one = typed(beta1, dt), typed(beta2, dt), typed(1, dt)
            m = builder.slot(i, name, "m")
            u = builder.slot(i, name, "u")
            m_new = b1 * m + (one - b1) * g
            builder.set(m, m_new)
            if epsilon_placement == "inside":
                u_new = pt.maximum(b2 * u, pt.abs(g) + typed(epsilon, dt))
                builder.set(u, u_new)
                return correction(dt) * m_new / u_new
            u_new = pt.maximum(b2 * u, pt.abs(g))
            builder.set(u, u_new)
            return correction(dt) * m_new / (u_new + typed(epsilon, dt))

        return per_param(steps, builder, step)

    return build


@transform(momentum_decay=NONNEGATIVE, **ADAM_DOMAINS)
def scale_by_nadam(beta1=0.9, beta2=0.999, epsilon=1e-8, momentum_decay=4e-3, *, name="nadam"):
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

    def build(steps, builder):
        _, t = builder.counter(name)
        # The product of all mu_k cannot be written in closed form: it is state, kept in float64.
        product = builder.scalar(f"{name}.mu_product", 1.0, "float64")

        def mu(k):
            f64 = functools.partial(typed, dtype="float64")
            psi = f64(momentum_decay)
            return f64(beta1) * (f64(1) - f64(0.5) * f64(0.96) ** (pt.cast(k, "float64") * psi))

        mu_t, mu_next = mu(t), mu(t + 1)
        product_new = product * mu_t
        builder.set(product, product_new)

        def formula(tf, dtype):
            one = typed(1, dtype)
            mu_now, mu_after, prod = (pt.cast(x, dtype) for x in (mu_t, mu_next, product_new))
            return (
                (one - mu_now) / (one - prod),
                mu_after / (one - prod * mu_after),
                one - typed(beta2, dtype) ** tf,
            )

        coefficients = _bias_corrections(t, formula)

        def step(i, g, dt):
            b1, b2, one = typed(beta1, dt), typed(beta2, dt), typed(1, dt)
            m_new, v_new = _adam_moments(builder, name, i, g, b1, b2, one)
            on_gradient, on_momentum, second = coefficients(dt)
            denominator = pt.sqrt(v_new / second) + typed(epsilon, dt)
            return (on_gradient * g + on_momentum * m_new) / denominator

        return per_param(steps, builder, step)

    return build


@transform(**ADAM_DOMAINS)
def scale_by_radam(
    beta1=0.9, beta2=0.999, epsilon=1e-8, threshold=5.0, *, epsilon_placement="hat", name="radam"
):
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

    def build(steps, builder):
        _, t = builder.counter(name)
        correction = adam_corrections(t, beta1, beta2, "outside")

        def formula(tf, dtype):
            one, two, four = typed(1, dtype), typed(2, dtype), typed(4, dtype)
            b2 = typed(beta2, dtype)
            rho_inf = two / (one - b2) - one
            rho_t = rho_inf - two * tf * b2**tf / (one - b2**tf)
            # Only used where rho_t > threshold >= 4; the clip keeps the unused branch finite.
            rho_safe = pt.maximum(rho_t, typed(4.5, dtype))
            rect = pt.sqrt(
                (rho_safe - four)
                * (rho_safe - two)
                * rho_inf
                / ((rho_inf - four) * (rho_inf - two) * rho_safe)
            )
            return rho_t > typed(threshold, dtype), rect

        rectification = _bias_corrections(t, formula)

        def step(i, g, dt):
            b1, b2, one, eps = typed(beta1, dt), typed(beta2, dt), typed(1, dt), typed(epsilon, dt)
            m_new, v_new = _adam_moments(builder, name, i, g, b1, b2, one)
            first, second = correction(dt)
            adaptive_on, rect = rectification(dt)
            if epsilon_placement == "hat":
                adaptive = pt.sqrt(second) / (pt.sqrt(v_new) + eps)
            else:
                adaptive = one / root(v_new / second, eps, epsilon_placement)
            m_hat = first * m_new
            return pt.switch(adaptive_on, rect * m_hat * adaptive, m_hat)

        return per_param(steps, builder, step)

    return build


@transform(initial_accumulator_value=NONNEGATIVE.numbers_only(), **ADAM_DOMAINS)
def scale_by_yogi(beta1=0.9, beta2=0.999, epsilon=1e-3, initial_accumulator_value=1e-6, *, name="yogi"):
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

    def build(steps, builder):
        _, t = builder.counter(name)
        correction = adam_corrections(t, beta1, beta2, "outside")

        def step(i, g, dt):
            b1, b2, one = typed(beta1, dt), typed(beta2, dt), typed(1, dt)
            m = builder.slot(i, name, "m", value=initial_accumulator_value)
            v = builder.slot(i, name, "v", value=initial_accumulator_value)
            m_new = b1 * m + (one - b1) * g
            v_new = v - (one - b2) * pt.sign(v - g**2) * g**2
            builder.set(m, m_new)
            builder.set(v, v_new)
            return adam_quotient(m_new, v_new, typed(epsilon, dt), correction(dt), "outside")

        return per_param(steps, builder, step)

    return build


@transform(**ADAM_DOMAINS)
def scale_by_belief(beta1=0.9, beta2=0.999, epsilon=1e-16, *, name="adabelief"):
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

    def build(steps, builder):
        _, t = builder.counter(name)
        correction = adam_corrections(t, beta1, beta2, "outside")

        def step(i, g, dt):
            b1, b2, one, eps = typed(beta1, dt), typed(beta2, dt), typed(1, dt), typed(epsilon, dt)
            m = builder.slot(i, name, "m")
            s = builder.slot(i, name, "s")
            m_new = b1 * m + (one - b1) * g
            s_new = b2 * s + (one - b2) * (g - m_new) ** 2 + eps
            builder.set(m, m_new)
            builder.set(s, s_new)
            return adam_quotient(m_new, s_new, eps, correction(dt), "outside")

        return per_param(steps, builder, step)

    return build


# -- Momentum and signs: trace, sign, Lion, Rprop ------------------------------------------------------


@transform(decay=UNIT_INTERVAL, dampening=CLOSED_UNIT_INTERVAL)
def trace(decay, *, nesterov=False, dampening=0.0, name="trace"):
    """Heavy-ball momentum on the incoming steps, torch's form.

    ``v' = decay * v + s``; ``s' = v'``, or ``s' = s + decay * v'`` with ``nesterov=True``. With a
    ``dampening``, torch's ``v' = decay * v + (1 - dampening) * s`` from the second step on (the first
    step sets ``v' = s``).

    Parameters
    ----------
    decay : float or symbolic scalar
        The momentum coefficient.
    nesterov : bool, keyword-only
    dampening : float or symbolic scalar, keyword-only
        torch's SGD ``dampening`` (not with ``nesterov``); other than 0 it adds the counter
        ``"<name>.t"``.
    name : str
        The tag in state names: ``"<param>.<name>.velocity"``.

    Returns
    -------
    Transform

    Notes
    -----
    As ``optax.trace`` and torch's SGD momentum buffer with ``dampening=0`` (torch sets the buffer to
    the first gradient, which is the same as starting from zero). Unlike Lasagne's ``apply_momentum``,
    the velocity holds gradients, not parameter steps, so it is independent of the learning rate.

    References
    ----------
    Polyak (1964); Sutskever, Martens, Dahl and Hinton (2013), ICML.

    Examples
    --------
    >>> import symupdates as su
    >>> su.trace(0.9, nesterov=True)
    trace(decay=0.9, nesterov=True)
    """
    if not isinstance(nesterov, bool):
        raise TypeError(f"nesterov must be a bool, got {nesterov!r}")
    if nesterov and not is_zero(dampening):
        raise ValueError("nesterov=True needs a dampening of 0 (as torch)")
    dampened = not is_zero(dampening)

    def build(steps, builder):
        first = pt.eq(builder.counter(name)[1], 1) if dampened else None

        def step(i, g, dt):
            mu = typed(decay, dt)
            velocity = builder.slot(i, name, "velocity")
            velocity_new = mu * velocity + g
            if dampened:
                velocity_new = pt.switch(first, g, mu * velocity + (typed(1, dt) - typed(dampening, dt)) * g)
            builder.set(velocity, velocity_new)
            return g + mu * velocity_new if nesterov else velocity_new

        return per_param(steps, builder, step)

    return build


@transform
def scale_by_sign():
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

    def build(steps, builder):
        return per_param(steps, builder, lambda i, s, dt: pt.sign(s))

    return build


@transform(beta1=UNIT_INTERVAL, beta2=UNIT_INTERVAL)
def scale_by_lion(beta1=0.9, beta2=0.99, *, name="lion"):
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

    def build(steps, builder):
        def step(i, g, dt):
            b1, b2, one = typed(beta1, dt), typed(beta2, dt), typed(1, dt)
            m = builder.slot(i, name, "m")
            builder.set(m, b2 * m + (one - b2) * g)
            return pt.sign(b1 * m + (one - b1) * g)

        return per_param(steps, builder, step)

    return build


@transform(
    initial_step=NONNEGATIVE.numbers_only(),
    etaminus=NONNEGATIVE,
    etaplus=NONNEGATIVE,
    min_step=NONNEGATIVE,
    max_step=NONNEGATIVE,
)
def scale_by_rprop(
    initial_step=1e-2, etaminus=0.5, etaplus=1.2, min_step=1e-6, max_step=50.0, *, name="rprop"
):
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

    def build(steps, builder):
        def step(i, g, dt):
            prev = builder.slot(i, name, "prev")
            size = builder.slot(i, name, "step_size", value=initial_step)
            q = g * prev
            zero, one = typed(0, dt), typed(1, dt)
            eta = pt.switch(q > zero, typed(etaplus, dt), pt.switch(q < zero, typed(etaminus, dt), one))
            size_new = pt.clip(size * eta, typed(min_step, dt), typed(max_step, dt))
            g_used = pt.switch(q < zero, zero, g)
            builder.set(prev, g_used)
            builder.set(size, size_new)
            return pt.sign(g_used) * size_new

        return per_param(steps, builder, step)

    return build


# -- Per-tensor norms: trust ratio (LARS, LAMB), NovoGrad, Adafactor ------------------------------------


def _norm(x):
    return pt.sqrt(pt.sum(x**2))


@transform(epsilon=NONNEGATIVE)
def scale_by_trust_ratio(trust_coefficient=1.0, epsilon=0.0):
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

    def build(steps, builder):
        def step(i, s, dt):
            p_norm, s_norm = _norm(builder.params[i]), _norm(s)
            zero = typed(0, dt)
            ratio = typed(trust_coefficient, dt) * p_norm / (s_norm + typed(epsilon, dt))
            return s * pt.switch(pt.eq(p_norm, zero) | pt.eq(s_norm, zero), typed(1, dt), ratio)

        return per_param(steps, builder, step)

    return build


@transform(beta2=UNIT_INTERVAL, epsilon=NONNEGATIVE)
def scale_by_novograd(beta2=0.25, epsilon=1e-6, *, name="novograd"):
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

    def build(steps, builder):
        count, _ = builder.counter(name)

        def step(i, g, dt):
            b2, one = typed(beta2, dt), typed(1, dt)
            nu = builder.scalar(f"{builder.keys[i]}.{name}.nu", 0.0, dt, owner=i)
            squared_norm = pt.sum(g**2)
            nu_new = pt.switch(pt.eq(count, 0), squared_norm, b2 * nu + (one - b2) * squared_norm)
            builder.set(nu, nu_new)
            return g / (pt.sqrt(nu_new) + typed(epsilon, dt))

        return per_param(steps, builder, step)

    return build


def _rms(x):
    return pt.sqrt(pt.mean(x**2))


@transform(learning_rate=NONNEGATIVE, epsilon1=NONNEGATIVE, epsilon2=NONNEGATIVE)
def scale_by_adafactor(
    learning_rate=1e-2,
    decay_rate=0.8,
    clipping_threshold=1.0,
    epsilon1=None,
    epsilon2=1e-3,
    *,
    name="adafactor",
):
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
    >>> su.scale_by_adafactor()
    scale_by_adafactor(learning_rate=0.01, decay_rate=0.8, clipping_threshold=1.0, epsilon1=None, epsilon2=0.001)
    """

    def build(steps, builder):
        _, t = builder.counter(name)

        def formula(tf, dtype):
            one = typed(1, dtype)
            return tf ** -typed(decay_rate, dtype), pt.minimum(typed(learning_rate, dtype), one / pt.sqrt(tf))

        schedule = _bias_corrections(t, formula)

        def step(i, g, dt):
            p = builder.params[i]
            weight, rho = schedule(dt)
            one = typed(1, dt)
            eps1 = typed(np.finfo(dt).eps if epsilon1 is None else epsilon1, dt)
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
            alpha = pt.maximum(typed(epsilon2, dt), _rms(p)) * rho
            return alpha * u / pt.maximum(one, _rms(u) / typed(clipping_threshold, dt))

        return per_param(steps, builder, step)

    return build
