"""The optimizers: first the rules of ``lasagne.updates`` and ``pymc.variational.updates`` (same names,
signatures, defaults, equations and key order), then the rules beyond Lasagne's nine, from torch.optim and
optax (defaults those of the rule's paper or reference implementation, named in each docstring;
docs/optimizers.md lists them with their torch/optax equivalents).

Each rule returns an ``Updates`` dict (an ``OrderedDict``) ``{shared variable: next value}`` for
``pytensor.function(..., updates=...)``. Called with only hyper-parameters (both ``loss_or_grads`` and
``params`` omitted), a rule returns its ``Transform``: a callable taking ``(loss_or_grads, params)`` as in
PyMC, that also goes into ``chain``, ``flatten`` and the wrappers. Every rule is declared with
``symupdates.core.transform.rule``: its signature (with the domain of each hyper-parameter), its docstring with
the equations, and one ``chain(...)``.
"""

from collections.abc import Mapping

import numpy as np

from ..core.builder import UpdateBuilder, as_update
from ..core.gradients import check_params
from ..core.hyperparams import NONNEGATIVE, UNIT_INTERVAL, check_hyper, typed
from .scalings import (
    ADAM_DOMAINS,
    scale_by_adadelta,
    scale_by_adafactor,
    scale_by_adam,
    scale_by_adamax,
    scale_by_amsgrad,
    scale_by_belief,
    scale_by_inverse_time,
    scale_by_lion,
    scale_by_nadam,
    scale_by_novograd,
    scale_by_radam,
    scale_by_rms,
    scale_by_rprop,
    scale_by_rss,
    scale_by_sign,
    scale_by_trust_ratio,
    scale_by_window_rss,
    scale_by_yogi,
    CLOSED_UNIT_INTERVAL,
    trace,
)
from ..core.transform import (
    add_decayed_weights,
    chain,
    is_zero,
    rule,
    scale,
    scale_by_learning_rate,
    transform,
)
from ..core.updates import Updates, describe

__all__ = [
    "sgd",
    "apply_momentum",
    "momentum",
    "apply_nesterov_momentum",
    "nesterov_momentum",
    "adagrad",
    "adagrad_window",
    "rmsprop",
    "adadelta",
    "adam",
    "adamax",
    "amsgrad",
    "nadam",
    "adamw",
    "radam",
    "lion",
    "rprop",
    "sign_sgd",
    "signum",
    "yogi",
    "adabelief",
    "lamb",
    "lars",
    "adafactor",
    "novograd",
]

_ADAM = {"learning_rate": NONNEGATIVE, **ADAM_DOMAINS}


def _ascent(maximize):
    """``[scale(-1)]`` to ascend (torch's ``maximize``), or nothing."""
    if not isinstance(maximize, bool):
        raise TypeError(f"maximize must be a bool, got {maximize!r}")
    return [scale(-1)] if maximize else []


def _decay(weight_decay):
    """``[add_decayed_weights(weight_decay)]``, or nothing for a weight decay of 0."""
    return [] if is_zero(weight_decay) else [add_decayed_weights(weight_decay)]


def _torch_decay(scaling, weight_decay, decoupled):
    """``scaling`` with torch's weight decay: added to the gradient before it, or (``decoupled``) to the
    step after it, i.e. ``p *= 1 - lr * weight_decay`` (torch's ``decoupled_weight_decay``)."""
    if not isinstance(decoupled, bool):
        raise TypeError(f"decoupled_weight_decay must be a bool, got {decoupled!r}")
    return [scaling, *_decay(weight_decay)] if decoupled else [*_decay(weight_decay), scaling]


@rule(
    learning_rate=NONNEGATIVE,
    momentum=UNIT_INTERVAL,
    weight_decay=NONNEGATIVE,
    dampening=CLOSED_UNIT_INTERVAL,
)
def sgd(
    loss_or_grads=None,
    params=None,
    learning_rate=1e-3,
    *,
    momentum=0.0,
    nesterov=False,
    weight_decay=0.0,
    dampening=0.0,
    maximize=False,
):
    """Stochastic gradient descent, optionally with torch's momentum, Nesterov and weight decay.

    ``p' = p - learning_rate * g``. With the keyword-only options, torch's ``SGD``:
    ``d = g + weight_decay * p``; ``b' = momentum * b + (1 - dampening) * d`` (``b' = d`` at the first
    step); ``p' = p - learning_rate * b'``, or ``p' = p - learning_rate * (d + momentum * b')`` with
    ``nesterov=True``.

    Parameters
    ----------
    {rule_parameters}
    learning_rate : float or symbolic scalar
        A shared variable can be changed between calls without recompiling.
    momentum : float or symbolic scalar, keyword-only
        torch's momentum (0: none). The buffer ``"<param>.sgd.velocity"`` holds gradients.
    nesterov : bool, keyword-only
        torch's Nesterov variant; needs a momentum.
    weight_decay : float or symbolic scalar, keyword-only
        Coupled L2 weight decay, added to the gradient (torch's ``weight_decay``).
    dampening : float or symbolic scalar in [0, 1], keyword-only
        torch's dampening of the momentum (not with Nesterov).
    {maximize}

    Returns
    -------
    Updates or Transform
        ``{p1: p1', p2: p2', ...}`` (with momentum ``b1, p1, b2, p2, ...``); with both first arguments
        omitted, a ``Transform`` taking ``(loss_or_grads, params)``.

    Notes
    -----
    As Lasagne and PyMC (Lasagne had no default learning rate; this is PyMC's). Every update has its
    param's dtype whatever the type of ``learning_rate``. An option left at 0 adds nothing to the graph.
    With momentum, this is ``torch.optim.SGD``; Lasagne's ``momentum`` rule keeps a velocity of
    parameter steps instead (the same trajectory for a constant learning rate).

    References
    ----------
    Robbins and Monro (1951), A stochastic approximation method, Ann. Math. Stat. 22(3).

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.array([1.0, -2.0]), name="w")
    >>> step = pytensor.function([], [], updates=symupdates.sgd((w ** 2).sum(), [w], 0.1))
    >>> _ = step(); w.get_value()
    array([ 0.8, -1.6])
    """
    if not isinstance(nesterov, bool):
        raise TypeError(f"nesterov must be a bool, got {nesterov!r}")
    if nesterov and is_zero(momentum):
        raise ValueError("nesterov=True needs a momentum other than 0")
    if not is_zero(dampening) and is_zero(momentum):
        raise ValueError("dampening needs a momentum other than 0")
    velocity = (
        [] if is_zero(momentum) else [trace(momentum, nesterov=nesterov, dampening=dampening, name="sgd")]
    )
    return chain(*_ascent(maximize), *_decay(weight_decay), *velocity, scale_by_learning_rate(learning_rate))


def _classical(mu, v, target, p):
    """Lasagne's momentum: ``x = mu * v + target``; ``v' = x - p``; ``p' = x``."""
    x = mu * v + target
    return x - p, x


def _nesterov(mu, v, target, p):
    """Lasagne's Nesterov momentum: ``x = mu * v + target - p``; ``v' = x``; ``p' = mu * x + target``."""
    x = mu * v + target - p
    return x, mu * x + target


_NEXT_VALUES = {"momentum": _classical, "nesterov_momentum": _nesterov}


def _momentum_params(updates, params):
    if not isinstance(updates, Mapping):
        raise TypeError(f"updates must be a dict of updates, got {type(updates).__name__}")
    if params is None:
        # Only float variables can carry a velocity; an integer step counter among the keys is left alone.
        return [v for v in updates if np.dtype(v.dtype).kind == "f"]
    params = check_params(params)
    for i, p in enumerate(params):
        if p not in updates:
            raise ValueError(f"params[{i}] ({p.name!r}) has no entry in updates")
    return params


def _with_velocity(updates, params, momentum, tag):
    check_hyper(momentum, "momentum", UNIT_INTERVAL)
    next_values = _NEXT_VALUES[tag]
    params = _momentum_params(updates, params)
    inner = getattr(updates, "rule", None)
    rule = {"name": f"apply_{tag}", "config": describe({"momentum": momentum, "updates": inner})}
    result = Updates(
        updates,
        params=getattr(updates, "params", params),
        state=getattr(updates, "state", ()),
        rule=rule,
        monitors=getattr(updates, "monitors", None),
        hyperparams=getattr(updates, "hyperparams", None),
    )
    builder = UpdateBuilder(params, taken_names=[v.name for v in result.state])
    for i, p in enumerate(params):
        velocity = builder.slot(i, tag, "velocity")
        velocity_new, p_new = next_values(typed(momentum, p.dtype), velocity, updates[p], p)
        result[velocity] = as_update(velocity, velocity_new)
        result[p] = as_update(p, p_new)
    result.state.extend(builder.state)
    return result


@transform(momentum=UNIT_INTERVAL)
def _lasagne_velocity(momentum, *, tag):
    """Lasagne's momentum on parameter steps, as a transform (``tag``: "momentum" or "nesterov_momentum").

    It leaves the steps alone and rewrites each param's next value ``target = p + s`` with a velocity
    ``"<param>.<tag>.velocity"`` laid out after all params, exactly as ``apply_momentum`` and
    ``apply_nesterov_momentum`` do to an updates dict (same arithmetic, same key order).
    """
    next_values = _NEXT_VALUES[tag]

    def build(steps, builder):
        def with_velocity(values):
            out = []
            for i, (target, p) in enumerate(zip(values, builder.params)):
                velocity = builder.slot(i, tag, "velocity", at_end=True)
                velocity_new, p_new = next_values(typed(momentum, p.dtype), velocity, target, p)
                builder.set(velocity, velocity_new)
                out.append(p_new)
            return out

        builder.map_params(with_velocity)
        return steps

    return build


def apply_momentum(updates, params=None, momentum=0.9):
    """Add classical momentum to an existing updates dict.

    For each param, with ``v`` a new velocity: ``x = momentum * v + updates[p]``; ``v' = x - p``;
    ``p' = x``.

    Parameters
    ----------
    updates : dict
        ``{param: next value}``, e.g. from ``sgd``. It is not modified.
    params : list of SharedVariable, optional
        The variables to apply momentum to; by default every floating-point key of ``updates``.
    momentum : float or symbolic scalar
        How much of the previous step to keep.

    Returns
    -------
    Updates
        A copy of ``updates`` with the params' entries replaced and the velocities appended
        (key order ``p1, p2, v1, v2``).

    Notes
    -----
    As Lasagne. An integer variable among the keys (a step counter) gets no velocity when ``params`` is
    omitted; Lasagne's float counters would have been given one.

    References
    ----------
    Polyak (1964), Some methods of speeding up the convergence of iteration methods, USSR Comput. Math.
    Math. Phys. 4(5).

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> updates = symupdates.apply_momentum(symupdates.sgd((w ** 2).sum(), [w], 0.1), momentum=0.5)
    >>> [v.name for v in updates]
    ['w', 'w.momentum.velocity']
    """
    return _with_velocity(updates, params, momentum, "momentum")


@rule(learning_rate=NONNEGATIVE, momentum=UNIT_INTERVAL)
def momentum(loss_or_grads=None, params=None, learning_rate=1e-3, momentum=0.9):
    """Stochastic gradient descent with classical momentum.

    ``x = momentum * v - learning_rate * g + p``; ``v' = x - p``; ``p' = x``
    (``apply_momentum(sgd(loss_or_grads, params, learning_rate), params, momentum)``).

    Parameters
    ----------
    {rule_parameters}
    learning_rate : float or symbolic scalar
    momentum : float or symbolic scalar

    Returns
    -------
    Updates or Transform
        Key order ``p1, p2, ..., v1, v2, ...``.

    Notes
    -----
    As Lasagne. torch's ``SGD(momentum=mu)`` keeps ``v' = mu * v + g`` and steps ``-lr * v'``, which is
    the same trajectory for a constant learning rate, with a velocity ``-1/lr`` times this one.

    References
    ----------
    Polyak (1964); Sutskever, Martens, Dahl and Hinton (2013), On the importance of initialization and
    momentum in deep learning, ICML.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> updates = symupdates.momentum((w ** 2).sum(), [w], learning_rate=0.1, momentum=0.5)
    >>> len(updates)
    2
    """
    return chain(scale_by_learning_rate(learning_rate), _lasagne_velocity(momentum, tag="momentum"))


def apply_nesterov_momentum(updates, params=None, momentum=0.9):
    """Add Nesterov momentum to an existing updates dict.

    For each param, with ``v`` a new velocity: ``x = momentum * v + updates[p] - p``; ``v' = x``;
    ``p' = momentum * x + updates[p]``.

    Parameters
    ----------
    updates : dict
        ``{param: next value}``, e.g. from ``sgd``. It is not modified.
    params : list of SharedVariable, optional
        The variables to apply momentum to; by default every floating-point key of ``updates``.
    momentum : float or symbolic scalar

    Returns
    -------
    Updates
        A copy of ``updates`` with the params' entries replaced and the velocities appended.

    Notes
    -----
    As Lasagne: the reformulation of Sutskever et al. that needs no gradient at a look-ahead point.
    torch's ``SGD(nesterov=True)`` gives the same trajectory for a constant learning rate.

    References
    ----------
    Nesterov (1983), A method for unconstrained convex minimization problem with the rate of convergence
    O(1/k^2), Doklady AN SSSR 269; Sutskever et al. (2013).

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> updates = symupdates.apply_nesterov_momentum(symupdates.sgd((w ** 2).sum(), [w], 0.1))
    >>> [v.name for v in updates]
    ['w', 'w.nesterov_momentum.velocity']
    """
    return _with_velocity(updates, params, momentum, "nesterov_momentum")


@rule(learning_rate=NONNEGATIVE, momentum=UNIT_INTERVAL)
def nesterov_momentum(loss_or_grads=None, params=None, learning_rate=1e-3, momentum=0.9):
    """Stochastic gradient descent with Nesterov momentum.

    ``x = momentum * v - learning_rate * g``; ``v' = x``; ``p' = p + momentum * x - learning_rate * g``
    (``apply_nesterov_momentum(sgd(...), params, momentum)``).

    Parameters
    ----------
    {rule_parameters}
    learning_rate : float or symbolic scalar
    momentum : float or symbolic scalar

    Returns
    -------
    Updates or Transform
        Key order ``p1, p2, ..., v1, v2, ...``.

    Notes
    -----
    As Lasagne.

    References
    ----------
    Nesterov (1983); Sutskever et al. (2013).

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> updates = symupdates.nesterov_momentum((w ** 2).sum(), [w], 0.1, 0.5)
    >>> [v.name for v in updates]
    ['w', 'w.nesterov_momentum.velocity']
    """
    return chain(scale_by_learning_rate(learning_rate), _lasagne_velocity(momentum, tag="nesterov_momentum"))


@rule(
    learning_rate=NONNEGATIVE,
    epsilon=NONNEGATIVE,
    lr_decay=NONNEGATIVE,
    initial_accumulator_value=NONNEGATIVE.numbers_only(),
)
def adagrad(
    loss_or_grads=None,
    params=None,
    learning_rate=1.0,
    epsilon=1e-6,
    *,
    lr_decay=0.0,
    initial_accumulator_value=0.0,
    epsilon_placement="inside",
    maximize=False,
):
    """Adagrad.

    ``a' = a + g^2``; ``p' = p - learning_rate * g / sqrt(a' + epsilon)``. With the keyword-only
    options: ``a`` starts at ``initial_accumulator_value``; at step ``t`` (1, 2, ...) the rate is
    ``learning_rate / (1 + (t - 1) * lr_decay)``; ``epsilon_placement="outside"`` uses
    ``g / (sqrt(a') + epsilon)``.

    Parameters
    ----------
    {rule_parameters}
    learning_rate : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
        Added inside the square root.
    lr_decay : float or symbolic scalar, >= 0, keyword-only
        torch's learning-rate decay (0: none; otherwise an int64 counter ``"adagrad.t"`` is added).
    initial_accumulator_value : float >= 0, keyword-only
    epsilon_placement : {"inside", "outside"}, keyword-only
        See ``symupdates.EPSILON_PLACEMENTS``.
    {maximize}

    Returns
    -------
    Updates or Transform
        Key order ``a1, p1, a2, p2, ...``; the accumulators are named ``"<param>.adagrad.accu"``.

    Notes
    -----
    The defaults are Lasagne's. torch's ``Adagrad(lr, lr_decay, eps=1e-10, initial_accumulator_value)``
    is ``adagrad(..., lr, epsilon=1e-10, lr_decay=..., initial_accumulator_value=...,
    epsilon_placement="outside")``; optax's ``adagrad(lr)`` is ``adagrad(..., lr, epsilon=1e-7,
    initial_accumulator_value=0.1)`` (see docs/optimizers.md, checked in tests/test_parity.py).

    References
    ----------
    Duchi, Hazan and Singer (2011), Adaptive subgradient methods for online learning and stochastic
    optimization, JMLR 12.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> [v.name for v in symupdates.adagrad((w ** 2).sum(), [w], learning_rate=0.01)]
    ['w.adagrad.accu', 'w']
    """
    scaling = scale_by_rss(
        epsilon, initial_accumulator_value=initial_accumulator_value, epsilon_placement=epsilon_placement
    )
    decay = [] if is_zero(lr_decay) else [scale_by_inverse_time(lr_decay, name="adagrad")]
    return chain(*_ascent(maximize), scaling, *decay, scale_by_learning_rate(learning_rate))


@rule(learning_rate=NONNEGATIVE, epsilon=NONNEGATIVE)
def adagrad_window(
    loss_or_grads=None,
    params=None,
    learning_rate=0.001,
    epsilon=0.1,
    n_win=10,
    *,
    include_current_gradient=True,
):
    """Adagrad over a window of the last ``n_win`` squared gradients (PyMC).

    ``w'[..., i] = g^2``; ``i' = (i + 1) mod n_win``;
    ``p' = p - learning_rate * g / sqrt(sum(w', axis=-1) + epsilon)``, or with
    ``include_current_gradient=False`` ``p' = p - learning_rate * g / sqrt(sum(w, axis=-1) + epsilon)``

    Parameters
    ----------
    {rule_parameters}
    learning_rate : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
    n_win : int
        Window length.
    include_current_gradient : bool, keyword-only
        True (PyMC's numbers): the current squared gradient is in the window that normalises it. False:
        only the previous ``n_win`` are, so a step's size does not depend on its own gradient's magnitude
        (pymc#8444: with True, ADVI's posterior standard deviations come out too large).

    Returns
    -------
    Updates or Transform
        Key order ``w1, i1, p1, w2, i2, p2, ...``.

    Notes
    -----
    As PyMC by default. The window write and its sum are not elementwise, so unlike the other rules this
    one does not compile to a single fused loop.

    References
    ----------
    PyMC, ``pymc.variational.updates.adagrad_window``.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> [v.name for v in symupdates.adagrad_window((w ** 2).sum(), [w], n_win=3)]
    ['w.adagrad_window.accu', 'w.adagrad_window.index', 'w']
    """
    return chain(
        scale_by_window_rss(n_win, epsilon, include_current_gradient=include_current_gradient),
        scale_by_learning_rate(learning_rate),
    )


@rule(learning_rate=NONNEGATIVE, rho=UNIT_INTERVAL, epsilon=NONNEGATIVE, momentum=UNIT_INTERVAL)
def rmsprop(
    loss_or_grads=None,
    params=None,
    learning_rate=1.0,
    rho=0.9,
    epsilon=1e-6,
    *,
    epsilon_placement="inside",
    centered=False,
    momentum=0.0,
    maximize=False,
):
    """RMSProp.

    ``a' = rho * a + (1 - rho) * g^2``; ``p' = p - learning_rate * g / sqrt(a' + epsilon)``. With the
    keyword-only options, torch's: ``centered`` uses ``a' - b'^2`` with ``b' = rho * b + (1 - rho) * g``
    in place of ``a'``; ``momentum`` keeps ``u' = momentum * u + g / sqrt(...)`` and steps by
    ``-learning_rate * u'``.

    Parameters
    ----------
    {rule_parameters}
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
    {maximize}

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
    return chain(*_ascent(maximize), scaling, *velocity, scale_by_learning_rate(learning_rate))


@rule(learning_rate=NONNEGATIVE, rho=UNIT_INTERVAL, epsilon=NONNEGATIVE)
def adadelta(loss_or_grads=None, params=None, learning_rate=1.0, rho=0.95, epsilon=1e-6, *, maximize=False):
    """Adadelta.

    ``a' = rho * a + (1 - rho) * g^2``; ``d = g * sqrt(u + epsilon) / sqrt(a' + epsilon)``;
    ``p' = p - learning_rate * d``; ``u' = rho * u + (1 - rho) * d^2``

    Parameters
    ----------
    {rule_parameters}
    learning_rate : float or symbolic scalar
        The paper has none (1.0).
    rho : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
    {maximize}

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
    return chain(*_ascent(maximize), scale_by_adadelta(rho, epsilon), scale_by_learning_rate(learning_rate))


@rule(**_ADAM)
def adam(
    loss_or_grads=None,
    params=None,
    learning_rate=0.001,
    beta1=0.9,
    beta2=0.999,
    epsilon=1e-8,
    *,
    epsilon_placement="hat",
    maximize=False,
):
    r"""Adam.

    .. math::

        t' = t + 1, \quad a_t = \mathrm{learning\_rate} \frac{\sqrt{1 - \beta_2^{t'}}}{1 - \beta_1^{t'}}

        m' = \beta_1 m + (1 - \beta_1) g, \quad v' = \beta_2 v + (1 - \beta_2) g^2

        p' = p - a_t \frac{m'}{\sqrt{v'} + \epsilon}

    Parameters
    ----------
    {rule_parameters}
    learning_rate : float or symbolic scalar
    beta1, beta2 : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
    epsilon_placement : {"hat", "outside", "inside"}, keyword-only
        "hat" (default, above), "outside" (``p' = p - lr * m_hat / (sqrt(v_hat) + epsilon)``,
        torch and optax) or "inside" (``sqrt(v_hat + epsilon)``). See ``symupdates.EPSILON_PLACEMENTS``.
    {maximize}

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
    return chain(*_ascent(maximize), scaling, scale_by_learning_rate(learning_rate))


@rule(**_ADAM)
def adamax(
    loss_or_grads=None,
    params=None,
    learning_rate=0.002,
    beta1=0.9,
    beta2=0.999,
    epsilon=1e-8,
    *,
    epsilon_placement="outside",
    maximize=False,
):
    """Adamax, the infinity-norm variant of Adam.

    ``t' = t + 1``; ``a_t = learning_rate / (1 - beta1^t')``; ``m' = beta1 * m + (1 - beta1) * g``;
    ``u' = max(beta2 * u, |g|)``; ``p' = p - a_t * m' / (u' + epsilon)``

    Parameters
    ----------
    {rule_parameters}
    learning_rate : float or symbolic scalar
    beta1, beta2 : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
    epsilon_placement : {"outside", "inside"}, keyword-only
        "outside" (default, above; optax) or "inside": ``u' = max(beta2 * u, |g| + epsilon)``,
        ``p' = p - a_t * m' / u'`` (torch).
    {maximize}

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
    return chain(*_ascent(maximize), scaling, scale_by_learning_rate(learning_rate))


@rule(**_ADAM)
def amsgrad(
    loss_or_grads=None,
    params=None,
    learning_rate=0.001,
    beta1=0.9,
    beta2=0.999,
    epsilon=1e-8,
    *,
    epsilon_placement="hat",
    maximize=False,
):
    """AMSGrad: Adam with a non-decreasing second moment.

    ``a_t``, ``m'``, ``v'`` as in ``adam``; ``vhat' = max(vhat, v')``;
    ``p' = p - a_t * m' / (sqrt(vhat') + epsilon)``

    Parameters
    ----------
    {rule_parameters}
    learning_rate : float or symbolic scalar
    beta1, beta2 : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
    epsilon_placement : {"hat", "outside", "inside"}, keyword-only
        As in ``adam``; ``"outside"`` is torch's ``Adam(amsgrad=True)``.
    {maximize}

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
    return chain(*_ascent(maximize), scaling, scale_by_learning_rate(learning_rate))


@rule(momentum_decay=NONNEGATIVE, weight_decay=NONNEGATIVE, **_ADAM)
def nadam(
    loss_or_grads=None,
    params=None,
    learning_rate=2e-3,
    beta1=0.9,
    beta2=0.999,
    epsilon=1e-8,
    momentum_decay=4e-3,
    *,
    weight_decay=0.0,
    decoupled_weight_decay=False,
    maximize=False,
):
    """NAdam: Adam with Nesterov momentum and Dozat's momentum schedule.

    ``p' = p - learning_rate * s`` with ``s`` of ``scale_by_nadam``:
    ``mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay))``, ``P_t = mu_1 ... mu_t``,
    ``s = ((1 - mu_t) / (1 - P_t) * g + mu_{t+1} / (1 - P_t mu_{t+1}) * m') / (sqrt(v' / (1 - beta2^t)) + eps)``.

    Parameters
    ----------
    {rule_parameters}
    learning_rate : float or symbolic scalar
        2e-3 (torch).
    beta1, beta2 : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
    momentum_decay : float or symbolic scalar, >= 0
    {weight_decay_options}
    {maximize}

    Returns
    -------
    Updates or Transform
        Key order ``m1, v1, p1, ..., nadam.t, nadam.mu_product``.

    Notes
    -----
    Defaults and numbers of ``torch.optim.NAdam`` (tests/test_parity.py). optax's ``nadam`` is a
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
        *_ascent(maximize),
        *_torch_decay(scaling, weight_decay, decoupled_weight_decay),
        scale_by_learning_rate(learning_rate),
    )


@rule(weight_decay=NONNEGATIVE, **_ADAM)
def adamw(
    loss_or_grads=None,
    params=None,
    learning_rate=1e-3,
    beta1=0.9,
    beta2=0.999,
    epsilon=1e-8,
    weight_decay=1e-2,
    *,
    epsilon_placement="outside",
    maximize=False,
):
    """AdamW: Adam with decoupled weight decay.

    ``m_hat``, ``v_hat`` as in Adam; ``p' = p - learning_rate * (m_hat / (sqrt(v_hat) + epsilon)
    + weight_decay * p)``: the decay is multiplied by the learning rate (torch's convention
    ``p -= lr * wd * p``), not by the adaptive scaling.

    Parameters
    ----------
    {rule_parameters}
    learning_rate : float or symbolic scalar
    beta1, beta2 : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
    weight_decay : float or symbolic scalar
        1e-2 (torch; optax's default is 1e-4).
    epsilon_placement : {"outside", "hat", "inside"}, keyword-only
        "outside" as torch and optax; "hat" is Lasagne's ``adam`` form. See
        ``symupdates.EPSILON_PLACEMENTS``.
    {maximize}

    Returns
    -------
    Updates or Transform
        Key order ``m1, v1, p1, ..., adam.t``.

    Notes
    -----
    ``chain(scale_by_adam(...), add_decayed_weights(wd), scale_by_learning_rate(lr))``, exactly
    ``torch.optim.AdamW`` and ``optax.adamw`` (tests/test_parity.py). The paper's schedule multiplier
    ``eta_t`` is the learning rate here.

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
    return chain(*_ascent(maximize), scaling, *_decay(weight_decay), scale_by_learning_rate(learning_rate))


@rule(weight_decay=NONNEGATIVE, **_ADAM)
def radam(
    loss_or_grads=None,
    params=None,
    learning_rate=1e-3,
    beta1=0.9,
    beta2=0.999,
    epsilon=1e-8,
    *,
    epsilon_placement="hat",
    weight_decay=0.0,
    decoupled_weight_decay=False,
    maximize=False,
):
    """RAdam: rectified Adam, plain momentum SGD until the variance of the adaptive rate is tractable.

    ``p' = p - learning_rate * s`` with ``s`` of ``scale_by_radam``: ``m_hat`` while
    ``rho_t <= 5``, then ``r_t * m_hat * sqrt(1 - beta2^t) / (sqrt(v') + epsilon)``.

    Parameters
    ----------
    {rule_parameters}
    learning_rate : float or symbolic scalar
    beta1, beta2 : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
    epsilon_placement : {"hat", "outside", "inside"}, keyword-only
        "hat" is ``torch.optim.RAdam``, "outside" is ``optax.radam``.
    {weight_decay_options}
    {maximize}

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
        *_ascent(maximize),
        *_torch_decay(scaling, weight_decay, decoupled_weight_decay),
        scale_by_learning_rate(learning_rate),
    )


@rule(learning_rate=NONNEGATIVE, beta1=UNIT_INTERVAL, beta2=UNIT_INTERVAL, weight_decay=NONNEGATIVE)
def lion(loss_or_grads=None, params=None, learning_rate=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
    """Lion (EvoLved Sign Momentum).

    ``p' = p - learning_rate * (sign(beta1 * m + (1 - beta1) * g) + weight_decay * p)``;
    ``m' = beta2 * m + (1 - beta2) * g``.

    Parameters
    ----------
    {rule_parameters}
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
    As ``optax.lion`` (tests/test_parity.py). torch has no Lion.

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
    return chain(scale_by_lion(beta1, beta2), *_decay(weight_decay), scale_by_learning_rate(learning_rate))


@rule(
    learning_rate=NONNEGATIVE.numbers_only(),
    etaminus=NONNEGATIVE,
    etaplus=NONNEGATIVE,
    min_step=NONNEGATIVE,
    max_step=NONNEGATIVE,
)
def rprop(
    loss_or_grads=None,
    params=None,
    learning_rate=1e-2,
    etaminus=0.5,
    etaplus=1.2,
    min_step=1e-6,
    max_step=50.0,
    *,
    maximize=False,
):
    """Rprop: resilient backpropagation, sign-based steps with per-element adaptive sizes.

    With ``q = g * g_prev``: ``d' = clip(d * (etaplus if q > 0, etaminus if q < 0, else 1), min_step,
    max_step)``; ``g' = 0 where q < 0 else g``; ``p' = p - sign(g') * d'``; ``g_prev = g'``;
    ``d`` starts at ``learning_rate``.

    Parameters
    ----------
    {rule_parameters}
    learning_rate : float
        The initial step size (a number: it fills the state).
    etaminus, etaplus : float or symbolic scalar
    min_step, max_step : float or symbolic scalar
    {maximize}

    Returns
    -------
    Updates or Transform
        Key order ``prev1, size1, p1, ...``.

    Notes
    -----
    ``torch.optim.Rprop`` (defaults ``lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50)``; same numbers,
    tests/test_parity.py). Meant for full-batch training.

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
    return chain(*_ascent(maximize), scaling, scale(-1))


@rule(learning_rate=NONNEGATIVE)
def sign_sgd(loss_or_grads=None, params=None, learning_rate=1e-3):
    """signSGD: ``p' = p - learning_rate * sign(g)``.

    Parameters
    ----------
    {rule_parameters}
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
def signum(loss_or_grads=None, params=None, learning_rate=1e-3, momentum=0.9):
    """Signum: signSGD on a momentum of the gradients.

    ``m' = momentum * m + (1 - momentum) * g``; ``p' = p - learning_rate * sign(m')``.

    Parameters
    ----------
    {rule_parameters}
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


@rule(initial_accumulator_value=NONNEGATIVE.numbers_only(), **_ADAM)
def yogi(
    loss_or_grads=None,
    params=None,
    learning_rate=1e-2,
    beta1=0.9,
    beta2=0.999,
    epsilon=1e-3,
    initial_accumulator_value=1e-6,
):
    """Yogi: Adam with an additive, sign-controlled second-moment update.

    ``v' = v - (1 - beta2) * sign(v - g^2) * g^2``; ``p' = p - learning_rate * m_hat / (sqrt(v_hat) +
    epsilon)`` (see ``scale_by_yogi``).

    Parameters
    ----------
    {rule_parameters}
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
    ``optax.yogi`` (tests/test_parity.py).

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


@rule(**_ADAM)
def adabelief(loss_or_grads=None, params=None, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-16):
    """AdaBelief: Adam whose second moment is the variance of ``g`` around its running mean.

    ``s_v' = beta2 * s_v + (1 - beta2) * (g - m')^2 + epsilon``;
    ``p' = p - learning_rate * m_hat / (sqrt(s_hat) + epsilon)`` (see ``scale_by_belief``).

    Parameters
    ----------
    {rule_parameters}
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
    ``optax.adabelief`` (tests/test_parity.py).

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


@rule(weight_decay=NONNEGATIVE, **_ADAM)
def lamb(
    loss_or_grads=None,
    params=None,
    learning_rate=1e-3,
    beta1=0.9,
    beta2=0.999,
    epsilon=1e-6,
    weight_decay=0.0,
):
    """LAMB: Adam steps plus decoupled weight decay, rescaled per layer by a trust ratio.

    ``u = m_hat / (sqrt(v_hat) + epsilon) + weight_decay * p``;
    ``p' = p - learning_rate * ||p|| / ||u|| * u`` (ratio 1 where a norm is 0).

    Parameters
    ----------
    {rule_parameters}
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
    scale_by_trust_ratio(), scale_by_learning_rate(lr))`` (tests/test_parity.py). The trust ratio needs
    two norms per param, so the update is not a single elementwise loop.

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
    return chain(scaling, *_decay(weight_decay), trust, scale_by_learning_rate(learning_rate))


@rule(learning_rate=NONNEGATIVE, momentum=UNIT_INTERVAL, weight_decay=NONNEGATIVE, epsilon=NONNEGATIVE)
def lars(
    loss_or_grads=None,
    params=None,
    learning_rate=0.1,
    momentum=0.9,
    weight_decay=0.0,
    trust_coefficient=1e-3,
    epsilon=0.0,
    *,
    nesterov=False,
):
    """LARS: momentum SGD with a layer-wise trust ratio.

    ``u = g + weight_decay * p``; ``u = u * trust_coefficient * ||p|| / (||u|| + epsilon)`` (unchanged
    where a norm is 0); ``b' = momentum * b + u``; ``p' = p - learning_rate * b'`` (Nesterov:
    ``p - learning_rate * (u + momentum * b')``).

    Parameters
    ----------
    {rule_parameters}
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
    ``optax.lars`` (tests/test_parity.py) applies the momentum after the learning rate; for a constant
    rate that is the same trajectory. It has masks to spare biases from decay and trust ratio; use
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
        *_decay(weight_decay),
        scale_by_trust_ratio(trust_coefficient, epsilon),
        trace(momentum, nesterov=nesterov, name="lars"),
        scale_by_learning_rate(learning_rate),
    )


@rule(learning_rate=NONNEGATIVE, epsilon1=NONNEGATIVE, epsilon2=NONNEGATIVE, weight_decay=NONNEGATIVE)
def adafactor(
    loss_or_grads=None,
    params=None,
    learning_rate=1e-2,
    decay_rate=0.8,
    clipping_threshold=1.0,
    epsilon1=None,
    epsilon2=1e-3,
    weight_decay=0.0,
    *,
    maximize=False,
):
    """Adafactor: factored second moments (a row and a column statistic per matrix), relative steps.

    ``p' = p - s - learning_rate * weight_decay * p`` with ``s`` of ``scale_by_adafactor``:
    ``alpha = max(epsilon2, RMS(p)) * min(learning_rate, 1 / sqrt(t))``, ``V`` the (factored for
    ndim >= 2) running mean of ``g^2`` with weight ``t^-decay_rate``, ``U = g / sqrt(V)``,
    ``s = alpha * U / max(1, RMS(U) / clipping_threshold)``.

    Parameters
    ----------
    {rule_parameters}
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
    {maximize}

    Returns
    -------
    Updates or Transform
        Key order ``row1, col1, p1, v2, p2, ..., adafactor.t`` (a matrix gets ``row`` and ``col``,
        a vector or scalar ``v``).

    Notes
    -----
    ``torch.optim.Adafactor`` (tests/test_parity.py). The memory saving is the paper's: a ``(n, m)``
    matrix keeps ``n + m`` statistics. Needs per-tensor reductions (RMS, row and column means).

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
    return chain(*_ascent(maximize), scaling, *_decay(learning_rate * weight_decay), scale(-1))


@rule(
    learning_rate=NONNEGATIVE,
    beta1=UNIT_INTERVAL,
    beta2=UNIT_INTERVAL,
    epsilon=NONNEGATIVE,
    weight_decay=NONNEGATIVE,
)
def novograd(
    loss_or_grads=None, params=None, learning_rate=1e-3, beta1=0.9, beta2=0.25, epsilon=1e-6, weight_decay=0.0
):
    """NovoGrad: layer-wise second moments, momentum on normalised gradients.

    ``n' = ||g||^2`` (first step), then ``beta2 * n + (1 - beta2) * ||g||^2``;
    ``m' = beta1 * m + (g / (sqrt(n') + epsilon) + weight_decay * p)``; ``p' = p - learning_rate * m'``.

    Parameters
    ----------
    {rule_parameters}
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
    ``optax.novograd`` (tests/test_parity.py): ``chain(scale_by_novograd(beta2, epsilon),
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
    return chain(scaling, *_decay(weight_decay), momentum, scale_by_learning_rate(learning_rate))
