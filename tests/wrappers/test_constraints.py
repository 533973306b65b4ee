"""norm_constraint and total_norm_constraint against NumPy."""

import numpy as np
import pytensor.tensor as pt
import pytest

import symupdates


def numpy_norm_constraint(x, max_norm, axes, epsilon=1e-7):
    norms = np.sqrt((x**2).sum(axis=axes, keepdims=True))
    return x * (np.clip(norms, 0, max_norm) / (epsilon + norms))


@pytest.mark.parametrize(
    "shape,axes",
    [((5, 4), (0,)), ((3, 4, 5), (1, 2)), ((2, 3, 4, 5), (1, 2, 3)), ((2, 2, 3, 4, 5), (1, 2, 3, 4))],
)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_default_axes(shape, axes, dtype):
    rng = np.random.default_rng(0)
    x = (rng.normal(size=shape) * 3).astype(dtype)
    got = symupdates.norm_constraint(pt.as_tensor(x), 2.0).eval()
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_allclose(
        got, numpy_norm_constraint(x, 2.0, axes), rtol=1e-5 if dtype == "float32" else 1e-12
    )
    norms = np.sqrt((got.astype("float64") ** 2).sum(axis=axes))
    assert np.all(norms <= 2.0 + 1e-5)


@pytest.mark.fast
def test_explicit_axes_and_small_norms_untouched():
    x = np.array([[0.1, 0.2], [0.3, 5.0]])
    got = symupdates.norm_constraint(pt.as_tensor(x), 1.0, norm_axes=(1,)).eval()
    np.testing.assert_allclose(got, numpy_norm_constraint(x, 1.0, (1,)))
    np.testing.assert_allclose(got[0], x[0], rtol=1e-6)


@pytest.mark.parametrize("ndim", [0, 1, 6])
def test_unsupported_dimensionality(ndim):
    x = pt.tensor(shape=(None,) * ndim)
    with pytest.raises(ValueError, match="Unsupported tensor dimensionality"):
        symupdates.norm_constraint(x, 1.0)


@pytest.mark.fast
@pytest.mark.parametrize("return_norm", [False, True])
def test_total_norm_constraint(return_norm):
    rng = np.random.default_rng(1)
    xs = [rng.normal(size=s) * 4 for s in [(3,), (2, 2), ()]]
    result = symupdates.total_norm_constraint([pt.as_tensor(x) for x in xs], 1.5, return_norm=return_norm)
    scaled, norm = result if return_norm else (result, None)
    total = np.sqrt(sum((x**2).sum() for x in xs))
    factor = min(total, 1.5) / (1e-7 + total)
    for got, x in zip(scaled, xs, strict=True):
        np.testing.assert_allclose(got.eval(), x * factor, rtol=1e-12)
    if return_norm:
        np.testing.assert_allclose(norm.eval(), total, rtol=1e-12)
    assert np.sqrt(sum((s.eval() ** 2).sum() for s in scaled)) <= 1.5 + 1e-9


def test_total_norm_constraint_keeps_dtypes():
    a = pt.vector(dtype="float32")
    b = pt.vector(dtype="float64")
    scaled = symupdates.total_norm_constraint([a, b], 1.0)
    assert [s.dtype for s in scaled] == ["float32", "float64"]


def test_bad_arguments():
    with pytest.raises(TypeError, match="max_norm"):
        symupdates.norm_constraint(pt.matrix(), "1")
    with pytest.raises(ValueError, match="epsilon"):
        symupdates.total_norm_constraint([pt.vector()], 1.0, epsilon=-1)
    with pytest.raises(TypeError, match="tensor_vars"):
        symupdates.total_norm_constraint(pt.vector(), 1.0)
