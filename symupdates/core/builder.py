"""The builder that transforms write into while a rule is built.

``UpdateBuilder`` creates named state next to the rule that owns it, records each state update together
with the param it belongs to, and finally lays the updates out in Lasagne's key order (each param's state
before the param, shared counters last) as an ``Updates`` dict. ``subset`` views it through some of its
params (per-group rules) and ``_FlatBuilder`` through params of one dtype joined into one vector
(``flatten``).

The API a transform uses: ``params`` and ``keys`` (names for state), ``slot`` (per-param state), ``scalar``,
``array``, ``counter``, ``set`` (next value of a state variable), ``monitor``, ``hyperparam``,
``schedule_value``, ``map_params``, ``mark``/``gate`` (skipped steps), ``subset``.
"""

from collections import Counter

import numpy as np
import pytensor
import pytensor.tensor as pt

from .updates import Updates, free_name

__all__ = ["UpdateBuilder", "as_update", "param_keys"]


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


class UpdateBuilder:
    """Collects the state and state updates of one rule while its transforms are built."""

    def __init__(self, params, taken_names=()):
        self.params = list(params)
        self.keys = param_keys(self.params)
        self.loss = None  # the scalar loss the rule is applied to, when it was given one (see apply)
        self.state = []
        self.monitors = {}
        self.hyperparams = {}
        self._names = set(taken_names)
        self._owner = {}
        self._entries = []
        self._param_hooks = []
        self._gates = []
        self._schedule_values = {}
        self._schedule_count = None

    def _unique(self, name):
        name = free_name(name, self._names)
        self._names.add(name)
        return name

    def _share(self, value, name, shape, owner):
        var = pytensor.shared(np.array(value), name=self._unique(name), shape=shape)
        # What reset_state restores; a slot's is a broadcast view of one number and costs no memory.
        var.tag.initial_value = value
        self.state.append(var)
        self._owner[var] = owner
        return var

    def slot(self, index, tag, slot, *, value=0.0, extra_shape=(), reduced_axis=None, at_end=False):
        """A state variable for ``params[index]``: its shape (plus ``extra_shape``; with size 1 along
        ``reduced_axis`` if given, for a row or column statistic) and dtype, filled with ``value``,
        named ``"<param>.<tag>.<slot>"``. It is laid out with its param, or with ``at_end=True`` after
        all params, in registration order (Lasagne's momentum velocities)."""
        param = self.params[index]
        shape = list(param.get_value(borrow=True).shape) + list(extra_shape)
        static_shape = list(param.type.shape) + list(extra_shape)
        if reduced_axis is not None:
            shape[reduced_axis] = static_shape[reduced_axis] = 1
        initial = np.broadcast_to(np.asarray(value, dtype=param.dtype), tuple(shape))
        owner = None if at_end else index
        return self._share(initial, f"{self.keys[index]}.{tag}.{slot}", tuple(static_shape), owner)

    def scalar(self, name, value, dtype, *, owner=None):
        """A scalar state variable named ``name``; with ``owner=i`` it is laid out with ``params[i]``."""
        return self._share(np.asarray(value, dtype=dtype), name, (), owner)

    def array(self, name, value, *, owner=None):
        """A state variable of any shape named ``name``, starting at ``value`` (an array whose dtype and
        shape it keeps); with ``owner=i`` it is laid out with ``params[i]`` (state not shaped like a param:
        ``lbfgs``'s history of the flattened params)."""
        value = np.asarray(value)
        return self._share(value, name, value.shape, owner)

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
        self.monitors[free_name(name, self.monitors)] = expr

    def hyperparam(self, name, var):
        """List the shared hyper-parameter ``var`` in ``Updates.hyperparams`` under ``name`` (``name#2`` if
        taken by another variable)."""
        if not any(v is var for v in self.hyperparams.values()):
            self.hyperparams[free_name(name, self.hyperparams)] = var

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

    def gate(self, condition, start, *, counters=()):
        """Skip the step unless ``condition``: in ``finish``, every param and every state update
        registered from ``start`` on (hooks' updates included) keeps its value when it is false, except
        the state variables in ``counters`` (the guard's own skip counters, which must count the skip)."""
        self._gates.append((condition, start, tuple(counters)))

    def subset(self, indices):
        """A builder for ``params[indices]`` only, writing into this one (for per-group transforms)."""
        return _SubsetBuilder(self, indices)

    def finish(self, param_values):
        """Lay out ``{param: param_values[i]}`` and the registered state updates in Lasagne's order."""
        param_values = list(param_values)
        for hook in self._param_hooks:
            param_values = hook(param_values)
        for condition, start, counters in self._gates:
            self._entries[start:] = [
                (
                    var,
                    expr
                    if any(var is c for c in counters)
                    else as_update(var, pt.switch(condition, expr, var)),
                    owner,
                    after,
                )
                for var, expr, owner, after in self._entries[start:]
            ]
            param_values = [pt.switch(condition, v, p) for v, p in zip(param_values, self.params)]
        updates = Updates(
            params=self.params, state=self.state, monitors=self.monitors, hyperparams=self.hyperparams
        )
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

    def gate(self, condition, start, *, counters=()):
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
