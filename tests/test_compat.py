"""symupdates/_compat.py: the names it exports behave the same on every supported PyTensor."""

import numpy as np
import pytensor
import pytensor.tensor as pt

from symupdates import _compat


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
