"""Online hypergradient descent: a rule whose learning rate learns itself from one step to the next."""

import functools
import numbers
import operator

import pytensor.tensor as pt

from ..core.hyperparams import NONNEGATIVE, typed
from ..core.transform import Transform, chain, check_transform, transform
from ..core.types import Build, Builder, Scalar, Steps

__all__ = ["hypergradient"]


@transform(hypergradient_lr=NONNEGATIVE)
def hypergradient(rule: Transform, hypergradient_lr: Scalar, *, name: str = "hypergradient") -> Build:
    r"""Hypergradient descent on the learning rate of ``rule`` (Baydin et al. 2018: SGD-HD, SGDN-HD, Adam-HD).

    ``rule`` is a chain ending in ``scale_by_learning_rate(alpha_0)`` (``sgd``, ``sgd(momentum=mu,
    nesterov=True)``, ``adam``, ...): ``p' = p - alpha * d`` with ``d`` the direction its other transforms
    make of the gradient ``g``. The derivative of the loss at this step with respect to the learning rate
    used at the previous one is ``g_t . d(u_{t-1}) / d alpha = -g_t . d_{t-1}``, so, at step ``t``:

    .. math::

        \alpha_t = \alpha_{t-1} + \beta \, g_t \cdot d_{t-1}, \qquad p_t = p_{t-1} - \alpha_t d_t

    (the dot product over all params; ``d_0 = 0``, so ``alpha_1 = alpha_0``), where ``beta`` is
    ``hypergradient_lr``. The learning rate grows while successive directions agree with the gradient and
    shrinks when they oppose it.

    Parameters
    ----------
    rule : Transform
        A rule with a numeric learning rate, e.g. ``sgd(learning_rate=0.01)`` (the paper's SGD-HD),
        ``sgd(learning_rate=0.01, momentum=0.9, nesterov=True)`` (SGDN-HD) or
        ``adam(learning_rate=1e-3, epsilon_placement="outside")`` (Adam-HD). Its learning rate is
        ``alpha_0``, the initial value of the state.
    hypergradient_lr : float or symbolic scalar, >= 0
        ``beta``. The paper uses ``1e-3`` for SGD-HD and SGDN-HD and ``1e-7`` for Adam-HD (its section 4).
    name : str, keyword-only
        The tag in state names: the float64 learning rate ``"<name>.learning_rate"`` and each param's
        previous direction ``"<param>.<name>.direction"``.

    Returns
    -------
    Transform
        Its updates' ``monitors["learning_rate"]`` is ``alpha_t``, the learning rate each step uses.

    Notes
    -----
    The learning rate is optimizer state like the moments: ``save_state`` checkpoints it and
    ``reset_state`` puts it back to ``alpha_0``. ``rule``'s direction includes what comes between its
    scaling and ``scale_by_learning_rate`` (adamw's decoupled weight decay), as the paper's update rule
    ``u_t`` does. The multiplicative variant of the paper's section 5 is not provided.

    References
    ----------
    Baydin, Cornish, Martinez Rubio, Schmidt and Wood (2018), Online learning rate adaptation with
    hypergradient descent, ICLR, arXiv:1703.04782 (Algorithms 1-3).

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates as su
    >>> w = pytensor.shared(np.array([1.0, -2.0]), name="w")
    >>> updates = su.hypergradient(su.sgd(learning_rate=0.1), hypergradient_lr=0.01)((w ** 2).sum(), [w])
    >>> [v.name for v in updates]
    ['w.hypergradient.direction', 'w', 'hypergradient.learning_rate']
    >>> step = pytensor.function([], updates.monitors["learning_rate"], updates=updates)
    >>> float(step()), float(step())     # alpha_2 = 0.1 + 0.01 * (g_2 . g_1) = 0.1 + 0.01 * 16
    (0.1, 0.26)
    """
    check_transform(rule, "rule")
    parts = list(getattr(rule, "parts", None) or [])
    last = parts[-1] if parts else None
    if last is None or last.name != "scale_by_learning_rate":
        raise ValueError(
            f"hypergradient needs a rule ending in scale_by_learning_rate (sgd, adam, ...), got {rule!r}"
        )
    initial = last.config["learning_rate"]
    if isinstance(initial, bool) or not isinstance(initial, numbers.Real):
        raise TypeError(
            f"hypergradient: the learning rate of {rule!r} is the initial value of the state and must be a "
            f"number, got {initial!r}"
        )
    direction = chain(*parts[:-1])

    def build(steps: Steps, builder: Builder) -> Steps:
        grads = list(steps)
        directions = direction.build(list(steps), builder)
        rate = builder.scalar(f"{name}.learning_rate", initial, "float64")
        previous = [builder.slot(i, name, "direction") for i in range(len(builder.params))]
        agreement = functools.reduce(
            operator.add, [pt.cast((g * d).sum(), "float64") for g, d in zip(grads, previous, strict=True)]
        )
        rate_new = rate + typed(hypergradient_lr, "float64") * agreement
        builder.set(rate, rate_new)
        for d_previous, d in zip(previous, directions, strict=True):
            builder.set(d_previous, d)
        builder.monitor("learning_rate", rate_new)
        return [-(typed(rate_new, p.dtype) * d) for d, p in zip(directions, builder.params, strict=True)]

    return build
