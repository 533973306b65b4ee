"""Timing and reporting shared by the benchmarks: warm-up, median of repeats, ratio tables.

Every benchmark script imports this module first: it limits OpenBLAS, MKL, OpenMP and XLA to one thread
before NumPy or JAX start (PyTensor's compiled loops are single-threaded; see notes.md).
"""

import os

for _var in ["OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"]:
    os.environ.setdefault(_var, "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

# The benchmarks measure the symupdates of this checkout, whatever is installed.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")


def _calls_per_block(call, min_seconds, warmup, clock=time.perf_counter):
    for _ in range(warmup):
        call()
    start, calls = clock(), 0
    while clock() - start < min_seconds:
        call()
        calls += 1
    return calls


def _block_seconds(call, calls, clock=time.perf_counter):
    start = clock()
    for _ in range(calls):
        call()
    return (clock() - start) / calls


def median_us(call, *, repeats, min_seconds=0.002, warmup=3):
    """Median over ``repeats`` of the time per call in microseconds; each repeat runs ``call`` in a loop of
    enough calls to last ``min_seconds``, so the timer's resolution does not matter."""
    calls = _calls_per_block(call, min_seconds, warmup)
    return float(np.median([_block_seconds(call, calls) for _ in range(repeats)])) * 1e6


def interleaved_median_us(calls, *, repeats, min_seconds=0.002, warmup=3, clock=time.perf_counter):
    """``median_us`` of every callable in the dict ``calls``, measured round-robin (one block of each per
    repeat), so that a change in the machine's load hits all of them alike: the ratios stay meaningful on
    a shared machine even when the absolute times do not.

    Every block lasts at least as long as the slowest single call: while other jobs load the machine, a
    block longer than the scheduler's time slice is almost always interrupted and a shorter one often is
    not, so blocks of unequal length ranked the callables by how long one call takes. ``clock`` is the
    wall clock by default; ``time.process_time`` (the CPU time of this process, all its threads) does not
    count the time other jobs hold the cores, so it compares callables doing single-threaded work even on
    a loaded machine (notes.md, "Wall clock on a loaded machine: the k-steps MLP result").
    """
    for call in calls.values():
        for _ in range(warmup):
            call()
    min_seconds = max([min_seconds] + [_block_seconds(call, 1, clock) for call in calls.values()])
    counts = {name: _calls_per_block(call, min_seconds, 0, clock) for name, call in calls.items()}
    samples = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            samples[name].append(_block_seconds(call, counts[name], clock))
    return {name: float(np.median(s)) * 1e6 for name, s in samples.items()}


def ratio_table(title, rows, peers, reference_peers=None, note=""):
    """Markdown table: one row per case, microseconds and the ratio to the fastest of ``reference_peers``
    (default: all columns except those starting with 'symupdates')."""
    lines = [f"### {title}", ""]
    if note:
        lines += [note, ""]
    lines.append("| case | " + " | ".join(peers) + " |")
    lines.append("|---|" + "---|" * len(peers))
    for case, times in rows:
        refs = [times[p] for p in (reference_peers or peers) if p in times and not p.startswith("symupdates")]
        best = min(refs) if refs else None
        cells = []
        for p in peers:
            t = times.get(p)
            if t is None:
                cells.append("n/a")
            else:
                cells.append(f"{t:,.1f} ({t / best:.2f}x)" if best else f"{t:,.1f}")
        lines.append(f"| {case} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def machine_info():
    import numba
    import pytensor

    info = {
        "date (UTC)": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "cpu": _cpu_name(),
        "cores": os.cpu_count(),
        "load average before the run": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "python": platform.python_version(),
        "pytensor": pytensor.__version__,
        "numpy": np.__version__,
        "numba": numba.__version__,
    }
    for name in ["torch", "jax", "optax"]:
        try:
            info[name] = __import__(name).__version__
        except ImportError:
            info[name] = "not installed"
    info["threads"] = (
        f"1 for every peer (torch.set_num_threads(1); OpenBLAS/MKL/OpenMP/XLA limited to 1), "
        f"on a machine with {os.cpu_count()} cores"
    )
    return info


def _cpu_name():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        return next(
            line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")
        )
    except (OSError, StopIteration):
        return platform.processor() or "unknown"
