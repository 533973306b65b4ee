"""What a compiled training step does with each variable it updates: fused, in place, in which dtypes,
and how many bytes it moves, next to the memory-bandwidth bound.

PyTensor decides these silently while it compiles: it works in place only when an update has exactly its
variable's static type, it fuses elementwise work into one loop only when nothing else needs the
intermediate results, and a float64 constant can turn a float32 loop into a float64 one. ``inspect_step``
reads the compiled graph and says, per updated shared variable, what came out.
"""

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

import numpy as np
from pytensor.compile.ops import DeepCopyOp
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Apply, Variable
from pytensor.scalar.basic import Composite
from pytensor.tensor.elemwise import DimShuffle

from ..core.compat import elemwise_of

__all__ = ["StepReport", "inspect_step", "measure_bandwidth"]


def measure_bandwidth(nbytes: int = 2**27, repeats: int = 9) -> float:
    """Memory bandwidth of a streaming pass, in bytes per second: the median over ``repeats`` blocks of
    copies of one float32 array into another, each copy reading and writing ``nbytes`` in all.

    The bandwidth depends on where the data lives: arrays that fit in the processor's caches stream
    several times faster than main memory. ``inspect_step(..., bandwidth="measure")`` measures it with
    the step's own number of bytes.

    Examples
    --------
    >>> bandwidth = measure_bandwidth(nbytes=2**20, repeats=3)
    >>> bandwidth > 1e8        # any machine moves more than 100 MB/s
    True
    """
    source = np.ones(max(int(nbytes) // 8, 1), dtype=np.float32)
    target = np.empty_like(source)
    np.copyto(target, source)  # fault the pages in before timing
    copies, seconds = 1, 0.0
    while seconds < 1e-3:  # blocks long enough for the timer to be exact
        copies *= 2
        start = time.perf_counter()
        for _ in range(copies):
            np.copyto(target, source)
        seconds = time.perf_counter() - start
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(copies):
            np.copyto(target, source)
        samples.append((time.perf_counter() - start) / copies)
    return 2 * source.nbytes / float(np.median(samples))


class StepReport:
    """The result of ``inspect_step``: one record per updated shared variable, and the step's totals.

    Attributes
    ----------
    records : list of dict
        One per updated variable, in the order of the compiled function's updates, with keys
        ``variable`` (name), ``dtype``, ``shape`` (of its current value), ``loop`` (an index shared by
        the variables one loop updates together), ``node`` (the operation computing the next value),
        ``fused`` (one elementwise loop reads the variable's inputs and writes its next value; None where
        the backend does not show it), ``in_place`` (that loop writes into the variable's own buffer),
        ``why_not_in_place`` (the cause, where it can be named), ``loop_dtypes`` (every dtype inside the
        loop), ``float64_leak`` (a float32 variable whose update computes in float64, or whose value came
        back as float64), ``bytes_read`` and ``bytes_written`` (per step, by the loops computing its
        next value: one when fused, several otherwise).
    mode : str
        ``"NUMBA"``, ``"CVM"``, ``"JAX"``, ... as the linker tells.
    bytes_moved : int
        Bytes read plus written per step by the elementwise loops computing the updates, each loop
        counted once.
    bandwidth : float or None
        Bytes per second used for ``bound_us``.
    bound_us : float or None
        ``bytes_moved / bandwidth``: the fastest the update loops can be, in microseconds.
    measured_us : float or None
        The measured median time of one call, where ``inspect_step`` was given ``args``.
    notes : list of str
        What the report cannot know in this mode.
    """

    def __init__(
        self,
        records: list[dict[str, Any]],
        mode: str,
        bytes_moved: int,
        bandwidth: float | None = None,
        measured_us: float | None = None,
        notes: Iterable[str] = (),
        variables: Sequence[SharedVariable] = (),
    ) -> None:
        self.records = records
        # Without variables (a report made by hand) ``of`` finds none: the lengths may differ.
        self._by_variable = dict(zip(variables, records, strict=False))
        self.mode = mode
        self.bytes_moved = bytes_moved
        self.bandwidth = bandwidth
        self.bound_us = None if bandwidth is None else 1e6 * self.bytes_moved / bandwidth
        self.measured_us = measured_us
        self.notes = list(notes)

    def of(self, variable: SharedVariable) -> dict[str, Any]:
        """The record of a shared variable the step updates (KeyError for one it does not)."""
        return self._by_variable[variable]

    def problems(self) -> list[dict[str, Any]]:
        """The records that are not one fused, in-place loop in their own dtype."""
        return [r for r in self.records if r["fused"] is False or r["in_place"] is False or r["float64_leak"]]

    def __str__(self) -> str:
        header = ["variable", "dtype", "shape", "loop", "fused", "in place", "loop dtypes", "read", "written"]
        rows = []
        for r in self.records:
            rows.append(
                [
                    r["variable"],
                    r["dtype"],
                    "x".join(map(str, r["shape"])) or "()",
                    str(r["loop"]),
                    _verdict(r["fused"]),
                    _verdict(r["in_place"]),
                    ",".join(r["loop_dtypes"]),
                    _size(r["bytes_read"]),
                    _size(r["bytes_written"]),
                ]
            )
        widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(header)]
        lines = [f"compiled step ({self.mode}): {len(self.records)} updated variables"]
        lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
        lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
        for r in self.records:
            if r["in_place"] is False and r["why_not_in_place"]:
                lines.append(f"! {r['variable']} not in place: {r['why_not_in_place']}")
            if r["fused"] is False:
                lines.append(f"! {r['variable']} not one fused loop: computed by {r['node']}")
            if r["float64_leak"]:
                lines.append(f"! {r['variable']} is {r['dtype']} but its update computes in float64")
        total = f"bytes moved by the update loops per step: {_size(self.bytes_moved)}"
        if self.bandwidth is not None and self.bound_us is not None:
            total += f"; bound at {self.bandwidth / 1e9:.1f} GB/s: {self.bound_us:.1f} us"
        if self.measured_us is not None:
            total += f"; measured: {self.measured_us:.1f} us per call of the whole step"
            if self.bound_us:
                total += f", of which the bound is {self.bound_us / self.measured_us:.0%}"
        lines.append(total)
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<StepReport of {len(self.records)} updates, {len(self.problems())} problems>"


def _verdict(value: bool | None) -> str:
    return "?" if value is None else ("yes" if value else "NO")


def _size(n: float) -> str:
    for unit, scale in (("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def inspect_step(
    fn: Callable[..., Any],
    args: Iterable[Any] | None = None,
    *,
    bandwidth: float | Literal["measure"] | None = None,
    repeats: int = 15,
) -> StepReport:
    """Report, per shared variable a compiled step updates, whether its update is one fused, in-place loop
    in its own dtype, and the bytes the update loops move per step.

    For each updated variable ``v`` with next value ``v'`` computed by node ``N`` of the compiled graph:

    * fused: ``N`` is an ``Elemwise`` and none of its inputs is a full-size result of another elementwise
      loop (a broadcast scalar, such as a bias correction computed once per step, may be);
    * in place: ``N`` destroys (overwrites) ``v``'s own storage; where it does not and ``v'`` has another
      static type than ``v`` (e.g. shape ``(5,)`` against ``(None,)``), that mismatch is the cause:
      PyTensor reuses a buffer only for a result of exactly the buffer's type;
    * bytes: ``N`` reads each input once and writes each output once,
      ``read = sum(itemsize * size)`` over its inputs (broadcast axes count once) and
      ``written = sum(itemsize * size)`` over its outputs; the step moves the sum over distinct loops,
      and ``bound_us = bytes / bandwidth``.

    Parameters
    ----------
    fn : pytensor Function or the result of ``symupdates.fast_function``
        A compiled step with updates.
    args : sequence, optional
        Values for one call. Given, the step is called ``repeats`` times, the median time per call goes
        into the report, and every updated variable is then reset to its value before the calls (the
        report leaves the training state as it found it).
    bandwidth : float or "measure", optional
        Bytes per second for the bound: a number, or ``"measure"`` for ``measure_bandwidth`` of the
        step's own number of bytes (at least 1 MB), so that data in cache is bounded by the cache's speed.
    repeats : int
        Calls timed when ``args`` is given.

    Returns
    -------
    StepReport
        ``str(report)`` is a table; ``report.records`` the same as a list of dicts;
        ``report.problems()`` the records that are not fused, not in place, or leak float64.

    Notes
    -----
    In JAX mode, XLA decides fusion and buffer reuse after PyTensor hands the graph over, so ``fused`` and
    ``in_place`` are None; the dtypes are those of PyTensor's graph and, once the step has run, of the
    values it returned (PyTensor 3.0's JAX sums come back as float64 from an ordinary
    ``pytensor.function``: a float32 variable whose value became float64 is flagged).
    Neither Lasagne, optax nor torch.optim has an equivalent; PyTensor's ``debugprint`` shows the same
    graph without verdicts.

    Examples
    --------
    >>> import numpy as np, pytensor, pytensor.tensor as pt
    >>> import symupdates as su
    >>> w = pytensor.shared(np.zeros(1000, dtype="float32"), name="w", shape=(1000,))
    >>> g = pt.vector("g", dtype="float32", shape=(1000,))
    >>> step = pytensor.function([g], [], updates=su.adam([g], [w]))
    >>> report = su.inspect_step(step)
    >>> [(r["variable"], r["fused"], r["in_place"]) for r in report.records]
    [('w.adam.m', True, True), ('w.adam.v', True, True), ('w', True, True), ('adam.t', True, True)]
    >>> report.bytes_moved // 1000  # reads w, g, m, v; writes w, m, v: 7 x 4000 bytes, plus scalars
    28
    """
    function: Any = fn
    while hasattr(function, "function"):  # fast_function's step, or any wrapper that names what it calls
        function = function.function
    maker = getattr(function, "maker", None)
    if maker is None or not hasattr(maker, "fgraph"):
        raise TypeError(
            f"fn must be a compiled pytensor.function or a symupdates.fast_function, got {type(fn).__name__}"
        )
    if args is not None:
        args = list(args)
    positive = isinstance(bandwidth, int | float) and not isinstance(bandwidth, bool) and bandwidth > 0
    if not (bandwidth is None or bandwidth == "measure" or positive):
        raise ValueError(
            f"bandwidth must be a positive number of bytes per second or 'measure', got {bandwidth!r}"
        )
    mode = _mode_name(function)
    jax = mode == "JAX"
    fgraph = maker.fgraph
    storage = dict(
        zip((spec.variable for spec in maker.expanded_inputs), function.input_storage, strict=True)
    )
    loops: dict[Variable | Apply, int] = {}
    moved: dict[Apply, tuple[int, int]] = {}
    records, variables = [], []
    for out_index, in_index in sorted(fgraph.update_mapping.items(), key=lambda item: item[1]):
        variable = maker.expanded_inputs[in_index].variable
        stored = storage[variable]
        value = stored.value if stored is not None else None
        shape = tuple(np.shape(value)) if value is not None else tuple(variable.type.shape)
        graph_input, output = fgraph.inputs[in_index], fgraph.outputs[out_index]
        node = output.owner
        loop = loops.setdefault(node if node is not None else output, len(loops))
        dtypes = _loop_dtypes(node)
        returned = getattr(value, "dtype", None)
        leak = variable.dtype == "float32" and ("float64" in dtypes or str(returned) == "float64")
        nodes = _loop_nodes(output)
        for n in nodes:
            moved.setdefault(n, _node_bytes(n, shape))
        read, written = (sum(moved[n][k] for n in nodes) for k in (0, 1))
        fused, in_place, why = (None, None, None) if jax else _verdicts(node, output, graph_input, nodes)
        variables.append(variable)
        records.append(
            {
                "variable": variable.name or str(variable),
                "dtype": variable.dtype,
                "shape": shape,
                "loop": loop,
                "node": "the variable itself (no update)" if node is None else str(node.op),
                "fused": fused,
                "in_place": in_place,
                "why_not_in_place": why,
                "loop_dtypes": sorted(dtypes),
                "float64_leak": leak,
                "bytes_read": read,
                "bytes_written": written,
            }
        )
    notes = []
    if jax:
        notes.append(
            "JAX mode: XLA fuses and reuses buffers after PyTensor; fusion and in place are not shown"
        )
    measured = None if args is None else _time_calls(fn, args, storage, fgraph, maker, repeats)
    bytes_moved = sum(read + written for read, written in moved.values())
    if bandwidth == "measure":
        bandwidth = measure_bandwidth(max(bytes_moved, 2**20))
    return StepReport(records, mode, bytes_moved, bandwidth, measured, notes, variables)


def _mode_name(function: Any) -> str:
    linker = type(function.maker.linker).__name__
    return {"NumbaLinker": "NUMBA", "JAXLinker": "JAX", "CVMLinker": "CVM", "VMLinker": "VM"}.get(
        linker, linker.removesuffix("Linker")
    )


def _loop_dtypes(node: Apply | None) -> set[str]:
    """Every dtype in the loop: its inputs, outputs and, for a fused loop, its scalar inner graph."""
    if node is None:
        return set()
    scalar_op = getattr(elemwise_of(node), "scalar_op", None)
    inner = scalar_op.fgraph.variables if isinstance(scalar_op, Composite) else []
    return {v.type.dtype for v in [*node.inputs, *node.outputs, *inner] if hasattr(v.type, "dtype")}


def _broadcastable(var: Variable) -> tuple[bool, ...]:
    """Per axis, whether it has length 1; nothing for a native scalar (PyTensor 3.3's NUMBA mode)."""
    return getattr(var.type, "broadcastable", ())


def _source(var: Variable) -> Variable:
    """The variable an input was broadcast from (before dimensions of size 1 were added)."""
    while var.owner is not None and isinstance(var.owner.op, DimShuffle):
        var = var.owner.inputs[0]
    return var


def _verdicts(
    node: Apply | None, output: Variable, graph_input: Variable, loop_nodes: list[Apply]
) -> tuple[bool, bool, str | None]:
    """(fused, in place, why not in place) of the update ``output`` of ``graph_input``, computed by
    ``node`` and, per ``_loop_nodes``, by the elementwise ``loop_nodes``."""
    if node is None:
        return True, True, None
    if isinstance(node.op, DeepCopyOp):
        return False, False, "the update is a copy of another value: PyTensor copies it into the variable"
    fused = loop_nodes == [node]
    index = node.outputs.index(output)
    destroyed = getattr(node.op, "destroy_map", {}).get(index, [])
    if any(node.inputs[i] is graph_input for i in destroyed):
        return fused, True, None
    if output.type != graph_input.type:
        why = (
            f"the update's static type {output.type} differs from the variable's {graph_input.type}; give "
            "both the same static shape (e.g. pytensor.shared(..., shape=...)) or none"
        )
    elif graph_input not in node.inputs:
        why = (
            "its update is split over several loops and the last one does not read the variable, so no "
            "loop can overwrite the variable's buffer"
            if not fused
            else "its loop does not read the variable, so it has no buffer of the variable's to overwrite"
        )
    else:
        why = "PyTensor kept the old value alive for another consumer (it is read after the loop)"
    return fused, False, why


def _loop_nodes(output: Variable) -> list[Apply]:
    """The elementwise loops that compute ``output`` element by element: its own node and, where fusion
    did not happen, the loops whose full-size results it reads."""
    nodes, todo = [], [output]
    while todo:
        var = _source(todo.pop())
        node = var.owner
        scalar_input = var is not output and all(_broadcastable(var))
        if node is None or node in nodes or elemwise_of(node) is None or scalar_input:
            continue
        nodes.append(node)
        todo += node.inputs
    return nodes


def _node_bytes(node: Apply, shape: tuple[int, ...]) -> tuple[int, int]:
    """Bytes one loop over ``shape`` reads (each input once, broadcast axes once) and writes."""

    def nbytes(var: Variable) -> int:
        # A native scalar (PyTensor 3.3's NUMBA mode) has no axes: one element, whatever the shape.
        dims = [n for n, broadcast in zip(shape, _broadcastable(var), strict=False) if not broadcast]
        return np.dtype(var.type.dtype).itemsize * int(np.prod(dims, dtype=np.int64))

    return sum(nbytes(i) for i in dict.fromkeys(node.inputs)), sum(nbytes(o) for o in node.outputs)


def _time_calls(
    fn: Callable[..., Any],
    args: list[Any],
    storage: dict[Variable, Any],
    fgraph: Any,
    maker: Any,
    repeats: int,
) -> float:
    updated = [maker.expanded_inputs[i].variable for i in fgraph.update_mapping.values()]
    saved = [storage[v].value.copy() for v in updated]
    fn(*args)  # compile-time work and first-call allocation stay out of the timing
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn(*args)
        _wait(result, storage, updated)
        times.append(time.perf_counter() - start)
    for variable, value in zip(updated, saved, strict=True):
        variable.set_value(value)
    return 1e6 * float(np.median(times))


def _wait(result: Any, storage: dict[Variable, Any], updated: list[Variable]) -> None:
    """Wait for JAX's asynchronous results, so the time is the step's and not its dispatch."""
    for value in [*(result if isinstance(result, list) else [result]), *(storage[v].value for v in updated)]:
        block = getattr(value, "block_until_ready", None)
        if block is not None:
            block()
