"""The classic update rules of ``lasagne.updates`` and ``pymc.variational.updates``, same names, signatures,
defaults, equations and key order.

Each rule returns an ``Updates`` dict (an ``OrderedDict``) ``{shared variable: next value}`` for
``pytensor.function(..., updates=...)``. Called with only hyper-parameters (both ``loss_or_grads`` and
``params`` omitted), a rule returns a callable taking ``(loss_or_grads, params)``, as in PyMC; for the rules
built from transforms that callable is the ``Transform`` itself, so it can also go into a ``chain``.
"""

import functools
from collections.abc import Mapping

import numpy as np

from .hyperparams import check_hyper, typed
from .scalings import scale_by_inverse_time, trace
from .transforms import (
    Transform,
    add_decayed_weights,
    chain,
    scale_by_adadelta,
    scale_by_adam,
    scale_by_adamax,
    scale_by_amsgrad,
    scale_by_learning_rate,
    scale_by_rms,
    scale_by_rss,
    scale_by_window_rss,
    with_options,
)
from .updates import UpdateBuilder, Updates, as_update, describe

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
]


def _both_or_neither(loss_or_grads, params):
    """True when both are omitted (partial application); raise when only one is."""
    if loss_or_grads is None and params is None:
        return True
    if loss_or_grads is None or params is None:
        missing = "loss_or_grads" if loss_or_grads is None else "params"
        raise ValueError(
            f"{missing} is missing: provide both `loss_or_grads` and `params` to get updates, or neither "
            "to get a callable that takes them"
        )
    return False


def _is_zero(value):
    """True for the number 0 (an option that is off adds nothing to the graph); False for symbols."""
    return not hasattr(value, "owner") and value == 0


def _optimizer(name, config, loss_or_grads, params, *transforms):
    """A named chain of ``transforms``, applied to ``(loss_or_grads, params)`` unless both are omitted."""
    partial = _both_or_neither(loss_or_grads, params)
    rule = chain(*transforms)
    rule.name, rule.config = name, config
    return rule if partial else rule(loss_or_grads, params)


def sgd(loss_or_grads=None, params=None, learning_rate=1e-3, *, momentum=0.0, nesterov=False, weight_decay=0.0):
    """Stochastic gradient descent, optionally with torch's momentum, Nesterov and weight decay.

    ``p' = p - learning_rate * g``. With the keyword-only options, torch's ``SGD``:
    ``d = g + weight_decay * p``; ``b' = momentum * b + d``; ``p' = p - learning_rate * b'``, or
    ``p' = p - learning_rate * (d + momentum * b')`` with ``nesterov=True``.

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
        A scalar loss, or one gradient expression per param.
    params : list of SharedVariable, optional
        The parameters to update. Omit both this and ``loss_or_grads`` to get a callable.
    learning_rate : float or symbolic scalar
        A shared variable can be changed between calls without recompiling.
    momentum : float or symbolic scalar, keyword-only
        torch's momentum (0: none). The buffer ``"<param>.sgd.velocity"`` holds gradients.
    nesterov : bool, keyword-only
        torch's Nesterov variant; needs a momentum.
    weight_decay : float or symbolic scalar, keyword-only
        Coupled L2 weight decay, added to the gradient (torch's ``weight_decay``).

    Returns
    -------
    Updates or Transform
        ``{p1: p1', p2: p2', ...}`` (with momentum ``b1, p1, b2, p2, ...``); with both first arguments
        omitted, a ``Transform`` taking ``(loss_or_grads, params)``.

    Notes
    -----
    As Lasagne and PyMC (Lasagne had no default learning rate; this is PyMC's). Every update has its
    param's dtype whatever the type of ``learning_rate``. An option left at 0 adds nothing to the graph.
    With momentum, this is ``torch.optim.SGD`` with ``dampening=0`` (the only dampening offered);
    Lasagne's ``momentum`` rule keeps a velocity of parameter steps instead (the same trajectory for a
    constant learning rate).

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
    check_hyper(momentum, "momentum")
    check_hyper(weight_decay, "weight_decay")
    if not isinstance(nesterov, bool):
        raise TypeError(f"nesterov must be a bool, got {nesterov!r}")
    if nesterov and _is_zero(momentum):
        raise ValueError("nesterov=True needs a momentum other than 0")
    transforms = [] if _is_zero(weight_decay) else [add_decayed_weights(weight_decay)]
    if not _is_zero(momentum):
        transforms.append(trace(momentum, nesterov=nesterov, name="sgd"))
    config = with_options(
        {"learning_rate": learning_rate},
        momentum=(momentum, 0.0), nesterov=(nesterov, False), weight_decay=(weight_decay, 0.0),
    )
    return _optimizer(
        "sgd", config, loss_or_grads, params, *transforms, scale_by_learning_rate(learning_rate)
    )


def _momentum_params(updates, params):
    if not isinstance(updates, Mapping):
        raise TypeError(f"updates must be a dict of updates, got {type(updates).__name__}")
    if params is None:
        # Only float variables can carry a velocity; an integer step counter among the keys is left alone.
        return [v for v in updates if np.dtype(v.dtype).kind == "f"]
    params = list(params)
    for i, p in enumerate(params):
        if p not in updates:
            raise ValueError(f"params[{i}] ({p.name!r}) has no entry in updates")
        if np.dtype(p.dtype).kind != "f":
            raise TypeError(f"params[{i}] ({p.name!r}) has dtype {p.dtype}; momentum needs a float variable")
    return params


def _with_velocity(updates, params, momentum, tag, next_values):
    check_hyper(momentum, "momentum")
    params = _momentum_params(updates, params)
    inner = getattr(updates, "rule", None)
    rule = {"name": f"apply_{tag}", "config": describe({"momentum": momentum, "updates": inner})}
    result = Updates(
        updates,
        params=getattr(updates, "params", params),
        state=getattr(updates, "state", ()),
        rule=rule,
        monitors=getattr(updates, "monitors", None),
    )
    builder = UpdateBuilder(params, taken_names=[v.name for v in result.state])
    for i, p in enumerate(params):
        velocity = builder.slot(i, tag, "velocity")
        velocity_new, p_new = next_values(typed(momentum, p.dtype), velocity, updates[p], p)
        result[velocity] = as_update(velocity, velocity_new)
        result[p] = as_update(p, p_new)
    result.state.extend(builder.state)
    return result


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
    return _with_velocity(
        updates, params, momentum, "momentum", lambda mu, v, target, p: ((mu * v + target) - p, mu * v + target)
    )


def momentum(loss_or_grads=None, params=None, learning_rate=1e-3, momentum=0.9):
    """Stochastic gradient descent with classical momentum.

    ``x = momentum * v - learning_rate * g + p``; ``v' = x - p``; ``p' = x``
    (``apply_momentum(sgd(loss_or_grads, params, learning_rate), params, momentum)``).

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
    params : list of SharedVariable, optional
        Omit both to get a callable taking ``(loss_or_grads, params)``.
    learning_rate : float or symbolic scalar
    momentum : float or symbolic scalar

    Returns
    -------
    Updates or callable
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
    check_hyper(momentum, "momentum")
    if _both_or_neither(loss_or_grads, params):
        check_hyper(learning_rate, "learning_rate")
        return functools.partial(_momentum_rule, learning_rate=learning_rate, momentum=momentum)
    return _momentum_rule(loss_or_grads, params, learning_rate, momentum)


def _momentum_rule(loss_or_grads, params, learning_rate, momentum):
    return apply_momentum(sgd(loss_or_grads, params, learning_rate), params, momentum=momentum)


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

    def next_values(mu, v, target, p):
        x = mu * v + target - p
        return x, mu * x + target

    return _with_velocity(updates, params, momentum, "nesterov_momentum", next_values)


def nesterov_momentum(loss_or_grads=None, params=None, learning_rate=1e-3, momentum=0.9):
    """Stochastic gradient descent with Nesterov momentum.

    ``x = momentum * v - learning_rate * g``; ``v' = x``; ``p' = p + momentum * x - learning_rate * g``
    (``apply_nesterov_momentum(sgd(...), params, momentum)``).

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
    params : list of SharedVariable, optional
        Omit both to get a callable taking ``(loss_or_grads, params)``.
    learning_rate : float or symbolic scalar
    momentum : float or symbolic scalar

    Returns
    -------
    Updates or callable
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
    check_hyper(momentum, "momentum")
    if _both_or_neither(loss_or_grads, params):
        check_hyper(learning_rate, "learning_rate")
        return functools.partial(_nesterov_rule, learning_rate=learning_rate, momentum=momentum)
    return _nesterov_rule(loss_or_grads, params, learning_rate, momentum)


def _nesterov_rule(loss_or_grads, params, learning_rate, momentum):
    return apply_nesterov_momentum(sgd(loss_or_grads, params, learning_rate), params, momentum=momentum)


def adagrad(loss_or_grads=None, params=None, learning_rate=1.0, epsilon=1e-6, *, lr_decay=0.0,
            initial_accumulator_value=0.0, epsilon_placement="inside"):
    """Adagrad.

    ``a' = a + g^2``; ``p' = p - learning_rate * g / sqrt(a' + epsilon)``. With the keyword-only
    options: ``a`` starts at ``initial_accumulator_value``; at step ``t`` (1, 2, ...) the rate is
    ``learning_rate / (1 + (t - 1) * lr_decay)``; ``epsilon_placement="outside"`` uses
    ``g / (sqrt(a') + epsilon)``.

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
    params : list of SharedVariable, optional
        Omit both to get a callable (a ``Transform``) taking ``(loss_or_grads, params)``.
    learning_rate : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
        Added inside the square root.
    lr_decay : float or symbolic scalar, >= 0, keyword-only
        torch's learning-rate decay (0: none; otherwise an int64 counter ``"adagrad.t"`` is added).
    initial_accumulator_value : float >= 0, keyword-only
    epsilon_placement : {"inside", "outside"}, keyword-only
        See ``symupdates.EPSILON_PLACEMENTS``.

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
    decay = [] if _is_zero(check_hyper(lr_decay, "lr_decay", nonnegative=True)) else [
        scale_by_inverse_time(lr_decay, name="adagrad")
    ]
    config = with_options({"learning_rate": learning_rate, **scaling.config}, lr_decay=(lr_decay, 0.0))
    return _optimizer(
        "adagrad", config, loss_or_grads, params, scaling, *decay, scale_by_learning_rate(learning_rate)
    )


def adagrad_window(loss_or_grads=None, params=None, learning_rate=0.001, epsilon=0.1, n_win=10):
    """Adagrad over a window of the last ``n_win`` squared gradients (PyMC).

    ``w'[..., i] = g^2``; ``i' = (i + 1) mod n_win``;
    ``p' = p - learning_rate * g / sqrt(sum(w', axis=-1) + epsilon)``

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
    params : list of SharedVariable, optional
        Omit both to get a callable (a ``Transform``) taking ``(loss_or_grads, params)``.
    learning_rate : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
    n_win : int
        Window length; the current squared gradient is in the window.

    Returns
    -------
    Updates or Transform
        Key order ``w1, i1, p1, w2, i2, p2, ...``.

    Notes
    -----
    As PyMC. The window write and its sum are not elementwise, so unlike the other rules this one does
    not compile to a single fused loop.

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
    config = {"learning_rate": learning_rate, "epsilon": epsilon, "n_win": n_win}
    return _optimizer(
        "adagrad_window",
        config,
        loss_or_grads,
        params,
        scale_by_window_rss(n_win, epsilon),
        scale_by_learning_rate(learning_rate),
    )


def rmsprop(loss_or_grads=None, params=None, learning_rate=1.0, rho=0.9, epsilon=1e-6, *,
            epsilon_placement="inside"):
    """RMSProp.

    ``a' = rho * a + (1 - rho) * g^2``; ``p' = p - learning_rate * g / sqrt(a' + epsilon)``

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
    params : list of SharedVariable, optional
        Omit both to get a callable (a ``Transform``) taking ``(loss_or_grads, params)``.
    learning_rate : float or symbolic scalar
    rho : float or symbolic scalar
        Decay of the running average of squared gradients.
    epsilon : float or symbolic scalar, >= 0
        Added inside the square root.
    epsilon_placement : {"inside", "outside"}, keyword-only
        "outside": ``g / (sqrt(a') + epsilon)``. See ``symupdates.EPSILON_PLACEMENTS``.

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
    scaling = scale_by_rms(rho, epsilon, epsilon_placement=epsilon_placement)
    config = {"learning_rate": learning_rate, **scaling.config}
    return _optimizer("rmsprop", config, loss_or_grads, params, scaling, scale_by_learning_rate(learning_rate))


def adadelta(loss_or_grads=None, params=None, learning_rate=1.0, rho=0.95, epsilon=1e-6):
    """Adadelta.

    ``a' = rho * a + (1 - rho) * g^2``; ``d = g * sqrt(u + epsilon) / sqrt(a' + epsilon)``;
    ``p' = p - learning_rate * d``; ``u' = rho * u + (1 - rho) * d^2``

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
    params : list of SharedVariable, optional
        Omit both to get a callable (a ``Transform``) taking ``(loss_or_grads, params)``.
    learning_rate : float or symbolic scalar
        The paper has none (1.0).
    rho : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0

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
    config = {"learning_rate": learning_rate, "rho": rho, "epsilon": epsilon}
    return _optimizer(
        "adadelta",
        config,
        loss_or_grads,
        params,
        scale_by_adadelta(rho, epsilon),
        scale_by_learning_rate(learning_rate),
    )


def adam(loss_or_grads=None, params=None, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8, *,
         epsilon_placement="hat"):
    """Adam.

    ``t' = t + 1``; ``a_t = learning_rate * sqrt(1 - beta2^t') / (1 - beta1^t')``;
    ``m' = beta1 * m + (1 - beta1) * g``; ``v' = beta2 * v + (1 - beta2) * g^2``;
    ``p' = p - a_t * m' / (sqrt(v') + epsilon)``

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
    params : list of SharedVariable, optional
        Omit both to get a callable (a ``Transform``) taking ``(loss_or_grads, params)``.
    learning_rate : float or symbolic scalar
    beta1, beta2 : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
    epsilon_placement : {"hat", "outside", "inside"}, keyword-only
        "hat" (default, above), "outside" (``p' = p - lr * m_hat / (sqrt(v_hat) + epsilon)``,
        torch and optax) or "inside" (``sqrt(v_hat + epsilon)``). See ``symupdates.EPSILON_PLACEMENTS``.

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
    config = {"learning_rate": learning_rate, **scaling.config}
    return _optimizer("adam", config, loss_or_grads, params, scaling, scale_by_learning_rate(learning_rate))


def adamax(loss_or_grads=None, params=None, learning_rate=0.002, beta1=0.9, beta2=0.999, epsilon=1e-8, *,
         epsilon_placement="outside"):
    """Adamax, the infinity-norm variant of Adam.

    ``t' = t + 1``; ``a_t = learning_rate / (1 - beta1^t')``; ``m' = beta1 * m + (1 - beta1) * g``;
    ``u' = max(beta2 * u, |g|)``; ``p' = p - a_t * m' / (u' + epsilon)``

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
    params : list of SharedVariable, optional
        Omit both to get a callable (a ``Transform``) taking ``(loss_or_grads, params)``.
    learning_rate : float or symbolic scalar
    beta1, beta2 : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
    epsilon_placement : {"outside", "inside"}, keyword-only
        "outside" (default, above; optax) or "inside": ``u' = max(beta2 * u, |g| + epsilon)``,
        ``p' = p - a_t * m' / u'`` (torch).

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
    config = {"learning_rate": learning_rate, **scaling.config}
    return _optimizer("adamax", config, loss_or_grads, params, scaling, scale_by_learning_rate(learning_rate))


def amsgrad(loss_or_grads=None, params=None, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8, *,
         epsilon_placement="hat"):
    """AMSGrad: Adam with a non-decreasing second moment.

    ``a_t``, ``m'``, ``v'`` as in ``adam``; ``vhat' = max(vhat, v')``;
    ``p' = p - a_t * m' / (sqrt(vhat') + epsilon)``

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
    params : list of SharedVariable, optional
        Omit both to get a callable (a ``Transform``) taking ``(loss_or_grads, params)``.
    learning_rate : float or symbolic scalar
    beta1, beta2 : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
    epsilon_placement : {"hat", "outside", "inside"}, keyword-only
        As in ``adam``; ``"outside"`` is torch's ``Adam(amsgrad=True)``.

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
    config = {"learning_rate": learning_rate, **scaling.config}
    return _optimizer("amsgrad", config, loss_or_grads, params, scaling, scale_by_learning_rate(learning_rate))
