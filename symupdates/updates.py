"""The unit every rule returns: an ordered dict of updates that knows its params, the state it created and the
rule that built it.

``UpdateBuilder`` is what transforms write into while a rule is built: it creates named state next to the
rule that owns it, records each state update together with the param it belongs to, and finally lays the
updates out in Lasagne's key order (each param's state before the param, shared counters last).
"""

import contextlib
import contextvars
from collections import Counter, OrderedDict

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.compile.sharedvalue import SharedVariable

__all__ = ["Updates", "UpdateBuilder", "active_builder", "as_update", "describe", "merge", "param_keys"]


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
        the number of skipped steps (``"skipped_steps"``).

    Notes
    -----
    ``update``, ``|`` and ``|=`` merge the updates of another rule into these, refusing a variable both
    update (see ``merge``); item assignment replaces one entry.
    """

    def __init__(self, *args, params=(), state=(), rule=None, monitors=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.params = list(params)
        self.state = list(state)
        self.rule = rule
        self.monitors = dict(monitors or {})

    def copy(self):
        return Updates(self, params=self.params, state=self.state, rule=self.rule, monitors=self.monitors)

    def update(self, other=(), /, **kwargs):
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
            self.monitors[_free_name(name, self.monitors)] = expr
        self.rule = _merged_rule(self.rule, incoming.rule)
        self.params += incoming.params
        self.state += incoming.state
        super().update(incoming)

    def __ior__(self, other):
        self.update(other)
        return self

    def __or__(self, other):
        return merge(self, other)

    def __ror__(self, other):
        return merge(other, self)

    def __reduce__(self):
        attributes = {"params": self.params, "state": self.state, "rule": self.rule, "monitors": self.monitors}
        return (type(self), (list(self.items()),), attributes)


def merge(*updates):
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
    rate is ``monitors["learning_rate#2"]``.

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


def _check_mergeable(updates, incoming):
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


def _unique_state_names(state, incoming):
    """``{var: new name}`` for the ``incoming`` state variables whose name ``state`` already uses."""
    used = {var.name for var in state}
    taken = used | {var.name for var in incoming}
    renamed = {}
    for var in incoming:
        if var.name in used:
            renamed[var] = _free_name(var.name, taken)
            taken.add(renamed[var])
    return renamed


def _merged_rule(rule, other):
    rules = [r for part in (rule, other) if part is not None for r in _rule_list(part)]
    if len(rules) < 2:
        return rules[0] if rules else None
    return {"name": "merge", "config": {"rules": rules}}


def _rule_list(rule):
    if isinstance(rule, dict) and rule.get("name") == "merge":
        return list(rule["config"]["rules"])
    return [rule]


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


def param_keys(params):
    """Names that identify each param in state names: its own name when unique, else ``name[i]``.

    Unnamed params and params sharing a name (Lasagne names every dense layer's weights ``W``) are told
    apart by their position: ``param[0]``, ``W[2]``.
    """
    counts = Counter(p.name for p in params)
    return [
        p.name if p.name and counts[p.name] == 1 else f"{p.name or 'param'}[{i}]"
        for i, p in enumerate(params)
    ]


def as_update(var, expr):
    """``expr`` with exactly ``var``'s type, so ``pytensor.function`` never rejects the update."""
    expr = pt.as_tensor_variable(expr)
    if expr.dtype != var.dtype:
        expr = pt.cast(expr, var.dtype)
    if expr.type.broadcastable != var.type.broadcastable and expr.ndim == var.ndim:
        expr = pt.specify_broadcastable(expr, *[i for i, b in enumerate(var.type.broadcastable) if b])
    return var.type.filter_variable(expr, allow_convert=True)


def _free_name(name, taken):
    """``name``, or the first of ``name#2``, ``name#3``, ... not in ``taken``."""
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}#{n}"
    return candidate


_ACTIVE_BUILDER = contextvars.ContextVar("symupdates_active_builder", default=None)


def active_builder():
    """The ``UpdateBuilder`` whose rule is being built, or None outside ``apply``."""
    return _ACTIVE_BUILDER.get()


class UpdateBuilder:
    """Collects the state and state updates of one rule while its transforms are built."""

    def __init__(self, params, taken_names=()):
        self.params = list(params)
        self.keys = param_keys(self.params)
        self.state = []
        self.monitors = {}
        self._names = set(taken_names)
        self._owner = {}
        self._entries = []
        self._param_hooks = []
        self._gates = []
        self._schedule_values = {}
        self._schedule_count = None

    @contextlib.contextmanager
    def active(self):
        """Make this the builder that ``typed`` resolves schedules with, while the rule is built."""
        token = _ACTIVE_BUILDER.set(self)
        try:
            yield self
        finally:
            _ACTIVE_BUILDER.reset(token)

    def _unique(self, name):
        name = _free_name(name, self._names)
        self._names.add(name)
        return name

    def _share(self, value, name, shape, owner):
        var = pytensor.shared(np.array(value), name=self._unique(name), shape=shape)
        # What reset_state restores; a slot's is a broadcast view of one number and costs no memory.
        var.tag.initial_value = value
        self.state.append(var)
        self._owner[var] = owner
        return var

    def slot(self, index, tag, slot, *, value=0.0, extra_shape=(), reduced_axis=None):
        """A state variable for ``params[index]``: its shape (plus ``extra_shape``; with size 1 along
        ``reduced_axis`` if given, for a row or column statistic) and dtype, filled with ``value``,
        named ``"<param>.<tag>.<slot>"``."""
        param = self.params[index]
        shape = list(param.get_value(borrow=True).shape) + list(extra_shape)
        static_shape = list(param.type.shape) + list(extra_shape)
        if reduced_axis is not None:
            shape[reduced_axis] = static_shape[reduced_axis] = 1
        initial = np.broadcast_to(np.asarray(value, dtype=param.dtype), tuple(shape))
        return self._share(initial, f"{self.keys[index]}.{tag}.{slot}", tuple(static_shape), index)

    def scalar(self, name, value, dtype, *, owner=None):
        """A scalar state variable named ``name``; with ``owner=i`` it is laid out with ``params[i]``."""
        return self._share(np.asarray(value, dtype=dtype), name, (), owner)

    def counter(self, tag):
        """An int64 step counter ``"<tag>.t"`` starting at 0; returns ``(counter, counter + 1)`` and
        registers the increment, which Lasagne puts last in the dict."""
        count = self.scalar(f"{tag}.t", 0, "int64")
        incremented = count + 1
        self.set(count, incremented)
        return count, incremented

    def set(self, var, expr, *, after_param=False):
        """Register ``var``'s next value. State of a param goes just before that param in the dict
        (``after_param=True``: just after it); other state goes at the end, in registration order."""
        self._entries.append((var, as_update(var, expr), self._owner.get(var), after_param))

    def monitor(self, name, expr):
        """Expose ``expr`` in ``Updates.monitors`` under ``name`` (``name#2`` if taken)."""
        self.monitors[_free_name(name, self.monitors)] = expr

    def schedule_value(self, schedule):
        """The float64 value of ``schedule`` for this step, built once per rule. Time-based schedules
        share one int64 counter ``"schedule.t"`` (0 at the first step) that the updates increment."""
        if schedule not in self._schedule_values:
            self._schedule_values[schedule] = schedule.build(self)
        return self._schedule_values[schedule]

    def schedule_count(self):
        if self._schedule_count is None:
            self._schedule_count, _ = self.counter("schedule")
        return self._schedule_count

    def mark(self):
        """A position in the registered state updates, for ``gate``."""
        return len(self._entries)

    def map_params(self, hook):
        """Register ``hook(values) -> values``, applied in ``finish`` to the next value of every param
        (in registration order, before the gates); hooks may register state updates."""
        self._param_hooks.append(hook)

    def gate(self, condition, start):
        """Skip the step unless ``condition``: in ``finish``, every param and every state update
        registered from ``start`` on (hooks' updates included) keeps its value when it is false."""
        self._gates.append((condition, start))

    def subset(self, indices):
        """A builder for ``params[indices]`` only, writing into this one (for per-group transforms)."""
        return _SubsetBuilder(self, indices)

    def finish(self, param_values):
        """Lay out ``{param: param_values[i]}`` and the registered state updates in Lasagne's order."""
        param_values = list(param_values)
        for hook in self._param_hooks:
            param_values = hook(param_values)
        for condition, start in self._gates:
            self._entries[start:] = [
                (var, as_update(var, pt.switch(condition, expr, var)), owner, after)
                for var, expr, owner, after in self._entries[start:]
            ]
            param_values = [pt.switch(condition, v, p) for v, p in zip(param_values, self.params)]
        updates = Updates(params=self.params, state=self.state, monitors=self.monitors)
        for index, (param, value) in enumerate(zip(self.params, param_values)):
            for var, expr, owner, after in self._entries:
                if owner == index and not after:
                    updates[var] = expr
            updates[param] = as_update(param, value)
            for var, expr, owner, after in self._entries:
                if owner == index and after:
                    updates[var] = expr
        for var, expr, owner, _ in self._entries:
            if owner is None:
                updates[var] = expr
        return updates


class _SubsetBuilder:
    """``UpdateBuilder`` seen through a subset of its params: indices are local to the subset."""

    def __init__(self, parent, indices):
        self._parent = parent
        self._indices = list(indices)
        self.params = [parent.params[i] for i in self._indices]
        self.keys = [parent.keys[i] for i in self._indices]

    def __getattr__(self, name):
        return getattr(self._parent, name)

    def slot(self, index, tag, slot, **kwargs):
        return self._parent.slot(self._indices[index], tag, slot, **kwargs)

    def _share(self, value, name, shape, owner):
        return self._parent._share(value, name, shape, None if owner is None else self._indices[owner])

    scalar = UpdateBuilder.scalar

    def subset(self, indices):
        return _SubsetBuilder(self._parent, [self._indices[i] for i in indices])

    def map_params(self, hook):
        def on_subset(values):
            values = list(values)
            for i, v in zip(self._indices, hook([values[i] for i in self._indices])):
                values[i] = v
            return values

        self._parent.map_params(on_subset)


class _FlatParam(pt.TensorVariable):
    """Params of one dtype as one vector: symbolically the concatenation of their ravelled values, and, like
    a shared variable, with ``get_value``/``set_value`` over the concatenated values (so a transform that
    starts its state at the params' values, ``swap_parameters`` and ``copy_parameters`` work on it)."""

    def get_value(self, borrow=False):
        return np.concatenate([p.get_value(borrow=True).ravel() for p in self.tag.flat_parts])

    def set_value(self, value, borrow=False):
        parts = self.tag.flat_parts
        sizes = [p.get_value(borrow=True).size for p in parts]
        value = np.asarray(value)
        if value.shape != (sum(sizes),):
            raise ValueError(f"{self.name} holds {sum(sizes)} values, got an array of shape {value.shape}")
        for p, piece in zip(parts, np.split(value, np.cumsum(sizes)[:-1])):
            p.set_value(piece.reshape(p.get_value(borrow=True).shape).astype(p.dtype))


class _FlatBuilder:
    """``UpdateBuilder`` seen through params of one dtype joined into one flat vector (for ``flatten``).

    Its one param is named ``"flat.<dtype>"`` (a ``_FlatParam``); a slot is one vector of the group's total
    size, laid out with the group's first param; ``map_params`` hooks see the group's next values as one
    vector; gates (skipped steps) are refused. ``rule`` names the flattened transform in errors;
    ``counters``, a dict shared by the groups of one ``flatten``, holds their step counters.
    """

    def __init__(self, parent, indices, rule, counters):
        self._parent = parent
        self._indices = list(indices)
        self._rule = rule
        self._counters = counters
        group = [parent.params[i] for i in self._indices]
        self.keys = [f"flat.{group[0].dtype}"]
        joined = self.join(group)
        if joined.owner is None:  # a single vector is its own flat vector
            self.params = [joined]
            return
        flat = _FlatParam(joined.type, None, None, name=self.keys[0])
        pytensor.graph.basic.Apply(joined.owner.op, joined.owner.inputs, [flat])
        flat.tag.flat_parts = group
        self.params = [flat]

    def __getattr__(self, name):
        return getattr(self._parent, name)

    def join(self, values):
        """One value per param of the group (in order) as one flat vector."""
        return pt.concatenate([pt.as_tensor_variable(v).ravel() for v in values])

    def split(self, flat):
        """``flat`` cut back into one expression per param of the group, each of its param's shape."""
        out, offset = [], 0
        for i in self._indices:
            param = self._parent.params[i]
            size = param.get_value(borrow=True).size
            # Reshaped to the param's symbolic shape, the piece has the param's type, so that ``p + piece``
            # compiles to an Add working in place on the param.
            out.append(flat[offset : offset + size].reshape(param.shape, ndim=param.ndim))
            offset += size
        return out

    def _share(self, value, name, shape, owner):
        return self._parent._share(value, name, shape, None if owner is None else self._indices[0])

    def slot(self, index, tag, slot, *, reduced_axis=None, **kwargs):
        if reduced_axis is not None:
            raise ValueError(
                f"flatten cannot run {self._rule}: its state {tag}.{slot} is a row or column statistic "
                f"(reduced_axis={reduced_axis}), which {self.keys[0]}, one flat vector, does not have"
            )
        return UpdateBuilder.slot(self, index, tag, slot, **kwargs)

    scalar = UpdateBuilder.scalar

    def counter(self, tag):
        # Nothing inside flatten can skip a step (see gate), so every counter of a tag counts the same steps:
        # the dtypes share one.
        if tag not in self._counters:
            self._counters[tag] = self._parent.counter(tag)
        return self._counters[tag]

    def gate(self, condition, start):
        # A gate skips everything registered from ``start`` on: the state of the dtypes flattened after this
        # one too, but not that of the dtypes before it, which would move while their params stay.
        raise ValueError(
            f"flatten cannot run {self._rule}: it skips steps or holds a rule that does (apply_if_finite, "
            f"accumulate_gradients); such a rule must wrap the whole rule: apply_if_finite(flatten(...))"
        )

    def subset(self, indices):
        return _SubsetBuilder(self, indices)

    def map_params(self, hook):
        def on_flat(values):
            values = list(values)
            joined = self.join([values[i] for i in self._indices])
            (flat,) = hook([joined])
            if flat is not joined:  # slices of a new vector: each param's next value is then copied out
                for i, v in zip(self._indices, self.split(flat)):
                    values[i] = v
            return values

        self._parent.map_params(on_flat)
