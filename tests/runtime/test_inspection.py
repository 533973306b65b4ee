"""inspect_step's verdicts against graphs built to have (or lack) each property: a lost in-place from a
static-shape mismatch, a float64 loop in a float32 update, fusion switched off, bytes that follow the arrays'
sizes, and JAX mode's float64 results. tests/integration/test_compiled_graphs.py uses it on every rule."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile.mode import Mode, get_mode
from pytensor.link.vm import VMLinker

import symupdates as su
from support.modes import require_mode

# The C backend's rewrites on a VM with Python thunks: the graph CVM runs, without compiling C.
CVM_GRAPH = Mode(VMLinker(use_cloop=False, c_thunks=False), get_mode("CVM").provided_optimizer)
MODES = {"NUMBA": "NUMBA", "CVM": CVM_GRAPH}


def adam_step(n, mode, param_shape, grad_shape):
    w = pytensor.shared(np.zeros(n, "float32"), name="w", shape=param_shape)
    g = pt.tensor("g", dtype="float32", shape=grad_shape)
    updates = su.adam([g], [w])
    return pytensor.function([g], [], updates=updates, mode=mode), updates


@pytest.mark.parametrize("mode", MODES)
def test_static_shape_mismatch_loses_in_place_and_is_named(mode):
    fn, updates = adam_step(5, MODES[mode], param_shape=(None,), grad_shape=(5,))
    report = su.inspect_step(fn)
    for var in [*updates.params, *(v for v in updates.state if v.ndim)]:
        record = report.of(var)
        assert record["fused"] and record["in_place"] is False, record
        assert "static type" in record["why_not_in_place"] and "(5,)" in record["why_not_in_place"]
    assert set(map(id, report.problems())) >= {id(report.of(v)) for v in updates.params}
    assert "not in place: the update's static type" in str(report)
    # The same rule with matching static types: one fused in-place loop, no problems.
    fixed, _ = adam_step(5, MODES[mode], param_shape=(5,), grad_shape=(5,))
    assert su.inspect_step(fixed).problems() == []


@pytest.mark.parametrize("mode", MODES)
def test_float64_inside_a_float32_update_is_flagged(mode):
    w = pytensor.shared(np.zeros(5, "float32"), name="w", shape=(5,))
    g = pt.tensor("g", dtype="float32", shape=(5,))
    leaking = w - pt.constant(0.1, dtype="float64") * g  # float64 arithmetic, cast back to float32
    fn = pytensor.function([g], [], updates={w: pt.cast(leaking, "float32")}, mode=MODES[mode])
    record = su.inspect_step(fn).of(w)
    assert record["float64_leak"] and "float64" in record["loop_dtypes"], record
    # symupdates types a float64 shared hyper-parameter to the param's dtype once, outside the loop.
    lr = pytensor.shared(np.float64(0.1), name="lr")
    clean = pytensor.function([g], [], updates=su.sgd([g], [w], learning_rate=lr), mode=MODES[mode])
    assert su.inspect_step(clean).of(w)["loop_dtypes"] == ["float32"]


@pytest.mark.parametrize("mode", MODES)
def test_without_fusion_each_update_is_several_loops(mode):
    w = pytensor.shared(np.zeros(5, "float32"), name="w", shape=(5,))
    g = pt.tensor("g", dtype="float32", shape=(5,))
    updates = su.adam([g], [w])
    unfused = get_mode(MODES[mode]).excluding("fusion")
    report = su.inspect_step(pytensor.function([g], [], updates=updates, mode=unfused))
    for var in [w, *(v for v in updates.state if v.ndim)]:
        assert report.of(var)["fused"] is False, report.of(var)
    assert len({report.of(v)["loop"] for v in [w, *updates.state]}) == 4
    assert "not one fused loop" in str(report)


def test_bytes_follow_the_arrays_read_and_written():
    """Adam's loop reads w, g, m, v and writes w, m, v: 7 float32 arrays per element, whatever else
    (scalars) it reads; and the step's total counts that loop once, not once per variable."""
    reports = {}
    for n in (1000, 3000):
        fn, updates = adam_step(n, "NUMBA", param_shape=(n,), grad_shape=(n,))
        reports[n] = (su.inspect_step(fn), updates)
    (small, updates_small), (large, updates_large) = reports[1000], reports[3000]
    w_small, w_large = small.of(updates_small.params[0]), large.of(updates_large.params[0])
    assert w_large["bytes_written"] == 3 * 4 * 3000
    assert w_large["bytes_read"] - w_small["bytes_read"] == 4 * 4 * 2000
    assert large.bytes_moved - small.bytes_moved == 7 * 4 * 2000
    (counter,) = [large.of(v) for v in updates_large.state if v.ndim == 0]
    assert counter["dtype"] == "int64" and counter["loop"] != w_large["loop"]
    assert large.bytes_moved == w_large["bytes_read"] + w_large["bytes_written"] + sum(
        counter[k] for k in ("bytes_read", "bytes_written")
    )


def test_timing_reports_the_bound_and_leaves_the_state_as_it_was():
    fn, updates = adam_step(1000, "NUMBA", param_shape=(1000,), grad_shape=(1000,))
    before = {v: v.get_value() for v in updates}
    report = su.inspect_step(fn, [np.ones(1000, "float32")], bandwidth=1e9, repeats=3)
    assert report.measured_us > 0
    assert report.bound_us == pytest.approx(1e6 * report.bytes_moved / 1e9)
    for var, value in before.items():
        np.testing.assert_array_equal(var.get_value(), value)
    assert "of which the bound is" in str(report)


def test_fast_function_is_inspected_through_its_compiled_function():
    w = pytensor.shared(np.zeros(8, "float32"), name="w", shape=(8,))
    g = pt.tensor("g", dtype="float32", shape=(8,))
    step = su.fast_function([g], updates=su.rmsprop([g], [w]), mode="NUMBA")  # PyTensor 2.38's default is CVM
    report = su.inspect_step(step, [np.ones(8, "float32")], repeats=2)
    assert report.mode == "NUMBA" and report.problems() == [] and report.measured_us > 0
    np.testing.assert_array_equal(w.get_value(), np.zeros(8, "float32"))


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="fn must be a compiled pytensor.function"):
        su.inspect_step(lambda: None)
    fn, _ = adam_step(3, "NUMBA", param_shape=(3,), grad_shape=(3,))
    with pytest.raises(ValueError, match="bandwidth"):
        su.inspect_step(fn, bandwidth=-1)


def test_jax_mode_reports_dtypes_and_flags_float64_results():
    """PyTensor 3.0's JAX sums return float64: after one ordinary call, a float32 bias (whose gradient is
    a sum over the batch) holds a float64 array. fast_function keeps it float32."""
    require_mode("JAX")
    x, y = pt.matrix("x", dtype="float32"), pt.vector("y", dtype="float32")
    data = np.ones((4, 3), "float32"), np.ones(4, "float32")
    reports = {}
    for name, compile_step in [("plain", pytensor.function), ("fast", su.fast_function)]:
        w = pytensor.shared(np.zeros(3, "float32"), name="w", shape=(3,))
        b = pytensor.shared(np.float32(0.0), name="b")
        loss = pt.mean((x @ w + b - y) ** 2)
        step = compile_step([x, y], loss, updates=su.sgd(loss, [w, b], learning_rate=0.1), mode="JAX")
        before = su.inspect_step(step)
        assert before.of(b)["fused"] is None and before.of(b)["in_place"] is None
        assert not before.of(b)["float64_leak"] and before.notes
        step(*data)
        reports[name] = (su.inspect_step(step), b)
    plain, b_plain = reports["plain"]
    fast, b_fast = reports["fast"]
    # Whether the leak happened is read off the value itself, not assumed.
    assert plain.of(b_plain)["float64_leak"] == (np.asarray(b_plain.get_value()).dtype == np.float64)
    assert plain.of(b_plain)["float64_leak"], "PyTensor's JAX sums no longer return float64: update notes.md"
    assert not fast.of(b_fast)["float64_leak"]
