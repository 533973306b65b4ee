"""symupdates inside pytensor-ml, and pytensor-ml inside symupdates (pytensor-ml 0.3).

pytensor-ml (``pytensor_ml.optim``) speaks one currency between the stages of its ``chain``: an updates dict
``{variable: next value}`` whose parameter entries carry a difference, ``d[p] - p``, that is a gradient in a
``Gradients`` dict (ahead of a rule) and a step in a ``Steps`` dict (behind one), alongside the optimizer
state of the stages before. symupdates' transforms map one step per param to another (``Transform.build``),
the sign flip living in ``scale_by_learning_rate``. This module translates between the two:

* **symupdates inside pytensor-ml** (nothing to call): a symupdates rule or transform given a pytensor-ml
  updates dict as ``loss_or_grads`` (what a ``pytensor_ml.optim.chain`` hands it) reads each param's
  difference, builds its steps, and returns a pytensor-ml dict for the next stage (``apply``): ``Steps``
  when it descends (a rule, or anything holding ``scale_by_learning_rate``), else the class it was given,
  with the earlier stages' state kept and its own added;
* **pytensor-ml inside symupdates**: ``from_pytensor_ml(transform)`` is a symupdates ``Transform`` running a
  pytensor-ml transform (its rules, clips, schedules, guards, weight decay), so it stands inside
  ``symupdates.chain``, ``apply_if_finite``, ``multi_transform``; the state it allocates becomes symupdates
  state, named in symupdates' convention and saved by ``symupdates.save_state``;
* **one checkpoint**: ``symupdates.save_state``, ``load_state``, ``state_of`` and ``reset_state`` accept the
  updates dict a pytensor-ml chain returns (``as_updates``), and pytensor-ml's own
  ``collect_optimizer_state`` + ``save_state`` accept symupdates' ``Updates`` (every state name is unique).

This module imports pytensor-ml; symupdates imports it only when it meets a pytensor-ml dict
(``symupdates.interop.adapter_for``), or when a user imports it.
"""

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytensor.tensor as pt
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Variable
from pytensor.graph.replace import graph_replace
from pytensor.scalar.basic import Add, Sub
from pytensor.tensor.elemwise import Elemwise
from pytensor_ml.optim.base import Gradients, Steps
from pytensor_ml.optim.base import Updates as PytensorMLUpdates
from pytensor_ml.params import TrainableParameter
from pytensor_ml.pytensorf import collect_clock_updates

from ..core.gradients import check_params
from ..core.transform import Transform
from ..core.transform import apply as apply_transform
from ..core.types import Builder
from ..core.updates import Updates, free_name

__all__ = ["apply", "as_updates", "descends", "from_pytensor_ml"]

SPACES = {"gradients": Gradients, "steps": Steps}
# pytensor-ml's rules (pytensor_ml.optim.alias): from_pytensor_ml of one descends.
PYTENSOR_ML_RULES = {
    "adadelta",
    "adagrad",
    "adam",
    "adamax",
    "adamw",
    "lbfgs",
    "nadam",
    "rmsprop",
    "rprop",
    "sgd",
}

# What a checkpoint of a pytensor-ml updates dict records as its rule: pytensor-ml's chains are closures
# that describe nothing, so the state names (checked entry by entry) are what tell two runs apart.
PYTENSOR_ML_RULE = {"name": "pytensor_ml", "config": {}}


def difference(value: Variable, param: SharedVariable) -> Variable:
    """``value - param``, read off the graph when ``value`` was written as ``param + x`` or ``param - x``.

    Every stage of a pytensor-ml chain writes its output as ``p + x`` (``p - x`` for a rule's step) and
    the next stage reads it back as ``d[p] - p``; reading ``x`` (``-x``) off the node keeps the graph of a
    composed chain the graph of the rule used alone, whatever rewrites the compiling mode runs.
    """
    node = value.owner
    if (
        node is not None
        and isinstance(node.op, Elemwise)
        and len(node.inputs) == 2
        and node.inputs[0] is param
    ):
        if isinstance(node.op.scalar_op, Add):
            return node.inputs[1]
        if isinstance(node.op.scalar_op, Sub):
            return pt.neg(node.inputs[1])
    return pt.sub(value, param)


def _is_sum(value: Variable, param: SharedVariable, step: Variable) -> bool:
    """True when ``value`` is the node ``param + step`` itself."""
    node = value.owner
    return (
        node is not None
        and isinstance(node.op, Elemwise)
        and isinstance(node.op.scalar_op, Add)
        and len(node.inputs) == 2
        and node.inputs[0] is param
        and node.inputs[1] is step
    )


def _declared_parameters(name: str) -> Sequence[str]:
    """The arguments of the public symupdates rule or transform called ``name`` (none when there is none)."""
    import symupdates

    declaration = getattr(getattr(symupdates, name, None), "declaration", None)
    return list(declaration.signature.parameters) if declaration is not None else []


def _parts(config: Any) -> list[Any]:
    """The transforms a transform's ``config`` holds (``chain``'s list, ``multi_transform``'s dict, ...)."""
    if isinstance(config, Transform):
        return [config]
    if isinstance(config, dict):
        config = list(config.values())
    if isinstance(config, list | tuple):
        return [part for value in config for part in _parts(value)]
    return []


def descends(transform: Transform) -> bool:
    """True when ``transform`` turns gradients into descent steps, as a pytensor-ml rule does.

    A symupdates rule does (it is declared with ``params``), and so does any transform taking a
    ``learning_rate`` (``scale_by_learning_rate``, the sign flip; ``schedule_free``) or holding one that
    does (a ``chain`` ending in ``scale_by_learning_rate``, ``apply_if_finite(adam(...))``), and so does
    ``from_pytensor_ml`` of one of pytensor-ml's rules (``from_pytensor_ml(ptml.adam(1e-3))``). Clips,
    ``scale_by_adam`` and the other scalings do not: they keep the space they read.

    Parameters
    ----------
    transform : Transform

    Returns
    -------
    bool

    Examples
    --------
    >>> import symupdates as su
    >>> descends(su.adam(learning_rate=1e-3)), descends(su.clip_by_global_norm(1.0))
    (True, False)
    >>> descends(su.chain(su.scale_by_adam(), su.scale_by_learning_rate(1e-3)))
    True
    """
    arguments = _declared_parameters(transform.name)
    if "params" in arguments or "learning_rate" in arguments:
        return True
    origin, _, wrapped = transform.name.partition(".")
    if origin == "pytensor_ml" and wrapped in PYTENSOR_ML_RULES:
        return True  # from_pytensor_ml(adam(...)): pytensor-ml's rule
    return any(descends(part) for part in _parts(transform.config))


def apply(transform: Transform, incoming: dict, params: Sequence[SharedVariable]) -> PytensorMLUpdates:
    """Run a symupdates ``transform`` on a pytensor-ml updates dict: a stage of ``pytensor_ml.optim.chain``.

    With ``d`` the incoming dict, ``transform`` is built on the differences ``d[p] - p`` (gradients in a
    ``Gradients`` dict, steps in a ``Steps`` dict), exactly as on gradients given directly, and each param's
    entry becomes ``p + s'`` with ``s'`` its step. The result keeps every entry of ``d`` that is not a param
    (the state of earlier stages) and adds this transform's state; it is a ``Steps`` dict when the
    transform ``descends``, else of ``d``'s own class.

    ``symupdates.apply`` (so every rule and ``Transform`` call) comes here when given a pytensor-ml dict.

    Parameters
    ----------
    transform : Transform
        A symupdates rule or transform.
    incoming : pytensor_ml.optim.Updates
        What the previous stage returned, with an entry for every one of ``params``.
    params : sequence of SharedVariable

    Returns
    -------
    pytensor_ml.optim.Updates
        ``Steps`` or the incoming class, as pytensor-ml's next stage (or ``compile_train``) expects.

    Raises
    ------
    ValueError
        A descending transform given ``Steps`` (it would negate another rule's step and climb), or a
        param with no entry in ``incoming``.

    Notes
    -----
    A state name the incoming dict already uses (two symupdates adams in one pytensor-ml chain) gets the
    suffix ``#2``, as in ``symupdates.merge``, so pytensor-ml's unique-name check passes. As in
    pytensor-ml, a descending transform drops the gradients of trainable params it does not update: they
    would compile as ``p + g``, an ascent.

    Examples
    --------
    >>> import numpy as np, symupdates as su
    >>> from pytensor_ml.optim import chain, clip_by_global_norm
    >>> from pytensor_ml.params import trainable
    >>> w = trainable(np.ones(2), name="w")
    >>> updates = chain(clip_by_global_norm(1.0), su.adam(learning_rate=0.1))((w ** 2).sum(), [w])
    >>> type(updates).__name__, [v.name for v in updates]
    ('Steps', ['w', 'w.adam.m', 'w.adam.v', 'adam.t'])
    """
    params = check_params(params)
    going_down = descends(transform)
    if going_down and isinstance(incoming, Steps):
        raise ValueError(
            f"{transform.name} descends along what it reads, but it was given pytensor-ml Steps (the step a "
            "rule before it already took), so it would negate that step and climb; keep one rule in the "
            "chain, or put this one first"
        )
    missing = [p.name or str(p) for p in params if p not in incoming]
    if missing:
        raise ValueError(
            f"the pytensor-ml updates given to {transform.name} have no entry for params {missing}"
        )
    if not isinstance(incoming, PytensorMLUpdates):  # an earlier symupdates stage's Updates: unplaced
        incoming = PytensorMLUpdates(incoming)
    ours = apply_transform(transform, [difference(incoming[p], p) for p in params], params)
    taken = {var.name for var in incoming if var not in ours}
    for var in ours.state:
        unique = free_name(var.name or "state", taken)
        var.name = unique
        taken.add(unique)
    own = set(params)
    kept = {
        var: value
        for var, value in incoming.items()
        if not (going_down and isinstance(incoming, Gradients) and isinstance(var, TrainableParameter))
        or var in own
    }
    result_class = Steps if going_down else type(incoming)
    return result_class({**kept, **ours})


def _qualified_name(function: Callable) -> str:
    """A pytensor-ml transform's name: ``adam`` for the closure ``adam.<locals>.rule``."""
    return getattr(function, "__qualname__", type(function).__name__).partition(".")[0]


def _state_name(
    var: SharedVariable, params: Sequence[SharedVariable], keys: Sequence[str], claimed: dict
) -> tuple:
    """``(symupdates name, index of the param it belongs to or None)`` for a state variable pytensor-ml made.

    pytensor-ml names per-param state ``"<param name>/<slot>"`` and allocates it param by param, so the
    n-th variable of one slot under a name shared by several params belongs to the n-th such param.
    """
    name = var.name or "state"
    for param in params:
        prefix = f"{param.name}/"
        if param.name and name.startswith(prefix):
            slot = name[len(prefix) :]
            owners = [i for i, p in enumerate(params) if p.name == param.name]
            nth = claimed.get(name, 0)
            claimed[name] = nth + 1
            owner = owners[min(nth, len(owners) - 1)]
            return f"{keys[owner]}.{slot.replace('/', '.')}", owner
    return name.replace("/", "."), None


def from_pytensor_ml(transform: Callable, *, reads: str = "gradients") -> Transform:
    """A pytensor-ml transform as a symupdates ``Transform`` (in ``chain``, ``apply_if_finite``, ...).

    Each param's step ``s`` is handed to ``transform`` as the pytensor-ml dict ``{p: p + s}`` of class
    ``Gradients`` (``reads="gradients"``) or ``Steps`` (``reads="steps"``), and its step becomes
    ``transform(d)[p] - p``. Every other variable the result writes (moments, step counts, skip counters)
    becomes state of the symupdates rule: a variable of its own, started at the pytensor-ml variable's
    value, named ``"<param>.<slot>"`` (``"W.adam.first_moment"``) or ``"<slot>"`` (``"adam.step_count"``)
    with ``/`` read as ``.``, laid out with its param, listed in ``updates.state`` and saved by
    ``symupdates.save_state``. A training clock the result reads but does not write (a schedule's) is
    advanced by the step, as pytensor-ml's ``compile_train`` advances it.

    Parameters
    ----------
    transform : callable
        A pytensor-ml transform ``(loss_gradients_or_updates, parameters) -> Updates``: ``adam(1e-3)``,
        ``clip_by_global_norm(1.0)``, ``add_weight_decay(0.01)``, ``scale_by_schedule(...)``,
        ``apply_if_finite(...)``, a ``pytensor_ml.optim.chain``.
    reads : {"gradients", "steps"}, keyword-only
        What the steps it is handed are: ``"gradients"`` ahead of the rule (before
        ``scale_by_learning_rate``: a pytensor-ml rule, a clip of the gradients), ``"steps"`` behind it
        (pytensor-ml's ``scale``, ``trace``, ``add_weight_decay`` on a step).

    Returns
    -------
    Transform
        Named ``"pytensor_ml.<name>"`` after the pytensor-ml function (``pytensor_ml.adam``).

    Notes
    -----
    pytensor-ml's steps already hold the sign: after a pytensor-ml rule, the steps are descent steps, so
    end the chain there (no ``scale_by_learning_rate``). The state variables are new ones, so a counter
    passed to pytensor-ml's ``skip_if`` is read through ``updates.state`` (or ``symupdates.state_of``),
    not through the variable given.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates as su
    >>> import pytensor_ml.optim as ptml
    >>> from pytensor_ml.params import trainable
    >>> w = trainable(np.ones(2), name="w")
    >>> rule = su.apply_if_finite(su.chain(su.clip_by_global_norm(1.0), from_pytensor_ml(ptml.adam(0.1))))
    >>> updates = rule((w ** 2).sum(), [w])
    >>> [var.name for var in updates.state]
    ['apply_if_finite.skipped', 'adam.step_count', 'w.adam.first_moment', 'w.adam.second_moment']
    """
    if not callable(transform):
        raise TypeError(
            f"transform must be a pytensor-ml transform (a callable), got {type(transform).__name__}"
        )
    if reads not in SPACES:
        raise ValueError(f"reads must be one of {', '.join(map(repr, SPACES))}, got {reads!r}")
    space = SPACES[reads]
    name = _qualified_name(transform)

    def build(steps: list[Any], builder: Builder) -> list[Any]:
        params = list(builder.params)
        incoming = space({p: p + s for p, s in zip(params, steps, strict=True)})
        result = transform(incoming, params)
        if not isinstance(result, dict):
            raise TypeError(
                f"the pytensor-ml transform {name} returned a {type(result).__name__}, not an updates dict"
            )
        missing = [p.name or str(p) for p in params if p not in result]
        if missing:
            raise ValueError(f"the pytensor-ml transform {name} returned no update for params {missing}")
        own = set(params)
        written = {var: value for var, value in result.items() if var not in own}
        written.update(collect_clock_updates(list(result.values()), already_written=result))
        claimed: dict = {}
        replacements = {}
        for var in written:
            state_name, owner = _state_name(var, params, builder.keys, claimed)
            value = np.array(var.get_value(borrow=True), dtype=var.dtype)
            # new_state is where every builder (a multi_transform group's, flatten's) makes and places state;
            # slot and scalar go through it with shapes of their own, this takes pytensor-ml's.
            replacements[var] = builder.new_state(state_name, value, var.type.shape, owner)
        new_values = [result[p] for p in params] + list(written.values())
        if replacements:
            new_values = graph_replace(new_values, replacements, strict=False)
        for var, value in zip(written, new_values[len(params) :], strict=True):
            builder.set(replacements[var], value)
        values = new_values[: len(params)]
        steps = [difference(value, p) for value, p in zip(values, params, strict=True)]

        def as_written(next_values: list[Any]) -> list[Any]:
            # A step no later transform changed comes back as ``p + step``: write pytensor-ml's own
            # expression instead (``p - x``, not ``p + -x``), so that the compiled arithmetic is the rule's.
            return [
                value if _is_sum(next_value, p, step) else next_value
                for next_value, value, p, step in zip(next_values, values, params, steps, strict=True)
            ]

        builder.map_params(as_written)
        return steps

    return Transform(build, f"pytensor_ml.{name}", {"reads": reads})


def as_updates(foreign: dict) -> Updates:
    """A pytensor-ml updates dict as symupdates ``Updates``, for ``save_state``, ``load_state``, ``state_of``.

    Its params are the ``pytensor_ml.params.TrainableParameter`` keys, its state every other key (the
    optimizer state of every stage, pytensor-ml's and symupdates' alike, and the training clocks), in the
    dict's order; its rule is ``{"name": "pytensor_ml"}``: the state names tell two runs apart.

    Parameters
    ----------
    foreign : pytensor_ml.optim.Updates
        What a pytensor-ml rule or chain returned, e.g. ``chain(clip_by_global_norm(1.0),
        symupdates.adam(learning_rate=1e-3))(loss, params)``.

    Returns
    -------
    Updates
        The same entries; the compiled step may use either.

    Examples
    --------
    >>> import numpy as np, symupdates as su
    >>> from pytensor_ml.optim import adam
    >>> from pytensor_ml.params import trainable
    >>> w = trainable(np.ones(2), name="w")
    >>> [entry.name for entry in su.state_of(adam(0.1)((w ** 2).sum(), [w]))]
    ['adam/step_count', 'w/adam/first_moment', 'w/adam/second_moment']
    """
    params = [var for var in foreign if isinstance(var, TrainableParameter)]
    state = [var for var in foreign if not isinstance(var, TrainableParameter)]
    return Updates(foreign, params=params, state=state, rule=dict(PYTENSOR_ML_RULE))
