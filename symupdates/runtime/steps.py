"""Many training steps per compiled call: a PyTensor ``scan`` over a stack of mini-batches.

For a small network the per-call overhead (Python, then entering the compiled program) is a large part of
each step. ``steps_function`` compiles ``k`` steps into one call, like Keras's ``steps_per_execution`` or a
``lax.scan`` over steps in JAX: the params and the optimizer state are carried through the loop, and every
output (the loss, any monitor) comes back once per inner step.
"""

from collections.abc import Mapping, Sequence
from typing import Any

import pytensor
import pytensor.tensor as pt
from pytensor.compile.mode import Mode
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Variable
from pytensor.graph.replace import graph_replace
from pytensor.tensor.variable import TensorVariable

from ..core.compat import rebuild_collect_shared
from .fast import CompiledStep, Outputs, fast_function

__all__ = ["steps_function", "scan_steps"]


def scan_steps(
    inputs: Sequence[Variable],
    outputs: Sequence[Variable],
    updates: Mapping[Variable, Variable],
    steps_per_call: int,
) -> tuple[list[TensorVariable], list[Variable], dict[Variable, Variable]]:
    """The graph of ``steps_per_call`` consecutive steps: ``(stacked inputs, stacked outputs, updates)``.

    Step ``i`` (``i = 0 .. k-1``) reads ``inputs[j][i]`` for every input and the params and state left by
    step ``i - 1``; it computes ``outputs`` and the next value of every shared variable in ``updates``
    exactly as one step of ``pytensor.function(inputs, outputs, updates=updates)`` would.

    Parameters
    ----------
    inputs : list of TensorVariable
        The per-step inputs (a mini-batch).
    outputs : list of TensorVariable
        What each step returns (e.g. the loss and ``updates.monitors`` values).
    updates : dict
        ``{shared variable: next value}``, e.g. the ``Updates`` of any rule in symupdates.
    steps_per_call : int >= 1
        ``k``.

    Returns
    -------
    stacked_inputs : list of TensorVariable
        One per input, of shape ``(k, *input.shape)``.
    stacked_outputs : list of TensorVariable
        One per output, of shape ``(k, *output.shape)``: row ``i`` is the value at step ``i``.
    final_updates : dict
        ``{shared variable: value after the k-th step}``, to compile with.

    Examples
    --------
    >>> import numpy as np, pytensor, pytensor.tensor as pt, symupdates as su
    >>> w = pytensor.shared(np.float64(0.0), name="w")
    >>> g = pt.scalar("g", dtype="float64")
    >>> xs, (ws,), updates = su.scan_steps([g], [w], su.sgd([g], [w], learning_rate=1.0), 3)
    >>> f = pytensor.function(xs, ws, updates=updates)
    >>> f(np.array([1.0, 2.0, 3.0])), w.get_value()
    (array([ 0., -1., -3.]), array(-6.))
    """
    inputs, outputs = list(inputs), list(outputs)
    _check_steps_per_call(steps_per_call)
    for name, variables in [("inputs", inputs), ("outputs", outputs)]:
        for v in variables:
            if not isinstance(v, pytensor.graph.basic.Variable):
                raise TypeError(f"{name} must be symbolic variables, got {type(v).__name__}")
    for var in updates:
        if not isinstance(var, pytensor.compile.SharedVariable):
            raise TypeError(f"updates: key {var} is not a shared variable")
    stacked = [
        pt.tensor(
            name=f"{x.name or 'input'}_steps", dtype=x.type.dtype, shape=(steps_per_call, *x.type.shape)
        )
        for x in inputs
    ]
    stacked_outputs, final = scan_updates(inputs, outputs, updates, stacked, steps_per_call)
    return stacked, list(stacked_outputs), dict(final.items())


def scan_updates(
    inputs: Sequence[Variable],
    outputs: Sequence[Variable],
    updates: Mapping[Variable, Variable],
    stacked: Sequence[Variable],
    n_steps: int | Variable,
) -> tuple[list[TensorVariable], dict[SharedVariable, TensorVariable]]:
    """The scan of ``scan_steps`` over given stacked inputs: ``(stacked outputs, final updates)``.

    Step ``i`` reads ``stacked[j][i]`` in place of ``inputs[j]``; the carried state is every key of
    ``updates``, starting from the shared variables themselves, in ``pytensor.function``'s order (see
    ``steps_function``'s Notes). Used by ``scan_steps`` (placeholders to compile with) and
    ``symupdates.unroll`` (the user's symbolic data, to differentiate through).
    """
    outputs = list(outputs)
    shared = _in_function_order(outputs, updates)
    n_in, n_out = len(inputs), len(outputs)

    def one_step(*args: Variable) -> list[Variable]:
        current, states = args[:n_in], args[n_in:]
        replacements = dict(zip(inputs, current, strict=True)) | dict(zip(shared, states, strict=True))
        new = graph_replace(outputs + [updates[var] for var in shared], replacements, strict=False)
        # The carried value must have the shared variable's exact type (static shape included).
        carried = [
            var.type.filter_variable(value, allow_convert=True)
            for var, value in zip(shared, new[n_out:], strict=True)
        ]
        return new[:n_out] + carried

    results = pytensor.scan(
        one_step,
        sequences=list(stacked),
        outputs_info=[None] * n_out + shared,
        n_steps=n_steps,
        return_updates=False,
    )
    results = list(results) if isinstance(results, list | tuple) else [results]
    final: dict[SharedVariable, TensorVariable] = {
        var: result[-1] for var, result in zip(shared, results[n_out:], strict=True)
    }
    return results[:n_out], final


def steps_function(
    inputs: Sequence[Variable],
    outputs: Outputs = (),
    *,
    updates: dict[Variable, Variable],
    steps_per_call: int,
    mode: str | Mode | None = None,
    **kwargs: Any,
) -> CompiledStep:
    """Compile ``steps_per_call`` training steps into one call, returning each step's outputs.

    Each call takes every input stacked along a new leading axis of length ``k = steps_per_call`` (``k``
    mini-batches) and runs, for ``i = 0 .. k-1``::

        outputs[i] = outputs(inputs[i], state_i)
        state_{i+1} = updates(inputs[i], state_i)

    where ``state`` is every shared variable in ``updates`` (params, moments, step counters, schedules'
    counters, ``apply_if_finite``'s skip count). It returns every output stacked, shape ``(k, ...)``.

    Parameters
    ----------
    inputs : list of TensorVariable
        The per-step inputs, as for one step (shape ``(batch, ...)``); the call takes them stacked.
    outputs : TensorVariable or list of TensorVariable, optional
        What each step returns (the loss, ``updates.monitors[...]``); a single variable comes back as one
        stacked array, a list as a list.
    updates : dict
        ``{shared variable: next value}`` for one step, e.g. the ``Updates`` of any rule in symupdates.
    steps_per_call : int >= 1
        ``k``, the number of steps per call (the leading length of every stacked input).
    mode : str or Mode, optional
        ``"NUMBA"`` (PyTensor's default), ``"CVM"``, ``"JAX"`` (there the loop becomes ``jax.lax.scan``).
    **kwargs
        Passed on to ``fast_function``.

    Returns
    -------
    callable
        ``step(*stacked_values)``: runs ``k`` steps, returns the stacked outputs. It is a ``fast_function``:
        the same conventions hold (values of exactly the declared dtype and shape, no input checks,
        returned arrays may be reused by the next call; ``.function`` is the ordinary compiled function).

    Notes
    -----
    In NUMBA and CVM mode ``k`` steps in one call give bit for bit the params, state and outputs of ``k``
    calls of the one-step function (``fast_function`` or ``pytensor.function`` of the same inputs, outputs
    and updates; ``tests/runtime/test_steps.py`` checks adam, a schedule with its monitor, alone
    and inside ``apply_if_finite`` skipping some inner steps); in JAX mode XLA compiles the loop body on its
    own, so agreement is to rounding. Bit for bit needs more than the same arithmetic: the loop body must
    fuse into the same elementwise programs as the one-step function, with their operands and results in
    the same order, because the compilers contract a product and a sum into a fused multiply-add (numba's
    fast-math ``contract``, gcc's default ``-ffp-contract=fast``) and which product of
    ``0.9 * m + 0.1 * g`` they contract follows that order. So the loop carries the state in the order
    ``pytensor.function`` lists the updates, not in the order of the ``updates`` dict (with the dict's
    order, ``apply_if_finite``'s fused update came out in another order and the moments differed in the
    last bit). On PyTensor 2.38 in NUMBA mode the state agrees to a few ulps: its fuser also numbers the
    operands by where the per-step outputs stand among the compiled function's outputs, before the
    updates in the one-step function and after the carried state in a ``scan``.

    Schedules and monitors advance per inner step because their counters are state like any other;
    ``apply_if_finite`` decides for each inner step on its own gradients. Shared variables that are read but
    not updated (e.g. a learning rate set between calls) keep their value for the whole call.

    Random number generators updated by the step (dropout) are not supported as carried state.

    Compared with Keras's ``steps_per_execution``: the ``k`` mini-batches are passed as one array, there is
    no callback between inner steps, and every per-step output comes back, not only the last.

    Examples
    --------
    >>> import numpy as np, pytensor, pytensor.tensor as pt, symupdates as su
    >>> w = pytensor.shared(np.zeros(2, dtype="float32"), name="w")
    >>> x = pt.vector("x", dtype="float32", shape=(2,))
    >>> loss = ((w - x) ** 2).sum()
    >>> step = su.steps_function([x], loss, updates=su.sgd(loss, [w], learning_rate=0.25), steps_per_call=3)
    >>> step(np.ones((3, 2), dtype="float32"))  # the loss before each of the 3 steps
    array([2.   , 0.5  , 0.125], dtype=float32)
    >>> w.get_value()
    array([0.875, 0.875], dtype=float32)
    """
    if mode == "JAX":
        # PyTensor's own JAX scan fails on a float32 step (its sums come back float64, see
        # benchmarks/notes.md): scan the one-step program with its results cast to their declared dtypes.
        from .parallel import jax_steps

        _check_steps_per_call(steps_per_call)
        return jax_steps(inputs, outputs, updates, steps_per_call, **kwargs)
    single = not isinstance(outputs, list | tuple)
    outs = list(outputs) if isinstance(outputs, list | tuple) else [outputs]
    stacked, stacked_outputs, final = scan_steps(inputs, outs, updates, steps_per_call)
    return fast_function(
        stacked, stacked_outputs[0] if single else stacked_outputs, updates=final, mode=mode, **kwargs
    )


def _in_function_order(
    outputs: Sequence[Variable], updates: Mapping[Variable, Variable]
) -> list[SharedVariable]:
    """The keys of ``updates`` in the order ``pytensor.function(inputs, outputs, updates=updates)`` lists
    its updates: the order of the shared variables PyTensor's ``rebuild_collect_shared`` collects for it.
    The loop body then fuses like the one-step function (see ``steps_function``'s Notes).
    """
    *_, (_, _, _, shared_inputs) = rebuild_collect_shared(outputs, updates=list(updates.items()))
    return [var for var in shared_inputs if var in updates]


def _check_steps_per_call(steps_per_call: Any) -> None:
    if isinstance(steps_per_call, bool) or not isinstance(steps_per_call, int) or steps_per_call < 1:
        raise ValueError(f"steps_per_call must be an int >= 1, got {steps_per_call!r}")
