"""examples/nmf.py runs as a user runs it, and the losses it prints are those of Lee and Seung's closed-form
rules run in NumPy from the same initial factors."""

import importlib.util
import os
import re
import subprocess
import sys

import numpy as np
from PIL import Image

from support import ROOT

SCRIPT = ROOT / "examples" / "nmf.py"
STEPS = 20


def example_module():
    """The example's data loading and initialisation (the data, not the algorithm under test)."""
    spec = importlib.util.spec_from_file_location("nmf_example", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(SCRIPT.parent))  # for its sibling _shared.py, as `python examples/nmf.py` has
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(SCRIPT.parent))
    return module


def ratio(numerator, denominator):
    """``numerator / denominator`` with 0 / 0 = 0: a factor entry at 0 stays there (digits has pixels that
    are 0 in every image, whose column of H reaches exactly 0)."""
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)


def lee_seung(X, W, H, steps, loss):
    """Alternating closed-form multiplicative updates (Lee and Seung 2001), W first."""
    for _ in range(steps):
        if loss == "frobenius":
            W = W * ratio(X @ H.T, W @ H @ H.T)
            H = H * ratio(W.T @ X, W.T @ W @ H)
        else:
            W = W * ratio(ratio(X, W @ H) @ H.T, np.repeat(H.sum(axis=1)[None, :], len(W), axis=0))
            H = H * ratio(W.T @ ratio(X, W @ H), np.repeat(W.sum(axis=0)[:, None], H.shape[1], axis=1))
    return W, H


def reference_losses(X, W, H):
    WH = W @ H
    with np.errstate(divide="ignore", invalid="ignore"):
        x_log_x_over_wh = np.where(X > 0, X * np.log(X / WH), 0.0)
    return {"frobenius": 0.5 * ((X - WH) ** 2).sum(), "kl": (x_log_x_over_wh - X + WH).sum()}


def test_nmf_example_prints_lee_seung_losses_and_writes_pngs(tmp_path):
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(tmp_path), "--steps", str(STEPS), "--components", "8"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    row = r"^(frobenius|kl)\s+(\S+)\s+(\S+)\s+(\S+)\s+\S+\s+(True|False)$"
    rows = {m[0]: (float(m[1]), float(m[2]), float(m[3]), m[4]) for m in re.findall(row, result.stdout, re.M)}
    assert set(rows) == {"frobenius", "kl"}, result.stdout

    example = example_module()
    X = example.load_data()
    W0, H0 = example.init_factors(X, 8, 0)
    for loss, (initial, final, sklearn_final, monotone) in rows.items():
        np.testing.assert_allclose(initial, reference_losses(X, W0, H0)[loss], rtol=1e-9)
        want = reference_losses(X, *lee_seung(X, W0, H0, STEPS, loss))[loss]
        # epsilon (1e-12) and the log's floor perturb each step by ~1e-12 relative; 10 digits are printed.
        np.testing.assert_allclose(final, want, rtol=1e-8, err_msg=loss)
        # scikit-learn's own mu solver, from the same start, lands on the same numbers.
        np.testing.assert_allclose(sklearn_final, want, rtol=1e-6, err_msg=f"sklearn {loss}")
        assert final < initial and monotone == "True"

    for name in ["nmf_losses", "nmf_components"]:
        with Image.open(tmp_path / f"{name}.png") as image:
            assert image.format == "PNG" and min(image.size) > 100
            image.verify()
