"""symupdates/_compat.py: the names it exports behave the same on every supported PyTensor."""

import numpy as np
import pytensor
import pytensor.tensor as pt

from symupdates.core import compat as _compat


def test_isfinite_and_its_fallback_agree_with_numpy():
    values = np.array([0.0, -1.5, np.inf, -np.inf, np.nan, 1e308], dtype="float64")
    x = pt.vector("x", dtype="float64")
    for isfinite in {_compat.isfinite, _compat._isfinite}:
        fn = pytensor.function([x], isfinite(x), mode="FAST_COMPILE")
        np.testing.assert_array_equal(fn(values), np.isfinite(values))


def test_indexing_ops_are_the_ones_pytensor_builds():
    x, i = pt.vector("x"), pt.lvector("i")
    for read in [x[1:], x[i]]:
        assert isinstance(read.owner.op, _compat.SUBTENSOR_OPS)
    for write in [pt.set_subtensor(x[1:], 0.0), pt.inc_subtensor(x[i], 1.0)]:
        assert isinstance(write.owner.op, _compat.INC_SUBTENSOR_OPS)


def test_row_scatters_are_the_writes_at_one_index_array_on_axis_0():
    E, i, j, m = pt.matrix("E"), pt.lvector("i"), pt.lvector("j"), pt.lmatrix("m")
    rows = [
        pt.inc_subtensor(E[i], 1.0),
        pt.set_subtensor(E[m], 1.0),
        pytensor.grad(pt.take(E, i, axis=0).sum(), E),
    ]
    others = [
        pt.inc_subtensor(E[:, i], 1.0),
        pt.inc_subtensor(E[i, j], 1.0),
        pt.inc_subtensor(E[1:], 1.0),
        pytensor.grad(E[i, 0].sum(), E),
        pt.inc_subtensor(pt.tensor3("T")[:, i], 1.0),
    ]
    assert all(_compat.is_row_scatter(write.owner) for write in rows)
    assert not any(_compat.is_row_scatter(write.owner) for write in others)
