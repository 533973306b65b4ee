"""docs/porting.md: the ported script learns, and the table's PyTensor spellings compute what Theano's did.

Each spelling is checked against a NumPy implementation of the Theano function's documented definition,
all in one compiled function (Python thunks: values, not speed, are the point).
"""

import os
import re
import subprocess
import sys

import numpy as np
import pytensor
import pytensor.tensor as pt
from PIL import Image
from pytensor.compile.mode import Mode
from pytensor.tensor.signal import convolve2d

from support import ROOT

EQUATIONS = Mode(linker="py", optimizer="fast_compile")


def test_ported_script_learns_the_digits(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "port_from_lasagne.py")],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    losses = [float(v) for v in re.findall(r"training loss (\S+)", result.stdout)]
    accuracy = float(re.search(r"held-out accuracy: (\S+)", result.stdout).group(1))
    row_error = float(re.search(r"max \|sum - 1\| = (\S+)", result.stdout).group(1))
    assert len(losses) == 20 and losses[-1] < losses[0] / 10
    assert accuracy > 0.93  # 0.9667 with the defaults on our machine; chance is 0.1
    assert row_error < 1e-6  # each row of the softmax is a distribution over the 10 classes
    with Image.open(tmp_path / "port_from_lasagne.png") as image:  # the gallery picture, in the working dir
        assert image.format == "PNG" and min(image.size) > 100
        image.verify()


def softmax_rows(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def theano_conv2d(x, w):
    """Theano's ``T.nnet.conv2d(x, w)`` (border_mode="valid", filter_flip=True): a true convolution summed
    over input channels. x: (batch, channels, h, w); w: (filters, channels, kh, kw)."""
    batch, _, height, width = x.shape
    filters, _, kh, kw = w.shape
    flipped = w[:, :, ::-1, ::-1]
    out = np.zeros((batch, filters, height - kh + 1, width - kw + 1))
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            window = x[:, None, :, i : i + kh, j : j + kw]
            out[:, :, i, j] = (window * flipped[None]).sum(axis=(2, 3, 4))
    return out


def max_pool_2x2(x):
    """Theano's ``pool_2d(x, (2, 2), ignore_border=True)`` for even heights and widths."""
    out = np.empty(x.shape[:2] + (x.shape[2] // 2, x.shape[3] // 2))
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            out[:, :, i, j] = x[:, :, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2].max(axis=(2, 3))
    return out


def test_the_tables_spellings_compute_what_theano_computed():
    rng = np.random.default_rng(0)
    z_value = rng.normal(size=(4, 5))
    labels_value = np.array([0, 3, 4, 1], dtype="int32")
    targets_value = rng.random((4, 5))
    images_value, filters_value = rng.normal(size=(2, 3, 6, 6)), rng.normal(size=(4, 3, 3, 3))

    z, targets, images, filters = pt.dmatrix("z"), pt.dmatrix("t"), pt.dtensor4("x"), pt.dtensor4("w")
    labels = pt.ivector("labels")
    probabilities = pt.special.softmax(z, axis=-1)
    output = pt.sigmoid(z)
    one_hot = pt.extra_ops.to_one_hot(labels, 5)
    flipped = filters[:, :, ::-1, ::-1]
    spelled = {
        "softmax(z, axis=-1)": probabilities,
        "softmax(z) (axis=None)": pt.special.softmax(z),
        "log_softmax(z, axis=-1)": pt.special.log_softmax(z, axis=-1),
        "sigmoid": output,
        "softplus": pt.softplus(z),
        "relu": pt.maximum(z, 0),
        "leaky relu, alpha 0.1": pt.switch(z > 0, z, 0.1 * z),
        "categorical crossentropy, int labels": -pt.log(probabilities)[pt.arange(labels.shape[0]), labels],
        "categorical crossentropy, one-hot": -(one_hot * pt.log(probabilities)).sum(axis=-1),
        "binary crossentropy": -(targets * pt.log(output) + (1 - targets) * pt.log1p(-output)),
        "conv2d": convolve2d(images[:, None], filters[None], mode="valid").sum(axis=2),
        "conv2d, filter_flip=False": convolve2d(images[:, None], flipped[None], mode="valid").sum(axis=2),
        "max pool 2x2": images.reshape((2, 3, 3, 2, 3, 2)).max(axis=(3, 5)),
    }
    values = dict(
        zip(
            spelled,
            pytensor.function([z, labels, targets, images, filters], list(spelled.values()), mode=EQUATIONS)(
                z_value, labels_value, targets_value, images_value, filters_value
            ),
            strict=True,
        )
    )

    p = softmax_rows(z_value)
    sigmoid = 1 / (1 + np.exp(-z_value))
    expected = {
        "softmax(z, axis=-1)": p,
        "log_softmax(z, axis=-1)": np.log(p),
        "sigmoid": sigmoid,
        "softplus": np.log1p(np.exp(z_value)),
        "relu": np.where(z_value > 0, z_value, 0.0),
        "leaky relu, alpha 0.1": np.where(z_value > 0, z_value, 0.1 * z_value),
        "categorical crossentropy, int labels": -np.log(p[np.arange(4), labels_value]),
        "categorical crossentropy, one-hot": -np.log(p[np.arange(4), labels_value]),
        "binary crossentropy": -(targets_value * np.log(sigmoid) + (1 - targets_value) * np.log(1 - sigmoid)),
        "conv2d": theano_conv2d(images_value, filters_value),
        "conv2d, filter_flip=False": theano_conv2d(images_value, filters_value[:, :, ::-1, ::-1]),
        "max pool 2x2": max_pool_2x2(images_value),
    }
    for name, value in expected.items():
        np.testing.assert_allclose(values[name], value, rtol=1e-12, atol=1e-12, err_msg=name)
    # The pitfall: without axis=-1, softmax normalises the whole matrix, so no row is a distribution.
    whole = values["softmax(z) (axis=None)"]
    np.testing.assert_allclose(whole.sum(), 1.0, rtol=1e-12)
    assert np.all(np.abs(whole.sum(axis=1) - 1) > 0.5)
    np.testing.assert_allclose(values["softmax(z, axis=-1)"].sum(axis=1), 1.0, rtol=1e-12)


def test_compiled_cross_entropy_of_a_softmax_is_stable():
    z, labels = pt.dmatrix("z"), pt.ivector("labels")
    loss = -pt.log(pt.special.softmax(z, axis=-1))[pt.arange(labels.shape[0]), labels]
    rewritten = pytensor.function([z, labels], loss, mode=Mode(linker="py", optimizer="fast_run"))
    np.testing.assert_allclose(rewritten(np.array([[1000.0, 0.0]]), np.array([1], dtype="int32")), [1000.0])


def test_a_shared_rng_draws_new_numbers_only_when_its_update_is_compiled():
    rng = pt.random.shared_rng(seed=0, name="dropout")
    next_rng, mask = rng.binomial(1, 0.5, size=(50,))
    forgotten = pytensor.function([], mask, mode=EQUATIONS)
    advanced = pytensor.function([], mask, updates={rng: next_rng}, mode=EQUATIONS)
    np.testing.assert_array_equal(forgotten(), forgotten())  # the same "random" mask at every step
    assert not np.array_equal(advanced(), advanced())
