"""A fast call path for training loops: a compiled step without ``pytensor.function``'s per-call checks.

An ordinary call of a compiled ``pytensor.function`` spends 10-20 microseconds in Python (validating and
converting every input, checking inputs for aliasing, copying outputs) before and after the compiled code
runs. For the update step of a small network that is most of the time. ``fast_function`` compiles the same
graph and returns a callable that puts the inputs straight into the compiled program's storage, runs it,
and hands back its outputs; the compiled program (and so every number it computes) is the one
``pytensor.function`` builds.
"""

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, cast

import pytensor
from pytensor.compile.io import Out
from pytensor.compile.mode import Mode
from pytensor.graph.basic import Variable

if TYPE_CHECKING:
    from pytensor.compile import Function

__all__ = ["fast_function"]

#: What ``pytensor.function`` takes as ``updates``: a dict (an ``Updates``) or ``(variable, value)`` pairs.
UpdatesLike = dict[Variable, Variable] | Iterable[tuple[Variable, Variable]]
#: A step's outputs: one variable (returned unpacked) or a list or tuple of them (returned as a list).
Outputs = Variable | list[Variable] | tuple[Variable, ...]


class CompiledStep(Protocol):
    """What ``fast_function``, ``steps_function`` and ``sharded_function`` return: ``step(*values)`` runs
    the step; ``.function`` is the ``pytensor.function`` it drives."""

    function: "Function"

    def __call__(self, *values: Any) -> Any: ...


def fast_function(
    inputs: Sequence[Variable],
    outputs: Outputs = (),
    *,
    updates: UpdatesLike | None = None,
    mode: str | Mode | None = None,
    **kwargs: Any,
) -> CompiledStep:
    """Compile ``inputs -> outputs`` with ``updates``, returning a callable without per-call checks.

    Parameters
    ----------
    inputs : list of TensorVariable
        The explicit inputs, passed positionally on each call (e.g. a mini-batch, or gradients).
    outputs : TensorVariable or list of TensorVariable, optional
        What each call returns (a single variable is returned unpacked, a list as a list).
    updates : dict, optional
        ``{shared variable: next value}``, e.g. the ``Updates`` of any rule in symupdates.
    mode : str or Mode, optional
        ``"NUMBA"`` (PyTensor's default), ``"CVM"``, ``"JAX"``, ...
    **kwargs
        Passed on to ``pytensor.function`` (``givens``, ``name``, ...).

    Returns
    -------
    callable
        ``step(*values)`` runs one step and returns the outputs. Its ``.function`` attribute is the
        ordinary ``pytensor.function`` it drives, sharing the same compiled program and state.

    Notes
    -----
    What the fast path skips, compared with calling ``step.function(*values)``:

    * Input checks and conversion. Values go into the compiled program as given: each must already be a
      NumPy array of exactly the input's dtype, number of dimensions and static shape (a float64 array
      for a float32 input, a list, or a Python float is *not* converted and gives wrong results or a
      crash). Only the number of values is checked. Keyword arguments are not accepted.
    * Copying of aliased inputs. Do not pass the value of a shared variable the step updates (e.g.
      ``p.get_value(borrow=True)``) as an input: the update is done in place and would change it
      mid-step.
    * Copying of outputs. Returned arrays may be the compiled program's own buffers, overwritten by the
      next call: copy the ones you keep.
    * Error annotation. An error inside the compiled program is raised as is, without PyTensor's note
      naming the node (call ``step.function`` with the same values to get it).

    * Conversion of outputs: in ``mode="JAX"`` they are JAX arrays, computed asynchronously (``np.asarray``
      on one waits for the step).

    In ``mode="JAX"`` the fast path also casts every result to its declared dtype inside the compiled
    program. PyTensor 3.0's JAX backend returns a reduction in its accumulator's dtype (a float32 ``sum``
    comes back as float64), so with an ordinary call the gradients of a float32 loss, and then the params
    and optimizer state, silently become float64 after the first step, and every later step runs in
    double precision (see ``benchmarks/notes.md``).

    Everything else is kept: shared variables (params, optimizer state) are updated exactly as by
    ``step.function``, whose ``get_value``/``set_value`` keep working between calls.

    Examples
    --------
    >>> import numpy as np, pytensor, pytensor.tensor as pt
    >>> import symupdates as su
    >>> w = pytensor.shared(np.zeros(3, dtype="float32"), name="w")
    >>> g = pt.vector("g", dtype="float32", shape=(3,))
    >>> step = su.fast_function([g], updates=su.sgd([g], [w], learning_rate=0.5))
    >>> step(np.ones(3, dtype="float32"))
    []
    >>> w.get_value()
    array([-0.5, -0.5, -0.5], dtype=float32)
    """
    single = not isinstance(outputs, list | tuple)
    outs = list(outputs) if isinstance(outputs, list | tuple) else [outputs]
    function = pytensor.function(
        inputs,
        [Out(o, borrow=True) for o in outs],  # type: ignore[misc]  # pytensor's annotation omits Out
        updates=updates,
        mode=mode,
        **kwargs,
    )
    step = cast(CompiledStep, _direct_call(function, len(inputs), unpack=single))
    step.function = function
    return step


def _direct_call(function: "Function", n_inputs: int, unpack: bool) -> Callable[..., Any]:
    """What ``Function.__call__`` does with ``trust_input=True``, minus profiling and GC bookkeeping."""
    input_cells = [container.storage for container in function.input_storage[:n_inputs]]
    output_cells = [container.storage for container in function.output_storage]
    vm = _jax_with_declared_dtypes(function) if _is_jax(function) else function.vm
    updated = [
        container.storage
        for spec, container in zip(function.maker.expanded_inputs, function.input_storage, strict=True)
        if spec.update is not None
    ]
    n_returned = len(output_cells) - len(updated)
    # The update values are the last outputs. Some VMs (the C VM) store them into the shared variables
    # themselves; for the others ``Function.__call__`` does, and so must we.
    update_cells = (
        list(zip(range(n_returned, len(output_cells)), updated, strict=True))
        if getattr(vm, "need_update_inputs", True)
        else []
    )

    def step(*values: Any) -> Any:
        if len(values) != n_inputs:
            raise TypeError(f"this step takes {n_inputs} inputs, got {len(values)}")
        for cell, value in zip(input_cells, values, strict=True):
            cell[0] = value
        results = vm()
        if results is None:
            results = [cell[0] for cell in output_cells]
        for index, cell in update_cells:
            cell[0] = results[index]
        return results[0] if unpack else list(results[:n_returned])

    return step


def _is_jax(function: "Function") -> bool:
    from pytensor.link.jax.linker import JAXLinker

    return isinstance(function.maker.linker, JAXLinker)


def _traced_with_declared_dtypes(function: "Function") -> Callable[..., list[Any]] | None:
    """The Python function PyTensor's JAX linker traced for ``function``, with each result cast to its
    declared dtype, ready for ``jax.jit``; None when PyTensor compiled it with static (shape) arguments,
    whose wrapper does not expose the traced function."""
    # The JAX linker's VM is a jitted function with the Python function it traced under ``__wrapped__``.
    jit_fn = function.vm.jit_fn  # type: ignore[attr-defined]
    traced = getattr(jit_fn, "__wrapped__", None)
    if traced is None or function.maker.linker.scalar_shape_inputs:
        return None
    dtypes = [getattr(out.type, "dtype", None) for out in function.maker.fgraph.outputs]
    import jax.numpy as jnp

    def declared(*args: Any) -> list[Any]:
        # jnp.asarray: an output that is a constant of the graph comes back as a Python number.
        return [
            out if dtype is None else jnp.asarray(out, dtype)
            for out, dtype in zip(traced(*args), dtypes, strict=True)
        ]

    return declared


def _jax_with_declared_dtypes(function: "Function") -> Callable[[], Any]:
    """The JAX program of ``function`` with each result cast to its declared dtype, as a VM-like call (the
    program as compiled where ``_traced_with_declared_dtypes`` has none)."""
    declared = _traced_with_declared_dtypes(function)
    if declared is None:
        return function.vm
    import jax

    jitted = jax.jit(declared)
    input_cells, output_cells = function.vm.inputs, function.vm.outputs  # type: ignore[attr-defined]

    def run() -> None:
        for cell, value in zip(output_cells, jitted(*(cell[0] for cell in input_cells)), strict=True):
            cell[0] = value

    return run
