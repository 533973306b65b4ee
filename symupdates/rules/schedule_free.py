"""Schedule-free learning (Defazio et al. 2024): momentum replaced by interpolation and averaging, so that no
decaying learning-rate schedule is needed.

Three sequences: ``z`` (the base rule's iterates, kept as state), ``x`` (their weighted average, where the
model should be evaluated) and ``y = beta1 * x + (1 - beta1) * z`` (where gradients are taken). As in optax,
the params hold ``y``; ``schedule_free_eval_parameters`` gives ``x`` for evaluation.
"""

from typing import Any

import pytensor.tensor as pt

from ..core.builder import Builder
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

__all__ = ["schedule_free", "schedule_free_adamw", "schedule_free_sgd", "schedule_free_eval_parameters"]


@transform(learning_rate=NONNEGATIVE, beta1=POSITIVE)
def schedule_free(
    inner: Transform, learning_rate: Hyper, beta1: Hyper = 0.9, weight_lr_power: Hyper = 2.0
) -> Build:
    """Make ``inner`` schedule-free: its steps move ``z``, and the params follow an average of ``z``.

    With ``u`` the step of ``inner`` at the params ``y`` (it includes ``-learning_rate``),
    ``lr_max' = max(lr_max, learning_rate)``; ``w = lr_max'^weight_lr_power``; ``W' = W + w``;
    ``c = w / W'`` (0 while ``W'`` is 0); ``z' = z + u``; ``x = (y - (1 - beta1) * z) / beta1``;
    ``x' = (1 - c) * x + c * z'``; ``y' = beta1 * x' + (1 - beta1) * z'``.

    Parameters
    ----------
    inner : Transform
        A rule without momentum, ending with ``scale_by_learning_rate(learning_rate)``.
    learning_rate : float, symbolic scalar or Schedule
        The learning rate of ``inner``, which weighs the average (a warmup gives the first steps less
        weight).
    beta1 : float or symbolic scalar, > 0
        Interpolation between ``x`` and ``z`` where gradients are taken.
    weight_lr_power : float or symbolic scalar

    Returns
    -------
    Transform
        Its state: ``"<param>.schedule_free.z"`` (starting at the param's value), the float64 scalars
        ``"schedule_free.max_lr"`` and ``"schedule_free.weight_sum"``.

    Notes
    -----
    As ``optax.contrib.schedule_free``; the scalars are float64 whatever the params' dtype. optax
    evaluates a schedule at ``count + 1`` for the weights and at ``count`` inside ``inner``; a
    ``Schedule`` here gives both the same step's value.

    References
    ----------
    Defazio, Yang, Mehta, Mishchenko, Khaled and Cutkosky (2024), The road less scheduled, NeurIPS,
    arXiv:2405.15682.

    Examples
    --------
    >>> import symupdates as su
    >>> su.schedule_free(su.sgd(learning_rate=0.5), 0.5)
    schedule_free(inner=sgd(learning_rate=0.5), learning_rate=0.5, beta1=0.9, weight_lr_power=2.0)
    """
    if not isinstance(inner, Transform):
        raise TypeError(f"inner must be a Transform, got {type(inner).__name__}")

    def build(steps: Any, builder: Builder) -> list[Any]:
        learning_rate_now, beta1_now, weight_lr_power_now = (
            builder.resolve(x) for x in (learning_rate, beta1, weight_lr_power)
        )
        f64 = "float64"
        max_lr = builder.scalar("schedule_free.max_lr", 0.0, f64)
        weight_sum = builder.scalar("schedule_free.weight_sum", 0.0, f64)
        max_lr_new = pt.maximum(max_lr, typed(learning_rate_now, f64))
        weight = max_lr_new ** typed(weight_lr_power_now, f64)
        weight_sum_new = weight_sum + weight
        average_weight = pt.switch(
            weight_sum_new > 0, weight / pt.switch(weight_sum_new > 0, weight_sum_new, 1), 0
        )
        builder.set(max_lr, max_lr_new)
        builder.set(weight_sum, weight_sum_new)
        inner_steps = inner.build(steps, builder)
        out = []
        for i, (u, y) in enumerate(zip(inner_steps, builder.params, strict=True)):
            b1, one, c = typed(beta1_now, y.dtype), typed(1, y.dtype), pt.cast(average_weight, y.dtype)
            z = builder.slot(i, "schedule_free", "z", value=y.get_value())
            z.tag.schedule_free_of, z.tag.schedule_free_beta1 = y, beta1_now
            z_new = z + u
            x = (y - (one - b1) * z) / b1
            x_new = (one - c) * x + c * z_new
            builder.set(z, z_new)
            out.append(b1 * x_new + (one - b1) * z_new - y)
        return out

    return build


def schedule_free_eval_parameters(updates: Any) -> Any:
    """``{param: x}``: the averaged params ``x = (y - (1 - beta1) * z) / beta1`` a schedule-free rule in
    ``updates`` evaluates at, as expressions of the params ``y`` and the state ``z``.

    Use it with ``swap_parameters`` to evaluate (``with swap_parameters(schedule_free_eval_parameters(u)):``)
    or ``copy_parameters`` to keep ``x`` at the end of training.

    Parameters
    ----------
    updates : Updates
        Made by ``schedule_free_adamw``, ``schedule_free_sgd`` or any rule holding ``schedule_free``.

    Returns
    -------
    dict of SharedVariable to TensorVariable

    Raises
    ------
    ValueError
        When ``updates`` holds no schedule-free state (evaluating at ``y`` would silently be worse).

    Notes
    -----
    As ``optax.contrib.schedule_free_eval_params``.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates as su
    >>> w = pytensor.shared(np.array([2.0]), name="w")
    >>> updates = su.schedule_free_sgd((w ** 2).sum(), [w], learning_rate=0.1)
    >>> step = pytensor.function([], [], updates=updates)
    >>> _ = step(); _ = step()
    >>> with su.swap_parameters(su.schedule_free_eval_parameters(updates)):
    ...     print(w.get_value())          # x, the average of z = 1.6, 1.28
    [1.44]
    >>> w.get_value()                     # y = 0.9 * x + 0.1 * z
    array([1.424])
    """
    pairs = {}
    for z in getattr(updates, "state", ()):
        param = getattr(z.tag, "schedule_free_of", None)
        if param is not None:
            b1 = typed(z.tag.schedule_free_beta1, param.dtype)
            pairs[param] = (param - (typed(1, param.dtype) - b1) * z) / b1
    if not pairs:
        raise ValueError("updates holds no schedule-free state: it was not made by a schedule-free rule")
    return pairs


@transform(beta2=UNIT_INTERVAL, epsilon=NONNEGATIVE)
def scale_by_bias_corrected_rms(
    beta2: Hyper = 0.999, epsilon: Hyper = 1e-8, *, name: str = "schedule_free_adamw"
) -> Build:
    """``v' = beta2 * v + (1 - beta2) * g^2``; ``s' = g / (sqrt(v' / (1 - beta2^t)) + epsilon)``: Adam
    without its first moment, as optax's ``scale_by_rms(eps_in_sqrt=False, bias_correction=True)``."""

    def build(steps: Any, builder: Builder) -> list[Any]:
        beta2_now, epsilon_now = (builder.resolve(x) for x in (beta2, epsilon))
        _, t = builder.counter(name)
        out = []
        for i, (g, p) in enumerate(zip(steps, builder.params, strict=True)):
            b2, one = typed(beta2_now, p.dtype), typed(1, p.dtype)
            v = builder.slot(i, name, "v")
            v_new = b2 * v + (one - b2) * g**2
            builder.set(v, v_new)
            correction = one - b2 ** pt.cast(t, p.dtype)
            out.append(g / (pt.sqrt(v_new / correction) + typed(epsilon_now, p.dtype)))
        return out

    return build


SCHEDULE_FREE_DOMAINS = {"learning_rate": NONNEGATIVE, "beta1": POSITIVE, "weight_decay": NONNEGATIVE}


@rule(beta2=UNIT_INTERVAL, epsilon=NONNEGATIVE, **SCHEDULE_FREE_DOMAINS)
def schedule_free_adamw(
    loss_or_grads: Any = None,
    params: Any = None,
    learning_rate: Hyper = 0.0025,
    beta1: Hyper = 0.9,
    beta2: Hyper = 0.999,
    epsilon: Hyper = 1e-8,
    weight_decay: Hyper = 0.0,
    weight_lr_power: Hyper = 2.0,
) -> Updates | Transform:
    """Schedule-free AdamW: ``schedule_free`` around Adam without momentum and decoupled weight decay.

    ``v' = beta2 * v + (1 - beta2) * g^2``; ``u = -learning_rate * (g / (sqrt(v' / (1 - beta2^t)) +
    epsilon) + weight_decay * y)``, then ``z``, ``x`` and the params ``y`` move as in ``schedule_free``.

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
        A scalar loss, or one gradient expression per param.
    params : list of SharedVariable, optional
        The parameters to update. Omit both this and ``loss_or_grads`` to get the rule as a ``Transform``
        taking ``(loss_or_grads, params)``.
    learning_rate : float, symbolic scalar or Schedule
        Constant after a warmup: no decay is needed.
    beta1 : float or symbolic scalar, > 0
        Interpolation between the average and the iterates (optax's ``b1``).
    beta2 : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
        Added outside the square root (optax's ``eps``).
    weight_decay : float or symbolic scalar
        Decoupled, multiplied by the learning rate, applied at ``y``.
    weight_lr_power : float or symbolic scalar

    Returns
    -------
    Updates or Transform
        The params hold ``y``; evaluate at ``schedule_free_eval_parameters(updates)``.

    Notes
    -----
    Defaults and numbers of ``optax.contrib.schedule_free_adamw`` (optax 0.2.8); optax's ``warmup_steps``
    is ``learning_rate=symupdates.linear_schedule(...)`` here (see ``schedule_free`` on the step at which
    a schedule is read).

    References
    ----------
    Defazio et al. (2024), The road less scheduled, NeurIPS, arXiv:2405.15682.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates as su
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> [v.name for v in su.schedule_free_adamw((w ** 2).sum(), [w])]  # doctest: +NORMALIZE_WHITESPACE
    ['w.schedule_free_adamw.v', 'w.schedule_free.z', 'w', 'schedule_free.max_lr',
    'schedule_free.weight_sum', 'schedule_free_adamw.t']
    """
    decay = [] if is_zero(weight_decay) else [add_decayed_weights(weight_decay)]
    inner = chain(scale_by_bias_corrected_rms(beta2, epsilon), *decay, scale_by_learning_rate(learning_rate))
    return schedule_free(inner, learning_rate, beta1, weight_lr_power)


@rule(**SCHEDULE_FREE_DOMAINS)
def schedule_free_sgd(
    loss_or_grads: Any = None,
    params: Any = None,
    learning_rate: Hyper = 1.0,
    beta1: Hyper = 0.9,
    weight_decay: Hyper = 0.0,
    weight_lr_power: Hyper = 2.0,
) -> Updates | Transform:
    """Schedule-free SGD: ``schedule_free`` around plain SGD with coupled weight decay.

    ``u = -learning_rate * (g + weight_decay * y)``; ``z' = z + u``, then ``x`` and the params ``y`` move
    as in ``schedule_free``.

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
        A scalar loss, or one gradient expression per param.
    params : list of SharedVariable, optional
        The parameters to update. Omit both this and ``loss_or_grads`` to get the rule as a ``Transform``
        taking ``(loss_or_grads, params)``.
    learning_rate : float, symbolic scalar or Schedule
    beta1 : float or symbolic scalar, > 0
    weight_decay : float or symbolic scalar
        Added to the gradient (optax's default None is 0 here).
    weight_lr_power : float or symbolic scalar

    Returns
    -------
    Updates or Transform
        The params hold ``y``; evaluate at ``schedule_free_eval_parameters(updates)``.

    Notes
    -----
    Defaults and numbers of ``optax.contrib.schedule_free_sgd`` (optax 0.2.8).

    References
    ----------
    Defazio et al. (2024), The road less scheduled, NeurIPS, arXiv:2405.15682.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates as su
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> [v.name for v in su.schedule_free_sgd((w ** 2).sum(), [w])]
    ['w.schedule_free.z', 'w', 'schedule_free.max_lr', 'schedule_free.weight_sum']
    """
    decay = [] if is_zero(weight_decay) else [add_decayed_weights(weight_decay)]
    return schedule_free(
        chain(*decay, scale_by_learning_rate(learning_rate)), learning_rate, beta1, weight_lr_power
    )
