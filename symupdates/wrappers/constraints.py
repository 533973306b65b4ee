"""Norm constraints on weights or on steps, as in Lasagne."""

from collections.abc import Sequence

import pytensor.tensor as pt
from pytensor.graph.basic import Variable
from pytensor.tensor.variable import TensorVariable

from ..core.hyperparams import NONNEGATIVE, check_hyper, typed
from ..core.types import Scalar, TensorLike

__all__ = ["norm_constraint", "total_norm_constraint"]


def norm_constraint(
    tensor_var: TensorLike, max_norm: Scalar, norm_axes: Sequence[int] | None = None, epsilon: Scalar = 1e-7
) -> TensorVariable:
    """Rescale ``tensor_var`` so that its norm over ``norm_axes`` is at most ``max_norm``.

    ``n = sqrt(sum(x^2, axis=norm_axes, keepdims=True))``; ``x' = x * clip(n, 0, max_norm) / (epsilon + n)``

    Parameters
    ----------
    tensor_var : TensorVariable
        Typically a weight matrix or an updated weight (``updates[W]``).
    max_norm : float or symbolic scalar
    norm_axes : sequence of int, optional
        The axes to take the norm over. By default axis 0 for a 2-D tensor (each column of a dense
        layer's ``W``, i.e. each unit's incoming weights) and all axes but 0 for 3-, 4- and 5-D
        tensors (each convolution filter).
    epsilon : float, >= 0
        Keeps the division finite for a zero norm.

    Returns
    -------
    TensorVariable
        Of ``tensor_var``'s dtype.

    Raises
    ------
    ValueError
        "Unsupported tensor dimensionality" for any other ndim without ``norm_axes``.

    Notes
    -----
    As Lasagne, except that constants take ``tensor_var``'s dtype rather than ``floatX``.

    References
    ----------
    Srivastava et al. (2014), Dropout: A simple way to prevent neural networks from overfitting, JMLR 15,
    section 5.1 (max-norm regularization).

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> W = pytensor.shared(np.array([[3.0, 0.1], [4.0, 0.1]]), name="W")
    >>> np.round(symupdates.norm_constraint(W, 1.0).eval(), 4)
    array([[0.6, 0.1],
           [0.8, 0.1]])
    """
    tensor_var = pt.as_tensor_variable(tensor_var)
    check_hyper(max_norm, "max_norm")
    check_hyper(epsilon, "epsilon", NONNEGATIVE)
    ndim = tensor_var.ndim
    if norm_axes is not None:
        sum_over = tuple(norm_axes)
    elif ndim == 2:
        sum_over = (0,)
    elif ndim in (3, 4, 5):
        sum_over = tuple(range(1, ndim))
    else:
        raise ValueError(f"Unsupported tensor dimensionality {ndim}. Must specify `norm_axes`")
    dtype = tensor_var.dtype
    norms = pt.sqrt(pt.sum(pt.sqr(tensor_var), axis=sum_over, keepdims=True))
    target_norms = pt.clip(norms, typed(0, dtype), typed(max_norm, dtype))
    return tensor_var * (target_norms / (typed(epsilon, dtype) + norms))


def total_norm_constraint(
    tensor_vars: Sequence[TensorLike], max_norm: Scalar, epsilon: Scalar = 1e-7, return_norm: bool = False
) -> list[TensorVariable] | tuple[list[TensorVariable], TensorVariable]:
    """Rescale a list of tensors jointly so that their total norm is at most ``max_norm``.

    ``n = sqrt(sum_i sum(x_i^2))``; ``x_i' = x_i * clip(n, 0, max_norm) / (epsilon + n)``

    Parameters
    ----------
    tensor_vars : list of TensorVariable
        Typically the gradients, before they go to an update rule (gradient clipping).
    max_norm : float or symbolic scalar
    epsilon : float, >= 0
    return_norm : bool
        Also return ``n``, the total norm before rescaling (for monitoring).

    Returns
    -------
    list of TensorVariable, or (list of TensorVariable, TensorVariable)
        Each rescaled tensor keeps its dtype.

    Notes
    -----
    As Lasagne; the norm is computed in the widest dtype among the tensors. ``clip_by_global_norm`` is
    the same operation as a transform.

    References
    ----------
    Pascanu, Mikolov and Bengio (2013), On the difficulty of training recurrent neural networks, ICML.

    Examples
    --------
    >>> import numpy as np, pytensor.tensor as pt, symupdates
    >>> a, b = pt.as_tensor(np.array([3.0])), pt.as_tensor(np.array([4.0]))
    >>> scaled, norm = symupdates.total_norm_constraint([a, b], 1.0, return_norm=True)
    >>> float(norm.eval()), np.round([s.eval()[0] for s in scaled], 4).tolist()
    (5.0, [0.6, 0.8])
    """
    if isinstance(tensor_vars, Variable) or not isinstance(tensor_vars, list | tuple) or not tensor_vars:
        raise TypeError("tensor_vars must be a non-empty list of tensor expressions")
    check_hyper(max_norm, "max_norm")
    check_hyper(epsilon, "epsilon", NONNEGATIVE)
    tensors = [pt.as_tensor_variable(t) for t in tensor_vars]
    norm = pt.sqrt(sum(pt.sum(t**2) for t in tensors))
    dtype = norm.dtype
    target_norm = pt.clip(norm, typed(0, dtype), typed(max_norm, dtype))
    multiplier = target_norm / (typed(epsilon, dtype) + norm)
    scaled = [t * pt.cast(multiplier, t.dtype) for t in tensors]
    return (scaled, norm) if return_norm else scaled
