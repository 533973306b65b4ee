"""Hyper-parameters: validated once when a rule is built, then typed per parameter dtype.

A hyper-parameter may be a Python or NumPy number, or a symbolic scalar (a shared variable changes the next
step without recompiling). Numbers become constants of the parameter's dtype and symbolic scalars are cast to
it, so a float32 network never computes in float64 and every update keeps its shared variable's type.
"""

import numbers

import numpy as np
import pytensor.tensor as pt
from pytensor.graph.basic import Variable

__all__ = ["check_hyper", "typed"]


def check_hyper(value, name, *, nonnegative=False):
    """Validate a hyper-parameter and return it unchanged.

    Raises ``TypeError`` for anything that is not a real number or a real symbolic scalar (strings, None,
    booleans, complex numbers) and ``ValueError`` for arrays or non-scalar expressions, and, with
    ``nonnegative=True``, for a negative or non-finite number. The message names the argument.
    """
    if isinstance(value, Variable):
        if getattr(value, "ndim", None) != 0:
            raise ValueError(
                f"{name} must be a scalar, got a symbolic expression with ndim {getattr(value, 'ndim', '?')}"
            )
        if np.dtype(value.dtype).kind not in "fiu":
            raise TypeError(f"{name} must be a real scalar, got a symbolic scalar of dtype {value.dtype}")
        return value
    if isinstance(value, bool | np.bool_) or value is None or isinstance(value, str | bytes):
        raise TypeError(f"{name} must be a number or a symbolic scalar, got {value!r}")
    if isinstance(value, np.ndarray):
        if value.ndim != 0:
            raise ValueError(f"{name} must be a scalar, got an array of shape {value.shape}")
        value = value[()]
    if not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number or a symbolic scalar, got {type(value).__name__}")
    if nonnegative and not (np.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return value


def typed(value, dtype):
    """``value`` as a scalar of ``dtype``: a typed constant for numbers, a cast for symbolic scalars."""
    if isinstance(value, Variable):
        return value if value.dtype == dtype else pt.cast(value, dtype)
    return pt.constant(np.asarray(value, dtype=dtype))
