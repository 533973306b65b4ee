"""Implicit differentiation of an inner optimum: hypergradients without unrolling the training."""

import functools
import operator
from collections.abc import Sequence
from typing import cast

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Variable
from pytensor.scan.utils import until
from pytensor.tensor.variable import TensorVariable

__all__ = ["implicit_gradient"]


def implicit_gradient(
    outer_loss: Variable,
    inner_loss: Variable,
    params: Sequence[SharedVariable],
    hyperparams: Sequence[Variable],
    *,
    tol: float = 1e-12,
    max_iter: int | None = None,
    damping: float = 0.0,
) -> list[TensorVariable]:
    r"""The gradient of ``outer_loss`` with respect to ``hyperparams`` at an optimum of ``inner_loss``.

    If the current values ``w*`` of ``params`` minimize ``inner_loss(w, lambda)`` (its gradient in ``w`` is
    0), the implicit function theorem gives ``d w* / d lambda = -H^{-1} d^2 inner / dw dlambda`` with
    ``H = d^2 inner / dw^2``, so

    .. math::

        \frac{d\,\mathrm{outer}}{d\lambda} = \frac{\partial\,\mathrm{outer}}{\partial\lambda}
        - \frac{\partial}{\partial\lambda}\left(v \cdot \nabla_w \mathrm{inner}\right),
        \qquad (H + \mathrm{damping}\, I)\, v = \nabla_w \mathrm{outer},

    with ``v`` held constant in the second derivative. ``v`` is found by conjugate gradients, a symbolic
    loop (``scan``) whose every iteration is one exact Hessian-vector product ``grad(grad_w inner . p)``:
    the Hessian is never formed.

    Parameters
    ----------
    outer_loss : scalar TensorVariable
        The objective of the hyper-parameters (a validation loss), a graph of ``params`` and possibly of
        ``hyperparams``.
    inner_loss : scalar TensorVariable
        The training objective that ``params`` minimize, a graph of ``params`` and ``hyperparams``.
    params : list of SharedVariable
        Holding the inner optimum ``w*`` (e.g. after training with any rule).
    hyperparams : list of TensorVariable
        The variables to differentiate with respect to (symbolic scalars or tensors, shared variables).
    tol : float, keyword-only
        Conjugate gradients stop when the residual norm is at most ``tol`` times that of
        ``grad_w outer``.
    max_iter : int, optional, keyword-only
        At most this many iterations (default: the total number of values in ``params``, after which
        exact conjugate gradients have converged).
    damping : float, keyword-only
        Added to the Hessian's diagonal (Tikhonov), for a Hessian that is only positive semi-definite.

    Returns
    -------
    list of TensorVariable
        One gradient per hyper-parameter, of its shape.

    Notes
    -----
    Exact only at a stationary point of ``inner_loss`` with a positive definite Hessian (conjugate
    gradients need it); away from the optimum it is the usual approximation of implicit-differentiation
    hyper-parameter methods. The cost is that of the iterations' Hessian-vector products, independent of
    how many steps training took, and memory does not grow with them, unlike ``unroll``. As TorchOpt's
    ``implicit_diff.custom_root`` with its conjugate-gradient solver, and JAXopt's ``implicit_diff``.

    References
    ----------
    Pedregosa (2016), Hyperparameter optimization with approximate gradient, ICML, arXiv:1602.02355.
    Lorraine, Vicol and Duvenaud (2020), Optimizing millions of hyperparameters by implicit
    differentiation, AISTATS, arXiv:1911.02590.

    Examples
    --------
    >>> import numpy as np, pytensor, pytensor.tensor as pt, symupdates as su
    >>> lam = pt.dscalar("lam")
    >>> w = pytensor.shared(np.array([2.0 / 3.0]), name="w")   # argmin (w - 2)^2 / 2 + lam w^2 / 2 at lam=2
    >>> inner = 0.5 * ((w - 2.0) ** 2).sum() + 0.5 * lam * (w ** 2).sum()
    >>> (g,) = su.implicit_gradient((w ** 2).sum(), inner, [w], [lam])
    >>> round(float(g.eval({lam: 2.0})), 12)       # d/dlam (2 / (1 + lam))^2 = -8 / (1 + lam)^3
    -0.296296296296
    """
    params = list(params)
    hyperparams = list(hyperparams)
    for name, loss in [("outer_loss", outer_loss), ("inner_loss", inner_loss)]:
        if not isinstance(loss, Variable) or pt.as_tensor_variable(loss).ndim != 0:
            raise ValueError(f"{name} must be a scalar symbolic variable")
    if not params or not all(isinstance(p, SharedVariable) for p in params):
        raise TypeError("params must be a non-empty list of shared variables")
    if not hyperparams or not all(isinstance(h, Variable) for h in hyperparams):
        raise TypeError("hyperparams must be a non-empty list of symbolic variables")
    size = sum(int(np.prod(p.get_value(borrow=True).shape)) for p in params)
    max_iter = size if max_iter is None else max_iter
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        raise ValueError(f"max_iter must be an int >= 1, got {max_iter!r}")

    inner_grads = _grads(inner_loss, params)
    outer_grads = _grads(outer_loss, params)
    v = conjugate_gradients(inner_grads, params, outer_grads, tol=tol, max_iter=max_iter, damping=damping)
    v = [pytensor.gradient.disconnected_grad(vi) for vi in v]
    mixed = _dot(inner_grads, v)
    return [d - t for d, t in zip(_grads(outer_loss, hyperparams), _grads(mixed, hyperparams), strict=True)]


def _grads(cost: Variable, wrt: Sequence[Variable]) -> list[TensorVariable]:
    """``pytensor.grad`` of ``cost`` for each of ``wrt``, zero where it does not depend on it."""
    grads = pytensor.grad(cost, wrt, disconnected_inputs="ignore", return_disconnected="zero")
    return list(cast(Sequence[TensorVariable], grads))


def _dot(xs: Sequence[TensorVariable], ys: Sequence[TensorVariable]) -> TensorVariable:
    return functools.reduce(operator.add, [(x * y).sum() for x, y in zip(xs, ys, strict=True)])


def conjugate_gradients(
    grads: Sequence[TensorVariable],
    params: Sequence[Variable],
    rhs: Sequence[TensorVariable],
    *,
    tol: float,
    max_iter: int,
    damping: float = 0.0,
) -> list[TensorVariable]:
    """``v`` with ``(H + damping I) v = rhs``, ``H`` the Jacobian of ``grads`` in ``params`` (a Hessian),
    by conjugate gradients in a ``scan`` of at most ``max_iter`` iterations (one Hessian-vector product
    each), stopping when ``||r|| <= tol ||rhs||``."""
    n = len(params)

    def hvp(p: Sequence[TensorVariable]) -> list[TensorVariable]:
        products = _grads(_dot(grads, p), params)
        return [hp + damping * pi for hp, pi in zip(products, p, strict=True)] if damping else products

    rhs = [pt.as_tensor_variable(b) for b in rhs]
    threshold = tol**2 * _dot(rhs, rhs)

    def iteration(*carried: TensorVariable) -> tuple[list[TensorVariable], until]:
        x, r, p, rs = carried[:n], carried[n : 2 * n], carried[2 * n : 3 * n], carried[3 * n]
        hp = hvp(p)
        # A zero right-hand side is solved by x = 0 (rather than by 0 / 0).
        alpha = pt.switch(pt.eq(rs, 0), 0.0, rs / _dot(p, hp))
        x_new = [xi + alpha * pi for xi, pi in zip(x, p, strict=True)]
        r_new = [ri - alpha * hi for ri, hi in zip(r, hp, strict=True)]
        rs_new = _dot(r_new, r_new)
        ratio = pt.switch(pt.eq(rs, 0), 0.0, rs_new / rs)
        p_new = [ri + ratio * pi for ri, pi in zip(r_new, p, strict=True)]
        return [*x_new, *r_new, *p_new, rs_new], until(rs_new <= threshold)

    results = pytensor.scan(
        iteration,
        outputs_info=[*(pt.zeros_like(b) for b in rhs), *rhs, *rhs, _dot(rhs, rhs)],
        n_steps=max_iter,
        return_updates=False,
    )
    return [x[-1] for x in results[:n]]
