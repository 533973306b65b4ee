"""Muon, schedule-free AdamW, Prodigy and Adam on the digits MLP: held-out accuracy by epoch and by time.

    python examples/compare_modern.py [--out DIR] [--epochs 20] [--seed 0]

Each rule trains its own copy of the same initial 64-50-10 network (train_mlp.py's) on the same mini-batches,
with its own compiled step, at the learning rate the examples use for it (muon: 0.02 for the hidden layer,
the biases and output layer going to adamw; schedule_free_adamw, prodigy, adam: their defaults). A
schedule-free rule is evaluated at its averaged params (``schedule_free_eval_parameters``). Wall time counts
the training steps only: each step is compiled and run once before the clock starts, then the params and
optimizer state are put back.

Prints a Markdown table and writes ``compare_modern.png`` (accuracy against epoch and against seconds).
"""

import time

import numpy as np
import pytensor
import pytensor.tensor as pt

import symupdates
from _shared import (
    compiles_on_first_call,
    mean_cross_entropy,
    mlp_learning_rate,
    mlp_rule,
    parser,
    progress_bars,
    save,
)
from train_mlp import build_model, forward, load_data

RULES = ["muon", "schedule_free_adamw", "prodigy", "adam"]
BATCH_SIZE = 32


def compile_rule(name, initial):
    """``(train, predict, params, updates)`` of a copy of the ``initial`` network trained by ``name``."""
    x = pt.matrix("x", dtype="float32")
    y = pt.vector("y", dtype="int64")
    params = [pytensor.shared(p.get_value(), name=p.name) for p in initial]
    log_probabilities = forward(x, params)
    loss = mean_cross_entropy(log_probabilities, y, n_classes=params[-1].get_value().shape[0])
    updates = mlp_rule(name, mlp_learning_rate(name))(loss, params)
    train = pytensor.function([x, y], loss, updates=updates)
    predict = pytensor.function([x], pt.argmax(log_probabilities, axis=-1))
    return train, predict, params, updates


def evaluation_params(name, updates):
    """What to evaluate at: the averaged params of a schedule-free rule, the params themselves otherwise."""
    return symupdates.schedule_free_eval_parameters(updates) if name.startswith("schedule_free") else {}


def run(name, epochs, seed):
    """``(held-out accuracy per epoch, training seconds at the end of each epoch, final training loss)``."""
    X_train, X_test, y_train, y_test = load_data(seed)
    rng = np.random.default_rng(seed)  # as in train_mlp.train: the initial network, then the batch order
    train, predict, params, updates = compile_rule(name, build_model(rng))
    initial = [p.get_value() for p in params]
    # The first call compiles (Numba); it is not timed, and the params and state are put back after it.
    compiles_on_first_call(train, f"{name}'s training step")(X_train[:BATCH_SIZE], y_train[:BATCH_SIZE])
    for p, value in zip(params, initial, strict=True):
        p.set_value(value)
    symupdates.reset_state(updates)
    accuracy, seconds, elapsed = [], [], 0.0
    for _ in range(epochs):
        order = rng.permutation(len(X_train))
        start_time = time.perf_counter()
        losses = [
            train(X_train[order[s : s + BATCH_SIZE]], y_train[order[s : s + BATCH_SIZE]])
            for s in range(0, len(order), BATCH_SIZE)
        ]
        elapsed += time.perf_counter() - start_time
        with symupdates.swap_parameters(evaluation_params(name, updates)):
            accuracy.append(float(np.mean(predict(X_test) == y_test)))
        seconds.append(elapsed)
    return np.array(accuracy), np.array(seconds), float(np.mean(losses))


def main(argv=None):
    p = parser(__doc__, epochs=20)
    p.add_argument("--seed", type=int, default=0, help="data split, initial network, batch order")
    args = p.parse_args(argv)
    progress_bars(args.no_progress)
    results = {name: run(name, args.epochs, args.seed) for name in RULES}

    print(f"digits MLP 64-50-10, batch {BATCH_SIZE}, {args.epochs} epochs, seed {args.seed}\n")
    print(
        "| optimizer | learning rate | last epoch's training loss | held-out accuracy, epoch 5 "
        f"| held-out accuracy, epoch {args.epochs} | training seconds |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, (accuracy, seconds, loss) in results.items():
        early = accuracy[min(5, args.epochs) - 1]
        print(
            f"| {name} | {mlp_learning_rate(name):g} | {loss:.4f} | {early:.4f} | {accuracy[-1]:.4f} "
            f"| {seconds[-1]:.2f} |"
        )

    import matplotlib.pyplot as plt

    # Per epoch, all rules on one panel; against wall time, one small panel per rule (the others in grey
    # behind it), since the rules' curves cross and overlap there: each panel reads on its own.
    figure = plt.figure(figsize=(12, 4.6), layout="constrained")
    left, right = figure.subfigures(1, 2, width_ratios=[1, 1.25])
    by_epoch = left.subplots()
    colours = {name: f"C{i}" for i, name in enumerate(results)}
    for name, (accuracy, _, _) in results.items():
        epochs = np.arange(1, len(accuracy) + 1)
        by_epoch.plot(epochs, accuracy, "o-", markersize=3, color=colours[name], label=name)
    low = max(0.0, min(a.min() for a, _, _ in results.values()) - 0.02)
    by_epoch.set(xlabel="epoch", ylabel="held-out accuracy", ylim=(low, 1.0), title="per epoch")
    by_epoch.legend(loc="lower right", fontsize=8)
    by_time = right.subplots(2, 2, sharex=True, sharey=True)
    for ax, name in zip(by_time.ravel(), results, strict=True):
        for other, (accuracy, seconds, _) in results.items():
            if other != name:
                ax.plot(seconds, accuracy, color="0.85", linewidth=0.8)
        accuracy, seconds, _ = results[name]
        ax.plot(seconds, accuracy, "o-", markersize=3, color=colours[name], label=name)
        ax.set(xscale="log", ylim=(low, 1.0))
        ax.legend(loc="lower right", fontsize=8, handlelength=1.5)
    for ax in by_time[1]:
        ax.set_xlabel("training time (s, compilation excluded)", fontsize=9)
    for ax in by_time[:, 0]:
        ax.set_ylabel("held-out accuracy", fontsize=9)
    right.suptitle("against wall time (each rule in colour, the others in grey)", fontsize=11)
    figure.suptitle("digits MLP: muon, schedule-free AdamW, Prodigy, Adam")
    save(figure, args.out, "compare_modern.png")


if __name__ == "__main__":
    main()
