"""Train a 64-50-10 MLP on scikit-learn's bundled digits with symupdates.adagrad (or any rule by name).

This is a Lasagne-style training script: build the loss symbolically, ask the update rule for an
OrderedDict of updates, compile one training function, loop over mini-batches.

    python examples/train_mlp.py [--epochs 30] [--learning-rate 0.1] [--batch-size 32] [--seed 0]
                                 [--optimizer adagrad] [--out DIR] [--no-progress]
                                 [--checkpoint PATH] [--resume PATH] [--inspect]
                                 [--devices N] [--steps-per-call K]

It prints the mean training loss and training accuracy per epoch and, at the end, the accuracy on a
held-out quarter of the data that was never trained on. ``--optimizer`` takes the name of any update rule
in symupdates (``--help`` lists them); without ``--learning-rate`` it uses one that suits this network.
A tqdm progress bar runs on a terminal (not when the output is piped, nor with ``--no-progress``), and
the loss and accuracy curves go to ``DIR/train_mlp_<optimizer>.png``. ``--checkpoint PATH`` saves the
params and the optimizer state at the end; ``--resume PATH`` starts from such a file instead of a fresh
initialisation.

``--steps-per-call K`` compiles K training steps into one call (``symupdates.steps_function``);
``--devices N`` trains data-parallel on N CPU devices in JAX mode (``symupdates.sharded_function``; the
batch size must be divisible by N). Either one uses only whole mini-batches, in whole groups of K: the
rest of each (reshuffled) epoch is left out.
"""

import argparse
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pytensor
import pytensor.tensor as pt
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from tqdm import tqdm

import symupdates
from _shared import (
    add_no_progress,
    compiles_on_first_call,
    mean_cross_entropy,
    mlp_learning_rate,
    mlp_rule,
    optimizer_rules,
    progress_bars,
    save,
)

warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")


def load_data(seed):
    digits = load_digits()
    X = (digits.data / 16.0).astype("float32")
    y = digits.target.astype("int64")
    return train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)


def glorot(rng, n_in, n_out, name):
    limit = np.sqrt(6.0 / (n_in + n_out))
    # A static shape, so that each update has exactly its variable's type and PyTensor works in place
    # (``--inspect`` shows what is lost without it).
    weights = rng.uniform(-limit, limit, size=(n_in, n_out)).astype("float32")
    return pytensor.shared(weights, name=name, shape=weights.shape)


def build_model(rng, sizes=(64, 50, 10)):
    params = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        params.append(glorot(rng, n_in, n_out, f"W{i}"))
        params.append(pytensor.shared(np.zeros(n_out, dtype="float32"), name=f"b{i}", shape=(n_out,)))
    return params


def forward(x, params):
    """Log-probabilities of the classes: tanh hidden layers, softmax output."""
    h = x
    for i in range(0, len(params) - 2, 2):
        h = pt.tanh(h @ params[i] + params[i + 1])
    return pt.special.log_softmax(h @ params[-2] + params[-1], axis=-1)


def compile_functions(params, rule, mode=None, batch_size=None, devices=1, steps_per_call=1):
    """A training step (returns loss and accuracy of the batch) and a prediction function. With
    ``steps_per_call`` > 1 or ``devices`` > 1 the step takes ``steps_per_call`` stacked batches of exactly
    ``batch_size`` and returns per-step losses and accuracies."""
    scaled = devices > 1 or steps_per_call > 1
    x = pt.matrix("x", dtype="float32", shape=(batch_size if scaled else None, None))
    y = pt.vector("y", dtype="int64", shape=(batch_size if scaled else None,))
    log_probabilities = forward(x, params)
    loss = mean_cross_entropy(log_probabilities, y, n_classes=params[-1].get_value().shape[0])
    accuracy = pt.mean(pt.eq(pt.argmax(log_probabilities, axis=-1), y))
    updates = rule(loss, params)
    if devices > 1:
        import jax
        from jax.sharding import Mesh

        mesh = Mesh(np.array(jax.devices()[:devices]), ("data",))
        train = symupdates.sharded_function(
            [x, y],
            [loss, accuracy],
            updates=updates,
            mesh=mesh,
            steps_per_call=steps_per_call if steps_per_call > 1 else None,
        )
    elif steps_per_call > 1:
        train = symupdates.steps_function(
            [x, y], [loss, accuracy], updates=updates, steps_per_call=steps_per_call, mode=mode
        )
    else:
        train = pytensor.function([x, y], [loss, accuracy], updates=updates, mode=mode)
    any_batch = pt.matrix("x", dtype="float32")
    predict = pytensor.function(
        [any_batch], pt.argmax(forward(any_batch, params), axis=-1), mode="JAX" if devices > 1 else mode
    )
    return train, predict, updates


def train(
    epochs=30,
    learning_rate=0.1,
    batch_size=32,
    seed=0,
    rule=None,
    mode=None,
    log=print,
    progress=False,
    checkpoint=None,
    resume=None,
    inspect=False,
    devices=1,
    steps_per_call=1,
):
    """Train and return ``(per-epoch history, held-out accuracy)``; ``progress`` shows a tqdm bar. Optionally
    start from the checkpoint ``resume`` and save one to ``checkpoint`` (params and optimizer state) at the
    end; ``inspect`` prints what the compiled step does with each variable (``symupdates.inspect_step``)."""
    X_train, X_test, y_train, y_test = load_data(seed)
    rng = np.random.default_rng(seed)
    params = build_model(rng)
    rule = rule or symupdates.adagrad(learning_rate=learning_rate)
    train_step, predict, updates = compile_functions(params, rule, mode, batch_size, devices, steps_per_call)
    train_step = compiles_on_first_call(train_step, "the training step")
    predict = compiles_on_first_call(predict, "the prediction")
    scaled = devices > 1 or steps_per_call > 1
    if scaled:
        n_batches = len(X_train) // batch_size // steps_per_call * steps_per_call
        log(
            f"{devices} device(s), {steps_per_call} step(s) per call: {n_batches} batches of {batch_size} "
            f"per epoch, {len(X_train) - n_batches * batch_size} examples left out of each"
        )
    if resume:
        symupdates.load_state(updates, resume, include_params=True)
        log(f"resumed from {resume}")
    if inspect:
        batch = (X_train[:batch_size], y_train[:batch_size])
        log(symupdates.inspect_step(train_step, batch, bandwidth="measure"))
    history = []
    per_epoch = n_batches // steps_per_call if scaled else -(-len(X_train) // batch_size)
    bar = None  # started after the first call, which compiles the step
    if progress:
        log = tqdm.write  # prints above the bar
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(X_train))
        losses, accuracies, sizes = [], [], []
        if scaled:
            groups = order[: n_batches * batch_size].reshape(-1, steps_per_call, batch_size)
            for group in groups:
                if steps_per_call == 1:
                    loss, accuracy = train_step(X_train[group[0]], y_train[group[0]])
                else:
                    loss, accuracy = train_step(X_train[group], y_train[group])
                losses.extend(np.atleast_1d(np.asarray(loss)))
                accuracies.extend(np.atleast_1d(np.asarray(accuracy)))
                sizes.extend([batch_size] * steps_per_call)
                if bar is None:
                    bar = tqdm(total=epochs * per_epoch, unit="call", disable=not progress, leave=False)
                bar.update()
        for start in range(0, len(order) if not scaled else 0, batch_size):
            batch = order[start : start + batch_size]
            loss, accuracy = train_step(X_train[batch], y_train[batch])
            losses.append(loss)
            accuracies.append(accuracy)
            sizes.append(len(batch))
            if bar is None:
                bar = tqdm(total=epochs * per_epoch, unit="call", disable=not progress, leave=False)
            bar.update()
        loss = float(np.average(losses, weights=sizes))
        accuracy = float(np.average(accuracies, weights=sizes))
        history.append((epoch, loss, accuracy))
        if epoch == 1:  # after the compile's messages
            log(f"{'epoch':>5} {'loss':>8} {'accuracy':>8}")
        log(f"{epoch:5d} {loss:8.4f} {accuracy:8.4f}")
        bar.set_postfix(epoch=epoch, loss=f"{loss:.4f}")
    if bar is not None:
        bar.close()
    if checkpoint:
        symupdates.save_state(updates, checkpoint, include_params=True)
        log(f"checkpoint saved to {checkpoint}")
    held_out = float(np.mean(predict(X_test) == y_test))
    log(f"held-out accuracy: {held_out:.4f}")
    return history, held_out


def plot_history(history, held_out, out, title):
    """Training loss and accuracy per epoch, with the final held-out accuracy."""
    import matplotlib.pyplot as plt

    epochs, losses, accuracies = zip(*history, strict=True)
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    left.plot(epochs, losses, "o-", markersize=3)
    left.set(xlabel="epoch", ylabel="training loss", yscale="log", title=title)
    right.plot(epochs, accuracies, "o-", markersize=3, label="training")
    right.axhline(held_out, color="C1", linestyle="--", label=f"held-out (end): {held_out:.4f}")
    right.set(xlabel="epoch", ylabel="accuracy")
    right.legend(loc="lower right")
    return save(figure, out, f"train_mlp_{title.split()[0]}.png")


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--epochs", "--steps", type=int, default=30, help="passes over the training data")
    parser.add_argument("--learning-rate", type=float, default=None, help="None: one that suits --optimizer")
    parser.add_argument("--batch-size", type=int, default=32, help="examples per training step")
    parser.add_argument("--seed", type=int, default=0, help="data split, initial net, batch order")
    parser.add_argument("--mode", default=None, help="PyTensor mode: None (NUMBA), CVM or JAX")
    parser.add_argument("--optimizer", default="adagrad", choices=sorted(optimizer_rules()), help="rule")
    parser.add_argument("--out", type=Path, default=Path("."), help="directory for the plot")
    add_no_progress(parser)
    parser.add_argument("--checkpoint", metavar="PATH", help="at the end, save params and optimizer state")
    parser.add_argument("--resume", metavar="PATH", help="start from a checkpoint saved with --checkpoint")
    parser.add_argument(
        "--inspect",
        action="store_true",
        help="print what the compiled step does: fusion, in place, dtypes, bytes moved, time per call",
    )
    parser.add_argument(
        "--devices", type=int, default=1, metavar="N", help="data-parallel on N CPU devices (JAX mode)"
    )
    parser.add_argument(
        "--steps-per-call", type=int, default=1, metavar="K", help="K steps per compiled call"
    )
    args = parser.parse_args(argv)
    if args.inspect and (args.devices > 1 or args.steps_per_call > 1):
        parser.error("--inspect reports on the one-step function: not with --devices or --steps-per-call")
    if args.devices > 1:
        if "jax" in sys.modules:
            parser.error("--devices: jax was imported before the CPU devices could be set up")
        # CPU "devices" are slices of this machine's cores: this shows the data-parallel step, not speed.
        os.environ["XLA_FLAGS"] = (
            f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={args.devices}"
        )
        if args.batch_size % args.devices:
            parser.error(f"--batch-size {args.batch_size} is not divisible by --devices {args.devices}")
    learning_rate = mlp_learning_rate(args.optimizer) if args.learning_rate is None else args.learning_rate
    rule = mlp_rule(args.optimizer, learning_rate)
    progress = progress_bars(args.no_progress)
    history, held_out = train(
        args.epochs,
        learning_rate,
        args.batch_size,
        args.seed,
        rule=rule,
        mode=args.mode,
        progress=progress,
        checkpoint=args.checkpoint,
        resume=args.resume,
        inspect=args.inspect,
        devices=args.devices,
        steps_per_call=args.steps_per_call,
    )
    plot_history(history, held_out, args.out, f"{args.optimizer} lr={learning_rate:g}")


if __name__ == "__main__":
    main()
