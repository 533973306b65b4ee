import os
import warnings

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

# pip-installed PyTensor warns at every C compilation that it found no BLAS; our graphs are elementwise.
warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")

# Run as a script by test_parallel.py in processes with several JAX devices; not a module to collect.
collect_ignore = ["parallel_cases.py"]

# Shapes every rule is checked on, all at once (one compiled function updates them together).
SHAPES = [(), (3,), (2, 3), (2, 1, 3, 2)]


def jax_available():
    try:
        import jax  # noqa: F401
    except ImportError:
        return False
    return True


def require_mode(mode):
    """Skip a JAX-mode test where jax is not installed, except in CI, which must test all three modes."""
    if mode == "JAX" and not jax_available():
        if os.environ.get("CI"):
            pytest.fail("CI must install the jax extra so that JAX mode is tested")
        pytest.skip("jax is not installed")


def make_params(dtype, seed=0, shapes=SHAPES, prefix="p", static_shape=False):
    rng = np.random.default_rng(seed)
    return [
        pytensor.shared(
            rng.normal(size=s).astype(dtype), name=f"{prefix}{i}", shape=s if static_shape else None
        )
        for i, s in enumerate(shapes)
    ]


def gradient_sequence(params, steps, seed=1, shrink=1.0):
    """Random gradients per step; with shrink < 1 their magnitude decays as shrink**k."""
    rng = np.random.default_rng(seed)
    return [
        [(rng.normal(size=p.get_value().shape) * shrink**k).astype(p.dtype) for p in params]
        for k in range(steps)
    ]


def compile_with_grad_inputs(rule, params, mode=None, **hyper):
    """Compile one step of ``rule`` whose gradients are function inputs; returns (fn, updates)."""
    grads = [pt.tensor(f"g{i}", dtype=p.dtype, shape=p.type.shape) for i, p in enumerate(params)]
    updates = rule(grads, params, **hyper)
    fn = pytensor.function(grads, [], updates=updates, mode=mode)
    return fn, updates
