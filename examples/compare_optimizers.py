"""The digits MLP of train_mlp.py trained with every update rule in symupdates, for the same budget.

    python examples/compare_optimizers.py [--out DIR] [--steps 10] [--optimizers sgd,adam,...]

Every rule of the library (found at run time: each public function with the update-rule signature
``(loss_or_grads=None, params=None, learning_rate=...)``), or those named by ``--optimizers``, trains its own
copy of the same initial network on the same mini-batches for ``--steps`` epochs, with the learning rate of
``train_mlp.py --optimizer NAME``. All the copies are compiled into one training function.

Prints a Markdown table (final training loss, held-out accuracy after each budget) and plots held-out
accuracy against epoch (``compare_optimizers.png``).
"""

import numpy as np
import pytensor
import pytensor.tensor as pt

from _shared import mlp_learning_rate, mlp_rule, mean_cross_entropy, optimizer_rules, parser, save
from train_mlp import build_model, forward, load_data

BATCH_SIZE = 32


def compile_all(rules, initial):
    """One training step updating every rule's copy of the ``initial`` network, returning their batch
    losses, and one function returning every network's predictions."""
    x = pt.matrix("x", dtype="float32")
    y = pt.vector("y", dtype="int64")
    losses, predictions, updates = [], [], {}
    for rule in rules.values():
        params = [pytensor.shared(p.get_value(), name=p.name) for p in initial]
        log_probabilities = forward(x, params)
        loss = mean_cross_entropy(log_probabilities, y, n_classes=params[-1].get_value().shape[0])
        updates.update(rule(loss, params))
        losses.append(loss)
        predictions.append(pt.argmax(log_probabilities, axis=-1))
    train = pytensor.function([x, y], pt.stack(losses), updates=updates)
    predict = pytensor.function([x], pt.stack(predictions))
    return train, predict


def compare(names, epochs, seed=0):
    """``(final training loss per rule, held-out accuracy per rule and epoch)``."""
    X_train, X_test, y_train, y_test = load_data(seed)
    rules = {name: mlp_rule(name, mlp_learning_rate(name)) for name in names}
    rng = np.random.default_rng(seed)  # as in train_mlp.train: the initial network, then the batch order
    train, predict = compile_all(rules, build_model(rng))
    held_out = np.zeros((len(names), epochs))
    for epoch in range(epochs):
        order = rng.permutation(len(X_train))
        losses, sizes = [], []
        for start in range(0, len(order), BATCH_SIZE):
            batch = order[start : start + BATCH_SIZE]
            losses.append(train(X_train[batch], y_train[batch]))
            sizes.append(len(batch))
        held_out[:, epoch] = np.mean(predict(X_test) == y_test, axis=1)
    return np.average(losses, axis=0, weights=sizes), held_out


def main(argv=None):
    p = parser(__doc__, steps=10)
    p.add_argument("--optimizers", default=",".join(optimizer_rules()), help="comma-separated rule names")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    names = args.optimizers.split(",")
    unknown = sorted(set(names) - set(optimizer_rules()))
    if unknown:
        p.error(f"unknown optimizers {unknown}; choose from {sorted(optimizer_rules())}")
    final_losses, held_out = compare(names, args.steps, args.seed)

    budgets = sorted({min(3, args.steps), args.steps})
    print(f"digits MLP 64-50-10, batch {BATCH_SIZE}, {args.steps} epochs, seed {args.seed}\n")
    print("| optimizer | learning rate | final training loss | " + " | ".join(
        f"held-out accuracy, epoch {e}" for e in budgets) + " |")  # fmt: skip
    print("|---|---:|---:|" + "---:|" * len(budgets))
    for name, loss, accuracy in zip(names, final_losses, held_out):
        cells = " | ".join(f"{accuracy[e - 1]:.4f}" for e in budgets)
        print(f"| {name} | {mlp_learning_rate(name):g} | {loss:.4f} | {cells} |")

    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(7, 4))
    for i, (name, accuracy) in enumerate(zip(names, held_out)):
        ax.plot(np.arange(1, args.steps + 1), accuracy, "o-" if i < 10 else "s--", markersize=3, label=name)
    ax.set(xlabel="epoch", ylabel="held-out accuracy", title="digits MLP: held-out accuracy per epoch")
    ax.set_ylim(max(0.0, held_out.min() - 0.02), 1.0)
    ax.legend(fontsize=7, ncol=2, loc="lower right")
    save(figure, args.out, "compare_optimizers.png")


if __name__ == "__main__":
    main()
