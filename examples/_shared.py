"""What the examples share: the command line, the list of rules in the library, and figure output.

Not part of the library; the examples import it as a sibling module (``python examples/NAME.py`` puts
``examples/`` on ``sys.path``).
"""

import argparse
import inspect
import sys
import threading
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # the examples write files; they never open a window

import pytensor.tensor as pt  # noqa: E402

import symupdates  # noqa: E402

warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")

# Learning rates that suit the digits MLP where the rule's own default (Lasagne's or PyMC's, chosen for
# other problems) is far off. Rules not listed, including any added to the library later, use their default.
MLP_LEARNING_RATES = {
    "sgd": 0.1,
    "momentum": 0.05,
    "nesterov_momentum": 0.05,
    "adagrad": 0.1,
    "adagrad_window": 0.01,
    "rmsprop": 0.001,
    "muon": 0.02,  # Keller Jordan's; the MLP's biases and output layer go to adamw (see mlp_rule)
    "schedule_free_sgd": 0.1,
}
# Rules for 2-D weights only: the MLP examples route the other params (biases) and the output layer to
# adamw, as muon's docstring recommends.
HIDDEN_MATRIX_RULES = {"muon"}


def optimizer_rules():
    """``{name: rule}`` for every public rule of ``symupdates`` with the update-rule signature
    ``(loss_or_grads=None, params=None, learning_rate=..., ...)``, in ``symupdates.__all__`` order."""
    rules = {}
    for name in symupdates.__all__:
        rule = getattr(symupdates, name)
        if not inspect.isfunction(rule):
            continue
        parameters = list(inspect.signature(rule).parameters.values())
        if [p.name for p in parameters[:3]] == ["loss_or_grads", "params", "learning_rate"]:
            rules[name] = rule
    return rules


def default_learning_rate(rule):
    return inspect.signature(rule).parameters["learning_rate"].default


def mlp_learning_rate(name):
    """The learning rate the MLP examples use for the rule called ``name``."""
    return MLP_LEARNING_RATES.get(name, default_learning_rate(optimizer_rules()[name]))


def mlp_rule(name, learning_rate):
    """The rule called ``name`` at ``learning_rate``, as the MLP examples apply it to ``[W0, b0, W1, ...]``:
    a muon-like rule gets the hidden layers' matrices and adamw the biases and the output layer."""
    rule = optimizer_rules()[name](learning_rate=learning_rate)
    if name not in HIDDEN_MATRIX_RULES:
        return rule

    def routed(loss_or_grads, params):
        labels = ["hidden" if p.ndim == 2 and i < len(params) - 2 else "other" for i, p in enumerate(params)]
        routed_rule = symupdates.multi_transform({"hidden": rule, "other": symupdates.adamw()}, labels)
        return routed_rule(loss_or_grads, params)

    return routed


def add_no_progress(argument_parser):
    argument_parser.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bars (none either when stderr is not a terminal)",
    )


def parser(doc, steps=None, epochs=None):
    """An argument parser that shows every default, with ``--out DIR``, ``--no-progress`` and either
    ``--steps N`` (optimizer steps) or ``--epochs N`` (passes over the data; ``--steps`` is kept as its old
    name)."""
    result = argparse.ArgumentParser(
        description=doc.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    result.add_argument("--out", type=Path, default=Path("."), help="directory for the pictures")
    add_no_progress(result)
    if epochs is None:
        result.add_argument("--steps", type=int, default=steps, help="optimizer steps")
    else:
        result.add_argument("--epochs", "--steps", type=int, default=epochs, help="passes over the data")
    return result


def progress_bars(no_progress=False):
    """Whether the examples show progress bars and the live compile clock: on a terminal (stderr, where
    tqdm draws), unless ``--no-progress``. A redirected log gets whole lines only, no carriage returns.
    Called by each example after parsing its arguments; what it returns is also what
    ``compiles_on_first_call`` follows."""
    global _progress
    _progress = not no_progress and sys.stderr.isatty()
    return _progress


_progress = None  # None: not set by an example (its functions imported elsewhere): a terminal decides


def progress_on():
    return sys.stderr.isatty() if _progress is None else _progress


@contextmanager
def compile_clock(what):
    """Announce a compile, count its seconds while it runs (a tqdm line on a terminal, refreshed every
    second) and print how long it took. How long a compile takes depends on the machine, its load and
    PyTensor's on-disk cache (tens of seconds with an empty cache, a fraction of one once cached), so it
    is measured rather than guessed. The lines go through ``tqdm.write`` so that they print above any
    progress bar."""
    from tqdm import tqdm

    tqdm.write(f"compiling {what} (PyTensor caches it on disk for the next runs)...", file=sys.stdout)
    sys.stdout.flush()
    start = time.perf_counter()
    clock = tqdm(
        desc=f"compiling {what}", bar_format="{desc}: {elapsed}", leave=False, disable=not progress_on()
    )
    done = threading.Event()

    def tick():
        while not done.wait(1.0):
            clock.refresh()

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    try:
        yield
    finally:
        done.set()
        ticker.join()
        clock.close()
    tqdm.write(f"compiled {what} in {time.perf_counter() - start:.1f} s", file=sys.stdout)


def compiles_on_first_call(function, what):
    """``function``, whose first call runs in a ``compile_clock``: PyTensor's NUMBA mode compiles a
    function when it is first called (not in ``pytensor.function``)."""
    first = True

    def call(*args):
        nonlocal first
        if not first:
            return function(*args)
        with compile_clock(what):
            result = function(*args)
        first = False
        return result

    call.function = function  # what symupdates.inspect_step reads the compiled graph of
    return call


def save(figure, out, name):
    """Write ``figure`` to ``out/name``, print the path and close it."""
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    figure.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(figure)
    print(f"wrote {path}")
    return path


def save_animation(animation, out, name, fps=8, dpi=80):
    """Write a matplotlib animation as a GIF with Pillow."""
    import matplotlib.pyplot as plt
    from matplotlib.animation import PillowWriter

    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    animation.save(path, writer=PillowWriter(fps=fps), dpi=dpi)
    plt.close(animation._fig)
    print(f"wrote {path}")
    return path


def optimize_paths(runs, steps, inputs=(), feed=None):
    """Run each rule from its start point on its own loss, all in one compiled function.

    Parameters
    ----------
    runs : dict
        ``{label: (rule, start, loss)}``: ``rule`` is a partially applied update rule (e.g.
        ``symupdates.adam(learning_rate=0.1)``), ``start`` a point, ``loss(theta)`` builds the symbolic
        loss of the shared float64 vector ``theta``.
    steps : int
    inputs : list of TensorVariable
        Symbolic data the losses use (mini-batches), fed at step ``k`` with ``feed(k)``.

    Returns
    -------
    dict
        ``{label: path}``, ``path[k]`` the point after ``k`` steps, shape ``(steps + 1, len(start))``.
    """
    import numpy as np
    import pytensor

    thetas, updates = {}, {}
    for label, (rule, start, loss) in runs.items():
        theta = pytensor.shared(np.array(start, dtype="float64"), name=str(label))
        thetas[label] = theta
        updates.update(rule(loss(theta), [theta]))
    step = pytensor.function(list(inputs), [], updates=updates, on_unused_input="ignore")
    step = compiles_on_first_call(step, f"one step of the {len(runs)} runs")
    paths = {label: [theta.get_value()] for label, theta in thetas.items()}
    for k in range(steps):
        step(*(feed(k) if feed else ()))
        for label, theta in thetas.items():
            paths[label].append(theta.get_value())
    return {label: np.array(path) for label, path in paths.items()}


def mean_cross_entropy(log_probabilities, labels, n_classes):
    """Mean of ``-log_probabilities[i, labels[i]]``, picked with a one-hot mask of ``n_classes`` (an int)
    rather than ``log_probabilities[pt.arange(batch), labels]``: PyTensor's JAX mode fails on an arange
    whose stop is a run-time batch size above 127 ("out of bounds for int8", benchmarks/notes.md)."""
    mask = pt.eq(labels[:, None], pt.arange(n_classes)).astype(log_probabilities.dtype)
    return -pt.mean(pt.sum(log_probabilities * mask, axis=-1))
