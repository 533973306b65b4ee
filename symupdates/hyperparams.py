"""Hyper-parameters: validated once when a rule is built, then typed per parameter dtype.

A hyper-parameter may be a Python or NumPy number, or a symbolic scalar (a shared variable changes the next
step without recompiling). Numbers become constants of the parameter's dtype and symbolic scalars are cast to
it, so a float32 network never computes in float64 and every update keeps its shared variable's type.
"""

import numbers

import numpy as np
import pytensor.tensor as pt
from pytensor.graph.basic import Variable

from .updates import active_builder

__all__ = ["Schedule", "check_hyper", "typed"]


class Schedule:
    """A hyper-parameter that changes with the step: ``fn(count)`` maps a float64 step count (0 at the
    first step) to a float64 scalar expression.

    Pass it wherever a rule or transform takes a hyper-parameter (``learning_rate=...``): the rule's
    updates then increment an int64 counter ``"schedule.t"``, and ``updates.monitors["learning_rate"]``
    is the value each step uses. ``schedule(count)`` evaluates it at any integer tensor (or number).

    Parameters
    ----------
    fn : callable
        ``fn(count) -> scalar expression``, elementwise in ``count`` (use ``pt.switch``, not ``if``).
    name : str
    config : dict, optional
        The hyper-parameters it was made with, shown by ``repr``.

    Examples
    --------
    >>> import numpy as np, symupdates as su
    >>> halving = su.Schedule(lambda t: 0.1 * 0.5 ** t, "halving")
    >>> halving(np.arange(3)).eval()
    array([0.1  , 0.05 , 0.025])
    """

    def __init__(self, fn, name, config=None):
        self.fn = fn
        self.name = name
        self.config = dict(config or {})

    def __call__(self, count):
        return self.fn(pt.cast(pt.as_tensor_variable(count), "float64"))

    def build(self, builder):
        """This step's value inside a rule being built (stateful schedules override this)."""
        return self(builder.schedule_count())

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.config.items())
        return f"{self.name}({args})"


def check_hyper(value, name, *, nonnegative=False, symbolic=True):
    """Validate a hyper-parameter and return it unchanged.

    Raises ``TypeError`` for anything that is not a real number, a real symbolic scalar or a ``Schedule``
    (strings, None, booleans, complex numbers) and ``ValueError`` for arrays or non-scalar expressions, and,
    with ``nonnegative=True``, for a negative or non-finite number. With ``symbolic=False`` only numbers are
    accepted: for values that fill optimizer state when it is created. The message names the argument.
    """
    if not symbolic and isinstance(value, Schedule | Variable):
        raise TypeError(f"{name} must be a number (it sets the initial optimizer state), got {value!r}")
    if isinstance(value, Schedule):
        return value
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
    """``value`` as a scalar of ``dtype``: a typed constant for numbers, a cast for symbolic scalars, and
    for a ``Schedule`` its value at this step in the rule being built."""
    if isinstance(value, Schedule):
        builder = active_builder()
        if builder is None:
            raise ValueError(f"the schedule {value!r} can only be used inside a transform or rule")
        value = builder.schedule_value(value)
    if isinstance(value, Variable):
        return value if value.dtype == dtype else pt.cast(value, dtype)
    return pt.constant(np.asarray(value, dtype=dtype))
