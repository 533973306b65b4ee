"""Show that a NUMBA-mode function can round differently in a process that compiled it and in one that
loaded it from PyTensor's cache.

Runs one small fused elementwise function (schedule-free's ``y`` update, shortened) in fresh processes
sharing a new, empty ``base_compiledir``: the first compiles it, the second loads it from the cache. It
prints a hash of each result, with PyTensor's default numba fast-math flags and with
``numba__fastmath=False``::

    python scripts/numba_cache_rounding.py

Numba compiles each inner function of the step into its own library and links a copy into its caller,
where LLVM optimizes it again under the fast-math flags; the compiling process calls the first copy, a
process that loads from the cache the second (docs/checkpoints.md, "Bit for bit across processes"). With
fast-math off the two copies round alike.
"""

import argparse
import os
import subprocess
import sys
import tempfile

CHILD = """
import hashlib, numpy as np, pytensor, pytensor.tensor as pt
y, z, g = pt.vector("y"), pt.vector("z"), pt.vector("g"); c = pt.scalar("c"); b1 = 0.9
z_new = z - 0.0025 * (g / (pt.sqrt(0.001 * g**2 / 0.001) + 1e-8))
x = (y - (1 - b1) * z) / b1
f = pytensor.function([y, z, g, c], b1 * ((1 - c) * x + c * z_new) + (1 - b1) * z_new, mode="NUMBA")
rng = np.random.default_rng(0)
out = f(rng.normal(size=1000), rng.normal(size=1000), rng.normal(size=1000), np.float64(0.3))
print(hashlib.sha256(out.tobytes()).hexdigest()[:16])
"""


def run(compiledir, fastmath):
    flags = f"base_compiledir={compiledir},numba__fastmath={fastmath}"
    env = {**os.environ, "PYTENSOR_FLAGS": flags}
    return subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True, timeout=600
    ).stdout.strip()


def main(argv=None):
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    import pytensor

    print(f"PyTensor {pytensor.__version__}: sha256 of the result (first 16 hex digits)")
    for fastmath in (True, False):
        with tempfile.TemporaryDirectory() as compiledir:
            compiled, loaded = run(compiledir, fastmath), run(compiledir, fastmath)
        verdict = "same" if compiled == loaded else "DIFFERENT"
        print(
            f"numba__fastmath={fastmath}: compiling process {compiled}, cache-loading process {loaded}: "
            f"{verdict}"
        )


if __name__ == "__main__":
    main()
