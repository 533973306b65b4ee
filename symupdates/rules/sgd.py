"""Stochastic gradient descent and momentum: Lasagne's ``sgd``, ``momentum``, ``nesterov_momentum`` and
``apply_*`` (a velocity of parameter steps, added to an updates dict), and ``trace``, optax's and torch's
momentum on gradients, with ``sgd``'s torch options (momentum, Nesterov, dampening, weight decay).
"""

from collections.abc import Mapping
from typing import Any

import numpy as np
import pytensor.tensor as pt

from ..core.builder import Builder, UpdateBuilder, as_update
from ..core.gradients import check_params
from ..core.hyperparams import NONNEGATIVE, UNIT_INTERVAL, check_hyper, typed
from ..core.transform import Build, Hyper, Transform, chain, is_zero, rule, scale_by_learning_rate, transform
from ..core.updates import Updates, describe
from .common import CLOSED_UNIT_INTERVAL, ascent, decayed_weights, per_param

__all__ = [
    "trace",
    "sgd",
    "apply_momentum",
    "momentum",
    "apply_nesterov_momentum",
    "nesterov_momentum",
]


@transform(decay=UNIT_INTERVAL, dampening=CLOSED_UNIT_INTERVAL, rowwise="lazy")
def trace(decay: Hyper, *, nesterov: bool = False, dampening: Hyper = 0.0, name: str = "trace") -> Build:
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

    def build(steps: list[Any], builder: Builder) -> list[Any]:
        hyper = builder.resolve(decay), builder.resolve(dampening)
        first = pt.eq(builder.counter(name)[1], 1) if dampened else None

        def step(i: int, g: Any, dt: str) -> Any:
            mu, damp = (typed(x, dt) for x in hyper)
            velocity = builder.slot(i, name, "velocity")
            velocity_new = mu * velocity + g
            if dampened:
                velocity_new = pt.switch(first, g, mu * velocity + (typed(1, dt) - damp) * g)
            builder.set(velocity, velocity_new)
            return g + mu * velocity_new if nesterov else velocity_new

        return per_param(steps, builder, step)

    return build


@rule(
    learning_rate=NONNEGATIVE,
    momentum=UNIT_INTERVAL,
    weight_decay=NONNEGATIVE,
    dampening=CLOSED_UNIT_INTERVAL,
)
def sgd(
    loss_or_grads: Any = None,
    params: Any = None,
    learning_rate: Hyper = 1e-3,
    *,
    momentum: Hyper = 0.0,
    nesterov: bool = False,
    weight_decay: Hyper = 0.0,
    dampening: Hyper = 0.0,
    maximize: bool = False,
) -> Updates | Transform:
    """Stochastic gradient descent, optionally with torch's momentum, Nesterov and weight decay.

    ``p' = p - learning_rate * g``. With the keyword-only options, torch's ``SGD``:
    ``d = g + weight_decay * p``; ``b' = momentum * b + (1 - dampening) * d`` (``b' = d`` at the first
    step); ``p' = p - learning_rate * b'``, or ``p' = p - learning_rate * (d + momentum * b')`` with
    ``nesterov=True``.

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
        A scalar loss, or one gradient expression per param.
    params : list of SharedVariable, optional
        The parameters to update. Omit both this and ``loss_or_grads`` to get the rule as a ``Transform``
        taking ``(loss_or_grads, params)``.
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
    maximize : bool, keyword-only
        Ascend the objective instead (torch's ``maximize``): the gradients are negated before anything else.

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
    return chain(
        *ascent(maximize), *decayed_weights(weight_decay), *velocity, scale_by_learning_rate(learning_rate)
    )


def _classical(mu: Any, v: Any, target: Any, p: Any) -> Any:
    """Lasagne's momentum: ``x = mu * v + target``; ``v' = x - p``; ``p' = x``."""
    x = mu * v + target
    return x - p, x


def _nesterov(mu: Any, v: Any, target: Any, p: Any) -> Any:
    """Lasagne's Nesterov momentum: ``x = mu * v + target - p``; ``v' = x``; ``p' = mu * x + target``."""
    x = mu * v + target - p
    return x, mu * x + target


_NEXT_VALUES = {"momentum": _classical, "nesterov_momentum": _nesterov}


def _momentum_params(updates: Any, params: Any) -> Any:
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


def _with_velocity(updates: Mapping[Any, Any], params: Any, momentum: Hyper, tag: str) -> Updates:
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
    builder = UpdateBuilder(params, taken_names=[v.name for v in result.state if v.name is not None])
    for i, p in enumerate(params):
        velocity = builder.slot(i, tag, "velocity")
        velocity_new, p_new = next_values(typed(momentum, p.dtype), velocity, updates[p], p)
        result[velocity] = as_update(velocity, velocity_new)
        result[p] = as_update(p, p_new)
    result.state.extend(builder.state)
    return result


@transform(momentum=UNIT_INTERVAL)
def _lasagne_velocity(momentum: Hyper, *, tag: str) -> Build:
    """Lasagne's momentum on parameter steps, as a transform (``tag``: "momentum" or "nesterov_momentum").

    It leaves the steps alone and rewrites each param's next value ``target = p + s`` with a velocity
    ``"<param>.<tag>.velocity"`` laid out after all params, exactly as ``apply_momentum`` and
    ``apply_nesterov_momentum`` do to an updates dict (same arithmetic, same key order).
    """
    next_values = _NEXT_VALUES[tag]

    def build(steps: list[Any], builder: Builder) -> list[Any]:
        mu = builder.resolve(momentum)

        def with_velocity(values: list[Any]) -> list[Any]:
            out = []
            for i, (target, p) in enumerate(zip(values, builder.params, strict=True)):
                velocity = builder.slot(i, tag, "velocity", at_end=True)
                velocity_new, p_new = next_values(typed(mu, p.dtype), velocity, target, p)
                builder.set(velocity, velocity_new)
                out.append(p_new)
            return out

        builder.map_params(with_velocity)
        return steps

    return build


def apply_momentum(updates: Mapping[Any, Any], params: Any = None, momentum: Hyper = 0.9) -> Updates:
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
def momentum(
    loss_or_grads: Any = None, params: Any = None, learning_rate: Hyper = 1e-3, momentum: Hyper = 0.9
) -> Updates | Transform:
    """Stochastic gradient descent with classical momentum.

    ``x = momentum * v - learning_rate * g + p``; ``v' = x - p``; ``p' = x``
    (``apply_momentum(sgd(loss_or_grads, params, learning_rate), params, momentum)``).

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
        A scalar loss, or one gradient expression per param.
    params : list of SharedVariable, optional
        The parameters to update. Omit both this and ``loss_or_grads`` to get the rule as a ``Transform``
        taking ``(loss_or_grads, params)``.
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


def apply_nesterov_momentum(updates: Mapping[Any, Any], params: Any = None, momentum: Hyper = 0.9) -> Updates:
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
def nesterov_momentum(
    loss_or_grads: Any = None, params: Any = None, learning_rate: Hyper = 1e-3, momentum: Hyper = 0.9
) -> Updates | Transform:
    """Stochastic gradient descent with Nesterov momentum.

    ``x = momentum * v - learning_rate * g``; ``v' = x``; ``p' = p + momentum * x - learning_rate * g``
    (``apply_nesterov_momentum(sgd(...), params, momentum)``).

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
        A scalar loss, or one gradient expression per param.
    params : list of SharedVariable, optional
        The parameters to update. Omit both this and ``loss_or_grads`` to get the rule as a ``Transform``
        taking ``(loss_or_grads, params)``.
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
