"""Adagrad and its variants: the root of the sum of all squared gradients (``scale_by_rss``, ``adagrad``),
of the last ``n_win`` (``scale_by_window_rss``, PyMC's ``adagrad_window``), and torch's learning-rate decay
(``scale_by_inverse_time``).
"""

from typing import Any

import pytensor.tensor as pt

from ..core.builder import Builder
from ..core.hyperparams import NONNEGATIVE, typed
from ..core.transform import Build, Hyper, Transform, chain, is_zero, rule, scale_by_learning_rate, transform
from ..core.updates import Updates
from .common import ascent, check_placement, per_param, root

__all__ = [
    "scale_by_rss",
    "scale_by_inverse_time",
    "adagrad",
    "scale_by_window_rss",
    "adagrad_window",
]


@transform(epsilon=NONNEGATIVE, initial_accumulator_value=NONNEGATIVE.numbers_only(), rowwise="exact")
def scale_by_rss(
    epsilon: Hyper = 1e-6,
    *,
    initial_accumulator_value: float = 0.0,
    epsilon_placement: str = "inside",
    name: str = "adagrad",
) -> Build:
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

    def build(steps: list[Any], builder: Builder) -> list[Any]:
        eps = builder.resolve(epsilon)

        def step(i: int, g: Any, dt: str) -> Any:
            accu = builder.slot(i, name, "accu", value=initial_accumulator_value)
            accu_new = accu + g**2
            builder.set(accu, accu_new)
            return g / root(accu_new, typed(eps, dt), epsilon_placement)

        return per_param(steps, builder, step)

    return build


@transform(decay=NONNEGATIVE, rowwise="exact")
def scale_by_inverse_time(decay: Hyper, *, name: str = "lr_decay") -> Build:
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

    def build(steps: list[Any], builder: Builder) -> list[Any]:
        rate_decay = builder.resolve(decay)
        count, _ = builder.counter(name)

        def step(i: int, s: Any, dt: str) -> Any:
            one = typed(1, dt)
            return s * (one / (one + pt.cast(count, dt) * typed(rate_decay, dt)))

        return per_param(steps, builder, step)

    return build


@rule(
    learning_rate=NONNEGATIVE,
    epsilon=NONNEGATIVE,
    lr_decay=NONNEGATIVE,
    initial_accumulator_value=NONNEGATIVE.numbers_only(),
)
def adagrad(
    loss_or_grads: Any = None,
    params: Any = None,
    learning_rate: Hyper = 1.0,
    epsilon: Hyper = 1e-6,
    *,
    lr_decay: Hyper = 0.0,
    initial_accumulator_value: float = 0.0,
    epsilon_placement: str = "inside",
    maximize: bool = False,
) -> Updates | Transform:
    """Adagrad.

    ``a' = a + g^2``; ``p' = p - learning_rate * g / sqrt(a' + epsilon)``. With the keyword-only
    options: ``a`` starts at ``initial_accumulator_value``; at step ``t`` (1, 2, ...) the rate is
    ``learning_rate / (1 + (t - 1) * lr_decay)``; ``epsilon_placement="outside"`` uses
    ``g / (sqrt(a') + epsilon)``.

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
        A scalar loss, or one gradient expression per param.
    params : list of SharedVariable, optional
        The parameters to update. Omit both this and ``loss_or_grads`` to get the rule as a ``Transform``
        taking ``(loss_or_grads, params)``.
    learning_rate : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
        Added inside the square root.
    lr_decay : float or symbolic scalar, >= 0, keyword-only
        torch's learning-rate decay (0: none; otherwise an int64 counter ``"adagrad.t"`` is added).
    initial_accumulator_value : float >= 0, keyword-only
    epsilon_placement : {"inside", "outside"}, keyword-only
        See ``symupdates.EPSILON_PLACEMENTS``.
    maximize : bool, keyword-only
        Ascend the objective instead (torch's ``maximize``): the gradients are negated before anything else.

    Returns
    -------
    Updates or Transform
        Key order ``a1, p1, a2, p2, ...``; the accumulators are named ``"<param>.adagrad.accu"``.

    Notes
    -----
    The defaults are Lasagne's. torch's ``Adagrad(lr, lr_decay, eps=1e-10, initial_accumulator_value)``
    is ``adagrad(..., lr, epsilon=1e-10, lr_decay=..., initial_accumulator_value=...,
    epsilon_placement="outside")``; optax's ``adagrad(lr)`` is ``adagrad(..., lr, epsilon=1e-7,
    initial_accumulator_value=0.1)`` (see docs/optimizers.md, checked in tests/integration/test_parity.py).

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
    return chain(*ascent(maximize), scaling, *decay, scale_by_learning_rate(learning_rate))


@transform(epsilon=NONNEGATIVE)
def scale_by_window_rss(
    n_win: int = 10,
    epsilon: Hyper = 0.1,
    *,
    include_current_gradient: bool = True,
    name: str = "adagrad_window",
) -> Build:
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

    def build(steps: list[Any], builder: Builder) -> list[Any]:
        eps = builder.resolve(epsilon)

        def step(i: int, g: Any, dt: str) -> Any:
            window = builder.slot(i, name, "accu", extra_shape=(n_win,))
            index = builder.scalar(f"{builder.keys[i]}.{name}.index", 0, "int64", owner=i)
            window_new = pt.set_subtensor(window[..., index], g**2)
            builder.set(window, window_new)
            builder.set(index, pt.switch(index + 1 < n_win, index + 1, 0))
            normalised_by = window_new if include_current_gradient else window
            return g / pt.sqrt(normalised_by.sum(axis=-1, acc_dtype=dt) + typed(eps, dt))

        return per_param(steps, builder, step)

    return build


@rule(learning_rate=NONNEGATIVE, epsilon=NONNEGATIVE)
def adagrad_window(
    loss_or_grads: Any = None,
    params: Any = None,
    learning_rate: Hyper = 0.001,
    epsilon: Hyper = 0.1,
    n_win: int = 10,
    *,
    include_current_gradient: bool = True,
) -> Updates | Transform:
    """Adagrad over a window of the last ``n_win`` squared gradients (PyMC).

    ``w'[..., i] = g^2``; ``i' = (i + 1) mod n_win``;
    ``p' = p - learning_rate * g / sqrt(sum(w', axis=-1) + epsilon)``, or with
    ``include_current_gradient=False`` ``p' = p - learning_rate * g / sqrt(sum(w, axis=-1) + epsilon)``

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
        A scalar loss, or one gradient expression per param.
    params : list of SharedVariable, optional
        The parameters to update. Omit both this and ``loss_or_grads`` to get the rule as a ``Transform``
        taking ``(loss_or_grads, params)``.
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
