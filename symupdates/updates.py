"""The unit every rule returns: an ordered dict of updates that knows its params, the state it created and the
rule that built it (the builder that lays it out is in ``symupdates.builder``).
"""

from collections import OrderedDict

import numpy as np
import pytensor

__all__ = ["Updates", "describe"]


class Updates(OrderedDict):
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
        the number of skipped steps (``"skipped_steps"``).    hyperparams : dict of str to SharedVariable
        The hyper-parameters made shared by ``inject_hyperparams``, by argument name (``"learning_rate"``;
        ``"learning_rate#2"`` for a second one in a chain): ``set_value`` changes the next step without
        recompiling, and checkpoints save them. Empty for a rule built from numbers.
    """

    def __init__(self, *args, params=(), state=(), rule=None, monitors=None, hyperparams=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.params = list(params)
        self.state = list(state)
        self.rule = rule
        self.monitors = dict(monitors or {})
        self.hyperparams = dict(hyperparams or {})

    def copy(self):
        return Updates(self, params=self.params, state=self.state, rule=self.rule, monitors=self.monitors,
                       hyperparams=self.hyperparams)

    def __reduce__(self):
        attributes = {"params": self.params, "state": self.state, "rule": self.rule,
                      "monitors": self.monitors, "hyperparams": self.hyperparams}
        return (type(self), (list(self.items()),), attributes)


def describe(value):
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
