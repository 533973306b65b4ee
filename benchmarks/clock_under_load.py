"""Wall clock against CPU time for the k-steps MLP step, with other processes competing for the core.

Runs this process on CPU 0 together with ``--busy N`` busy-looping processes pinned to the same CPU (at
this process's priority), and times steps_per_call.py's MLP calls (one call per step, k = 1, 10, 100)
round-robin, giving per step the median of the wall clock and of this process's CPU time over the same
blocks, for blocks of at least 2 ms each (the benchmark's timing before 2026-11-25) and for blocks of equal
length (at least the slowest call, as ``common.interleaved_median_us`` times now). Why: notes.md, "Wall
clock on a loaded machine: the k-steps MLP result".

    python benchmarks/clock_under_load.py [--busy 1] [--repeats 9]
"""

import argparse
import os
import subprocess
import sys
import time

from common import _block_seconds, _calls_per_block  # first: puts this checkout on sys.path

# isort: split

import numpy as np

import steps_per_call


def busy_processes(n, cpu, seconds):
    loop = f"import os, time\nos.sched_setaffinity(0, {{{cpu}}})\nend = time.time() + {seconds}\n"
    loop += "while time.time() < end: pass"
    return [subprocess.Popen([sys.executable, "-c", loop]) for _ in range(n)]


def blocks(calls, counts, repeats):
    """{peer: (median wall, median CPU microseconds per step)}, blocks of counts[peer] calls, round-robin."""
    samples = {name: [] for name in calls}
    for _ in range(repeats):
        for name, (call, steps) in calls.items():
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(counts[name]):
                call()
            n = counts[name] * steps
            samples[name].append(((time.perf_counter() - wall) / n, (time.process_time() - cpu) / n))
    return {name: np.median(np.array(s), axis=0) * 1e6 for name, s in samples.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--busy", type=int, default=1, help="busy processes sharing CPU 0 (default 1)")
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    os.sched_setaffinity(0, {0})
    calls = steps_per_call.mlp_calls()
    short = {name: _calls_per_block(call, 0.002, 3) for name, (call, _) in calls.items()}
    longest = max(_block_seconds(call, 1) for call, _ in calls.values())
    equal = {name: _calls_per_block(call, max(0.002, longest), 0) for name, (call, _) in calls.items()}
    busy = busy_processes(args.busy, 0, seconds=600)
    try:
        time.sleep(0.5)
        for label, counts in [("blocks of >= 2 ms", short), ("blocks of equal length", equal)]:
            times = blocks(calls, counts, args.repeats)
            print(f"{args.busy} busy process(es) on CPU 0, {label}: us per step, wall / CPU")
            for name, (wall, cpu) in times.items():
                print(f"  {name:18s} {wall:8.1f} / {cpu:6.1f}")
    finally:
        for process in busy:
            process.kill()
            process.wait()


if __name__ == "__main__":
    main()
