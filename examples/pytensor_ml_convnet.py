"""A pytensor-ml convolutional net on scikit-learn's digits, trained with symupdates rules it lacks.

A small convolutional network built from pytensor-ml's layers (``Conv2D``, ``MaxPool2D``, ``Linear``) on
scikit-learn's bundled 8x8 digits, trained three ways:

* pytensor-ml's own ``adam``;
* Muon for the hidden 2-D weight and AdamW for the rest (``symupdates.multi_transform``), after
  pytensor-ml's ``clip_by_global_norm``: symupdates rules as a stage of ``pytensor_ml.optim.chain``;
* schedule-free AdamW after pytensor-ml's clip (``from_pytensor_ml``): a pytensor-ml transform inside
  ``symupdates.chain``, evaluated at the averaged params (``schedule_free_eval_parameters``).

pytensor-ml 0.3 has neither Muon nor a schedule-free rule. Held-out accuracy after each epoch goes to
``pytensor_ml_convnet.png`` (``--out docs/images`` for the documentation's). Needs Python >= 3.12 and
``pip install "symupdates[pytensor-ml]"``. Muon is for 2-D weights, so the 4-D conv kernel goes to AdamW.

Run ``python examples/pytensor_ml_convnet.py --help`` for the options.
"""

import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytensor  # noqa: E402
import pytensor.tensor as pt  # noqa: E402
import pytensor_ml.optim as ptml  # noqa: E402
from pytensor_ml.activations import ReLU  # noqa: E402
from pytensor_ml.layers import Conv2D, Flatten, Input, Linear, MaxPool2D  # noqa: E402
from pytensor_ml.loss import CrossEntropy, supervised_loss  # noqa: E402
from pytensor_ml.model import Model  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

import symupdates as su  # noqa: E402
from symupdates.interop.pytensor_ml import from_pytensor_ml  # noqa: E402


def digits(seed):
    """The 1797 digits as (N, 8, 8, 1) images in [0, 1] (pytensor-ml is channels-last): 1347 to train,
    450 held out."""
    data = load_digits()
    images = (data.images / 16.0).reshape(-1, 8, 8, 1)
    order = np.random.default_rng(seed).permutation(len(images))
    train, test = order[:1347], order[1347:]
    return images[train], data.target[train], images[test], data.target[test]


def conv_net(seed):
    """conv 3x3 (8 channels) -> ReLU -> max-pool 2 -> 128 -> 64 -> ReLU -> 10 logits."""
    X = Input("X", shape=(None, 8, 8, 1))
    hidden = MaxPool2D(kernel_size=2)(
        ReLU()(Conv2D("conv", in_channels=1, out_channels=8, kernel_size=3, padding="same")(X))
    )
    hidden = ReLU()(Linear("fc", n_in=128, n_out=64)(Flatten(hidden)))
    model = Model(Linear("out", n_in=64, n_out=10)(hidden)).initialize(seed=seed)
    return X, model


def rules(learning_rate):
    """Each run's rule: a callable ``(loss, params) -> updates``, and whether it is schedule-free."""
    hidden_weight = (
        "fc_W"  # Muon is for hidden 2-D weights; the conv kernel (4-D), biases and logits use AdamW
    )
    return {
        "pytensor-ml adam": (ptml.adam(learning_rate), False),
        "Muon + AdamW, clipped (symupdates in pytensor-ml's chain)": (
            ptml.chain(
                ptml.clip_by_global_norm(1.0),
                su.multi_transform(
                    {"muon": su.muon(learning_rate=0.02), "adamw": su.adamw(learning_rate=learning_rate)},
                    lambda p: "muon" if p.name == hidden_weight else "adamw",
                ),
            ),
            False,
        ),
        "schedule-free AdamW, clipped (pytensor-ml's clip in symupdates' chain)": (
            su.chain(
                from_pytensor_ml(ptml.clip_by_global_norm(1.0)),
                su.schedule_free_adamw(learning_rate=learning_rate),
            ),
            True,
        ),
    }


def train(rule, schedule_free, data, epochs, batch_size, seed):
    """Train a fresh net with ``rule``; the held-out accuracy after each epoch."""
    train_x, train_y, test_x, test_y = data
    X, model = conv_net(seed)
    loss, target = supervised_loss(model.y, CrossEntropy(expect_logits=True))
    updates = rule(loss, model.weights)
    step = model.compile_train(updates, loss=loss, inputs=[X, target])
    # A schedule-free rule's params hold where gradients are taken; it is evaluated at their average.
    evaluated_at = su.schedule_free_eval_parameters(updates) if schedule_free else {}
    predict = pytensor.function([X], pt.argmax(model.y, axis=-1), givens=list(evaluated_at.items()))
    rng = np.random.default_rng(seed)
    accuracies = []
    for _ in range(epochs):
        order = rng.permutation(len(train_x))
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            step(train_x[batch], train_y[batch])
        accuracies.append(float(np.mean(predict(test_x) == test_y)))
    return accuracies


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[1], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=12, help="passes over the 1347 training digits")
    parser.add_argument("--batch-size", type=int, default=64, help="digits per step")
    parser.add_argument("--learning-rate", type=float, default=3e-3, help="adam's and AdamW's rate")
    parser.add_argument("--seed", type=int, default=0, help="split, initial weights and batch order")
    parser.add_argument("--out", type=Path, default=Path("."), help="directory for pytensor_ml_convnet.png")
    args = parser.parse_args(argv)

    data = digits(args.seed)
    start = time.perf_counter()
    results = {}
    for name, (rule, schedule_free) in rules(args.learning_rate).items():
        results[name] = train(rule, schedule_free, data, args.epochs, args.batch_size, args.seed)
        print(f"{name}: held-out accuracy per epoch {' '.join(f'{a:.3f}' for a in results[name])}")
    print(f"trained 3 nets in {time.perf_counter() - start:.1f} s")

    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    epochs = np.arange(1, args.epochs + 1)
    for (name, accuracies), marker in zip(results.items(), "osD", strict=True):
        ax.plot(epochs, accuracies, marker=marker, label=f"{name}: {accuracies[-1]:.3f}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("held-out accuracy (450 digits)")
    ax.set_title("pytensor-ml conv net on sklearn digits")
    ax.set_ylim(min(min(a) for a in results.values()) - 0.02, 1.0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    output = args.out / "pytensor_ml_convnet.png"
    fig.savefig(output, dpi=110)
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
