"""The fast call path computes exactly what the ordinary compiled function computes."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import symupdates
from support.modes import require_mode
from support.params import make_params


def training_step(mode, fast):
    """One adam step on a small float32/float64 model with a loss output, compiled one way or the other."""
    params = make_params("float32", seed=3, shapes=[(3,), ()]) + make_params(
        "float64", seed=4, shapes=[(3,)], prefix="q"
    )
    w, b, c = params
    x = pt.matrix("x", dtype="float32", shape=(5, 3))
    y = pt.vector("y", dtype="float64", shape=(5,))
    # Elementwise and small reductions only: a matrix product would cost a minute of cold C compilation.
    prediction = (pt.tanh(x * w + b).astype("float64") * c).sum(axis=1)
    loss = ((prediction - y) ** 2).mean()
    updates = symupdates.adam(loss, params, learning_rate=0.05)
    if fast:
        step = symupdates.fast_function([x, y], [loss, prediction], updates=updates, mode=mode)
    else:
        step = pytensor.function([x, y], [loss, prediction], updates=updates, mode=mode)
    return step, updates


@pytest.mark.parametrize("mode", ["NUMBA", "CVM"])
def test_fast_path_is_bit_identical_to_the_ordinary_call(mode):
    ordinary, ordinary_updates = training_step(mode, fast=False)
    fast, fast_updates = training_step(mode, fast=True)
    rng = np.random.default_rng(7)
    for k in range(5):
        x = rng.normal(size=(5, 3)).astype("float32")
        y = rng.normal(size=5)
        want = ordinary(x, y)
        got = fast(x, y)
        assert isinstance(got, list) and len(got) == 2
        for name, w, g in zip(["loss", "prediction"], want, got, strict=True):
            np.testing.assert_array_equal(np.asarray(g), w, err_msg=f"{name} at step {k}")
        for a, b in zip(ordinary_updates, fast_updates, strict=True):
            assert b.name == a.name
            value = b.get_value()
            assert value.dtype == a.get_value().dtype
            np.testing.assert_array_equal(value, a.get_value(), err_msg=f"{a.name} at step {k}")
    # The ordinary function behind the fast path shares its state: it continues where the fast one was.
    fast.function(x, y)
    ordinary(x, y)
    for a, b in zip(ordinary_updates, fast_updates, strict=True):
        np.testing.assert_array_equal(b.get_value(), a.get_value(), err_msg=a.name)


def test_fast_path_output_conventions_and_argument_count():
    w = pytensor.shared(np.ones(3, dtype="float32"), name="w")
    g = pt.vector("g", dtype="float32", shape=(3,))
    step = symupdates.fast_function([g], (w * g).sum(), updates=symupdates.sgd([g], [w], learning_rate=0.5))
    ones = np.ones(3, dtype="float32")
    assert step(ones) == pytest.approx(3.0)  # a single output comes back unpacked
    np.testing.assert_array_equal(w.get_value(), np.full(3, 0.5, dtype="float32"))
    with pytest.raises(TypeError, match="takes 1 inputs, got 2"):
        step(ones, ones)


def test_jax_fast_path_keeps_every_shared_variable_in_its_declared_dtype():
    """PyTensor's JAX backend returns a float32 sum as float64 (its accumulator's dtype); through the fast
    path the float32 params and state stay float32 and follow the NUMBA step."""
    require_mode("JAX")
    x = pt.matrix("x", dtype="float32", shape=(5, 3))
    runs = {}
    for mode in ["NUMBA", "JAX"]:
        w, b = make_params("float32", seed=3, shapes=[(3,), ()])
        loss = ((pt.tanh(x * w + b).sum(axis=1) - 1) ** 2).mean()
        updates = symupdates.adam(loss, [w, b], learning_rate=0.05)
        runs[mode] = (symupdates.fast_function([x], loss, updates=updates, mode=mode), updates)
    rng = np.random.default_rng(7)
    for k in range(3):
        batch = rng.normal(size=(5, 3)).astype("float32")
        losses = {mode: np.asarray(step(batch)) for mode, (step, _) in runs.items()}
        assert losses["JAX"].dtype == np.float32
        np.testing.assert_allclose(losses["JAX"], losses["NUMBA"], rtol=1e-5, err_msg=f"loss at step {k}")
        for numba_var, jax_var in zip(runs["NUMBA"][1], runs["JAX"][1], strict=True):
            value = np.asarray(jax_var.get_value(borrow=True))
            assert value.dtype == jax_var.dtype, f"{jax_var.name} became {value.dtype} at step {k}"
            np.testing.assert_allclose(value, numba_var.get_value(), rtol=1e-4, err_msg=jax_var.name)
