"""The digits MLP of train_mlp.py trained with several update rules of symupdates, for the same budget.

    python examples/compare_optimizers.py [--out DIR] [--epochs 10] [--optimizers sgd,adam,... | --all]

By default Lasagne's rules, PyMC's adagrad_window and a few later ones (``DEFAULT_RULES``); ``--all`` takes
every rule of the library (found at run time: each public function with the update-rule signature
``(loss_or_grads=None, params=None, learning_rate=...)``), ``--optimizers`` the rules it names. Each trains
its own copy of the same initial network on the same mini-batches for ``--epochs`` epochs, with the learning
rate of ``train_mlp.py --optimizer NAME``. The rules run one at a time (compile, train, release), so the
memory never holds every rule's functions at once.

Prints a Markdown table (final training loss, held-out accuracy after 3 epochs and at the end) and draws
held-out accuracy per epoch, one small panel per rule, next to the rules ranked by final accuracy
(``compare_optimizers.png``).
"""

import gc
import sys

import numpy as np
from tqdm import tqdm

from _shared import (
    compiles_on_first_call,
    mlp_learning_rate,
    mlp_rule,
    optimizer_rules,
    parser,
    progress_bars,
    progress_on,
    save,
)
from train_mlp import build_model, compile_functions, load_data

BATCH_SIZE = 32
# Lasagne's eight rules, PyMC's adagrad_window, then later ones: the rows of docs/comparing.md's table.
DEFAULT_RULES = (
    "sgd", "momentum", "nesterov_momentum", "adagrad", "rmsprop", "adadelta", "adam", "adamax",
    "adagrad_window", "amsgrad", "nadam", "adamw", "lion",
)  # fmt: skip


def train_one(name, rule, epochs, data, seed):
    """``(final training loss, held-out accuracy per epoch)`` of the MLP trained with ``rule``; its functions
    are local and go when this returns."""
    X_train, X_test, y_train, y_test = data
    rng = np.random.default_rng(seed)  # as in train_mlp.train: the initial network, then the batch order
    train_step, predict, _ = compile_functions(build_model(rng), rule)
    train_step = compiles_on_first_call(train_step, f"{name}'s training step")
    held_out = []
    for _ in range(epochs):
        order = rng.permutation(len(X_train))
        losses, sizes = [], []
        for start in range(0, len(order), BATCH_SIZE):
            batch = order[start : start + BATCH_SIZE]
            losses.append(train_step(X_train[batch], y_train[batch])[0])
            sizes.append(len(batch))
        held_out.append(np.mean(predict(X_test) == y_test))
    return float(np.average(losses, weights=sizes)), np.array(held_out)


def compare(names, epochs, seed=0):
    """``{name: (final training loss, held-out accuracy per epoch)}``, one rule after the other."""
    data = load_data(seed)
    results = {}
    bar = tqdm(names, unit="rule", disable=not progress_on())
    for name in bar:
        bar.set_postfix_str(name)
        rule = mlp_rule(name, mlp_learning_rate(name))
        results[name] = train_one(name, rule, epochs, data, seed)
        gc.collect()  # the rule's graphs and compiled functions go before the next rule's are built
        loss, accuracy = results[name][0], results[name][1][-1]
        summary = f"{name}: final training loss {loss:.4f}, held-out accuracy {accuracy:.4f}"
        tqdm.write(summary, file=sys.stdout)
    return results


def markdown_table(results, epochs, seed):
    budgets = sorted({min(3, epochs), epochs})
    lines = [
        f"digits MLP 64-50-10, batch {BATCH_SIZE}, {epochs} epochs, seed {seed}",
        "",
        "| optimizer | learning rate | final training loss | "
        + " | ".join(f"held-out accuracy, epoch {e}" for e in budgets)
        + " |",
        "|---|---:|---:|" + "---:|" * len(budgets),
    ]
    for name, (loss, accuracy) in results.items():
        cells = " | ".join(f"{accuracy[e - 1]:.4f}" for e in budgets)
        lines.append(f"| {name} | {mlp_learning_rate(name):g} | {loss:.4f} | {cells} |")
    return "\n".join(lines)


def plot(results, out):
    """Small multiples (one panel per rule, the others in grey behind it) and a ranked bar chart."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    names = list(results)
    accuracy = np.array([results[name][1] for name in names])
    epochs = np.arange(1, accuracy.shape[1] + 1)
    columns = min(4, len(names))
    rows = -(-len(names) // columns)
    figure = plt.figure(figsize=(3 * columns + 4.5, 2.2 * rows + 0.6), layout="constrained")
    panels, ranking = figure.subfigures(1, 2, width_ratios=[3 * columns, 4.5])
    axes = panels.subplots(rows, columns, sharex=True, sharey=True, squeeze=False).ravel()
    bottom = max(0.0, np.floor(accuracy.min() * 20) / 20)
    # a distinct colour (tab20: its dark half first) and line style per rule, the same in panel and bar
    colours = [plt.cm.tab20((2 * j + j // 10) % 20) for j in np.arange(len(names)) % 20]
    styles = [("-", "--", "-.", ":")[i % 4] for i in range(len(names))]
    # The grid has room for more panels than rules: the spare ones are switched off below.
    for i, (ax, name) in enumerate(zip(axes, names, strict=False)):
        ax.plot(epochs, accuracy.T, color="0.85", linewidth=0.8)
        ax.plot(epochs, accuracy[i], styles[i], marker="o", color=colours[i], markersize=3, linewidth=2)
        ax.set_title(f"{name}: {accuracy[i, -1]:.4f}", fontsize=10)
        ax.set_ylim(bottom, 1.0)
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for i in range(len(names), len(axes)):
        axes[i].axis("off")
        axes[i - columns].xaxis.set_tick_params(labelbottom=True)  # the panel above is the lowest one
    panels.supxlabel("epoch")
    panels.supylabel("held-out accuracy")
    panels.suptitle("digits MLP: held-out accuracy per epoch (grey: the other rules)")

    order = np.argsort(accuracy[:, -1])
    ax = ranking.subplots()
    ax.barh(np.arange(len(names)), accuracy[order, -1], color=[colours[i] for i in order])
    ax.set_yticks(np.arange(len(names)), [names[i] for i in order])
    for y, value in enumerate(accuracy[order, -1]):
        ax.text(value, y, f" {value:.3f}", va="center", fontsize=8)
    ax.set_xlim(bottom, 1.04)
    ax.set(xlabel=f"held-out accuracy after {len(epochs)} epochs", title="ranked")
    return save(figure, out, "compare_optimizers.png")


def parse(argv=None):
    """The command line's options and the names of the rules to compare."""
    p = parser(__doc__, epochs=10)
    rules = p.add_mutually_exclusive_group()
    rules.add_argument("--optimizers", default=",".join(DEFAULT_RULES), help="comma-separated rule names")
    rules.add_argument("--all", action="store_true", help="every update rule of symupdates")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial network and the batch order")
    args = p.parse_args(argv)
    progress_bars(args.no_progress)
    names = list(optimizer_rules()) if args.all else args.optimizers.split(",")
    unknown = sorted(set(names) - set(optimizer_rules()))
    if unknown:
        p.error(f"unknown optimizers {unknown}; choose from {sorted(optimizer_rules())}")
    return args, names


def main(argv=None):
    args, names = parse(argv)
    results = compare(names, args.epochs, args.seed)
    print(markdown_table(results, args.epochs, args.seed))
    plot(results, args.out)


if __name__ == "__main__":
    main()
