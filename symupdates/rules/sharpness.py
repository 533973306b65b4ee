"""Sharpness-aware minimization: the gradient is taken again at the worst point of a small ball around the
params, within the same compiled step (the loss graph is cloned at the perturbed params)."""

from typing import Any, cast

import pytensor.tensor as pt
from pytensor.gradient import disconnected_grad
from pytensor.graph.replace import clone_replace

from ..core.builder import Builder
from ..core.hyperparams import NONNEGATIVE, typed
from ..core.transform import Build, Hyper, Transform, transform

__all__ = ["sam"]


@transform(rho=NONNEGATIVE, epsilon=NONNEGATIVE.numbers_only(), needs_loss=True)
def sam(inner: Transform, rho: Hyper = 0.05, adaptive: bool = False, *, epsilon: Hyper = 1e-12) -> Build:
    """Sharpness-aware minimization (SAM), or adaptive SAM (ASAM) with ``adaptive=True``, around ``inner``.

    With ``g`` the gradient at the params ``p`` (``T = |p|`` for ASAM, ``T = 1`` for SAM):
    ``e = rho * T^2 g / (||T g|| + epsilon)`` (``||.||`` over all params together);
    ``g_sam = grad L(p + e)``; then ``inner`` makes its step at ``p`` from ``g_sam``.

    Parameters
    ----------
    inner : Transform
        The rule taking the sharpness-aware gradient, e.g. ``su.sgd(learning_rate=0.1, momentum=0.9)``.
    rho : float or symbolic scalar, >= 0
        Radius of the neighbourhood (0.05 in the paper; ASAM uses larger values, e.g. 0.5 or 2).
    adaptive : bool
        ASAM: the ball is scaled elementwise by ``|p|``, which makes it invariant to rescaling weights.
    epsilon : float, keyword-only
        Added to the norm (as the reference implementations), so that a zero gradient stays a zero step.

    Returns
    -------
    Transform
        It needs the loss: apply it as ``rule(loss, params)`` (it raises on a list of gradients).

    Raises
    ------
    ValueError
        When applied to gradients instead of a loss.

    Notes
    -----
    One compiled step evaluates two gradients (the loss graph is cloned with ``p + e`` in place of ``p``,
    ``e`` held constant), as Foret et al.'s two forward-backward passes; the second one's cost is the
    price. Random inputs of the loss (dropout) are the same in both passes. Within ``chain`` the incoming
    steps (e.g. clipped gradients) set the direction of ``e``; the inner rule gets the raw gradient at
    ``p + e``. optax.contrib.sam is a different interface (alternating outer and inner steps).

    References
    ----------
    Foret, Kleiner, Mobahi and Neyshabur (2021), Sharpness-aware minimization for efficiently improving
    generalization, ICLR, arXiv:2010.01412. Kwon, Kim, Park and Choi (2021), ASAM: Adaptive
    sharpness-aware minimization for scale-invariant learning of deep neural networks, ICML,
    arXiv:2102.11600.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates as su
    >>> w = pytensor.shared(np.array([3.0, 4.0]), name="w")
    >>> rule = su.sam(su.sgd(learning_rate=0.1), rho=0.5)
    >>> step = pytensor.function([], [], updates=rule((w ** 2).sum(), [w]))
    >>> _ = step(); w.get_value()      # the gradient at w + 0.5 * w / 5 is 2.2 w
    array([2.34, 3.12])
    """
    if not isinstance(inner, Transform):
        raise TypeError(f"inner must be a Transform, got {type(inner).__name__}")
    if not isinstance(adaptive, bool):
        raise TypeError(f"adaptive must be a bool, got {adaptive!r}")

    def build(steps: Any, builder: Builder) -> list[Any]:
        rho_now = builder.resolve(rho)
        params = builder.params
        scales = [abs(p) if adaptive else None for p in params]
        scaled = [g if t is None else t * g for g, t in zip(steps, scales, strict=True)]
        norm = pt.sqrt(sum(pt.sum(pt.cast(s, "float64") ** 2) for s in scaled))
        factor = typed(rho_now, "float64") / (norm + epsilon)
        perturbations = [
            pt.cast(factor, p.dtype) * (s if t is None else t * s)
            for s, t, p in zip(scaled, scales, params, strict=True)
        ]
        perturbed_loss = clone_replace(
            builder.loss, {p: p + disconnected_grad(e) for p, e in zip(params, perturbations, strict=True)}
        )
        sharp_grads = [
            pt.cast(g, p.dtype)
            for g, p in zip(cast(list[Any], pt.grad(perturbed_loss, params)), params, strict=True)
        ]
        return inner.build(sharp_grads, builder)

    return build
