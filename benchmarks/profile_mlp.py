"""Where the time of an MLP training step goes: PyTensor's per-op profile of the step, in CVM mode (the
NUMBA mode compiles the whole step into one function, which its profiler cannot split), and, for the NUMBA
step, the time of its matrix products alone (the same float32 products in NumPy, which calls the same
single-threaded OpenBLAS as NUMBA mode's ``np.dot``) next to the time of the whole step.

Usage: ``python benchmarks/profile_mlp.py [hidden] [batch]`` (default 256 256, relu for 256, else tanh).
"""

import sys

from common import median_us  # first: puts this checkout on sys.path, one thread per library

# isort: split

import numpy as np  # noqa: E402
import pytensor  # noqa: E402
import pytensor.tensor as pt  # noqa: E402

import mlp_step  # noqa: E402
import symupdates as su  # noqa: E402


def main(hidden=256, batch=256):
    activation = "relu" if hidden == 256 else "tanh"
    weights, x, y = mlp_step.data(hidden, batch)
    params = [pytensor.shared(w.copy()) for w in weights]
    xv = pt.matrix("x", dtype="float32", shape=x.shape)
    yv = pt.vector("y", dtype="int64", shape=y.shape)
    loss = mlp_step.pytensor_loss(xv, yv, params, activation)
    fn = pytensor.function(
        [xv, yv], loss, updates=su.adam(loss, params, learning_rate=mlp_step.LR), mode="CVM", profile=True
    )
    median_us(lambda: fn(x, y), repeats=20, min_seconds=0.02)
    fn.profile.summary(n_ops_to_print=8, n_apply_to_print=8)

    numba_step = mlp_step.symupdates_step(weights, x, y, activation, "NUMBA")
    w1, _, w2, _ = weights
    hidden_values = x @ w1
    output_error = (hidden_values @ w2) * np.float32(0.01)
    hidden_error = output_error @ w2.T

    def matrix_products():
        # Forward: x @ W1 and h @ W2; backward: the two weight gradients and the error sent back to h.
        (x @ w1) @ w2
        x.T @ hidden_error
        hidden_values.T @ output_error
        output_error @ w2.T

    step_us = median_us(numba_step, repeats=20, min_seconds=0.02)
    products_us = median_us(matrix_products, repeats=20, min_seconds=0.02)
    print(
        f"NUMBA step {step_us:.0f} us; its five matrix products alone in NumPy {products_us:.0f} us "
        f"({products_us / step_us:.0%} of the step)"
    )


if __name__ == "__main__":
    main(*map(int, sys.argv[1:3]))
