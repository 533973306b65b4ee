"""The examples run as a user runs them, and print what they promise.

Each example runs once, with few steps, in a temporary directory; its printed numbers and saved histories
are checked against NumPy (or plain Python) implementations of the textbook equations written here, and
its pictures must be valid PNG / GIF files.
"""

import argparse
import importlib
import inspect
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import symupdates
from support import ROOT

EXAMPLES = ROOT / "examples"
PNG_MAGIC, GIF_MAGICS = b"\x89PNG\r\n\x1a\n", (b"GIF87a", b"GIF89a")


def run_example(name, *args, cwd=None, check=True):
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
        env={**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)},
    )
    if not check:
        return result
    assert result.returncode == 0, result.stderr
    assert_announces_compile(result.stdout)
    return result.stdout


def assert_announces_compile(out):
    """The example says it is compiling before PyTensor compiles on the first call (a cold compile takes
    tens of seconds), and how long that took."""
    announced = re.search(r"^compiling .+\.\.\.$", out, flags=re.M)
    compiled = re.search(r"^compiled .+ in [\d.]+ s$", out, flags=re.M)
    assert announced and compiled and announced.start() < compiled.start(), out


def assert_pictures(directory, *names):
    for name in names:
        path = Path(directory) / name
        head = path.read_bytes()[:8]
        if name.endswith(".png"):
            assert head == PNG_MAGIC, name
        else:
            assert head[:6] in GIF_MAGICS, name
        with Image.open(path) as image:
            image.verify()
        with Image.open(path) as image:
            assert image.size[0] > 100 and image.size[1] > 100
            if name.endswith(".gif"):
                assert image.n_frames > 1


# Textbook update equations, one step: (point, gradient, state dict) -> point. Independent of symupdates.
def sgd_step(p, g, s, lr):
    return p - lr * g


def momentum_step(p, g, s, lr, mu):
    s["v"] = mu * s.get("v", 0.0) - lr * g
    return p + s["v"]


def nesterov_step(p, g, s, lr, mu):
    # Sutskever et al. (2013) in the form of Bengio et al. (2012): the parameter tracks the look-ahead point.
    v_old = s.get("v", 0.0)
    s["v"] = mu * v_old - lr * g
    return p + mu * s["v"] - lr * g


def adagrad_step(p, g, s, lr, eps=1e-6):
    s["a"] = s.get("a", 0.0) + g**2
    return p - lr * g / np.sqrt(s["a"] + eps)


def rmsprop_step(p, g, s, lr, rho=0.9, eps=1e-6):
    s["a"] = rho * s.get("a", 0.0) + (1 - rho) * g**2
    return p - lr * g / np.sqrt(s["a"] + eps)


def adam_step(p, g, s, lr, b1=0.9, b2=0.999, eps=1e-8):
    # Kingma and Ba (2015), section 2, the "epsilon hat" form of Algorithm 1.
    s["t"] = t = s.get("t", 0) + 1
    s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g**2
    return p - lr * np.sqrt(1 - b2**t) / (1 - b1**t) * s["m"] / (np.sqrt(s["v"]) + eps)


def numpy_path(step, gradient, start, steps, **hyper):
    """Points after 0..steps steps; ``gradient(k, p)`` is the gradient used at step k."""
    path, state = [np.array(start, dtype="float64")], {}
    for k in range(steps):
        path.append(step(path[-1], gradient(k, path[-1]), state, **hyper))
    return np.array(path)


def test_train_mlp_reaches_held_out_accuracy_above_0_9(tmp_path):
    out = run_example("train_mlp.py", "--epochs", "10", "--out", str(tmp_path), cwd=tmp_path)
    rows = re.findall(r"^\s*(\d+)\s+([\d.]+)\s+([\d.]+)$", out, flags=re.M)
    assert [int(r[0]) for r in rows] == list(range(1, 11))
    losses = [float(r[1]) for r in rows]
    assert losses[-1] < losses[0] / 2
    held_out = float(re.search(r"held-out accuracy: ([\d.]+)", out).group(1))
    assert held_out > 0.9
    assert "\r" not in out  # no progress bar when the output is not a terminal
    assert out.index("compiled the training step") < out.index("epoch")
    assert_pictures(tmp_path, "train_mlp_adagrad.png")

    # compare_optimizers trains its adagrad copy exactly as train_mlp does (same init, batches, rate).
    out = run_example(
        "compare_optimizers.py", "--epochs", "10", "--optimizers", "sgd,adagrad", "--out", str(tmp_path)
    )
    table = dict(re.findall(r"^\| (\w+) \| ([^\n]*) \|$", out, flags=re.M))
    assert set(table) >= {"sgd", "adagrad"}
    learning_rate, final_loss, _, last = table["adagrad"].split(" | ")
    assert float(learning_rate) == 0.1
    assert float(final_loss) == pytest.approx(losses[-1], abs=2e-4)
    assert float(last) == pytest.approx(held_out, abs=2e-4)
    assert 0.5 < float(table["sgd"].split(" | ")[-1]) <= 1
    assert_pictures(tmp_path, "compare_optimizers.png")


def import_example(name):
    sys.path.insert(0, str(EXAMPLES))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(EXAMPLES))


def test_compare_optimizers_defaults_to_a_readable_set_and_all_takes_every_rule():
    compare = import_example("compare_optimizers")
    rules = list(compare.optimizer_rules())
    _, default = compare.parse([])
    assert default == list(compare.DEFAULT_RULES) and set(default) < set(rules) and len(default) <= 13
    assert compare.parse(["--all"])[1] == rules
    assert compare.parse(["--optimizers", "adam,sgd", "--steps", "2"])[0].epochs == 2  # the old name
    with pytest.raises(SystemExit):
        compare.parse(["--all", "--optimizers", "adam"])


@pytest.mark.parametrize(
    "name",
    ["adagrad_2d", "compare_modern", "compare_optimizers", "full_batch", "linear_regression", "make_gallery",
     "matrix_factorization", "meta_learning", "nmf", "optimizer_paths", "port_from_lasagne", "recommender",
     "train_mlp"],
)  # fmt: skip
def test_every_option_of_every_example_has_help_that_shows_its_default(name, monkeypatch):
    parsers = []

    def capture(parser, *args, **kwargs):
        parsers.append(parser)
        raise SystemExit(0)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", capture)
    with pytest.raises(SystemExit):
        import_example(name).main([])
    (parser,) = parsers
    assert parser.formatter_class is argparse.ArgumentDefaultsHelpFormatter
    for action in parser._actions:
        assert action.help and action.help != argparse.SUPPRESS, (name, action.option_strings)
        if "--steps" in action.option_strings and "--epochs" not in action.option_strings:
            assert "epoch" not in action.help  # an option that counts epochs is called --epochs


def test_make_gallery_refuses_to_overwrite_pictures_without_the_flag(tmp_path):
    tracked = tmp_path / "adagrad_2d.png"
    tracked.write_bytes(b"keep me")
    result = run_example("make_gallery.py", "--out", str(tmp_path), check=False)
    assert result.returncode == 2 and "--overwrite" in result.stderr and "adagrad_2d.png" in result.stderr
    assert tracked.read_bytes() == b"keep me" and "$ python" not in result.stdout  # nothing ran


def test_compare_modern_trains_every_rule_and_plots_accuracy_by_epoch_and_time(tmp_path):
    out = run_example("compare_modern.py", "--epochs", "2", "--out", str(tmp_path))
    rows = dict(re.findall(r"^\| (\w+) \| ([^\n]*) \|$", out, flags=re.M))
    assert rows.pop("optimizer").startswith("learning rate")  # the header
    assert set(rows) == {"muon", "schedule_free_adamw", "prodigy", "adam"}
    for name, row in rows.items():
        _, loss, first, last, seconds = (float(c) for c in row.split(" | "))
        assert 0 < loss < np.log(10), name  # below the loss of a uniform guess over the 10 digits
        assert 0.5 < last <= 1 and first == last, name  # with 2 epochs, "epoch 5" is the last epoch
        assert seconds > 0, name
    assert_pictures(tmp_path, "compare_modern.png")


def test_every_update_rule_is_offered_by_name():
    sys.path.insert(0, str(EXAMPLES))
    try:
        from _shared import optimizer_rules
    finally:
        sys.path.remove(str(EXAMPLES))
    rules = optimizer_rules()
    classic = {"sgd", "momentum", "nesterov_momentum", "adagrad", "rmsprop", "adadelta", "adam", "adamax"}
    assert classic <= set(rules)
    assert not {"scale_by_adam", "apply_momentum", "chain", "norm_constraint"} & set(rules)
    for name, rule in rules.items():
        assert getattr(symupdates, name) is rule
        assert callable(rule(learning_rate=0.1)), name  # partial application, as the examples use it
        assert "learning_rate" in inspect.signature(rule).parameters


def test_adagrad_2d_final_points_equal_a_plain_python_adagrad(tmp_path):
    out = run_example("adagrad_2d.py", "--out", str(tmp_path))
    final = {
        label: (float(x1), float(x2))
        for label, x1, x2 in re.findall(r"^(.+?)\s+final point (\S+) (\S+)", out, flags=re.M)
    }
    for learning_rate in (0.4, 2):
        x1, x2, s1, s2 = -5.0, -2.0, 0.0, 0.0
        for _ in range(20):
            g1, g2 = 0.2 * x1, 4 * x2
            s1, s2 = s1 + g1 * g1, s2 + g2 * g2
            x1 -= learning_rate * g1 / math.sqrt(s1 + 1e-6)
            x2 -= learning_rate * g2 / math.sqrt(s2 + 1e-6)
        np.testing.assert_allclose(final[f"adagrad lr={learning_rate:g}"], (x1, x2), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(final["adagrad lr=0.4"], (-2.382563, -0.158591), atol=1e-6)  # d2l.ai, 12.7

    def gradient(k, p):
        return np.array([0.2, 4.0]) * p

    others = {
        "sgd lr=0.4": (sgd_step, {"lr": 0.4}),
        "momentum lr=0.1": (momentum_step, {"lr": 0.1, "mu": 0.9}),
        "rmsprop lr=0.4": (rmsprop_step, {"lr": 0.4}),
        "adam lr=0.4": (adam_step, {"lr": 0.4}),
    }
    for label, (step, hyper) in others.items():
        expected = numpy_path(step, gradient, (-5.0, -2.0), 20, **hyper)[-1]
        np.testing.assert_allclose(final[label], expected, rtol=1e-10, atol=1e-300, err_msg=label)
    assert_pictures(tmp_path, "adagrad_2d.png")


def test_optimizer_paths_equal_numpy_textbook_paths(tmp_path):
    steps = 30
    out = run_example("optimizer_paths.py", "--steps", str(steps), "--out", str(tmp_path))
    histories = np.load(tmp_path / "optimizer_paths_histories.npz")
    data_sets = {
        "two points": (np.array([0.5, 2.5]), np.array([0.2, 0.9]), 1),
        "six points": (
            np.array([-1.0, 0.3, 1.1, 2.0, 3.2, 4.5]),
            np.array([0.25, 0.15, 0.6, 0.5, 0.9, 0.8]),
            2,
        ),
    }
    optimizers = {
        "gd": (sgd_step, {"lr": 1.0}),
        "minibatch gd": (sgd_step, {"lr": 1.0}),
        "momentum": (momentum_step, {"lr": 1.0, "mu": 0.9}),
        "nesterov": (nesterov_step, {"lr": 1.0, "mu": 0.9}),
        "adagrad": (adagrad_step, {"lr": 1.0}),
        "rmsprop": (rmsprop_step, {"lr": 0.1}),
        "adam": (adam_step, {"lr": 0.1}),
    }
    for data_set, (X, Y, batch_size) in data_sets.items():
        for name, (step, hyper) in optimizers.items():

            def gradient(k, p, name=name, X=X, Y=Y, batch_size=batch_size):
                if name == "minibatch gd":
                    i = (k * batch_size) % len(X)
                    x, y = X[i : i + batch_size], Y[i : i + batch_size]
                else:
                    x, y = X, Y
                s = 1 / (1 + np.exp(-(p[0] * x + p[1])))
                delta = (s - y) * s * (1 - s)  # dE/dz of E = 1/2 sum (s - y)^2
                return np.array([np.sum(delta * x), np.sum(delta)])

            expected = numpy_path(step, gradient, (-2.0, -2.0), steps, **hyper)
            path = histories[f"{data_set}/{name}/path"]
            np.testing.assert_allclose(path, expected, rtol=1e-10, atol=1e-12, err_msg=f"{data_set} {name}")
            s = 1 / (1 + np.exp(-(np.outer(path[:, 0], X) + path[:, 1:])))
            np.testing.assert_allclose(histories[f"{data_set}/{name}/loss"], 0.5 * ((s - Y) ** 2).sum(1))
            w, b = re.search(rf"^{data_set}\s+{name}\s+final w (\S+) b (\S+)", out, flags=re.M).groups()
            assert (float(w), float(b)) == tuple(path[-1])
    assert_pictures(
        tmp_path,
        "optimizer_paths_contour.png",
        "optimizer_paths_loss.png",
        "optimizer_paths_surface.png",
        "optimizer_paths.gif",
    )


def test_matrix_factorization_matches_numpy_adagrad_and_generalises(tmp_path):
    steps = 150
    out = run_example("matrix_factorization.py", "--steps", str(steps), "--l2", "0.5", "--out", str(tmp_path))
    saved = np.load(tmp_path / "matrix_factorization.npz")

    R = saved["tiny_R"]
    ratings = np.array([[3, 4, 5, 2], [4, 4, 3, 3], [5, 5, 4, 3]], dtype=float).T
    assert np.isnan(R).sum() == 1
    np.testing.assert_array_equal(R[~np.isnan(R)], ratings[~np.isnan(R)])
    observed = ~np.isnan(R)
    n = observed.sum()
    W, H = saved["tiny_W0"], saved["tiny_H0"]
    acc_W, acc_H = np.zeros_like(W), np.zeros_like(H)
    rmse = []
    for _ in range(steps):
        E = np.where(observed, W @ H - np.nan_to_num(R), 0.0)
        loss = np.sqrt(np.sum(E**2) / n)
        rmse.append(loss)
        grad_W, grad_H = E @ H.T / (n * loss), W.T @ E / (n * loss)  # d sqrt(sum E^2 / n) / dW, dH
        acc_W, acc_H = acc_W + grad_W**2, acc_H + grad_H**2
        W, H = W - 0.01 * grad_W / np.sqrt(acc_W + 1e-6), H - 0.01 * grad_H / np.sqrt(acc_H + 1e-6)
    rmse.append(np.sqrt(np.mean((W @ H - R)[observed] ** 2)))
    np.testing.assert_allclose(saved["tiny_rmse"], rmse, rtol=1e-10)
    np.testing.assert_allclose(saved["tiny_W"], W, rtol=1e-10)
    np.testing.assert_allclose(saved["tiny_H"], H, rtol=1e-10)
    assert rmse[-1] < rmse[0]

    full, S = saved["synthetic_full"], saved["synthetic_R"]
    held_out = np.isnan(S)
    assert full.shape == (200, 150) and 0.78 < held_out.mean() < 0.82
    prediction = saved["synthetic_W"] @ saved["synthetic_H"]
    held_out_rmse = np.sqrt(np.mean((prediction - full)[held_out] ** 2))
    printed = float(re.search(r"held-out RMSE: ([\d.]+)", out).group(1))
    assert printed == pytest.approx(held_out_rmse, abs=1e-4)
    # The entries have unit variance and noise of std 0.1, so predicting the observed mean gives ~1.0 and
    # even the true low-rank matrix cannot beat 0.1. A rank-5 fit to 6000 observations (1750 unknowns) that
    # found the structure lands near the noise level: require < 0.25, a quarter of the mean predictor's
    # error; the lower bound checks that these entries really were held out (a memorised set gives ~0).
    mean_rmse = np.sqrt(np.mean((full[held_out] - np.nanmean(S)) ** 2))
    assert 0.9 < mean_rmse < 1.1
    assert 0.09 < held_out_rmse < 0.25

    # The held-out RMSE is recorded along the way (not trained on), and the L2 fit is Adagrad on
    # RMSE + l2 * (mean(W^2) + mean(H^2)) from the same start, step for step. Compared over 100 steps: from
    # about step 120 on, this fit oscillates and rounding differences grow to ~1e-4.
    def held_out_rmse(W, H):
        return np.sqrt(np.mean((W @ H - full)[held_out] ** 2))

    final = saved["synthetic_W"], saved["synthetic_H"]
    assert saved["synthetic_held_out_rmse"][-1] == pytest.approx(held_out_rmse(*final), rel=1e-12)
    l2_final = saved["l2_W"], saved["l2_H"]
    assert saved["l2_held_out_rmse"][-1] == pytest.approx(held_out_rmse(*l2_final), rel=1e-12)
    observed, n = ~held_out, (~held_out).sum()
    W, H, l2 = saved["synthetic_W0"], saved["synthetic_H0"], float(saved["l2"])
    acc_W, acc_H = np.zeros_like(W), np.zeros_like(H)
    train, test = [], []
    for _ in range(100):
        E = np.where(observed, W @ H - np.nan_to_num(S), 0.0)
        loss = np.sqrt(np.sum(E**2) / n)
        train.append(loss)
        test.append(held_out_rmse(W, H))
        grad_W = E @ H.T / (n * loss) + 2 * l2 * W / W.size
        grad_H = W.T @ E / (n * loss) + 2 * l2 * H / H.size
        acc_W, acc_H = acc_W + grad_W**2, acc_H + grad_H**2
        W, H = W - 0.1 * grad_W / np.sqrt(acc_W + 1e-6), H - 0.1 * grad_H / np.sqrt(acc_H + 1e-6)
    np.testing.assert_allclose(saved["l2_rmse"][:100], train, rtol=1e-10)
    np.testing.assert_allclose(saved["l2_held_out_rmse"][:100], test, rtol=1e-10)
    assert_pictures(tmp_path, "matrix_factorization.png")


def test_linear_regression_loss_curves_coincide(tmp_path):
    from sklearn.datasets import load_diabetes

    out = run_example("linear_regression.py", "--out", str(tmp_path))
    X, y = load_diabetes(return_X_y=True)
    X, y = (X - X.mean(0)) / X.std(0), (y - y.mean()) / y.std()
    theta, accumulated = np.zeros(11), np.zeros(11)  # weights then bias
    Xb = np.hstack([X, np.ones((len(X), 1))])
    rng = np.random.default_rng(0)
    for _ in range(2):
        order = rng.permutation(len(X))
        for batch in np.array_split(order, range(10, len(X), 10)):
            residual = Xb[batch] @ theta - y[batch]
            loss = np.mean(residual**2)
            g = 2 * Xb[batch].T @ residual / len(batch)
            accumulated += g**2
            theta -= 0.1 * g / np.sqrt(accumulated + 1e-6)
    printed = re.search(r"final batch loss, symupdates:\s+(\S+)", out).group(1)
    assert float(printed) == pytest.approx(loss, rel=1e-10)
    assert float(re.search(r"difference between the loss curves: (\S+)", out).group(1)) < 1e-12
    assert_pictures(tmp_path, "linear_regression.png")


def test_train_mlp_resumes_from_its_checkpoint(tmp_path):
    checkpoint = str(tmp_path / "mlp.npz")
    first = run_example(
        "train_mlp.py", "--epochs", "1", "--checkpoint", checkpoint, "--inspect", cwd=tmp_path
    )
    resumed = run_example("train_mlp.py", "--epochs", "1", "--resume", checkpoint, cwd=tmp_path)
    assert f"checkpoint saved to {checkpoint}" in first and f"resumed from {checkpoint}" in resumed
    # --inspect: every param and accumulator of the step is one fused float32 loop, in place.
    verdicts = re.findall(r"^(\S+)\s+float32\s+\S+\s+\d+\s+(\S+)\s+(\S+)\s+(\S+)", first, flags=re.M)
    assert len(verdicts) == 8 and all(v[1:] == ("yes", "yes", "float32") for v in verdicts), first
    epoch_1 = r"^\s*1\s+([\d.]+)\s+[\d.]+$"
    loss = [float(re.search(epoch_1, out, flags=re.M).group(1)) for out in (first, resumed)]
    assert loss[1] < loss[0] * 0.8  # the second run continues where the first stopped


def test_train_mlp_on_two_devices_trains_as_on_one(tmp_path):
    """--devices 2 splits each batch over 2 CPU devices (JAX mode); with the same --steps-per-call the
    batches are the same, so the epoch losses equal those of one device (NUMBA) to the printed digits."""
    args = ["--epochs", "2", "--steps-per-call", "2", "--optimizer", "adam", "--out", str(tmp_path)]
    one = run_example("train_mlp.py", *args, cwd=tmp_path)
    two = run_example("train_mlp.py", *args, "--devices", "2", cwd=tmp_path)
    epochs = r"^\s*\d\s+([\d.]+)\s+([\d.]+)$"
    assert "2 device(s), 2 step(s) per call" in two
    assert re.findall(epochs, two, flags=re.M) == re.findall(epochs, one, flags=re.M)
    assert len(re.findall(epochs, one, flags=re.M)) == 2


def test_recommender_sparse_adagrad_learns_and_equals_dense(tmp_path):
    """A small run: the held-out RMSE falls towards the noise level, and the dense epoch (same data, same
    start) ends with the same held-out RMSE as the sparse one, the steps being bit-identical."""
    run_example(
        "recommender.py",
        "--users",
        "300",
        "--items",
        "200",
        "--ratings",
        "20000",
        "--epochs",
        "4",
        "--batch",
        "256",
        "--dense-epochs",
        "1",
        "--out",
        str(tmp_path),
    )
    saved = np.load(tmp_path / "recommender.npz")
    rmse = saved["held_out_rmse"]
    assert rmse[-1] < rmse[0] and rmse[-1] < 3 * saved["noise"]
    assert saved["dense_held_out_rmse"][0] == rmse[0]
    assert_pictures(tmp_path, "recommender.png")
