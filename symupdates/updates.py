"""The unit every rule returns: an ordered dict of updates that knows its params and the state it created.

``UpdateBuilder`` is what transforms write into while a rule is built: it creates named state next to the
rule that owns it, records each state update together with the param it belongs to, and finally lays the
updates out in Lasagne's key order (each param's state before the param, shared counters last).
"""

from collections import Counter, OrderedDict

import numpy as np
import pytensor
import pytensor.tensor as pt

__all__ = ["Updates", "UpdateBuilder", "as_update", "param_keys"]


class Updates(OrderedDict):
    """``OrderedDict`` mapping each shared variable to its next value, as ``pytensor.function`` expects.

    Attributes
    ----------
    params : list of SharedVariable
        The parameters being optimized, in the order they were given.
    state : list of SharedVariable
        The optimizer state the rule created (accumulators, moments, step counters), in creation order,
        each with a deterministic name such as ``"W.adam.m"``.
    """

    def __init__(self, *args, params=(), state=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.params = list(params)
        self.state = list(state)

    def copy(self):
        return Updates(self, params=self.params, state=self.state)

    def __reduce__(self):
        return (type(self), (list(self.items()),), {"params": self.params, "state": self.state})


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

    def __init__(self, params, grads, taken_names=()):
        self.params = list(params)
        self.grads = list(grads)
        self.keys = param_keys(self.params)
        self.state = []
        self._names = set(taken_names)
        self._owner = {}
        self._entries = []

    def _unique(self, name):
        candidate, n = name, 1
        while candidate in self._names:
            n += 1
            candidate = f"{name}#{n}"
        self._names.add(candidate)
        return candidate

    def _share(self, value, name, shape, owner):
        var = pytensor.shared(value, name=self._unique(name), shape=shape)
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
        shape, static_shape = tuple(shape), tuple(static_shape)
        return self._share(
            np.full(shape, value, dtype=param.dtype), f"{self.keys[index]}.{tag}.{slot}", static_shape, index
        )

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

    def entries(self):
        """The registered ``(var, expr)`` pairs, for transforms that wrap others (guards, accumulation)."""
        return [(var, expr) for var, expr, _, _ in self._entries]

    def replace(self, new_exprs):
        """Replace registered update expressions: ``new_exprs`` maps a state variable to its new value."""
        self._entries = [
            (var, as_update(var, new_exprs[var]) if var in new_exprs else expr, owner, after)
            for var, expr, owner, after in self._entries
        ]

    def finish(self, param_values):
        """Lay out ``{param: param_values[i]}`` and the registered state updates in Lasagne's order."""
        updates = Updates(params=self.params, state=self.state)
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
