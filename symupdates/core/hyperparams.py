"""Hyper-parameters: validated once when a rule is built, then typed per parameter dtype.

A hyper-parameter may be a Python or NumPy number, a symbolic scalar (a shared variable changes the next step
without recompiling) or a ``Schedule``. Numbers are checked against the hyper-parameter's ``Domain`` (declared
with the rule, see ``symupdates.core.transform.transform``); symbolic values are not. Numbers become
constants of the parameter's dtype and symbolic scalars are cast to it, so a float32 network never computes
in float64 and every update keeps its shared variable's type. Schedules are resolved to symbolic scalars by
the transform that uses them, before ``typed`` sees them.
"""

import numbers
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pytensor.tensor as pt
from pytensor.graph.basic import Variable
from pytensor.tensor.variable import TensorVariable

if TYPE_CHECKING:
    from .types import Builder, Hyper

__all__ = ["Schedule", "Domain", "NONNEGATIVE", "POSITIVE", "UNIT_INTERVAL", "check_hyper", "typed"]


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

    def __init__(
        self,
        fn: Callable[[TensorVariable], TensorVariable] | None,
        name: str,
        config: dict[str, Any] | None = None,
    ) -> None:
        self.fn = fn
        self.name = name
        self.config = dict(config or {})

    def __call__(self, count: Any) -> TensorVariable:
        assert self.fn is not None, "a schedule without fn overrides __call__"
        return self.fn(pt.cast(pt.as_tensor_variable(count), "float64"))

    def build(self, builder: "Builder") -> TensorVariable:
        """This step's value inside a rule being built (stateful schedules override this)."""
        return self(builder.schedule_count())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config.items())
        return f"{self.name}({args})"


class Domain:
    """The numbers a hyper-parameter may take, e.g. ``UNIT_INTERVAL`` for a decay rate.

    Parameters
    ----------
    text : str
        How the error message says it, after "must be": ``"in [0, 1)"``.
    contains : callable
        ``contains(number) -> bool``.
    symbolic : bool
        False for values that fill optimizer state when it is created (an initial accumulator, rprop's first
        step size): they must be numbers, neither symbolic nor a ``Schedule``.
    """

    def __init__(self, text: str, contains: Callable[[Any], bool], *, symbolic: bool = True) -> None:
        self.text = text
        self.contains = contains
        self.symbolic = symbolic

    def numbers_only(self) -> "Domain":
        """The same domain, for a value that must be a number (it fills the initial state)."""
        return Domain(self.text, self.contains, symbolic=False)

    def __repr__(self) -> str:
        return f"Domain({self.text!r})"


REAL = Domain("a real number", lambda v: True)
NONNEGATIVE = Domain("a finite number >= 0", lambda v: np.isfinite(v) and v >= 0)
POSITIVE = Domain("a finite number > 0", lambda v: np.isfinite(v) and v > 0)
UNIT_INTERVAL = Domain("in [0, 1)", lambda v: 0 <= v < 1)


def check_hyper(value: Any, name: str, domain: Domain = REAL) -> Any:
    """Validate a hyper-parameter and return it unchanged.

    Raises ``TypeError`` for anything that is not a real number, a real symbolic scalar or a ``Schedule``
    (strings, None, booleans, complex numbers), ``ValueError`` for arrays or non-scalar expressions and for a
    number outside ``domain`` (a ``Domain``; symbolic values are not checked), and ``TypeError`` for a
    symbolic value or ``Schedule`` where ``domain.symbolic`` is False. The message names the argument.
    """
    if not domain.symbolic and isinstance(value, Schedule | Variable):
        raise TypeError(f"{name} must be a number (it sets the initial optimizer state), got {value!r}")
    if isinstance(value, Schedule):
        return value
    if isinstance(value, Variable):
        if getattr(value, "ndim", None) != 0:
            raise ValueError(
                f"{name} must be a scalar, got a symbolic expression with ndim {getattr(value, 'ndim', '?')}"
            )
        dtype = value.dtype  # type: ignore[attr-defined]  # a tensor's or a pytensor.scalar's
        if np.dtype(dtype).kind not in "fiu":
            raise TypeError(f"{name} must be a real scalar, got a symbolic scalar of dtype {dtype}")
        return value
    if isinstance(value, bool | np.bool_) or value is None or isinstance(value, str | bytes):
        raise TypeError(f"{name} must be a number or a symbolic scalar, got {value!r}")
    if isinstance(value, np.ndarray):
        if value.ndim != 0:
            raise ValueError(f"{name} must be a scalar, got an array of shape {value.shape}")
        value = value[()]
    if not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number or a symbolic scalar, got {type(value).__name__}")
    if not domain.contains(value):
        raise ValueError(f"{name} must be {domain.text}, got {value!r}")
    return value


def typed(value: "Hyper", dtype: str | np.dtype) -> TensorVariable:
    """``value`` as a scalar of ``dtype``: a typed constant for numbers, a cast for symbolic scalars."""
    if isinstance(value, Schedule):
        raise ValueError(
            f"the schedule {value!r} can only be used inside a transform or rule (its build turns it into "
            "this step's value with builder.resolve)"
        )
    if isinstance(value, Variable):
        scalar = cast(TensorVariable, value)  # check_hyper let only symbolic scalars through
        return scalar if scalar.dtype == dtype else pt.cast(scalar, dtype)
    return pt.constant(np.asarray(value, dtype=dtype))


def check_count(value: Any, name: str) -> int:
    """``value``, or a ValueError naming the argument ``name`` unless it is an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return value
