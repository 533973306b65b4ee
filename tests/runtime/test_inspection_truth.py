"""inspect_step's verdicts against what a compiled step really does to the buffers: a function compiled
with mode="CVM" (a C loop over C thunks), a dense weight updated by an in-place BLAS Gemm, the row writes
of a sparse step, and a float64 constant in one param's update when PyTensor fuses two params' updates
into one loop. "In place" is checked by the data pointer of each variable's buffer before and after a
call; a float64 leak by the update's own symbolic graph."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile.mode import Mode, get_mode
from pytensor.link.vm import VMLinker

import symupdates as su

# The C backend's rewrites on a VM that loops in Python over Python thunks.
PYTHON_VM = Mode(VMLinker(use_cloop=False, c_thunks=False), get_mode("CVM").provided_optimizer)


def require_c_compiler():
    if not pytensor.config.cxx:
        pytest.skip("no C compiler: mode='CVM' cannot compile")


def buffer_of(variable):
    return variable.get_value(borrow=True, return_internal_type=True).__array_interface__["data"][0]


def assert_in_place_verdicts_hold(fn, report, args):
    """Every variable reported in place keeps its buffer through a call (and its value changes where the
    step moves it, so the check is not of a step that did nothing)."""
    variables = [fn.maker.expanded_inputs[i].variable for i in fn.maker.fgraph.update_mapping.values()]
    before = {v: (buffer_of(v), v.get_value().copy()) for v in variables}
    fn(*args)
    for v in variables:
        if report.of(v)["in_place"]:
            assert buffer_of(v) == before[v][0], f"{v.name} is reported in place but got a new buffer"
    return before


def test_a_cvm_function_is_reported_as_cvm_and_a_python_vm_as_vm():
    require_c_compiler()
    w = pytensor.shared(np.zeros(4, "float32"), name="w", shape=(4,))
    g = pt.vector("g", dtype="float32", shape=(4,))
    cvm = pytensor.function([g], [], updates=su.sgd([g], [w], learning_rate=0.1), mode="CVM")
    python_vm = pytensor.function([g], [], updates=su.sgd([g], [w], learning_rate=0.1), mode=PYTHON_VM)
    assert su.inspect_step(cvm).mode == "CVM"
    assert str(su.inspect_step(cvm)).startswith("compiled step (CVM)")
    assert su.inspect_step(python_vm).mode == "VM"


def test_a_dense_weight_updated_by_an_in_place_gemm_is_in_place_with_its_bytes():
    """sgd on a 1000 x 1000 weight in CVM: PyTensor folds the gradient's product and the update into one
    Gemm{inplace} that overwrites W. The report says so, counts W read and written, and lists no problem."""
    require_c_compiler()
    rng = np.random.default_rng(0)
    w = pytensor.shared(rng.normal(size=(1000, 1000)).astype("float32"), name="W", shape=(1000, 1000))
    x = pt.matrix("x", dtype="float32", shape=(32, 1000))
    loss = pt.mean((x @ w) ** 2)
    fn = pytensor.function([x], [], updates=su.sgd(loss, [w], learning_rate=0.1), mode="CVM")
    assert any("Gemm" in str(node.op) for node in fn.maker.fgraph.apply_nodes), "no Gemm: test needs one"
    report = su.inspect_step(fn)
    record = report.of(w)
    assert record["kernel"] == "BLAS" and record["fused"] and record["in_place"], record
    assert report.problems() == []
    # Gemm reads W, x^T and the (32 x 1000) gradient factor, and writes W.
    assert record["bytes_written"] == 4 * 1000 * 1000
    assert record["bytes_read"] == 4 * 1000 * 1000 + 2 * 4 * 32 * 1000 + 2 * 4  # + the two scalars
    assert report.bytes_moved == record["bytes_read"] + record["bytes_written"]
    batch = rng.normal(size=(32, 1000)).astype("float32")
    before = assert_in_place_verdicts_hold(fn, report, [batch])
    w0 = before[w][1].astype("float64")
    expected = w0 - 0.1 * batch.T.astype("float64") @ (2 * batch.astype("float64") @ w0 / (32 * 1000))
    np.testing.assert_allclose(w.get_value(), expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("mode", ["NUMBA", "CVM"])
def test_sparse_row_writes_are_in_place_and_move_the_touched_rows(mode):
    """README's sparse step: sparse(adam, lazy=True) on a 100000 x 16 table. Each table variable is written
    in place, row by row; its bytes are those of the rows a call touches (with args), not the table's."""
    if mode == "CVM":
        require_c_compiler()
    table = pytensor.shared(np.zeros((100_000, 16), "float32"), name="E", shape=(100_000, 16))
    idx, target = pt.vector("idx", dtype="int64"), pt.matrix("y", dtype="float32")
    loss = pt.sum((table[idx] - target) ** 2)
    updates = su.sparse(su.adam(learning_rate=0.01), lazy=True)(loss, [table])
    fn = pytensor.function([idx, target], [], updates=updates, mode=mode)
    tables = [v for v in updates if v.ndim == 2]
    assert len(tables) == 3
    without_args = su.inspect_step(fn)
    assert without_args.problems() == []
    for v in tables:
        record = without_args.of(v)
        assert record["kernel"] == "rows" and record["fused"] and record["in_place"], record
        assert record["bytes_read"] is None  # the touched rows are known only from a call
    assert any("give args" in note for note in without_args.notes)

    written = {}
    for rows in ([3, 5, 5, 7], [1, 2, 3, 4, 5, 6, 7, 8, 8]):  # 3 and 8 distinct rows
        args = [np.array(rows, "int64"), np.ones((len(rows), 16), "float32")]
        report = su.inspect_step(fn, args, repeats=1)
        assert report.problems() == []
        written[len(set(rows))] = [report.of(v)["bytes_written"] for v in tables]
        before = assert_in_place_verdicts_hold(fn, report, args)
        changed = np.flatnonzero(np.any(table.get_value() != before[table][1], axis=1))
        assert changed.tolist() == sorted(set(rows))  # only the touched rows move
    # Bytes proportional to the distinct rows: the row write and the loop over the rows, 16 float32 each.
    per_row = [w / 3 for w in written[3]]
    assert [w / 8 for w in written[8]] == per_row
    assert all(r > 0 and r % (16 * 4) == 0 for r in per_row)


@pytest.mark.parametrize("mode", ["NUMBA", PYTHON_VM], ids=["NUMBA", "CVM-graph"])
def test_a_float64_leak_is_attributed_only_to_the_update_that_holds_it(mode):
    """Two params whose gradients share a loss are updated by one fused loop; a float64 constant in w's
    update only must flag w (and not v, nor adam's moments), as w's symbolic update alone holds float64."""
    w, v = (pytensor.shared(np.zeros(5, "float32"), name=n, shape=(5,)) for n in "wv")
    x = pt.vector("x", dtype="float32", shape=(5,))
    loss = pt.sum((w * x + v * x) ** 2)
    updates = su.adam(loss, [w, v])
    updates[w] = pt.cast(updates[w] - pt.constant(1e-3, dtype="float64") * w, "float32")
    fn = pytensor.function([x], [], updates=updates, mode=mode)
    report = su.inspect_step(fn)
    assert report.of(w)["loop"] == report.of(v)["loop"], "not fused into one loop: the test needs it"

    def holds_float64(expr):
        seen, todo = set(), [expr]
        while todo:
            var = todo.pop()
            if var in seen:
                continue
            seen.add(var)
            if var.owner is not None:
                todo += var.owner.inputs
        return any(getattr(s.type, "dtype", None) == "float64" for s in seen)

    vector_state = [s for s in updates if s.ndim == 1]
    assert len(vector_state) == 6
    for var in vector_state:
        assert report.of(var)["float64_leak"] == holds_float64(updates[var]), report.of(var)
    assert [r["variable"] for r in report.problems()] == ["w"]
