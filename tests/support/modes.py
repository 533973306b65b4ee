"""The PyTensor modes the tests run graphs in."""

import os

import pytest
from pytensor.compile.mode import Mode

# Compiles nothing (Numba would take ~15 s per rule): for tests of the equations, which keep their
# float32/float64 types in the Python linker; tests/integration/test_backends.py compares the backends.
EQUATIONS = Mode(linker="py", optimizer="fast_compile")


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
