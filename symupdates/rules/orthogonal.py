"""Orthogonalized updates: Muon, which replaces each matrix step by a nearby (semi-)orthogonal matrix computed
with a Newton-Schulz iteration.

Muon is for the 2-D weights of hidden layers; biases, gains, embeddings and output layers go to another rule,
e.g. with ``multi_transform`` (see ``muon``'s docstring).
"""

import math
from typing import Any

import pytensor.tensor as pt

from ..core.builder import Builder
from ..core.hyperparams import NONNEGATIVE, UNIT_INTERVAL, check_hyper, typed
from ..core.transform import (
    Build,
    Hyper,
    Transform,
    add_decayed_weights,
    chain,
    rule,
    scale_by_learning_rate,
    transform,
)
from ..core.updates import Updates

__all__ = ["newton_schulz", "scale_by_muon", "muon"]

MUON_COEFFICIENTS = (3.4445, -4.775, 2.0315)
ADJUST_LR_FNS = {
    "original": lambda rows, cols: math.sqrt(max(1.0, rows / cols)),
    "match_rms_adamw": lambda rows, cols: 0.2 * math.sqrt(max(rows, cols)),
}


def newton_schulz(
    matrix: Any,
    coefficients: Any = MUON_COEFFICIENTS,
    steps: int = 5,
    epsilon: Any = 1e-7,
    *,
    transpose: Any = None,
) -> Any:
    """The quintic Newton-Schulz iteration of Muon: an approximate ``U V^T`` of ``matrix = U S V^T``.

    ``X_0 = M / max(||M||_F, epsilon)`` (``M`` transposed first if it has more rows than columns); then
    ``steps`` times ``A = X X^T``; ``X <- a X + (b A + c A A) X``; transposed back.

    Parameters
    ----------
    matrix : 2-D TensorVariable
    coefficients : tuple of 3 floats
        ``(a, b, c)``; Keller Jordan's ``(3.4445, -4.775, 2.0315)`` push the singular values into roughly
        [0.7, 1.2] in 5 steps rather than to exactly 1.
    steps : int
    epsilon : float
    transpose : bool, optional
        Whether the matrix has more rows than columns; read from its static or current shape by default.

    Returns
    -------
    TensorVariable
        Of ``matrix``'s shape and dtype: the iteration runs in that dtype.

    Examples
    --------
    >>> import numpy as np, pytensor.tensor as pt
    >>> m = pt.as_tensor_variable(np.array([[3.0, 1.0, 0.0], [0.0, 0.5, 0.0]]))
    >>> np.linalg.svd(m.eval(), compute_uv=False).round(2)
    array([3.17, 0.47])
    >>> np.linalg.svd(newton_schulz(m).eval(), compute_uv=False).round(2)
    array([0.91, 0.71])
    """
    a, b, c = (typed(x, matrix.dtype) for x in coefficients)
    x = matrix.T if transpose else matrix
    x = x / pt.maximum(pt.sqrt(pt.sum(x**2)), typed(epsilon, matrix.dtype))
    for _ in range(steps):
        gram = x @ x.T
        x = a * x + (b * gram + c * (gram @ gram)) @ x
    return x.T if transpose else x


def _check_muon(nesterov: Any, ns_coefficients: Any, ns_steps: Any, adjust_lr_fn: Any) -> Any:
    """The checks of muon's arguments that are not numeric hyper-parameters."""
    if not isinstance(nesterov, bool):
        raise TypeError(f"nesterov must be a bool, got {nesterov!r}")
    if isinstance(ns_coefficients, str) or len(ns_coefficients) != 3:
        raise ValueError(f"ns_coefficients must be three numbers (a, b, c), got {ns_coefficients!r}")
    for x in ns_coefficients:
        check_hyper(x, "ns_coefficients")
    if not isinstance(ns_steps, int) or isinstance(ns_steps, bool) or not 0 <= ns_steps < 100:
        raise ValueError(f"ns_steps must be an int in [0, 100), got {ns_steps!r}")
    if adjust_lr_fn is not None and adjust_lr_fn not in ADJUST_LR_FNS:
        raise ValueError(f"adjust_lr_fn must be None, 'original' or 'match_rms_adamw', got {adjust_lr_fn!r}")


MUON_DOMAINS = {"momentum": UNIT_INTERVAL, "epsilon": NONNEGATIVE}


@transform(momentum=UNIT_INTERVAL, epsilon=NONNEGATIVE)
def scale_by_muon(
    momentum: Hyper = 0.95,
    nesterov: bool = True,
    ns_coefficients: Any = MUON_COEFFICIENTS,
    epsilon: Hyper = 1e-7,
    ns_steps: int = 5,
    adjust_lr_fn: str | None = None,
    *,
    name: str = "muon",
) -> Build:
    """Muon's scaling: momentum, then orthogonalization by Newton-Schulz, then a shape-dependent factor.

    ``B' = momentum * B + (1 - momentum) * g``; ``U = (1 - momentum) * g + momentum * B'`` with Nesterov,
    else ``U = B'``; ``s' = r * NS(U)`` (``newton_schulz`` with ``ns_coefficients``, ``ns_steps``,
    ``epsilon``), where for a param of shape ``(A, B)``, ``r = sqrt(max(1, A / B))`` (``adjust_lr_fn``
    None or "original") or ``r = 0.2 * sqrt(max(A, B))`` ("match_rms_adamw").

    Parameters
    ----------
    momentum : float or symbolic scalar
    nesterov : bool
    ns_coefficients : tuple of 3 floats
    epsilon : float, >= 0
        Lower bound of the Frobenius norm the momentum is divided by.
    ns_steps : int in [0, 100)
    adjust_lr_fn : {None, "original", "match_rms_adamw"}
    name : str
        The tag in state names: ``"<param>.<name>.momentum"``.

    Returns
    -------
    Transform

    Raises
    ------
    ValueError
        When applied to a param that is not 2-D.

    Notes
    -----
    torch's momentum buffer is this exponential average (``buf.lerp_(grad, 1 - momentum)``; the
    equations in torch's docstring omit the ``1 - momentum``, its code has it). torch runs Newton-Schulz
    in bfloat16 whatever the param's dtype; here it runs in the param's dtype (float32 or float64).

    Examples
    --------
    >>> import symupdates as su
    >>> su.scale_by_muon()  # doctest: +NORMALIZE_WHITESPACE
    scale_by_muon(momentum=0.95, nesterov=True, ns_coefficients=(3.4445, -4.775, 2.0315), epsilon=1e-07,
    ns_steps=5, adjust_lr_fn=None)
    """
    _check_muon(nesterov, ns_coefficients, ns_steps, adjust_lr_fn)
    adjust = ADJUST_LR_FNS[adjust_lr_fn or "original"]

    def build(steps: Any, builder: Builder) -> list[Any]:
        momentum_now, epsilon_now = (builder.resolve(x) for x in (momentum, epsilon))
        out = []
        for i, (g, p) in enumerate(zip(steps, builder.params, strict=True)):
            if p.ndim != 2:
                raise ValueError(
                    f"muon only updates 2-D params, got params[{i}] ({builder.keys[i]}) of ndim {p.ndim}; "
                    "route the others to another rule with multi_transform"
                )
            rows, cols = p.get_value(borrow=True).shape
            mu, one = typed(momentum_now, p.dtype), typed(1, p.dtype)
            buffer = builder.slot(i, name, "momentum")
            buffer_new = mu * buffer + (one - mu) * g
            builder.set(buffer, buffer_new)
            direction = (one - mu) * g + mu * buffer_new if nesterov else buffer_new
            ortho = newton_schulz(direction, ns_coefficients, ns_steps, epsilon_now, transpose=rows > cols)
            out.append(typed(adjust(rows, cols), p.dtype) * ortho)
        return out

    return build


@rule(learning_rate=NONNEGATIVE, weight_decay=NONNEGATIVE, **MUON_DOMAINS)
def muon(
    loss_or_grads: Any = None,
    params: Any = None,
    learning_rate: Hyper = 1e-3,
    weight_decay: Hyper = 0.1,
    momentum: Hyper = 0.95,
    nesterov: bool = True,
    ns_coefficients: Any = MUON_COEFFICIENTS,
    epsilon: Hyper = 1e-7,
    ns_steps: int = 5,
    adjust_lr_fn: str | None = None,
) -> Updates | Transform:
    """Muon: momentum orthogonalized by Newton-Schulz, for 2-D weights (torch.optim.Muon's algorithm).

    ``B' = momentum * B + (1 - momentum) * g``; ``U = (1 - momentum) * g + momentum * B'`` (Nesterov) or
    ``U = B'``; ``O = NS(U)`` (see ``newton_schulz``);
    ``p' = p - learning_rate * weight_decay * p - learning_rate * r * O`` with ``r = sqrt(max(1, A / B))``
    for a param of shape ``(A, B)`` (``adjust_lr_fn="match_rms_adamw"``: ``r = 0.2 * sqrt(max(A, B))``).

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
        A scalar loss, or one gradient expression per param.
    params : list of SharedVariable, optional
        The parameters to update. Omit both this and ``loss_or_grads`` to get the rule as a ``Transform``
        taking ``(loss_or_grads, params)``.
        Every param must be 2-D.
    learning_rate : float or symbolic scalar
    weight_decay : float or symbolic scalar
        Decoupled weight decay (multiplied by the learning rate, as torch's AdamW and Muon).
    momentum : float or symbolic scalar
    nesterov : bool
    ns_coefficients : tuple of 3 floats
    epsilon : float, >= 0
    ns_steps : int in [0, 100)
    adjust_lr_fn : {None, "original", "match_rms_adamw"}

    Returns
    -------
    Updates or Transform
        Key order ``B1, p1, B2, p2, ...``; the buffers are named ``"<param>.muon.momentum"``.

    Raises
    ------
    ValueError
        When a param is not 2-D (when the graph is built).

    Notes
    -----
    Defaults and numbers of ``torch.optim.Muon`` (torch 2.13), except that torch computes Newton-Schulz in
    bfloat16 (about 3 significant digits) whatever the param's dtype, while this runs it in the param's
    dtype: float64 params agree with torch's algorithm run in float64 to rounding, and with torch itself
    to bfloat16 precision (tests/integration/test_parity.py). optax.contrib.muon is a different rule
    (Adam-like scaling of the orthogonalized step, adam for non-2-D params).

    Other params (biases, gains, the output layer, embeddings) should use another rule; route them with
    ``multi_transform``::

        labels = ["muon" if p.ndim == 2 else "adamw" for p in params]
        rule = su.multi_transform({"muon": su.muon(learning_rate=0.02), "adamw": su.adamw()}, labels)
        updates = rule(loss, params)

    References
    ----------
    Jordan, Jin, Boza, You, Cesista, Newhouse and Bernstein (2024), Muon: An optimizer for hidden layers
    in neural networks, https://kellerjordan.github.io/posts/muon/. Liu et al. (2025), Muon is scalable for
    LLM training, arXiv:2502.16982 (``match_rms_adamw``).

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates as su
    >>> W = pytensor.shared(np.array([[1.0, 2.0], [3.0, 4.0]]), name="W")
    >>> [v.name for v in su.muon((W ** 2).sum(), [W], learning_rate=0.02)]
    ['W.muon.momentum', 'W']
    >>> b = pytensor.shared(np.zeros(2), name="b")
    >>> su.muon((b ** 2).sum(), [b])  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    ValueError: muon only updates 2-D params, got params[0] (b) of ndim 1; route the others to another rule
    with multi_transform
    """
    return chain(
        scale_by_muon(momentum, nesterov, ns_coefficients, epsilon, ns_steps, adjust_lr_fn),
        add_decayed_weights(weight_decay),
        scale_by_learning_rate(learning_rate),
    )
