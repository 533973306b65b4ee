"""Data-parallel training steps on a JAX device mesh, in one process or across processes.

PyTensor lowers a training step to a JAX function; ``sharded_function`` jits that function with
``jax.sharding`` annotations: the mini-batch split along a named mesh axis, the params and optimizer state
replicated (or split where asked). XLA's SPMD partitioner then inserts the all-reduce of the gradients, so
every device ends the step with the same params. The same code runs on the devices of one process (CPU
devices made with ``XLA_FLAGS=--xla_force_host_platform_device_count=N``, or GPUs) and on the devices of
several processes started with ``jax.distributed.initialize``.
"""

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pytensor
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Variable

from .fast import CompiledStep, Outputs, _traced_with_declared_dtypes

if TYPE_CHECKING:
    import jax

__all__ = ["sharded_function"]


def sharded_function(
    inputs: Sequence[Variable],
    outputs: Outputs = (),
    *,
    updates: dict[Variable, Variable],
    mesh: "jax.sharding.Mesh",
    batch_axis: Hashable | None = None,
    shardings: Mapping[SharedVariable, "jax.sharding.PartitionSpec"] | None = None,
    steps_per_call: int | None = None,
    **kwargs: Any,
) -> CompiledStep:
    """Compile a data-parallel training step: the batch split over ``mesh``, the state replicated.

    With ``n`` devices along ``batch_axis``, every input is split along its leading (batch) axis into
    ``n`` equal parts, device ``d`` computes the step's reductions over its part, and XLA combines them
    (an all-reduce): the loss, the gradients and so the updates are those of the whole batch, up to
    rounding (the partial sums are added in another order). Params and optimizer state live replicated on
    every device unless ``shardings`` splits them.

    Parameters
    ----------
    inputs : list of TensorVariable
        The per-step inputs (a mini-batch); each call takes the *global* batch. Inputs with no dimension
        (e.g. a symbolic learning rate) are replicated.
    outputs : TensorVariable or list of TensorVariable, optional
        What each step returns (replicated: every process sees the same value).
    updates : dict
        ``{shared variable: next value}``, e.g. the ``Updates`` of any rule in symupdates.
    mesh : jax.sharding.Mesh
        The devices, e.g. ``Mesh(jax.devices(), ("data",))`` (with several processes: all processes'
        devices, in the same order in every process).
    batch_axis : str, optional
        The mesh axis the batch is split over (default: the mesh's first axis).
    shardings : dict, optional
        ``{shared variable: jax.sharding.PartitionSpec}`` for the shared variables to split rather than
        replicate, e.g. ``{embedding: P("data", None)}`` for a table split by rows. Give its optimizer state
        (``updates.state``) the same spec to split it too.
    steps_per_call : int, optional
        Run this many steps per call (``jax.lax.scan``), as ``steps_function`` does: inputs are then stacked
        ``(k, batch, ...)``, split along their second axis, and every output comes back stacked ``(k, ...)``.
    **kwargs
        Passed on to ``pytensor.function`` (``givens``, ...).

    Returns
    -------
    callable
        ``step(*values)`` runs a step and returns the outputs as JAX arrays. The shared variables hold
        JAX arrays afterwards (``get_value()`` returns them; ``np.asarray`` makes NumPy arrays of them), so
        ``save_state``/``load_state`` work as for any step; a value set with ``set_value`` (e.g. by
        ``load_state``) is placed on the mesh by the next call.

    Notes
    -----
    The batch size must be divisible by the number of devices along ``batch_axis``. Results equal the
    single-device step to rounding: ``tests/runtime/test_parallel.py`` checks 1e-6 relative in float32 and
    1e-12 in float64 for adam, lamb, clip_by_global_norm, a schedule and apply_if_finite, on 4 CPU devices
    and on 2 processes x 2 devices.

    Several processes: start each with ``jax.distributed.initialize(coordinator, num_processes,
    process_id)`` before building the step (on CPU, first
    ``jax.config.update("jax_cpu_collectives_implementation", "gloo")``), build the same graph in each,
    use a mesh of ``jax.devices()`` (all processes' devices) and pass every process the same global batch
    (each process copies only its devices' part to them). Replicated state is fully present in every
    process, so checkpoints are written by process 0 only (``save_state`` on it; every process may
    ``load_state`` the same file). State split by ``shardings`` must be gathered first
    (``jax.experimental.multihost_utils.process_allgather``).

    Unlike ``jax.pmap`` code, the step is written for the whole batch: no ``psum`` or axis names in the
    graph. On a GPU the same call runs with ``mesh = Mesh(jax.devices("gpu"), ("data",))``.

    Examples
    --------
    >>> import numpy as np, jax, pytensor, pytensor.tensor as pt, symupdates as su
    >>> from jax.sharding import Mesh
    >>> w = pytensor.shared(np.zeros(2), name="w")
    >>> x = pt.matrix("x", dtype="float64", shape=(4, 2))
    >>> loss = ((x - w) ** 2).mean()
    >>> mesh = Mesh(jax.devices()[:1], ("data",))  # with more devices the batch of 4 is split over them
    >>> step = su.sharded_function([x], loss, updates=su.sgd(loss, [w], learning_rate=0.5), mesh=mesh)
    >>> float(step(np.ones((4, 2))))
    1.0
    >>> np.asarray(w.get_value())
    array([0.5, 0.5])
    """
    import jax
    from jax.sharding import NamedSharding, PartitionSpec

    if not isinstance(mesh, jax.sharding.Mesh):
        raise TypeError(f"mesh must be a jax.sharding.Mesh, got {type(mesh).__name__}")
    batch_axis = mesh.axis_names[0] if batch_axis is None else batch_axis
    if batch_axis not in mesh.axis_names:
        raise ValueError(f"batch_axis {batch_axis!r} is not an axis of the mesh {mesh.axis_names}")
    shardings = dict(shardings or {})
    for var in shardings:
        if var not in updates:
            raise ValueError(f"shardings: {var} is not a shared variable of the updates")
    n_devices = mesh.shape[batch_axis]
    leading = 0 if steps_per_call is None else 1
    for x in inputs:
        size = x.type.shape[leading] if x.type.ndim > leading else None
        if size is not None and size % n_devices:
            raise ValueError(
                f"inputs: {x.name or x} has a batch of {size}, not divisible by {n_devices} devices"
            )
    program = _JaxProgram(inputs, outputs, updates, **kwargs)
    replicated = NamedSharding(mesh, PartitionSpec())
    input_shardings = [
        NamedSharding(mesh, PartitionSpec(*[None] * leading, batch_axis))
        if x.type.ndim > leading
        else replicated
        for x in inputs
    ]
    state_shardings = [
        NamedSharding(mesh, shardings[var]) if var in shardings else replicated for var in program.shared
    ]
    pure = program.pure if steps_per_call is None else program.scanned
    jitted = jax.jit(
        pure,
        in_shardings=(input_shardings, state_shardings),
        out_shardings=([replicated] * program.n_outputs, state_shardings),
    )
    return program.driver(jitted, input_shardings, state_shardings)


class _JaxProgram:
    """A PyTensor step compiled in JAX mode, seen as a pure function ``(inputs, state) -> (outputs,
    state)`` whose state is the value of every shared variable the step reads."""

    def __init__(
        self,
        inputs: Sequence[Variable],
        outputs: Outputs,
        updates: dict[Variable, Variable],
        **kwargs: Any,
    ) -> None:
        self.single = not isinstance(outputs, list | tuple)
        outs = list(outputs) if isinstance(outputs, list | tuple) else [outputs]
        function = pytensor.function(inputs, outs, updates=updates, mode="JAX", **kwargs)
        traced = _traced_with_declared_dtypes(function)
        if traced is None:
            raise NotImplementedError("this graph compiles to JAX with static shape arguments; not supported")
        self.traced = traced
        n_in = len(inputs)
        specs = function.maker.expanded_inputs[n_in:]
        self.shared = [spec.variable for spec in specs]
        self.cells = [container.storage for container in function.input_storage[n_in:]]
        self.updated = [i for i, spec in enumerate(specs) if spec.update is not None]
        self.n_outputs = len(outs)
        self.function = function

    def pure(self, inputs: Sequence[Any], state: Sequence[Any]) -> tuple[list[Any], list[Any]]:
        results = self.traced(*inputs, *state)
        new_state = list(state)
        for index, value in zip(self.updated, results[self.n_outputs :], strict=True):
            new_state[index] = value
        return list(results[: self.n_outputs]), new_state

    def scanned(self, stacked_inputs: Sequence[Any], state: Sequence[Any]) -> tuple[list[Any], list[Any]]:
        import jax

        def body(carry: Sequence[Any], inputs: Sequence[Any]) -> tuple[list[Any], list[Any]]:
            outputs, carry = self.pure(inputs, carry)
            return carry, outputs

        state, outputs = jax.lax.scan(body, list(state), list(stacked_inputs))
        return list(outputs), list(state)

    def driver(
        self, jitted: Callable[..., Any], input_shardings: Sequence[Any], state_shardings: Sequence[Any]
    ) -> CompiledStep:
        """The callable: places the values on the devices, runs ``jitted``, stores the new state."""

        def step(*values: Any) -> Any:
            if len(values) != len(input_shardings):
                raise TypeError(f"this step takes {len(input_shardings)} inputs, got {len(values)}")
            inputs = [_placed(v, s) for v, s in zip(values, input_shardings, strict=True)]
            state = [_placed(cell[0], s) for cell, s in zip(self.cells, state_shardings, strict=True)]
            outputs, state = jitted(inputs, state)
            for cell, value in zip(self.cells, state, strict=True):
                cell[0] = value
            return outputs[0] if self.single else outputs

        compiled = cast(CompiledStep, step)
        compiled.function = self.function
        return compiled


def _placed(value: Any, sharding: "jax.sharding.Sharding") -> "jax.Array":
    """``value`` as a global array laid out by ``sharding``; each process copies only the parts that its own
    devices hold, from the global value that every process has."""
    import jax

    if isinstance(value, jax.Array) and value.sharding.is_equivalent_to(sharding, value.ndim):
        return value
    array = np.asarray(value)
    return jax.make_array_from_callback(array.shape, sharding, lambda index: array[index])


def jax_steps(
    inputs: Sequence[Variable],
    outputs: Outputs,
    updates: dict[Variable, Variable],
    steps_per_call: int,
    **kwargs: Any,
) -> CompiledStep:
    """``steps_function`` in JAX mode: one-step program, ``jax.lax.scan`` over ``steps_per_call`` steps,
    jitted for the default device."""
    import jax

    program = _JaxProgram(inputs, outputs, updates, **kwargs)
    device = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    return program.driver(jax.jit(program.scanned), [device] * len(inputs), [device] * len(program.shared))
