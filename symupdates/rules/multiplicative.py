"""Multiplicative updates for non-negative parameters, by splitting the gradient's graph into two parts.

Lee and Seung's NMF rules keep parameters non-negative without projections or step sizes: when a gradient
is ``g = P - N`` with ``P, N >= 0``, the update ``p' = p * (N / P)`` never leaves the non-negative orthant
and, for NMF's losses and the usual split, never increases the loss. Autodiff hands out ``g``, not ``P`` and
``N``; ``split_gradient`` rewrites PyTensor's symbolic gradient graph into the two parts, so
``multiplicative`` works from the loss alone::

    updates = symupdates.multiplicative(loss, [W, H], nonnegative=[X], alternating=True)
"""

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytensor.scalar as ps
import pytensor.scalar.math as psm
import pytensor.tensor as pt
from pytensor.graph.basic import Constant, Variable
from pytensor.graph.replace import clone_replace
from pytensor.tensor.basic import Alloc, Join, get_underlying_scalar_constant_value
from pytensor.tensor.blockwise import Blockwise
from pytensor.tensor.elemwise import CAReduce, DimShuffle, Elemwise
from pytensor.tensor.exceptions import NotScalarConstantError
from pytensor.tensor.math import Dot
from pytensor.tensor.shape import Reshape, Shape, Shape_i, SpecifyShape

from ..core.builder import UpdateBuilder
from ..core.compat import INC_SUBTENSOR_OPS, SUBTENSOR_OPS
from ..core.gradients import check_params, get_or_compute_grads, param_label
from ..core.hyperparams import NONNEGATIVE, typed
from ..core.transform import Hyper, rule
from ..core.updates import Updates

__all__ = ["SplitError", "split_gradient", "multiplicative"]


class SplitError(ValueError):
    """A gradient has no provable split into non-negative parts ``P - N``."""


# Elementwise ops whose output is >= 0 whatever their (real) input; sqrt is NaN or >= 0.
_NONNEGATIVE_OUTPUT = (ps.Sqr, ps.Exp, ps.Exp2, ps.Abs, ps.Sqrt, ps.Cosh, psm.Softplus, psm.Sigmoid, psm.Erfc)
# Elementwise ops that keep the sign of non-negative inputs (all of them must be >= 0).
_SIGN_PRESERVING = (ps.Add, ps.Mul, ps.TrueDiv, ps.Minimum, ps.Sign, ps.Cast, ps.Identity)
# Non-elementwise ops that are linear in the listed inputs (the others are shapes or indices).
_LINEAR: dict[type, tuple[int, ...]] = {
    DimShuffle: (0,),
    Reshape: (0,),
    SpecifyShape: (0,),
    Alloc: (0,),
    **{op: (0,) for op in SUBTENSOR_OPS},
    **{op: (0, 1) for op in INC_SUBTENSOR_OPS},
}


def _scalar_op(node: Any) -> Any:
    return node.op.scalar_op if isinstance(node.op, Elemwise) else None


def _is_sum(op: Any) -> Any:
    return isinstance(op, CAReduce) and isinstance(op.scalar_op, ps.Add)


def _is_matmul(op: Any) -> Any:
    return isinstance(op, Dot) or (isinstance(op, Blockwise) and isinstance(op.core_op, Dot))


def _linear_inputs(node: Any) -> Any:
    """Positions of the inputs ``node``'s output is (jointly) linear in, or None."""
    op = node.op
    if _is_sum(op):
        return (0,)
    if isinstance(op, Join):
        return tuple(range(1, len(node.inputs)))
    for kind, positions in _LINEAR.items():
        if isinstance(op, kind):
            return positions
    scalar = _scalar_op(node)
    if isinstance(scalar, ps.Cast | ps.Identity):
        return tuple(range(len(node.inputs)))
    if isinstance(scalar, ps.Second):
        return (1,)
    if isinstance(scalar, ps.Switch):
        return (1, 2)
    return None


def _exponent(node: Any) -> Any:
    """The constant exponent of a ``pow`` node, or None."""
    try:
        return float(get_underlying_scalar_constant_value(node.inputs[1]))
    except NotScalarConstantError:
        return None


class _Splitter:
    """Sign analysis and splitting of one gradient graph; both are memoized per variable."""

    def __init__(self, nonnegative: Any) -> None:
        self.declared = set(nonnegative)
        self.signs: dict[Any, Any] = {}
        self.parts: dict[Any, Any] = {}

    def nonnegative(self, v: Any) -> Any:
        """True when ``v >= 0`` elementwise follows from the declarations (False means "unknown")."""
        if v not in self.signs:
            self.signs[v] = self._nonnegative(v)
        return self.signs[v]

    def _nonnegative(self, v: Any) -> Any:
        if v in self.declared or np.dtype(v.dtype).kind in "bu":  # e.g. comparisons in max's gradient
            return True
        if isinstance(v, Constant):
            data = np.asarray(v.data)
            return data.dtype.kind in "biuf" and bool(np.all(data >= 0))
        node = v.owner
        if node is None:
            return False
        op, scalar = node.op, _scalar_op(node)
        if isinstance(op, Shape | Shape_i) or isinstance(scalar, _NONNEGATIVE_OUTPUT):
            return True
        if isinstance(scalar, ps.Pow):
            exponent = _exponent(node)
            even = exponent is not None and exponent % 2 == 0
            return even or self.nonnegative(node.inputs[0])
        if isinstance(scalar, ps.Maximum):
            return any(self.nonnegative(x) for x in node.inputs)
        if isinstance(scalar, _SIGN_PRESERVING) or _is_matmul(op) or isinstance(op, CAReduce):
            return all(self.nonnegative(x) for x in node.inputs)
        linear = _linear_inputs(node)
        return linear is not None and all(self.nonnegative(node.inputs[i]) for i in linear)

    def split(self, v: Any) -> Any:
        """``(P, N)`` with ``v == P - N`` and ``P, N >= 0``; ``None`` stands for an exact zero."""
        if v not in self.parts:
            self.parts[v] = self._split(v)
        return self.parts[v]

    def _split(self, v: Any) -> Any:
        if self.nonnegative(v):
            return (None, None) if _is_zero(v) else (v, None)
        if isinstance(v, Constant):
            data = np.asarray(v.data)
            dtype = v.type.dtype
            return _constant(np.maximum(data, 0), dtype), _constant(np.maximum(-data, 0), dtype)
        node = v.owner
        if node is None:
            raise SplitError(
                f"the gradient depends on {v.name or v}, which is not declared non-negative; add it to "
                "`nonnegative` if it is"
            )
        scalar = _scalar_op(node)
        if isinstance(scalar, ps.Neg):
            positive, negative = self.split(node.inputs[0])
            return negative, positive
        if isinstance(scalar, ps.Add):
            parts = [self.split(x) for x in node.inputs]
            return tuple(functools.reduce(_add, side) for side in zip(*parts, strict=True))
        if isinstance(scalar, ps.Sub):
            (p0, n0), (p1, n1) = self.split(node.inputs[0]), self.split(node.inputs[1])
            return _add(p0, n1), _add(n0, p1)
        if isinstance(scalar, ps.Mul):
            return self._product(pt.mul, node.inputs)
        if _is_matmul(node.op):
            return self._product(lambda a, b: node.op(a, b), node.inputs, like=node.inputs)
        if isinstance(scalar, ps.TrueDiv):
            numerator, denominator = node.inputs
            if isinstance(denominator, Constant):
                reciprocal = _constant(1 / np.asarray(denominator.data), v.dtype)
                return self._product(pt.mul, [numerator, reciprocal])
            if not self.nonnegative(denominator):
                raise SplitError(f"{node.op} divides by {denominator}, which may be negative")
            positive, negative = self.split(numerator)
            return _div(positive, denominator), _div(negative, denominator)
        if isinstance(scalar, ps.Pow) and _exponent(node) == 1:
            return self.split(node.inputs[0])
        linear = _linear_inputs(node)
        if linear is not None:
            return self._linear(node, v, linear)
        raise SplitError(
            f"{node.op} has no known sign for these inputs, so its output {v} cannot be split into "
            "non-negative parts; declare non-negative inputs in `nonnegative` or pass (P, N) pairs"
        )

    def _product(self, multiply: Any, factors: Any, like: Any = None) -> Any:
        """Split a product (elementwise or matrix) of factors: (P1 - N1)(P2 - N2) = (P1P2 + N1N2) - ..."""
        total = None
        for i, factor in enumerate(factors):
            p, n = self.split(factor)
            if like is not None:
                p, n = _like(p, like[i]), _like(n, like[i])
            if total is None:
                total = (p, n)
                continue
            tp, tn = total
            total = (
                _add(_apply(multiply, tp, p), _apply(multiply, tn, n)),
                _add(_apply(multiply, tp, n), _apply(multiply, tn, p)),
            )
        return total

    def _linear(self, node: Any, v: Any, positions: Any) -> Any:
        """Apply a linear op to the positive and to the negative parts of its linear inputs."""
        index = node.outputs.index(v)
        split = {i: self.split(node.inputs[i]) for i in positions}

        def rebuild(part: Any) -> Any:
            if all(split[i][part] is None for i in positions):
                return None
            inputs = list(node.inputs)
            for i in positions:
                x = node.inputs[i]
                inputs[i] = pt.zeros_like(x) if split[i][part] is None else _like(split[i][part], x)
            return node.op.make_node(*inputs).outputs[index]

        return rebuild(0), rebuild(1)


def _is_zero(v: Any) -> Any:
    return isinstance(v, Constant) and not np.any(np.asarray(v.data))


def _constant(data: Any, dtype: str) -> Any:
    data = np.asarray(data, dtype=dtype)
    return None if not data.any() else pt.constant(data)


def _add(a: Any, b: Any) -> Any:
    return b if a is None else a if b is None else a + b


def _apply(multiply: Any, a: Any, b: Any) -> Any:
    return None if a is None or b is None else multiply(a, b)


def _div(a: Any, b: Any) -> Any:
    return None if a is None else a / b


def _like(x: Any, ref: Any) -> Any:
    """``x`` with ``ref``'s dtype and broadcast pattern, for ops (sum, dot, dimshuffle) that need them."""
    if x is None:
        return None
    if x.dtype != ref.dtype:
        x = pt.cast(x, ref.dtype)
    if x.type.broadcastable != ref.type.broadcastable:
        x = pt.broadcast_to(x, ref.shape)
    return x


def _check_nonnegative(nonnegative: Any) -> Any:
    if isinstance(nonnegative, Variable) or not isinstance(nonnegative, list | tuple | set | frozenset):
        raise TypeError(
            f"nonnegative must be a list of variables, got {type(nonnegative).__name__}; wrap a single "
            "variable in a list"
        )
    nonnegative = list(nonnegative)
    for i, v in enumerate(nonnegative):
        if not isinstance(v, Variable):
            raise TypeError(f"nonnegative[{i}] must be a symbolic or shared variable, got {type(v).__name__}")
    return nonnegative


def split_gradient(expr: Any, nonnegative: Any = ()) -> Any:
    """Split a gradient expression into non-negative parts: ``expr == P - N`` with ``P, N >= 0``.

    The split is pushed through the graph bottom-up: a sub-expression that is provably ``>= 0`` (a declared
    variable, a non-negative constant, the output of ``sqr``, ``exp``, ``abs``, ``sqrt``, ``softplus``,
    ``sigmoid``, an even power, and sums, products, quotients, matrix products, reductions, reshapes and
    broadcasts of such) is its own positive part; then

    * ``-a = N_a - P_a``; ``a + b = (P_a + P_b) - (N_a + N_b)``; ``a - b = (P_a + N_b) - (N_a + P_b)``;
    * ``a * b`` and ``a @ b``: ``(P_a P_b + N_a N_b) - (P_a N_b + N_a P_b)``;
    * ``a / d`` with ``d >= 0``: ``P_a / d - N_a / d``; a constant ``d`` of any sign is a factor ``1/d``;
    * ``a ** 1`` (PyTensor's gradient of a square), constants by sign (``c = max(c, 0) - max(-c, 0)``);
    * linear ops (``sum``, ``dimshuffle``/transpose, ``reshape``, ``alloc``, ``second``/fill, indexing,
      ``join``, ``switch``, casts) apply to each part separately.

    Exact zeros are dropped rather than added or multiplied.

    Parameters
    ----------
    expr : TensorVariable
        The expression to split, usually ``pytensor.grad(loss, p)``.
    nonnegative : list of Variable
        Variables (shared or symbolic inputs) known to be ``>= 0``: the parameters being optimized and,
        typically, the data.

    Returns
    -------
    (P, N) : tuple of TensorVariable
        Of ``expr``'s dtype and shape. ``P - N`` equals ``expr`` algebraically and both are ``>= 0``
        elementwise whenever the ``nonnegative`` variables are.

    Raises
    ------
    SplitError
        A ``ValueError`` naming the op that has no provable sign: a sign-indefinite op such as ``log`` or
        ``sin`` of a non-constant expression, a division by something that may be negative, an odd power
        other than 1, or a variable that is not declared non-negative.

    Notes
    -----
    The graph walked is the gradient's, not the loss's. Walking the loss would mean differentiating it
    again with our own rules for every op; PyTensor's gradients of common losses are made of a small set of
    ops (add, mul, neg, true_div, matmul, sum, dimshuffle, second, pow by a constant), and the
    sign-indefinite ops of a loss often vanish on differentiation (``log(W @ H)`` becomes a division by
    ``W @ H``), or only appear inside ``second(loss, 1.0)``, which depends on the loss through its shape only.
    It also lets gradients supplied by hand be split.

    The split is not unique (adding the same term to ``P`` and ``N`` keeps ``P - N``); this one is the
    "natural" split of the textbook NMF rules: for ``0.5 * ||X - W H||^2`` it gives
    ``P = W H H^T`` and ``N = X H^T`` (up to the constant factor PyTensor leaves in both). PyTorch and JAX
    offer nothing equivalent: eager autodiff never has the gradient's graph.

    References
    ----------
    Lee and Seung (2001), Algorithms for non-negative matrix factorization, NIPS 13.

    Examples
    --------
    >>> import numpy as np, pytensor, pytensor.tensor as pt
    >>> from symupdates import split_gradient
    >>> w = pytensor.shared(np.array([1.0, 2.0]), name="w")
    >>> x = pt.vector("x")
    >>> P, N = split_gradient(pytensor.grad(0.5 * ((x - w) ** 2).sum(), w), nonnegative=[w, x])
    >>> pytensor.function([x], [P, N])(np.array([3.0, 1.0]))
    [array([1., 2.]), array([3., 1.])]
    """
    expr = pt.as_tensor_variable(expr)
    splitter = _Splitter(_check_nonnegative(nonnegative))
    return tuple(pt.zeros_like(expr) if part is None else _like(part, expr) for part in splitter.split(expr))


@rule(power=NONNEGATIVE, epsilon=NONNEGATIVE)
def multiplicative(
    loss_or_grads: Any = None,
    params: Any = None,
    nonnegative: Any = (),
    power: Hyper = 1.0,
    epsilon: Hyper = 1e-12,
    alternating: bool = False,
) -> Updates | Callable[[Any, Any], Updates]:
    """Multiplicative updates for non-negative parameters (Lee and Seung's NMF rules, for any loss).

    With each gradient split as ``g = P - N`` (``P, N >= 0``, see ``split_gradient``):

    ``p' = p * ((N + epsilon) / (P + epsilon)) ** power``

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable, list of TensorVariable or list of (P, N) pairs, optional
        A scalar loss, one gradient expression per param (both are split), or one ``(P, N)`` pair of
        non-negative expressions per param, supplied by hand.
    params : list of SharedVariable, optional
        The parameters to update; they must hold non-negative values. Omit both this and
        ``loss_or_grads`` to get a callable taking ``(loss_or_grads, params)``.
    nonnegative : list of Variable
        Other variables known to be ``>= 0`` (data, fixed factors). The params are always declared.
    power : float or symbolic scalar, >= 0
        The exponent ``gamma``. 1 is Lee and Seung's rule; smaller values damp the step (Fevotte and
        Idier's 1 / (2 - beta) makes beta-divergence NMF monotone for beta < 1).
    epsilon : float or symbolic scalar, >= 0
        Added to both parts. It keeps ``0 / 0`` from turning a zero parameter (or a zero row of the data)
        into NaN, and with it a parameter at 0 stays at 0. The default 1e-12 is far below any entry of a
        gradient of well-scaled data, so each step matches the closed-form rule to about ``epsilon / N``
        relative; it is representable in float32 (unlike e.g. 1e-50) so float32 params use it too.
        Use 0 for the exact rule.
    alternating : bool
        If True, each param's update is computed with the params before it already replaced by their new
        values, as Lee and Seung's rules and their monotonicity theorem assume (update ``W`` with ``H``
        fixed, then ``H`` with the new ``W``), in one compiled function. If False (the default) all params
        are updated simultaneously from the current values.

    Returns
    -------
    Updates or callable
        ``{p1: p1', p2: p2', ...}`` (no optimizer state); with both first arguments omitted, a callable
        taking ``(loss_or_grads, params)``.

    Raises
    ------
    SplitError
        (a ``ValueError``) naming the param and the op when a gradient cannot be split.
    ValueError
        A param with negative entries (a multiplicative step cannot change the sign of an entry), and the
        errors of ``get_or_compute_grads``; ``TypeError`` for a ``nonnegative`` that is not a list of
        variables or a non-boolean ``alternating``.

    Notes
    -----
    Alternating updates can also be had with one compiled function per factor:
    ``multiplicative(loss, [W], nonnegative=[H, X])`` then ``multiplicative(loss, [H], nonnegative=[W, X])``.
    Simultaneous updates (``alternating=False`` with several factors) are a Jacobi-style step: each factor
    moves as if the others stayed where they were. Lee and Seung's auxiliary-function proof bounds the loss
    for one factor at a time, so it does not cover them: they still keep every param ``>= 0``, but for NMF
    both factors correct the same residual, ``W H`` overshoots, and the loss typically oscillates, rising
    at every other step (``tests/rules/test_multiplicative.py`` shows it). Use ``alternating=True`` for NMF.

    The rule only sees ``N / P``, so a positive scalar factor common to both parts leaves it unchanged (up
    to ``epsilon``): the 0.5 of ``0.5 * ||X - W H||^2``, or the ``1 / (2 ||X - W H||)`` the chain rule
    brings into the gradient of ``sqrt(||X - W H||^2)``; all three forms give Lee and Seung's rule.
    Penalties go where the textbook sparse-NMF rules put them: ``lam * W.sum()`` adds ``lam`` to ``P``,
    ``0.5 * lam * (W ** 2).sum()`` adds ``lam * W``.

    No other optimizer library offers this rule for arbitrary losses: lasagne, torch and optax have no
    multiplicative updates, and scikit-learn's ``NMF(solver="mu")`` hard-codes the beta-divergence splits.

    References
    ----------
    Lee and Seung (2001), Algorithms for non-negative matrix factorization, NIPS 13.
    Fevotte and Idier (2011), Algorithms for nonnegative matrix factorization with the beta-divergence,
    Neural Computation 23(9).

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((6, 5))
    >>> W = pytensor.shared(rng.random((6, 2)), name="W")
    >>> H = pytensor.shared(rng.random((2, 5)), name="H")
    >>> loss = 0.5 * ((X - W @ H) ** 2).sum()
    >>> step = pytensor.function([], loss, updates=symupdates.multiplicative(loss, [W, H], alternating=True))
    >>> losses = [float(step()) for _ in range(50)]
    >>> all(b <= a for a, b in zip(losses, losses[1:])), bool((W.get_value() >= 0).all())
    (True, True)
    """
    if not isinstance(alternating, bool):
        raise TypeError(f"alternating must be True or False, got {alternating!r}")
    nonnegative = _check_nonnegative(nonnegative)
    return functools.partial(
        _multiplicative_rule, nonnegative=nonnegative, power=power, epsilon=epsilon, alternating=alternating
    )


def _is_pairs(loss_or_grads: Any) -> Any:
    return isinstance(loss_or_grads, list | tuple) and all(
        isinstance(pair, list | tuple) for pair in loss_or_grads
    )


def _parts(loss_or_grads: Any, params: Any, nonnegative: Any) -> Any:
    """One ``(P, N)`` pair per param, each of its param's dtype."""
    if _is_pairs(loss_or_grads):
        for i, pair in enumerate(loss_or_grads):
            if len(pair) != 2:
                raise ValueError(f"loss_or_grads[{i}] must be a (P, N) pair, got {len(pair)} items")
        positives = get_or_compute_grads([P for P, _ in loss_or_grads], params)
        negatives = get_or_compute_grads([N for _, N in loss_or_grads], params)
        pairs = list(zip(positives, negatives, strict=True))
    else:
        grads = get_or_compute_grads(loss_or_grads, params)
        declared = list(params) + nonnegative
        pairs = []
        for i, g in enumerate(grads):
            try:
                pairs.append(split_gradient(g, declared))
            except SplitError as err:
                raise SplitError(f"cannot split the gradient of {param_label(params, i)}: {err}") from None
    return [
        tuple(_like(pt.as_tensor_variable(x), p) for x in pair) for pair, p in zip(pairs, params, strict=True)
    ]


def _multiplicative_rule(
    loss_or_grads: Any, params: Any, nonnegative: Any, power: Any, epsilon: Any, alternating: Any
) -> Any:
    params = check_params(params)
    pairs = _parts(loss_or_grads, params, nonnegative)
    for i, p in enumerate(params):
        if np.any(p.get_value(borrow=True) < 0):
            raise ValueError(
                f"{param_label(params, i)} has negative entries; multiplicative updates keep the sign of "
                "each entry, so parameters must start >= 0"
            )
    new_values: list[Any] = []
    for p, (positive, negative) in zip(params, pairs, strict=True):
        if alternating and new_values:
            positive, negative = clone_replace(
                [positive, negative],
                replace=dict(zip(params, new_values, strict=False)),  # the params updated so far
            )
        eps = typed(epsilon, p.dtype)
        ratio = (negative + eps) / (positive + eps)
        new_values.append(p * (ratio if _is_one(power) else ratio ** typed(power, p.dtype)))
    return UpdateBuilder(params).finish(new_values)


def _is_one(value: Any) -> Any:
    return not isinstance(value, Variable) and value == 1
