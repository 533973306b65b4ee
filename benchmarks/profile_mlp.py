"""Where the time of an MLP training step goes: PyTensor's per-op profile of the step, in CVM mode (the
NUMBA mode compiles the whole step into one function, which its profiler cannot split).

Usage: ``python benchmarks/profile_mlp.py [hidden] [batch]`` (default 256 256, relu for 256, else tanh).
"""

import sys

from common import median_us  # first: puts this checkout on sys.path, one thread per library

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


if __name__ == "__main__":
    main(*map(int, sys.argv[1:3]))
