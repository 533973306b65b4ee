"""What the examples print, as a user sees it in a log and on a terminal: no fixed guesses of compile
times (each compile is announced and then timed), and progress bars (carriage-return lines) only on a
terminal, never in a redirected log nor with --no-progress."""

import argparse
import fcntl
import importlib
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

import numpy as np
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


def import_example(name):
    sys.path.insert(0, str(EXAMPLES))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(EXAMPLES))


def captured_figures(module, monkeypatch):
    """The figures ``module`` saves, kept open for the test to read."""
    figures = {}
    monkeypatch.setattr(module, "save", lambda figure, out, name: figures.setdefault(name, figure))
    return figures


def coloured_lines(ax):
    return [line for line in ax.get_lines() if line.get_color() != "0.85"]


def test_compare_modern_wall_time_reads_on_its_own(monkeypatch, tmp_path):
    """Each wall-time panel shows one rule in colour (the others in grey) and has its own legend naming it,
    so curves that cross and overlap in time do not hide one another."""
    compare = import_example("compare_modern")
    rng = np.random.default_rng(0)

    def run(name, epochs, seed):  # curves that overlap in time, as the real ones do
        accuracy = np.clip(0.9 + 0.05 * rng.random(epochs), 0, 1)
        return accuracy, np.cumsum(np.full(epochs, 0.05)), 0.1

    monkeypatch.setattr(compare, "run", run)
    figures = captured_figures(compare, monkeypatch)
    compare.main(["--epochs", "3", "--out", str(tmp_path), "--no-progress"])
    figure = figures["compare_modern.png"]
    by_time = [ax for ax in figure.get_axes() if ax.get_xscale() == "log"]
    assert len(by_time) == len(compare.RULES)
    for ax, name in zip(by_time, compare.RULES, strict=True):
        assert ax.get_legend() is not None, f"{name}'s wall-time panel has no legend"
        assert [t.get_text() for t in ax.get_legend().get_texts()] == [name]
        assert len(coloured_lines(ax)) == 1  # one rule in colour per panel: nothing overlaps it


def test_recommender_has_a_million_row_table_and_times_the_dense_step(monkeypatch, tmp_path):
    """The default user table has 1,000,000 rows, of which the active users' rows are a random choice; the
    dense step is timed on a few steps, and the picture says so next to the sparse epoch's time."""
    recommender = import_example("recommender")
    parser_defaults = {}

    def capture(parser, argv=None):
        parser_defaults.update(vars(parser.parse_known_args([])[0]))
        raise SystemExit(0)

    with monkeypatch.context() as patch:
        patch.setattr(argparse.ArgumentParser, "parse_args", capture)
        with pytest.raises(SystemExit):
            recommender.main([])
    defaults = parser_defaults
    assert defaults["users"] >= 1_000_000 and defaults["active_users"] < defaults["users"]
    figures = captured_figures(recommender, monkeypatch)
    small = ["--active-users", "300", "--items", "200", "--ratings", "5000", "--epochs", "1"]
    small += ["--batch", "256", "--dense-steps", "2", "--no-progress"]
    recommender.main([*small, "--out", str(tmp_path)])
    saved = np.load(tmp_path / "recommender.npz")
    rated = saved["rated_users"]
    assert len(rated) == 300 and rated.max() >= 300 and rated.max() < 1_000_000  # spread over the table
    assert saved["U"].shape == (300, 16)
    figure = figures["recommender.png"]
    _, times = figure.get_axes()
    labels = [t.get_text() for t in times.texts]
    assert any("from 2 timed steps" in label for label in labels), labels
    assert "1,000,000 x 16" in figure._suptitle.get_text()
