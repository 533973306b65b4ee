"""(c) Compile time: building the Adam training step of the 784-50-10 MLP with ``fast_function``, per mode,
with a cold cache (a fresh, empty PyTensor compile directory) and then warm (the same directory again).
Each build runs in its own Python process, so nothing is cached in memory."""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

BUILD = """
import time, warnings
warnings.filterwarnings("ignore")
import mlp_step
weights, x, y = mlp_step.data(50, 64)
start = time.perf_counter()
mlp_step.symupdates_step(weights, x, y, "tanh", "{mode}")()
print(time.perf_counter() - start)
"""


def build_seconds(mode, compiledir):
    env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={compiledir}"}
    out = subprocess.run(
        [sys.executable, "-c", BUILD.format(mode=mode)], cwd=HERE, env=env, capture_output=True, text=True
    )
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    return float(out.stdout.split()[-1])


def run(modes=("NUMBA", "CVM", "JAX"), log=print):
    rows = []
    for mode in modes:
        with tempfile.TemporaryDirectory(prefix=f"symupdates-bench-{mode}-") as compiledir:
            start = time.perf_counter()
            cold = build_seconds(mode, compiledir)
            warm = build_seconds(mode, compiledir)
            log(
                f"  {mode}: cold {cold:.2f} s, warm {warm:.2f} s "
                f"({time.perf_counter() - start:.0f} s with imports)"
            )
        rows.append((mode, cold, warm))
    return rows


def table(rows):
    lines = [
        "### Compile time: the 784-50-10 MLP's Adam step (first call included), seconds",
        "",
        "| mode | cold cache | warm cache |",
        "|---|---|---|",
    ]
    lines += [f"| {mode} | {cold:.2f} | {warm:.2f} |" for mode, cold, warm in rows]
    return "\n".join(lines) + "\n"
