"""The examples run as a user runs them, and print what they promise."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def run_example(name, *args, cwd=None):
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
        env={**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_train_mlp_reaches_held_out_accuracy_above_0_9():
    out = run_example("train_mlp.py", "--epochs", "10")
    rows = re.findall(r"^\s*(\d+)\s+([\d.]+)\s+([\d.]+)$", out, flags=re.M)
    assert [int(r[0]) for r in rows] == list(range(1, 11))
    losses = [float(r[1]) for r in rows]
    assert losses[-1] < losses[0] / 2
    held_out = float(re.search(r"held-out accuracy: ([\d.]+)", out).group(1))
    assert held_out > 0.9


def test_train_mlp_resumes_from_its_checkpoint(tmp_path):
    checkpoint = str(tmp_path / "mlp.npz")
    first = run_example("train_mlp.py", "--epochs", "1", "--checkpoint", checkpoint)
    resumed = run_example("train_mlp.py", "--epochs", "1", "--resume", checkpoint)
    assert f"checkpoint saved to {checkpoint}" in first and f"resumed from {checkpoint}" in resumed
    epoch_1 = r"^\s*1\s+([\d.]+)\s+[\d.]+$"
    loss = [float(re.search(epoch_1, out, flags=re.M).group(1)) for out in (first, resumed)]
    assert loss[1] < loss[0] * 0.8  # the second run continues where the first stopped
