"""The unit every rule returns: an ordered dict of updates that knows its params, the state it created and the
rule that built it (the builder that lays it out is in ``symupdates.core.builder``).
"""

from collections import OrderedDict
from collections.abc import Collection, Iterable, Mapping
from typing import Any, cast

import numpy as np
import pytensor
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Variable
from pytensor.tensor.sharedvar import TensorSharedVariable

__all__ = ["Updates", "describe", "merge"]


# Keyed by Variable (each key is a shared variable), the type pytensor.function's ``updates`` takes.
class Updates(OrderedDict[Variable, Variable]):
    """``OrderedDict`` mapping each shared variable to its next value, as ``pytensor.function`` expects.

    Attributes
    ----------
    params : list of SharedVariable
        The parameters being optimized, in the order they were given.
    state : list of SharedVariable
        The optimizer state the rule created (accumulators, moments, step counters), in creation order,
        each with a deterministic name such as ``"W.adam.m"``.
    rule : dict or None
        What built it, as JSON-able data ``{"name": ..., "config": {...}}`` (see ``describe``); checkpoints
        store it to recognise a file written by another optimizer.
    monitors : dict of str to TensorVariable
        Scalars worth printing, as expressions to add to the compiled function's outputs: the learning
        rate each step uses (``"learning_rate"``), the gradient norm before clipping (``"global_norm"``),
        the number of skipped steps (``"skipped_steps"``).
    hyperparams : dict of str to SharedVariable
        The hyper-parameters made shared by ``inject_hyperparams``, by argument name (``"learning_rate"``;
        ``"learning_rate#2"`` for a second one in a chain): ``set_value`` changes the next step without
        recompiling, and checkpoints save them. Empty for a rule built from numbers.

    Notes
    -----
    ``update``, ``|`` and ``|=`` merge the updates of another rule into these, refusing a variable both
    update (see ``merge``); item assignment replaces one entry.
    """

    def __init__(
        self,
        *args: Any,
        params: Iterable[TensorSharedVariable] = (),
        state: Iterable[TensorSharedVariable] = (),
        rule: dict[str, Any] | None = None,
        monitors: Mapping[str, Variable] | None = None,
        hyperparams: Mapping[str, TensorSharedVariable] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.params: list[TensorSharedVariable] = list(params)
        self.state: list[TensorSharedVariable] = list(state)
        self.rule: dict[str, Any] | None = rule
        self.monitors: dict[str, Variable] = dict(monitors or {})
        self.hyperparams: dict[str, TensorSharedVariable] = dict(hyperparams or {})

    def copy(self) -> "Updates":
        return Updates(
            self,
            params=self.params,
            state=self.state,
            rule=self.rule,
            monitors=self.monitors,
            hyperparams=self.hyperparams,
        )

    def update(self, other: Any = (), /, **kwargs: Any) -> None:
        """Merge another rule's updates into these (``u.update(v)``, ``u |= v``); see ``merge``.

        Unlike ``dict.update`` it never replaces an entry: a variable both dicts update is refused
        (``ValueError`` naming it) and nothing is changed. Item assignment, ``u[W] = expr``, still replaces
        one entry on purpose (Lasagne's ``updates[W] = norm_constraint(updates[W], ...)``).
        """
        if kwargs:
            raise TypeError("Updates.update takes no keyword arguments: its keys are shared variables")
        incoming = other if isinstance(other, Updates) else Updates(other)
        _check_mergeable(self, incoming)
        renamed = _unique_state_names(self.state, incoming.state)
        for var, name in renamed.items():
            var.name = name
        for name, expr in incoming.monitors.items():
            self.monitors[free_name(name, self.monitors)] = expr
        for key, var in incoming.hyperparams.items():
            self.hyperparams[free_name(key, self.hyperparams)] = var
        self.rule = _merged_rule(self.rule, incoming.rule)
        self.params += incoming.params
        self.state += incoming.state
        super().update(incoming)

    def __ior__(self, other: Any) -> "Updates":  # type: ignore[override]
        self.update(other)
        return self

    def __or__(self, other: Any) -> "Updates":  # type: ignore[override]
        return merge(self, other)

    def __ror__(self, other: Any) -> "Updates":  # type: ignore[override]
        return merge(other, self)

    def __reduce__(self) -> tuple[Any, ...]:
        attributes = {
            "params": self.params,
            "state": self.state,
            "rule": self.rule,
            "monitors": self.monitors,
            "hyperparams": self.hyperparams,
        }
        return (type(self), (list(self.items()),), attributes)


def free_name(name: str, taken: Collection[str]) -> str:
    """``name``, or the first of ``name#2``, ``name#3``, ... not in ``taken``: how state, monitor and
    hyper-parameter names stay unique within a chain and across merged rules."""
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}#{n}"
    return candidate


def merge(*updates: Mapping[Variable, Variable]) -> Updates:
    """One updates dict from the updates of several rules, e.g. one rule per layer with its own learning rate.

    ``merge(a, b)`` equals ``a | b`` and a copy of ``a`` after ``a.update(b)``: its entries are ``a``'s then
    ``b``'s, its ``params`` and ``state`` are ``a``'s then ``b``'s, and ``save_state`` writes all of them.

    Parameters
    ----------
    *updates : Updates or dict
        What rules returned. A plain dict ``{var: expr}`` (say, batch-norm running averages) is merged too,
        as a *foreign* entry: the compiled step updates it, but ``save_state`` and ``load_state`` refuse
        updates holding a variable that is neither a param nor a rule's state, rather than silently leave it
        out of the checkpoint.

    Returns
    -------
    Updates
        ``rule`` is ``{"name": "merge", "config": {"rules": [...]}}`` listing each rule's description in
        order (a single rule's description when only one part has one), so a checkpoint of merged rules only
        loads into the same rules merged in the same order.

    Raises
    ------
    ValueError
        A variable (a param or a state variable) that two of the parts update, named in the message:
        merging would silently keep only one of its updates. Nothing is modified.

    Notes
    -----
    Checkpoint names stay unique: a part's state variable whose name an earlier part already uses is
    renamed, ``adam.t`` to ``adam.t#2`` (as two transforms of one ``chain`` are), so the same script, rebuilt,
    merges to the same names. Params are never renamed (``save_state`` numbers params that share a name:
    ``W[0]``, ``W[1]``). A monitor name an earlier part uses gets the same suffix: the second rule's learning
    rate is ``monitors["learning_rate#2"]``; so does a key of ``hyperparams`` (``inject_hyperparams``).

    Lasagne's advice for per-layer learning rates was to merge the dicts of one rule per layer (its issues
    #482 and #648); an ``OrderedDict.update`` of symupdates' results would lose the second rule's params and
    state from checkpoints, and would replace a variable's update silently. ``multi_transform`` does the same
    within one rule.

    References
    ----------
    Lasagne issues #482 and #648 (per-layer learning rates by merging one rule's dict per layer).

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates as su
    >>> W1 = pytensor.shared(np.ones(2), name="W1")
    >>> W2 = pytensor.shared(np.ones(2), name="W2")
    >>> loss = (W1 ** 2).sum() + (W2 ** 2).sum()
    >>> updates = su.merge(su.adam(loss, [W1], learning_rate=0.1), su.adam(loss, [W2], learning_rate=0.01))
    >>> [var.name for var in updates.state]
    ['adam.t', 'W1.adam.m', 'W1.adam.v', 'adam.t#2', 'W2.adam.m', 'W2.adam.v']
    >>> try:
    ...     updates.update(su.sgd(loss, [W2], learning_rate=0.1))
    ... except ValueError as error:
    ...     print(error)
    cannot merge: 'W2' (a param) is already updated by these updates; a variable can have one update only
    """
    merged = Updates()
    for part in updates:
        merged.update(part)
    return merged


def _check_mergeable(updates: Updates, incoming: Updates) -> None:
    for var in incoming:
        if not isinstance(var, SharedVariable):
            raise TypeError(f"cannot merge: the key {var!r} is a {type(var).__name__}, not a shared variable")
    ours = {*updates, *updates.params, *updates.state}
    for var in [*incoming.params, *incoming.state, *incoming]:
        if var in ours:
            role = "a param" if var in incoming.params else "state" if var in incoming.state else "an entry"
            raise ValueError(
                f"cannot merge: {var.name or str(var)!r} ({role}) is already updated by these updates; a "
                "variable can have one update only"
            )


def _unique_state_names(
    state: list[TensorSharedVariable], incoming: list[TensorSharedVariable]
) -> dict[TensorSharedVariable, str]:
    """``{var: new name}`` for the ``incoming`` state variables whose name ``state`` already uses."""
    # State variables are named by the builder that made them.
    used = {cast(str, var.name) for var in state}
    taken = used | {cast(str, var.name) for var in incoming}
    renamed = {}
    for var in incoming:
        if var.name in used:
            renamed[var] = free_name(var.name, taken)
            taken.add(renamed[var])
    return renamed


def _merged_rule(rule: dict[str, Any] | None, other: dict[str, Any] | None) -> dict[str, Any] | None:
    rules = [r for part in (rule, other) if part is not None for r in _rule_list(part)]
    if len(rules) < 2:
        return rules[0] if rules else None
    return {"name": "merge", "config": {"rules": rules}}


def _rule_list(rule: dict[str, Any]) -> list[dict[str, Any]]:
    if isinstance(rule, dict) and rule.get("name") == "merge":
        return list(rule["config"]["rules"])
    return [rule]


def describe(value: Any) -> Any:
    """JSON-able description of a rule's configuration: a ``Transform`` (anything with ``name`` and
    ``config``) becomes ``{"name", "config"}``, numbers stay numbers, a symbolic hyper-parameter becomes
    ``{"symbolic": its name or type}`` (its value may change between steps), anything else its ``repr``.

    Examples
    --------
    >>> import pytensor, symupdates
    >>> describe(symupdates.adagrad(learning_rate=pytensor.shared(0.1, name="lr")))
    {'name': 'adagrad', 'config': {'learning_rate': {'symbolic': 'lr'}, 'epsilon': 1e-06}}
    """
    if hasattr(value, "name") and isinstance(getattr(value, "config", None), dict):
        return {"name": value.name, "config": describe(value.config)}
    if isinstance(value, dict):
        return {str(k): describe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [describe(v) for v in value]
    if isinstance(value, np.generic | np.ndarray) and np.ndim(value) == 0:
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, pytensor.graph.basic.Variable):
        return {"symbolic": value.name or str(value.type)}
    return repr(value)
