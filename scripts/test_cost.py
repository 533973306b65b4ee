"""What a test command costs: its wall time and the peak memory of its largest process.

Runs a command (by default README's fast tier) and polls ``/proc`` for its whole process tree: the pytest
process, its xdist workers and the processes the tests start. Each process's peak resident set size is its
kernel-kept high-water mark (``VmHWM`` in ``/proc/PID/status``), read at every poll while it lives, so a
process living shorter than the poll interval can be missed, and a process's last growth before it exits
is seen only up to one interval late. Linux only (``/proc``); needs nothing beyond the standard library.

Run from the repository root::

    python scripts/test_cost.py                                     # the fast tier
    python scripts/test_cost.py -- python -m pytest -q -n auto      # the full suite
    PYTENSOR_FLAGS=base_compiledir=$(mktemp -d) python scripts/test_cost.py   # with a cold compile cache

The command's own output passes through; the cost is printed last, as ``cost: ...`` lines.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

FAST_TIER = ["python", "-m", "pytest", "-q", "-m", "fast", "-n", "auto"]


def children_of() -> dict[int, list[int]]:
    """Every live process's children, from ``/proc/PID/stat`` (field 4 is the parent's PID)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:  # the process ended while we looked
            continue
        # The command name (field 2) is in parentheses and may hold spaces: split after its last ")".
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    return children


def tree(root: int) -> list[int]:
    children, found, todo = children_of(), [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def peak_rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def describe(command: str) -> str:
    """xdist workers are execnet gateways, ``python -u -c import sys;exec(eval(sys.stdin.readline()))``."""
    if "exec(eval(sys.stdin.readline()))" in command:
        return "an xdist worker"
    return command[:120]


def main() -> int:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between polls (default 0.2)")
    parser.add_argument("command", nargs="*", help=f"the command, after --; default: {' '.join(FAST_TIER)}")
    args = parser.parse_args()
    command = args.command or FAST_TIER
    if command[0] == "python":  # this interpreter, so that the venv running this script runs the tests
        command = [sys.executable, *command[1:]]

    start = time.monotonic()
    process = subprocess.Popen(command)
    peaks: dict[int, int] = {}  # pid -> highest VmHWM seen, KiB
    names: dict[int, str] = {}
    total_peak = 0  # the highest sum of the tree's current RSS at one poll, KiB
    while process.poll() is None:
        total = 0
        for pid in tree(process.pid):
            peak = peak_rss_kib(pid)
            if peak is None:
                continue
            if pid not in names:
                names[pid] = describe(command_line(pid))
            peaks[pid] = max(peak, peaks.get(pid, 0))
            total += rss_kib(pid)
        total_peak = max(total_peak, total)
        time.sleep(args.interval)
    wall = time.monotonic() - start

    largest = max(peaks, key=peaks.__getitem__)
    workers = [pid for pid, name in names.items() if name == "an xdist worker"]
    gib = 1024.0**2
    print(f"cost: command: {' '.join(args.command or FAST_TIER)}")
    print(f"cost: exit status {process.returncode}, wall time {wall:.0f} s ({wall / 60:.1f} min)")
    print(f"cost: largest process peak RSS {peaks[largest] / gib:.2f} GiB ({names[largest]})")
    if workers:
        worker_peaks = ", ".join(f"{peaks[pid] / gib:.2f}" for pid in sorted(workers))
        print(f"cost: xdist workers' peak RSS (GiB): {worker_peaks}")
    print(f"cost: highest total RSS of the process tree at one poll {total_peak / gib:.2f} GiB")
    print(f"cost: {len(peaks)} processes seen, polled every {args.interval} s")
    return process.returncode


if __name__ == "__main__":
    sys.exit(main())
