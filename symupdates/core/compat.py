"""The PyTensor API differences between the versions we support (2.38.x for PyMC 5 through 3.3.x for
PyMC 6), in one place: each name here is looked up by feature, never by version number."""

from types import ModuleType
from typing import Any

import pytensor.tensor as pt
from pytensor.graph.basic import Apply
from pytensor.tensor import subtensor as _subtensor
from pytensor.tensor.elemwise import Elemwise
from pytensor.tensor.variable import TensorVariable

try:
    from pytensor.tensor.rewriting.scalarize import ScalarizedElemwise
except ImportError:  # before PyTensor 3.3
    ScalarizedElemwise = ()

try:
    from pytensor.compile.rebuild import rebuild_collect_shared
except ImportError:  # PyTensor 2.38
    from pytensor.compile.function.pfunc import rebuild_collect_shared  # type: ignore[no-redef]

__all__ = [
    "INC_SUBTENSOR_OPS",
    "SUBTENSOR_OPS",
    "elemwise_of",
    "is_blas",
    "runs_c_loop",
    "is_row_scatter",
    "isfinite",
    "rebuild_collect_shared",
]


def _isfinite(x: TensorVariable) -> TensorVariable:
    """``pt.isfinite``, which PyTensor 2.38 lacks: neither NaN nor infinite."""
    return ~(pt.isnan(x) | pt.isinf(x))


isfinite = getattr(pt, "isfinite", _isfinite)


def _ops(module: ModuleType, *names: str) -> tuple[type[Any], ...]:
    return tuple(getattr(module, name) for name in names if hasattr(module, name))


# PyTensor 3.3 folded AdvancedSubtensor1 and AdvancedIncSubtensor1 (integer-vector indexing of the first
# axis) into AdvancedSubtensor and AdvancedIncSubtensor.
SUBTENSOR_OPS = _ops(_subtensor, "Subtensor", "AdvancedSubtensor", "AdvancedSubtensor1")
INC_SUBTENSOR_OPS = _ops(_subtensor, "IncSubtensor", "AdvancedIncSubtensor", "AdvancedIncSubtensor1")
# The scatter of rows into the first axis where it is an op of its own (not in 3.3: there it is an
# AdvancedIncSubtensor whose only index is on axis 0).
_ROW_INC_SUBTENSOR_OPS = _ops(_subtensor, "AdvancedIncSubtensor1")


def is_row_scatter(node: Apply) -> bool:
    """True when ``node`` increments (or sets) rows of its first input at one index array on axis 0 only:
    an ``AdvancedIncSubtensor1``, or an ``AdvancedIncSubtensor`` whose only index is on axis 0. PyTensor 3
    lists where its indices go in ``idx_list``; PyTensor 2.38 has no ``idx_list`` and takes every index
    (slices and ``None`` included) as an input after ``x`` and ``y``, so there one index input is axis 0's."""
    op = node.op
    if isinstance(op, _ROW_INC_SUBTENSOR_OPS):
        return True
    if not isinstance(op, _subtensor.AdvancedIncSubtensor):
        return False
    if hasattr(op, "idx_list"):
        return tuple(op.idx_list) == (0,)
    return len(node.inputs) == 3


def elemwise_of(node: Apply) -> Elemwise | None:
    """The ``Elemwise`` a compiled node runs, or None: the node's own op or, in PyTensor 3.3's NUMBA mode,
    the one inside a ``ScalarizedElemwise`` (a wrapper that passes native scalars, such as bias
    corrections, to one elementwise loop)."""
    if isinstance(node.op, Elemwise):
        return node.op
    if isinstance(node.op, ScalarizedElemwise):
        [inner] = [n.op for n in node.op.fgraph.apply_nodes if isinstance(n.op, Elemwise)]
        return inner
    return None


def runs_c_loop(function: Any) -> bool:
    """True when a compiled function built by a ``VMLinker`` runs its loop over the thunks in C: what
    ``mode="CVM"`` asks for. PyTensor 2.38 through 3.3 name no CVM linker (CVM is a
    ``VMLinker(use_cloop=True)``, a VM looping in Python ``VMLinker(use_cloop=False)``), and a
    ``use_cloop`` linker still falls back to a Python loop for lazy graphs or without a C compiler, so the
    answer is the class of the virtual machine the function runs (``function.vm``, ``function.fn`` in
    older PyTensor)."""
    vm = getattr(function, "vm", None) or getattr(function, "fn", None)
    return type(vm).__name__ == "CVM"


def is_blas(node: Apply) -> bool:
    """True for the BLAS ops of PyTensor's C backend (``Gemm``, ``Gemv``, ``Ger``, ``Dot22``, their C and
    SciPy versions): the modules ``pytensor.tensor.blas``, ``blas_c``, ``blas_scipy`` in every supported
    version."""
    return type(node.op).__module__.startswith("pytensor.tensor.blas")
