"""Is the C backend's (CVM) slow elementwise update a matter of compiler flags?

Times one sgd and one adagrad step on 1e6 float32 elements, CVM and NUMBA (fast call path), with PyTensor's
default C flags and with ``gcc__cxxflags=-O3 -ffast-math -march=native``; each configuration runs in its
own process with its own fresh compile directory. Usage: ``python benchmarks/c_backend.py``.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
FLAGS = ["", "gcc__cxxflags=-O3 -ffast-math -march=native"]

MEASURE = """
import warnings; warnings.filterwarnings("ignore")
from common import median_us
import numpy as np, pytensor, pytensor.tensor as pt
import symupdates as su
rng = np.random.default_rng(0)
for rule in ["sgd", "adagrad"]:
    p = rng.normal(size=10**6).astype("float32")
    g = rng.normal(size=10**6).astype("float32")
    for mode in ["CVM", "NUMBA"]:
        shared = pytensor.shared(p.copy(), shape=p.shape)
        grad = pt.vector(dtype="float32", shape=p.shape)
        updates = getattr(su, rule)([grad], [shared], learning_rate=0.01)
        step = su.fast_function([grad], updates=updates, mode=mode)
        print(rule, mode, round(median_us(lambda: step(g), repeats=15)))
"""


def main():
    print("| C flags | rule | CVM (us) | NUMBA (us) | CVM / NUMBA |")
    print("|---|---|---|---|---|")
    for flags in FLAGS:
        with tempfile.TemporaryDirectory(prefix="symupdates-cflags-") as compiledir:
            env = {
                **os.environ,
                "PYTENSOR_FLAGS": ",".join(filter(None, [f"base_compiledir={compiledir}", flags])),
            }
            out = subprocess.run(
                [sys.executable, "-c", MEASURE], cwd=HERE, env=env, capture_output=True, text=True, check=True
            ).stdout
        times = {}
        for line in out.splitlines():
            rule, mode, us = line.split()
            times.setdefault(rule, {})[mode] = int(us)
        for rule, t in times.items():
            print(
                f"| {flags or 'default'} | {rule} | {t['CVM']:,} | {t['NUMBA']:,} | "
                f"{t['CVM'] / t['NUMBA']:.1f} |"
            )


if __name__ == "__main__":
    main()
