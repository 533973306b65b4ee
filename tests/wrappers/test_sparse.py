"""symupdates.sparse: row-sparse steps equal the dense steps bit for bit where the rule allows it, follow
torch's sparse optimizers where it is lazy, and compile to graphs with no full-size work besides the
in-place row writes."""

import warnings

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile.mode import get_mode

import support
import symupdates as su
from symupdates.core.compat import is_row_scatter

N, D, BATCH = 12, 3, 6


def lookups(E, idx, pairs):
    """A loss with three lookups of E: a vector (with negative entries), a matrix through ``take`` and a
    matrix through advanced indexing; the rows' gradients depend on E, so each step's gradient differs."""
    return (pt.sin(E[idx]) * 1.7).sum() + (pt.take(E, pairs, axis=0) ** 2).sum() / 3 + pt.tanh(E[pairs]).sum()


def batches(steps, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        idx = rng.integers(-N, N, size=BATCH)  # negative entries name the same rows as n + N
        idx[1] = idx[0]  # always a duplicate
        yield idx, rng.integers(0, N, size=(BATCH // 2, 2))


def dense_and_sparse(rule, mode=None, lazy=False):
    """One function stepping a dense copy and a sparse copy of the same table (and a dense vector ``w``,
    updated densely in both) on the same batch."""
    init = np.random.default_rng(1).normal(size=(N, D))
    idx, pairs = pt.lvector("idx"), pt.lmatrix("pairs")
    tables = [pytensor.shared(init.copy(), name=name) for name in ("dense", "sparse")]
    ws = [pytensor.shared(np.ones(2), name=f"w_{name}") for name in ("dense", "sparse")]
    # w's gradient does not read the lookups: a gradient that is the lookups' value is summed in the order
    # PyTensor 3.3's NUMBA fuser picks for the loop it shares with the table's scatter, and that order
    # differs between the dense and the sparse graph (by an ulp here), whatever sparse() does.
    losses = [lookups(E, idx, pairs) + (w**2).sum() for E, w in zip(tables, ws, strict=True)]
    updates = dict(rule(losses[0], [tables[0], ws[0]]))
    with pytest.warns(su.SparseFallbackWarning, match=r"param 1 \('w_sparse'\)"):
        updates.update(su.sparse(rule, lazy=lazy)(losses[1], [tables[1], ws[1]]))
    return pytensor.function([idx, pairs], [], updates=updates, mode=mode), tables, ws


@pytest.mark.parametrize(
    "rule",
    [
        su.sgd(learning_rate=0.05),
        su.adagrad(learning_rate=0.3),
        su.adagrad(learning_rate=su.exponential_decay(0.3, 5, 0.5), lr_decay=0.1),
        su.sign_sgd(learning_rate=0.01),
    ],
    ids=["sgd", "adagrad", "adagrad_schedule_lr_decay", "sign_sgd"],
)
def test_sparse_step_is_the_dense_step_bit_for_bit(rule):
    step, tables, ws = dense_and_sparse(rule)
    for idx, pairs in batches(40):
        step(idx, pairs)
        np.testing.assert_array_equal(tables[1].get_value(), tables[0].get_value())
        np.testing.assert_array_equal(ws[1].get_value(), ws[0].get_value())
    assert not np.array_equal(tables[0].get_value(), np.random.default_rng(1).normal(size=(N, D)))


FIXTURES = support.FIXTURES / "sparse_parity"
# fixture -> the symupdates rule recorded by scripts/record_sparse_parity.py from torch's
TORCH_SPARSE = {
    "torch_SGD_sparse": su.sparse(su.sgd(learning_rate=0.1)),
    "torch_Adagrad_sparse": su.sparse(
        su.adagrad(
            learning_rate=0.1,
            epsilon=1e-10,
            lr_decay=0.05,
            initial_accumulator_value=0.1,
            epsilon_placement="outside",
        )
    ),
    "torch_SparseAdam": su.sparse(
        su.adam(learning_rate=0.05, beta1=0.8, beta2=0.95, epsilon=1e-8), lazy=True
    ),
}


def test_torch_sparse_optimizers_trajectories():
    """torch's SGD, Adagrad and SparseAdam on nn.Embedding(sparse=True) gradients, 20 steps, against the
    sparse rules in one function; dense Adam on the same problem is far from SparseAdam (rows left out of
    a batch move under dense Adam), so the fixture tells lazy from dense."""
    fixtures = {name: np.load(FIXTURES / f"{name}.npz") for name in TORCH_SPARSE}
    first = fixtures["torch_SGD_sparse"]
    idx, rows = pt.lvector("idx"), pt.dmatrix("rows")
    tables, updates = {}, {}
    dense_adam = TORCH_SPARSE["torch_SparseAdam"].config["inner"]
    for name, rule in [*TORCH_SPARSE.items(), ("dense adam", dense_adam)]:
        tables[name] = pytensor.shared(first["initial"].copy(), name=name)
        updates.update(rule((tables[name][idx] * rows).sum(), [tables[name]]))
    step = pytensor.function([idx, rows], [], updates=updates)
    for k, (i, r) in enumerate(zip(first["indices"], first["rows"], strict=True)):
        step(i, r)
        for name, data in fixtures.items():
            np.testing.assert_allclose(
                tables[name].get_value(),
                data["trajectory"][k],
                rtol=1e-10,
                atol=1e-12,
                err_msg=f"{name} at step {k + 1}",
            )
    lazy_end = fixtures["torch_SparseAdam"]["trajectory"][-1]
    assert np.abs(tables["dense adam"].get_value() - lazy_end).max() > 1e-2


def test_lazy_rmsprop_and_momentum_move_touched_rows_only():
    """Lazy RMSprop (Lasagne's) and SGD with torch's momentum against NumPy: the formulas on the touched
    rows, nothing elsewhere (where the dense rules would decay the state and move the rows)."""
    init = np.random.default_rng(4).normal(size=(6, 2))
    idx, rows = pt.lvector("idx"), pt.dmatrix("rows")
    rules = {
        "rmsprop": su.rmsprop(learning_rate=0.1, rho=0.8),
        "momentum": su.sgd(learning_rate=0.1, momentum=0.7),
    }
    tables = {name: pytensor.shared(init.copy(), name=name) for name in rules}
    updates = {}
    for name, rule in rules.items():
        updates.update(su.sparse(rule, lazy=True)((tables[name][idx] * rows).sum(), [tables[name]]))
    step = pytensor.function([idx, rows], [], updates=updates)
    expected = {name: init.copy() for name in rules}
    accu, velocity = np.zeros_like(init), np.zeros_like(init)
    rng = np.random.default_rng(5)
    for _ in range(12):
        i, r = rng.integers(0, 4, size=5), rng.normal(size=(5, 2))  # rows 4 and 5 are never touched
        g = np.zeros_like(init)
        np.add.at(g, i, r)
        u = np.unique(i)
        accu[u] = 0.8 * accu[u] + 0.2 * g[u] ** 2
        expected["rmsprop"][u] -= 0.1 * g[u] / np.sqrt(accu[u] + 1e-6)
        velocity[u] = 0.7 * velocity[u] + g[u]
        expected["momentum"][u] -= 0.1 * velocity[u]
        step(i, r)
        for name in rules:
            np.testing.assert_allclose(tables[name].get_value(), expected[name], rtol=1e-13, atol=1e-15)
    assert (tables["momentum"].get_value()[4:] == init[4:]).all()


def test_rules_that_decay_need_lazy_and_others_are_refused():
    with pytest.raises(ValueError, match="lazy=True"):
        su.sparse(su.adam())
    with pytest.raises(ValueError, match="lazy=True"):
        su.sparse(su.sgd(momentum=0.9))
    with pytest.raises(ValueError, match="scale_by_trust_ratio"):
        su.sparse(su.lamb(), lazy=True)
    with pytest.raises(ValueError, match="flatten"):
        su.sparse(su.flatten(su.adagrad()))
    with pytest.raises(TypeError, match="inner"):
        su.sparse(su.adagrad)
    with pytest.raises(TypeError, match="lazy"):
        su.sparse(su.sgd(), lazy=1)


def test_a_transform_after_sparse_is_refused():
    E = pytensor.shared(np.ones((4, 2)), name="E")
    idx = pt.lvector("idx")
    with pytest.raises(ValueError, match="applied last"):
        su.chain(su.sparse(su.sgd()), su.scale(2.0))((E[idx] ** 2).sum(), [E])


def test_unrecognised_gradients_fall_back_with_a_warning():
    """A table also used whole, or looked up with a slice of columns, takes the dense step, and says so."""
    E = pytensor.shared(np.ones((4, 2)), name="E")
    idx = pt.lvector("idx")
    for loss in [(E[idx] ** 2).sum() + (E**2).sum(), E[idx, 1:].sum()]:
        with pytest.warns(su.SparseFallbackWarning, match=r"param 0 \('E'\)"):
            su.sparse(su.sgd())(loss, [E])
    with warnings.catch_warnings():
        warnings.simplefilter("error", su.SparseFallbackWarning)
        su.sparse(su.sgd())(E[idx].sum(), [E])


def test_sparse_rule_for_one_group_of_multi_transform():
    """Embeddings sparse, the rest dense: sparse(adagrad) for the table, adam for a dense vector."""
    E, w = pytensor.shared(np.ones((5, 2)), name="E"), pytensor.shared(np.ones(2), name="w")
    idx = pt.lvector("idx")
    loss = (E[idx] @ w).sum() ** 2
    groups = {"table": su.sparse(su.adagrad(learning_rate=0.1)), "rest": su.adam(learning_rate=0.1)}
    rule = su.multi_transform(groups, ["table", "rest"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", su.SparseFallbackWarning)
        step = pytensor.function([idx], [], updates=rule(loss, [E, w]))
    step(np.array([1, 1, 3]))
    # d loss / d E[r] = 2 (sum_k E[idx_k] . w) w count(r), with sum_k E[idx_k] . w = 6
    g = 2 * 6.0 * np.array([0, 2, 0, 1, 0])[:, None] * np.ones((5, 2))
    np.testing.assert_allclose(E.get_value(), 1 - 0.1 * g / np.sqrt(g**2 + 1e-6), rtol=1e-14)
    np.testing.assert_allclose(w.get_value(), 0.9, rtol=1e-6)  # adam's first step: lr * sign(g)


def test_checkpoints_of_sparse_rules_round_trip(tmp_path):
    """The state is the dense rule's (same names and shapes), saved and loaded as usual."""
    E = pytensor.shared(np.ones((4, 2)), name="E")
    loss = (E[pt.lvector("idx")] ** 2).sum()
    updates = su.sparse(su.adam(), lazy=True)(loss, [E])
    assert [v.name for v in updates.state] == [v.name for v in su.adam(loss, [E]).state]
    for k, var in enumerate(updates.state):
        var.set_value(np.full_like(var.get_value(), k + 1))
    su.save_state(updates, tmp_path / "state.npz")
    fresh = su.sparse(su.adam(), lazy=True)(loss, [E])
    su.load_state(fresh, tmp_path / "state.npz")
    for k, var in enumerate(fresh.state):
        np.testing.assert_array_equal(var.get_value(), np.full_like(var.get_value(), k + 1))


def test_clip_by_global_norm_sees_the_dense_norm():
    """The norm over the touched rows (and a dense param) is the dense gradient's norm."""
    E = pytensor.shared(np.arange(10.0).reshape(5, 2), name="E")
    w = pytensor.shared(np.array([3.0]), name="w")
    idx = pt.lvector("idx")
    loss = (E[idx] ** 2).sum() * w.sum()
    rule = su.chain(su.clip_by_global_norm(1.0), su.scale_by_learning_rate(0.1))
    with pytest.warns(su.SparseFallbackWarning):
        norm = su.sparse(rule)(loss, [E, w]).monitors["global_norm"]
    dense_norm = rule(loss, [E, w]).monitors["global_norm"]
    i = np.array([4, 0, 4])
    np.testing.assert_allclose(norm.eval({idx: i}), dense_norm.eval({idx: i}), rtol=1e-15)


def test_apply_if_finite_inside_sparse_skips_the_step():
    E = pytensor.shared(np.ones((4, 2)), name="E")
    idx, scale = pt.lvector("idx"), pt.dscalar("scale")
    updates = su.sparse(su.apply_if_finite(su.adagrad(learning_rate=0.1)))((E[idx] * scale).sum(), [E])
    step = pytensor.function([idx, scale], updates.monitors["skipped_steps"], updates=updates)
    # Two rows: before PyTensor 3.3, the C backend's row scatter refuses to write a single row of a matrix
    # (a runtime-broadcasting check in AdvancedIncSubtensor1.perform), and so does the dense gradient's.
    assert step(np.array([1, 2]), np.inf) == 1
    np.testing.assert_array_equal(E.get_value(), np.ones((4, 2)))
    assert step(np.array([1, 2]), 1.0) == 1
    assert (E.get_value()[[1, 2], 0] < 1).all() and (E.get_value()[[0, 3]] == 1).all()


@pytest.mark.parametrize("mode", ["NUMBA", "CVM"])
def test_compiled_sparse_step_has_no_full_size_node_but_the_row_writes(mode):
    """Every node with an output of the table's (or its state's) full size is an in-place row write. The
    table's static shape propagates, so a full-size Alloc or Elemwise would have it too."""
    rows = 1000
    E = pytensor.shared(np.zeros((rows, 4), dtype="float32"), name="E", shape=(rows, 4))
    idx, pairs = pt.lvector("idx"), pt.lmatrix("pairs")
    loss = (E[idx] ** 2).sum() + pt.take(E, pairs, axis=0).sum()
    rule = su.sparse(su.adam(learning_rate=0.1), lazy=True)
    fn = pytensor.function([idx, pairs], [], updates=rule(loss, [E]), mode=get_mode(mode))
    nodes = fn.maker.fgraph.toposort()
    full = [node for node in nodes if any(o.type.ndim and o.type.shape[0] == rows for o in node.outputs)]
    assert len(full) == 3, [str(n) for n in full]  # the table, m and v
    assert all(is_row_scatter(n) and n.op.inplace for n in full)
    assert all(n.op.set_instead_of_inc for n in full)
    assert any(o.type.shape[0] is None for n in nodes for o in n.outputs if o.type.ndim == 2)  # rows gathered
