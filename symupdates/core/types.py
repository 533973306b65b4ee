"""The names the package's annotations share: what a hyper-parameter, a step and a ``build`` are.

Annotations only: nothing here is checked at run time (``check_hyper`` and ``check_params`` do that, with
messages naming the argument).
"""

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, TypeAlias

import numpy as np
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Variable
from pytensor.tensor.variable import TensorVariable

from .hyperparams import Schedule

if TYPE_CHECKING:
    from .builder import Builder as BuilderProtocol

__all__ = ["Build", "Builder", "Hyper", "LossOrGrads", "Number", "Params", "Scalar", "Steps", "TensorLike"]

#: A plain number, Python's or NumPy's (``check_hyper`` also takes a 0-d array).
Number: TypeAlias = int | float | np.integer | np.floating | np.ndarray
#: A number or a symbolic scalar (a shared variable changes it without recompiling).
Scalar: TypeAlias = Number | Variable
#: A hyper-parameter: a number, a symbolic scalar (a shared variable changes it without recompiling) or a
#: ``Schedule`` of the step.
Hyper: TypeAlias = Number | Variable | Schedule
#: What becomes a tensor expression (``pt.as_tensor_variable``): an expression, an array or a number.
TensorLike: TypeAlias = Variable | np.ndarray | int | float
#: A scalar loss, or one gradient per param.
LossOrGrads: TypeAlias = Variable | Sequence[TensorLike]
#: The shared variables a rule updates: a list, or any iterable (read once).
Params: TypeAlias = Iterable[SharedVariable]
#: The object a transform writes its state into while a rule is built (the protocol in ``core.builder``).
Builder: TypeAlias = "BuilderProtocol"
#: One step expression per param, in the order of ``builder.params``.
Steps: TypeAlias = list[TensorVariable]
#: What a transform does while a rule is built: ``build(steps, builder) -> steps``.
Build: TypeAlias = Callable[[Steps, Builder], Steps]
