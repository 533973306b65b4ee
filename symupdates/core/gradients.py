"""Gradients of a loss with respect to shared parameters, with the checks Lasagne lacked.

Everything here runs while the graph is built, so a mistake is reported with the name of the offending
argument before any optimizer state exists.
"""

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar, cast, overload

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Variable
from pytensor.graph.traversal import ancestors
from pytensor.tensor.sharedvar import TensorSharedVariable
from pytensor.tensor.variable import TensorVariable

from .types import TensorLike

__all__ = ["check_params", "get_or_compute_grads", "param_label"]


def param_label(params: Sequence[Any], index: int) -> str:
    """How error messages refer to ``params[index]``: its position and, when it has one, its name."""
    name = getattr(params[index], "name", None)
    return f"params[{index}] ({name!r})" if name else f"params[{index}]"


def check_params(params: Any) -> list[TensorSharedVariable]:
    """``params`` as a new list, checked: what every public entry point taking params calls first.

    Any iterable is accepted (a list, a tuple, a generator, ``map(...)``, ``iter(list)``) and read exactly
    once, here; the caller then uses only the returned list. An iterator read twice would be empty the
    second time, and the rule would silently update nothing.

    Parameters
    ----------
    params : iterable of SharedVariable

    Returns
    -------
    list of SharedVariable

    Raises
    ------
    TypeError
        ``params`` is not an iterable of variables, or holds a non-float variable.
    ValueError
        ``params`` is empty, holds something other than a shared variable, or a variable twice.

    Examples
    --------
    >>> import numpy as np, pytensor
    >>> from symupdates.core.gradients import check_params
    >>> w, b = pytensor.shared(np.ones((2, 2)), name="w"), pytensor.shared(np.ones(2), name="b")
    >>> check_params(p for p in [w, b])
    [w, b]
    >>> check_params([])
    Traceback (most recent call last):
    ...
    ValueError: params is empty: there is nothing to update; pass the shared variables to train
    """
    if isinstance(params, Variable | str) or not isinstance(params, Iterable):
        raise TypeError(
            f"params must be a list (or any iterable) of shared variables, got {type(params).__name__}"
        )
    params = list(params)
    if not params:
        raise ValueError("params is empty: there is nothing to update; pass the shared variables to train")
    for i, p in enumerate(params):
        if not isinstance(p, SharedVariable):
            raise ValueError(
                f"params must contain shared variables only, but {param_label(params, i)} is a "
                f"{type(p).__name__}. If it contains arbitrary parameter expressions, collect the shared "
                "variables they depend on instead."
            )
        dtype = np.dtype(p.dtype)  # type: ignore[attr-defined]  # a shared variable of a tensor type
        if dtype.kind != "f":
            raise TypeError(
                f"{param_label(params, i)} has dtype {dtype}; only floating-point shared variables can "
                "be optimized"
            )
        if dtype == np.float16:
            raise TypeError(
                f"{param_label(params, i)} has dtype float16, which symupdates does not optimize: NUMBA, "
                "PyTensor's default backend, cannot compile float16, and in float16 the rules' epsilons "
                "(1e-8) are 0 and small squared gradients underflow to 0 (adam would divide 0 by 0). Keep "
                "the param in float32, as mixed-precision training keeps float32 master weights"
            )
    seen = set()
    for i, p in enumerate(params):
        if p in seen:
            raise ValueError(f"{param_label(params, i)} appears more than once in params")
        seen.add(p)
    return cast(list[TensorSharedVariable], params)


def _check_loss(loss: Any, params: list[TensorSharedVariable]) -> TensorVariable:
    if not isinstance(loss, Variable):
        try:
            loss = pt.as_tensor_variable(loss)
        except Exception as err:
            raise TypeError(
                "loss_or_grads must be a scalar loss expression or a list of gradient expressions, "
                f"got {type(loss).__name__}"
            ) from err
    if getattr(loss, "ndim", None) != 0:
        raise ValueError(
            "loss_or_grads must be a scalar loss (ndim 0) or a list of gradient expressions, got an "
            f"expression with ndim {getattr(loss, 'ndim', '?')}; reduce it, e.g. with .mean()"
        )
    if np.dtype(loss.dtype).kind != "f":
        raise TypeError(f"loss_or_grads must be a floating-point loss, got dtype {loss.dtype}")
    reachable = set(ancestors([loss]))
    for i, p in enumerate(params):
        if p not in reachable:
            raise ValueError(
                f"the loss does not depend on {param_label(params, i)}; remove it from params or "
                "pass gradients explicitly"
            )
    return loss


def _check_grads(grads: Sequence[TensorLike], params: list[TensorSharedVariable]) -> list[TensorVariable]:
    checked = []
    for i, (g, p) in enumerate(zip(grads, params, strict=True)):
        try:
            g = pt.as_tensor_variable(g)
        except Exception as err:
            raise TypeError(
                f"loss_or_grads[{i}] (the gradient of {param_label(params, i)}) is not a tensor "
                f"expression: {type(g).__name__}"
            ) from err
        if g.ndim != p.ndim:
            raise ValueError(
                f"loss_or_grads[{i}] has ndim {g.ndim} but {param_label(params, i)} has ndim {p.ndim}"
            )
        for gs, ps in zip(g.type.shape, p.type.shape, strict=True):
            if gs is not None and ps is not None and gs != ps:
                raise ValueError(
                    f"loss_or_grads[{i}] has static shape {g.type.shape} but {param_label(params, i)} "
                    f"has static shape {p.type.shape}"
                )
        checked.append(g)
    return checked


Grads = TypeVar("Grads", bound=Sequence[TensorLike])


@overload
def get_or_compute_grads(
    loss_or_grads: Variable, params: Iterable[SharedVariable]
) -> list[TensorVariable]: ...
@overload
def get_or_compute_grads(loss_or_grads: Grads, params: Iterable[SharedVariable]) -> Grads: ...
def get_or_compute_grads(
    loss_or_grads: Variable | Sequence[TensorLike], params: Iterable[SharedVariable]
) -> list[TensorVariable] | Sequence[TensorLike]:
    """Return the gradients of a loss with respect to ``params``, or the given gradients unchanged.

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable
        A scalar loss to differentiate, or one gradient expression per parameter (a list or tuple).
    params : iterable of SharedVariable
        The floating-point shared variables to differentiate with respect to (a list, or any iterable,
        read once). Must not be empty.

    Returns
    -------
    list of TensorVariable
        ``pytensor.grad(loss, params)`` for a loss; for a list or tuple of gradients, that very object
        (after checking it), as Lasagne did.

    Raises
    ------
    ValueError
        Empty ``params``, a param that is not a shared variable (Lasagne's message), a list whose length
        differs from ``params`` ("Got 2 gradient expressions for 1 parameters"), a loss that is not a
        scalar, a param the loss does not depend on, or a gradient whose ndim differs from its param's.
    TypeError
        An integer, boolean or float16 param, or a loss / gradient that is not a tensor expression.

    Notes
    -----
    Lasagne only checked that params were shared variables. The extra checks here (scalar loss,
    connected params, float params) turn PyTensor's deep tracebacks into one message naming the argument.

    References
    ----------
    Lasagne, ``lasagne.updates.get_or_compute_grads``.

    Examples
    --------
    >>> import numpy as np, pytensor, pytensor.tensor as pt
    >>> from symupdates import get_or_compute_grads
    >>> w = pytensor.shared(np.ones(3), name="w")
    >>> [g] = get_or_compute_grads((w ** 2).sum(), [w])
    >>> g.eval()
    array([2., 2., 2.])
    """
    params = check_params(params)
    if isinstance(loss_or_grads, list | tuple):
        if len(loss_or_grads) != len(params):
            raise ValueError(f"Got {len(loss_or_grads)} gradient expressions for {len(params)} parameters")
        _check_grads(loss_or_grads, params)
        return loss_or_grads
    loss = _check_loss(loss_or_grads, params)
    return cast(list[TensorVariable], pytensor.grad(loss, params))
