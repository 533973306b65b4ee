"""One graph holding every public optimizer and every public transform of symupdates that has state, each on
its own small params, so the resume test checks all of them with one compiled function per mode.

The rules are found in ``symupdates.__all__``, so rules added later are covered without editing this file;
a rule with a required argument not in ``REQUIRED`` makes the test fail and say so. Cold compilation costs
per distinct loop, so the graph leaves out the rules without state (nothing to resume) and the transforms
whose state is exactly an optimizer's (``scale_by_adam`` is ``adam``'s state: resuming ``adam`` tests it).

Run as a script, ``python checkpoint_cases.py STAGE DIR MODE...``, it is a fresh process of the resume test:
for each mode it rebuilds the graph, then with STAGE ``uninterrupted`` runs every step and saves every rule's
checkpoint in ``DIR/MODE`` after the first ``N_STEPS``, with STAGE ``resume`` loads those checkpoints and runs
the remaining steps; it writes the params to ``DIR/MODE/STAGE.npz``. Both stages run in fresh processes so
that both run the same machine code: in NUMBA mode, a process that compiled the step and one that loaded it
from PyTensor's cache can differ in the last bit (docs/checkpoints.md, "Bit for bit across processes").
"""

import inspect
import sys
import warnings
from pathlib import Path

import numpy as np
import pytensor
import pytensor.tensor as pt

import symupdates

warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")

N_STEPS, M_STEPS = 7, 6  # 13 steps: adagrad_window's 10-step ring buffer wraps after the checkpoint
DATA = [0.3 + 0.11 * k for k in range(N_STEPS + M_STEPS)]  # the per-step input, one float64 scalar
# Values for arguments without a default. Every other argument keeps its default.
REQUIRED = {
    "learning_rate": 0.01,
    "factor": 0.5,
    "weight_decay": 0.01,
    "decay": 0.9,
    "max_norm": 1.0,
    "min_value": -1.0,
    "max_value": 1.0,
}
NOT_TRANSFORM_FACTORIES = {"apply", "chain", "inject_hyperparams"}
# Modules by their dotted path below symupdates: a package name stands for every module in it.
OPTIMIZER_MODULES = ("rules",)
NOT_OPTIMIZER_MODULES = ("rules.multiplicative", "rules.sharpness")
TRANSFORM_MODULES = ("core.transform", "wrappers.clipping")
WRAPPER_MODULES = ("wrappers", "rules.schedule_free", "rules.sharpness")
NOT_WRAPPER_MODULES = ("wrappers.clipping", "wrappers.constraints", "wrappers.sparse")
# Public functions of those modules that make no rule: a helper on matrices, one on a rule's updates, one on
# a loss.
NOT_RULES = {"newton_schulz", "schedule_free_eval_parameters", "hutchinson_diagonal"}


def inner():
    return symupdates.chain(symupdates.scale_by_adam(), symupdates.scale_by_learning_rate(0.05))


# The wrappers take a transform to wrap: each is checked around adam, so their own state (counters,
# accumulated gradients, slow weights, averages) is what the resume adds. A new public wrapper must be added
# here, or the test fails and says so.
WRAPPERS = {
    "apply_if_finite": lambda loss: symupdates.apply_if_finite(inner()),
    "accumulate_gradients": lambda loss: symupdates.accumulate_gradients(inner(), every_k=3),
    "lookahead": lambda loss: symupdates.lookahead(inner(), sync_period=4),
    "parameter_ema": lambda loss: symupdates.parameter_ema(inner(), decay=0.9),
    "masked": lambda loss: symupdates.masked(inner(), mask=[True]),
    "multi_transform": lambda loss: symupdates.multi_transform({"all": inner()}, ["all"]),
    "flatten": lambda loss: symupdates.flatten(inner()),
    "schedule_free": lambda loss: symupdates.schedule_free(symupdates.sgd(learning_rate=0.05), 0.05),
    "sam": lambda loss: symupdates.sam(inner()),
    "skip_if": lambda loss: symupdates.skip_if(inner(), symupdates.large_step(1e3), max_consecutive_skips=5),
    # The line searches keep the last call's step size (the next call's first trial).
    "scale_by_backtracking_linesearch": lambda loss: symupdates.chain(
        inner(), symupdates.scale_by_backtracking_linesearch(5)
    ),
    "scale_by_zoom_linesearch": lambda loss: symupdates.chain(
        inner(), symupdates.scale_by_zoom_linesearch(5)
    ),
    "reduce_on_plateau": lambda loss: symupdates.chain(
        symupdates.scale_by_rms(),
        symupdates.scale_by_learning_rate(
            symupdates.reduce_on_plateau(loss, init_value=0.05, factor=0.5, patience=1)
        ),
    ),
}


def _in(module, names):
    return any(module == f"symupdates.{n}" or module.startswith(f"symupdates.{n}.") for n in names)


def public_functions(*module_names, exclude=()):
    return {
        name: getattr(symupdates, name)
        for name in symupdates.__all__
        if inspect.isfunction(getattr(symupdates, name))
        and _in(getattr(symupdates, name).__module__, module_names)
        and not _in(getattr(symupdates, name).__module__, exclude)
    }


def required_arguments(name, fn, skip=()):
    kwargs = {}
    for arg in list(inspect.signature(fn).parameters.values())[len(skip) :]:
        if arg.default is inspect.Parameter.empty and arg.kind is not arg.VAR_POSITIONAL:
            if arg.name not in REQUIRED:
                raise AssertionError(f"{name} requires {arg.name!r}: add a value for it to REQUIRED")
            kwargs[arg.name] = REQUIRED[arg.name]
    return kwargs


def rules():
    """``{label: make(loss, params) -> Updates}`` for every public optimizer and transform."""
    cases = {}
    for name, fn in public_functions(*OPTIMIZER_MODULES, exclude=NOT_OPTIMIZER_MODULES).items():
        first = next(iter(inspect.signature(fn).parameters), None)
        if name in NOT_RULES or first not in ("loss_or_grads", "updates"):
            continue  # a transform factory (below) or a wrapper
        if first == "updates":  # apply_momentum and the like wrap the dict of another rule
            kwargs = required_arguments(name, fn, skip=("updates",))
            cases[name] = lambda loss, params, fn=fn, kwargs=kwargs: fn(
                symupdates.sgd(loss, params, learning_rate=0.01), params, **kwargs
            )
        else:
            kwargs = required_arguments(name, fn, skip=("loss_or_grads", "params"))
            cases[name] = lambda loss, params, fn=fn, kwargs=kwargs: fn(loss, params, **kwargs)
    transform_factories = public_functions(*TRANSFORM_MODULES) | {
        name: fn
        for name, fn in public_functions(*OPTIMIZER_MODULES, exclude=NOT_OPTIMIZER_MODULES).items()
        if name not in NOT_RULES
        and next(iter(inspect.signature(fn).parameters), None) not in ("loss_or_grads", "updates", "inner")
    }
    for name, factory in transform_factories.items():
        if name not in NOT_TRANSFORM_FACTORIES:
            transform = factory(**required_arguments(name, factory))
            cases[f"transform:{name}"] = symupdates.chain(transform, symupdates.scale_by_learning_rate(0.05))
    for name, fn in public_functions(*WRAPPER_MODULES, exclude=NOT_WRAPPER_MODULES).items():
        if next(iter(inspect.signature(fn).parameters)) in ("inner", "transforms"):
            if name not in WRAPPERS:
                raise AssertionError(f"wrapper {name} has no case: add one to WRAPPERS")
    for name, make in WRAPPERS.items():
        cases[f"wrapper:{name}"] = lambda loss, params, make=make: make(loss)(loss, params)
    # Hyper-parameters made shared are saved and restored with the state.
    cases["inject_hyperparams:adam"] = symupdates.inject_hyperparams(symupdates.adam)(learning_rate=0.01)
    return cases


def make_params(dtype):
    """One param, the same values for every rule: one loop per rule keeps cold compilation short."""
    return [pytensor.shared(np.random.default_rng(0).normal(size=(2, 3)).astype(dtype), name="w")]


def state_kinds(updates):
    return frozenset(v.name for v in updates.state)


def build(mode):
    """``(step, {label: (params, updates)})`` for every rule with state not already covered; ``step(x)``
    updates the params of all of them at once.

    The step's updates are every case's merged with ``symupdates.merge``, which renames the state of each
    case whose names an earlier case uses (its ``adam.t`` becomes ``adam.t#5``): the fresh process rebuilds
    the same names. (A plain dict of them would hold many variables named ``adam.t`` next to
    ``merge:per_layer_adam``'s ``adam.t#2``, and PyTensor 3.0.7's NUMBA backend then generates one Python
    argument name twice: its ``unique_name_generator`` suffixes the third ``adam_t`` to ``adam_t_2``.)"""
    x = pt.scalar("x", dtype="float64")
    cases, merged, covered = {}, symupdates.Updates(), set()
    for label, make in rules().items():
        params = make_params(["float64", "float32"][len(cases) % 2])
        # The gradient, p * x - 1, changes with the step's input x.
        updates = make(sum(pt.sum(p**2 * pt.cast(x, p.dtype) / 2 - p) for p in params), params)
        if not updates.state or (label.startswith("transform:") and state_kinds(updates) in covered):
            continue
        covered.add(state_kinds(updates))
        cases[label] = (params, updates)
        merged.update(updates)
    cases["merge:per_layer_adam"] = per_layer_adam(x)
    merged.update(cases["merge:per_layer_adam"][1])
    return pytensor.function([x], [], updates=merged, mode=mode), cases


def per_layer_adam(x):
    """Two layers' weights, both named ``W`` as Lasagne names them, each with its own adam and learning rate,
    merged the way Lasagne users merged per-layer rules: 8 variables to save (2 params, 2 x (m, v), 2
    counters)."""
    params = [make_params("float64")[0], make_params("float32")[0]]
    for p in params:
        p.name = "W"
    loss = sum(pt.sum(p**2 * pt.cast(x, p.dtype) / 2 - p) for p in params)
    updates = symupdates.adam(loss, params[:1], learning_rate=0.1)
    updates.update(symupdates.adam(loss, params[1:], learning_rate=0.01))
    return params, updates


def checkpoint_path(directory, mode, label):
    return Path(directory) / mode / f"{label.replace(':', '-')}.npz"


def param_values(cases):
    return {f"{label}/{i}": p.get_value() for label, (ps, _) in cases.items() for i, p in enumerate(ps)}


def uninterrupted(directory, mode, step, cases):
    """Every step, each case's checkpoint saved after the first ``N_STEPS``; the params at the end."""
    for x in DATA[:N_STEPS]:
        step(x)
    for label, (_, updates) in cases.items():
        path = checkpoint_path(directory, mode, label)
        path.parent.mkdir(parents=True, exist_ok=True)
        symupdates.save_state(updates, path, include_params=True)
    for x in DATA[N_STEPS:]:
        step(x)
    return param_values(cases)


def resume(directory, mode, step, cases):
    """The steps after ``N_STEPS`` from each case's checkpoint; the params at the end."""
    for label, (_, updates) in cases.items():
        symupdates.load_state(updates, checkpoint_path(directory, mode, label), include_params=True)
    for x in DATA[N_STEPS:]:
        step(x)
    return param_values(cases)


if __name__ == "__main__":
    stage, directory = sys.argv[1], Path(sys.argv[2])
    for mode in sys.argv[3:]:
        values = {"uninterrupted": uninterrupted, "resume": resume}[stage](directory, mode, *build(mode))
        np.savez(directory / mode / f"{stage}.npz", **values)
