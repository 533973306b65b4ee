"""k steps in one call compute bit for bit what k calls of the one-step function compute."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile.mode import Mode, get_mode

import symupdates as su
from support.fusion import fused_programs
from support.modes import require_mode
from support.params import make_params

K, CALLS = 4, 2


def adam_step(mode, steps_per_call, guarded=False, static_shape=False):
    """adam with a cosine schedule (inside apply_if_finite if ``guarded``) on a float32/float64 model;
    outputs the loss and the monitors; one step per call or ``steps_per_call`` steps per call.
    Returns ``(step, updates, (inputs, outputs))``."""
    params = make_params("float32", seed=3, shapes=[(3,), ()], static_shape=static_shape) + make_params(
        "float64", seed=4, shapes=[(3,)], prefix="q", static_shape=static_shape
    )
    w, b, c = params
    x = pt.matrix("x", dtype="float32", shape=(5, 3))
    y = pt.vector("y", dtype="float64", shape=(5,))
    # Elementwise and small reductions only: a matrix product would cost a minute of cold C compilation.
    loss = (((pt.tanh(x * w + b).astype("float64") * c).sum(axis=1) - y) ** 2).mean()
    rule = su.adam(learning_rate=su.cosine_decay_schedule(0.1, decay_steps=6))
    updates = (su.apply_if_finite(rule) if guarded else rule)(loss, params)
    outputs = [loss, updates.monitors["learning_rate"]] + (
        [updates.monitors["skipped_steps"]] if guarded else []
    )
    if steps_per_call is None:
        step = su.fast_function([x, y], outputs, updates=updates, mode=mode)
    else:
        step = su.steps_function([x, y], outputs, updates=updates, steps_per_call=steps_per_call, mode=mode)
    return step, updates, ([x, y], outputs)


def batches(n, with_nan=False):
    rng = np.random.default_rng(7)
    xs = rng.normal(size=(n, 5, 3)).astype("float32")
    if with_nan:
        xs[[1, 6]] = np.nan  # a non-finite gradient at inner step 1 of the first call and 2 of the second
    return xs, rng.normal(size=(n, 5))


def run_both(mode, guarded):
    """``K * CALLS`` steps one per call and ``K`` per call: the per-step outputs of each, the updates of
    each, the two steps and the one-step graph ``(inputs, outputs)``."""
    single, single_updates, graph = adam_step(mode, None, guarded)
    many, many_updates, _ = adam_step(mode, K, guarded)
    xs, ys = batches(K * CALLS, with_nan=guarded)
    want = np.array([[np.asarray(v).copy() for v in single(x, y)] for x, y in zip(xs, ys, strict=True)]).T
    got = np.concatenate(
        [
            np.array([np.asarray(v).copy() for v in many(xs[c * K : (c + 1) * K], ys[c * K : (c + 1) * K])])
            for c in range(CALLS)
        ],
        axis=1,
    )
    return want, got, single_updates, many_updates, single, many, graph


def loop_body(step):
    [scan] = [n for n in step.function.maker.fgraph.apply_nodes if type(n.op).__name__ == "Scan"]
    return scan.op.fgraph


def assert_same_steps(mode, guarded):
    """k steps per call against as many single calls: every per-step output and, where the PyTensor version
    fuses the loop body like the one-step function, every param and state bit for bit. Returns the outputs."""
    want, got, single_updates, many_updates, single, many, (inputs, outputs) = run_both(mode, guarded)
    np.testing.assert_array_equal(got, want)  # NaN where a skipped step's loss is NaN
    # numba's fast-math 'contract' flag lets LLVM put either product of 0.9 * m + 0.1 * g in a fused
    # multiply-add, and which one follows the order of the fused program's operands: in NUMBA mode the
    # programs must be the same. PyTensor 2.38's fuser numbers the operands by where the per-step outputs
    # stand among the function's outputs (before the updates in the one-step function, after the carried
    # state in a scan), so there the moments differ in the last bits; that a one-step function with its
    # outputs last fuses like the loop body is checked, to show the cause. gcc (CVM mode) contracts in the
    # order of the program's results, not of its operands, and is exact on every version.
    exact = mode != "NUMBA" or fused_programs(single.function.maker.fgraph) == fused_programs(loop_body(many))
    if not exact:
        rewrite_only = Mode(linker="py", optimizer=get_mode(mode).optimizer)
        spec = single.function.maker.expanded_inputs
        in_update_order = [single_updates[s.variable] for s in spec if s.update is not None]
        outputs_last = pytensor.function(inputs, in_update_order + outputs, mode=rewrite_only)
        assert fused_programs(outputs_last.maker.fgraph) == fused_programs(loop_body(many))
    for a, b in zip(single_updates, many_updates, strict=True):
        assert a.name == b.name and a.get_value().dtype == b.get_value().dtype
        if exact or a.get_value().dtype.kind != "f":
            np.testing.assert_array_equal(b.get_value(), a.get_value(), err_msg=a.name)
        else:
            eps = np.finfo(a.get_value().dtype).eps
            np.testing.assert_allclose(b.get_value(), a.get_value(), rtol=4 * eps, atol=0, err_msg=a.name)
    return want


def test_loop_body_writes_every_carried_array_over_an_array_it_has():
    # With params of a static shape (what inspect_step asks for: PyTensor writes a value over an input only
    # of exactly its type), the one-step function updates every state in place, and so must the loop body,
    # instead of giving a param or a moment a new array at every inner step. NUMBA only: PyTensor's C scan
    # copies its carried states. Arrays only: 3.3's NUMBA mode passes scalars as native values.
    many, updates, _ = adam_step("NUMBA", K, static_shape=True)
    [scan] = [n for n in many.function.maker.fgraph.apply_nodes if type(n.op).__name__ == "Scan"]
    body = scan.op.fgraph
    # PyTensor 3 carries the state without a history (untraced); 2.38 in buffers of a few steps (sit-sot).
    kind = "inner_untraced_sit_sot" if scan.op.inner_untraced_sit_sot(body.inputs) else "inner_sitsot"
    states, next_values = getattr(scan.op, kind)(body.inputs), getattr(scan.op, f"{kind}_outs")(body.outputs)
    assert len(states) == len(updates)
    fresh = [
        f"{state.type} <- {value.type}"
        for state, value in zip(states, next_values, strict=True)
        if state.ndim and not value.owner.op.destroy_map.get(value.owner.outputs.index(value))
    ]
    assert fresh == []


@pytest.mark.parametrize("mode", ["NUMBA", "CVM"])
def test_k_steps_per_call_are_bit_identical_to_k_single_calls(mode):
    want = assert_same_steps(mode, guarded=False)
    # The schedule advanced per inner step.
    np.testing.assert_allclose(
        want[1], [0.05 * (1 + np.cos(np.pi * min(t, 6) / 6)) for t in range(K * CALLS)]
    )


@pytest.mark.parametrize("mode", ["NUMBA", "CVM"])
def test_apply_if_finite_skips_inner_steps_independently(mode):
    want = assert_same_steps(mode, guarded=True)
    # Skipped inner steps are counted per step, and skipped: the schedule stands still on them.
    assert list(want[2]) == [0, 1, 1, 1, 1, 1, 2, 2]
    np.testing.assert_array_equal(np.isnan(want[0]), [i in (1, 6) for i in range(K * CALLS)])
    taken = [sum(j not in (1, 6) for j in range(i)) for i in range(K * CALLS)]  # steps taken before step i
    np.testing.assert_allclose(want[1], [0.05 * (1 + np.cos(np.pi * min(t, 6) / 6)) for t in taken])


def test_jax_mode_runs_the_same_steps_to_rounding():
    require_mode("JAX")
    single, single_updates, _ = adam_step("NUMBA", None)
    many, many_updates, _ = adam_step("JAX", K)
    xs, ys = batches(K)
    want = [float(single(x, y)[0]) for x, y in zip(xs, ys, strict=True)]
    np.testing.assert_allclose(np.asarray(many(xs, ys)[0]), np.array(want, dtype="float64"), rtol=1e-6)
    for a, b in zip(single_updates, many_updates, strict=True):
        np.testing.assert_allclose(np.asarray(b.get_value()), a.get_value(), rtol=1e-5, err_msg=a.name)


def test_bad_steps_per_call_is_named():
    x = pt.vector("x", dtype="float64", shape=(2,))
    with pytest.raises(ValueError, match="steps_per_call"):
        su.steps_function([x], x.sum(), updates={}, steps_per_call=0)
