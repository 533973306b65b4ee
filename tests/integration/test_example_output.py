"""What the examples print, as a user sees it in a log and on a terminal: no fixed guesses of compile
times (each compile is announced and then timed), and progress bars (carriage-return lines) only on a
terminal, never in a redirected log nor with --no-progress."""

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
# A recommender small enough to run in seconds: it compiles two steps and draws a progress bar per epoch.
RECOMMENDER = ["--users", "300", "--items", "200", "--ratings", "5000", "--epochs", "1", "--batch", "256"]


def environment():
    return {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}


def run_redirected(name, *args):
    """Run an example with stdout and stderr redirected to pipes (as in ``python ex.py > log 2>&1``)."""
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=environment(),
    )
    assert result.returncode == 0, result.stderr
    return result.stdout, result.stderr


def run_on_a_terminal(name, *args):
    """Run an example with stderr on a pseudo-terminal (where tqdm draws); returns (stdout, terminal)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 24 x 100 characters
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLES / name), *args],
        stdout=subprocess.PIPE,
        stderr=follower,
        env=environment(),
    )
    os.close(follower)
    screen = []

    def read():
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the example closed the terminal
                return
            if not chunk:
                return
            screen.append(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    stdout, _ = process.communicate(timeout=600)
    reader.join(timeout=60)
    os.close(leader)
    assert process.returncode == 0, b"".join(screen).decode(errors="replace")
    return stdout.decode(), b"".join(screen).decode(errors="replace")


CACHED = r"\(PyTensor caches it on disk for the next runs\)"


def assert_compiles_are_timed_not_guessed(out):
    announced = re.findall(rf"^compiling (.+) {CACHED}\.\.\.$", out, re.M)
    compiled = re.findall(r"^compiled (.+) in [\d.]+ s$", out, re.M)
    assert announced and announced == compiled, out
    assert "first run: ~" not in out, out


def test_a_redirected_log_gets_whole_lines_and_timed_compiles(tmp_path):
    out, err = run_redirected("recommender.py", *RECOMMENDER, "--out", str(tmp_path))
    assert "\r" not in out and "\r" not in err, (out, err)
    assert_compiles_are_timed_not_guessed(out)
    assert re.search(r"^sparse epoch 1: held-out RMSE [\d.]+, [\d.]+ s$", out, re.M), out


def test_an_example_that_compiles_through_the_shared_helper_writes_no_bars_into_a_log(tmp_path):
    out, err = run_redirected("linear_regression.py", "--steps", "2", "--out", str(tmp_path))
    assert "\r" not in out and "\r" not in err, (out, err)
    assert_compiles_are_timed_not_guessed(out)


def test_on_a_terminal_the_compile_clock_and_the_bars_run_unless_no_progress(tmp_path):
    out, screen = run_on_a_terminal("recommender.py", *RECOMMENDER, "--out", str(tmp_path))
    assert_compiles_are_timed_not_guessed(out)
    assert re.search(r"compiling the sparse training step: \d\d:\d\d", screen), screen  # the live clock
    assert re.search(r"sparse epoch 1/1: .*step", screen), screen  # the epoch's progress bar
    assert "\r" in screen
    out, screen = run_on_a_terminal("recommender.py", *RECOMMENDER, "--out", str(tmp_path), "--no-progress")
    assert "\r" not in screen and "compiling" not in screen, screen
    assert_compiles_are_timed_not_guessed(out)


@pytest.mark.parametrize(
    "name",
    ["adagrad_2d", "compare_modern", "compare_optimizers", "linear_regression", "matrix_factorization", "nmf",
     "optimizer_paths", "port_from_lasagne", "recommender", "train_mlp"],
)  # fmt: skip
def test_every_example_takes_no_progress(name):
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment(),
    )
    assert result.returncode == 0 and "--no-progress" in result.stdout, result.stdout + result.stderr
