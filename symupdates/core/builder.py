"""The builder that transforms write into while a rule is built, and the protocol every builder follows.

A transform's ``build(steps, builder)`` creates its state and registers the state's next values through a
``Builder``. ``UpdateBuilder`` is the real one: it creates named state next to the rule that owns it,
records each state update together with the param it belongs to, and finally lays the updates out in
Lasagne's key order (each param's state before the param, shared counters last) as an ``Updates`` dict.
The other builders are views of another builder, each implementing the whole protocol explicitly:
``SubsetBuilder`` (some of the params, for per-group rules), ``FlatBuilder`` (the params of one dtype
joined into one vector, for ``flatten``) and sparse's row builder (the looked-up rows of embedding tables,
``symupdates.wrappers.sparse``).
"""

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, Protocol, cast

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.tensor.sharedvar import TensorSharedVariable
from pytensor.tensor.variable import TensorVariable

from .hyperparams import Schedule
from .updates import Updates, free_name

__all__ = ["Builder", "UpdateBuilder", "SubsetBuilder", "FlatBuilder", "as_update", "param_keys"]

#: ``hook(values) -> values``: the next value of every param, rewritten (see ``Builder.map_params``).
ParamHook = Callable[[list[Any]], list[Any]]


class Builder(Protocol):
    """What a transform's ``build(steps, builder)`` may use. Every builder implements all of it.

    Attributes
    ----------
    params : list of TensorVariable
        The params the transform is applied to (shared variables, or views of them), one per step.
    keys : list of str
        One name per param, the first part of its state's names (``"W"``, ``"W[2]"``, ``"flat.float32"``).
    loss : TensorVariable or None
        The scalar loss the rule was applied to, None when it was given gradients; only a transform
        declared with ``needs_loss`` reads it (``apply`` refuses gradients for such a rule).
    """

    params: list[Any]
    keys: list[str]

    @property
    def loss(self) -> Any:
        """The scalar loss, or None when the rule was applied to gradients."""
        ...

    def new_state(self, name: str, initial: np.ndarray, shape: tuple[Any, ...], owner: int | None) -> Any:
        """A shared variable ``name`` holding ``initial`` (static ``shape``), laid out with ``params[owner]``
        (or after all params for None). The primitive ``slot`` and ``scalar`` are built on."""
        ...

    def slot(
        self,
        index: int,
        tag: str,
        slot: str,
        *,
        value: float = 0.0,
        extra_shape: tuple[int, ...] = (),
        reduced_axis: int | None = None,
        at_end: bool = False,
    ) -> Any:
        """A state variable of ``params[index]``'s shape and dtype, named ``"<key>.<tag>.<slot>"``."""
        ...

    def scalar(self, name: str, value: Any, dtype: str, *, owner: int | None = None) -> Any:
        """A scalar state variable ``name``, laid out with ``params[owner]`` (or after all params)."""
        ...

    def array(self, name: str, value: Any, *, owner: int | None = None) -> Any:
        """A state variable named ``name`` of ``value``'s shape and dtype (state not shaped like a param)."""
        ...

    def counter(self, tag: str) -> tuple[Any, Any]:
        """An int64 step counter ``"<tag>.t"``: ``(count, count + 1)``, its increment registered."""
        ...

    def set(self, var: Any, expr: Any, *, after_param: bool = False) -> None:
        """Register ``var``'s next value."""
        ...

    def monitor(self, name: str, expr: Any) -> None:
        """Expose ``expr`` in ``Updates.monitors``."""
        ...

    def hyperparam(self, name: str, var: Any) -> None:
        """List the shared hyper-parameter ``var`` in ``Updates.hyperparams``."""
        ...

    def resolve(self, value: Any) -> Any:
        """A hyper-parameter's value at this step: a ``Schedule``'s value (built once per rule), or the
        number or symbolic scalar itself."""
        ...

    def schedule_count(self) -> Any:
        """The shared int64 counter ``"schedule.t"`` of time-based schedules (0 at the first step)."""
        ...

    def mark(self) -> int:
        """A position in the registered state updates, for ``gate``."""
        ...

    def gate(self, condition: Any, start: int, *, counters: Sequence[Any] = ()) -> None:
        """Skip the step (params and the state updates registered from ``start`` on, except those of the
        guard's own ``counters``) unless ``condition``."""
        ...

    def map_params(self, hook: ParamHook) -> None:
        """Rewrite the params' next values with ``hook`` when the updates are laid out."""
        ...

    def subset(self, indices: Sequence[int]) -> "Builder":
        """A builder for ``params[indices]`` only, writing into this one."""
        ...


def param_keys(params: Sequence[Any]) -> list[str]:
    """Names that identify each param in state names: its own name when unique, else ``name[i]``.

    Unnamed params and params sharing a name (Lasagne names every dense layer's weights ``W``) are told
    apart by their position: ``param[0]``, ``W[2]``.
    """
    counts = Counter(p.name for p in params)
    return [
        p.name if p.name and counts[p.name] == 1 else f"{p.name or 'param'}[{i}]"
        for i, p in enumerate(params)
    ]


def as_update(var: Any, expr: Any) -> TensorVariable:
    """``expr`` with exactly ``var``'s type, so ``pytensor.function`` never rejects the update."""
    expr = pt.as_tensor_variable(expr)
    if expr.dtype != var.dtype:
        expr = pt.cast(expr, var.dtype)
    if expr.type.broadcastable != var.type.broadcastable and expr.ndim == var.ndim:
        expr = pt.specify_broadcastable(expr, *[i for i, b in enumerate(var.type.broadcastable) if b])
    return var.type.filter_variable(expr, allow_convert=True)


def slot_initial(
    param: Any, value: float, extra_shape: tuple[int, ...], reduced_axis: int | None
) -> tuple[np.ndarray, tuple[int | None, ...]]:
    """``(initial value, static shape)`` of a slot of ``param``: its shape plus ``extra_shape``, with size 1
    along ``reduced_axis`` if given (a row or column statistic), filled with ``value`` (a broadcast view of
    one number, which costs no memory)."""
    shape = list(param.get_value(borrow=True).shape) + list(extra_shape)
    static_shape = list(param.type.shape) + list(extra_shape)
    if reduced_axis is not None:
        shape[reduced_axis] = static_shape[reduced_axis] = 1
    initial = np.broadcast_to(np.asarray(value, dtype=param.dtype), tuple(shape))
    return initial, tuple(static_shape)


class UpdateBuilder:
    """Collects the state and state updates of one rule while its transforms are built.

    Parameters
    ----------
    params : sequence of SharedVariable
        The params the rule updates.
    taken_names : iterable of str
        State names already in use (new state gets other names).
    loss : TensorVariable, optional
        The scalar loss the rule is applied to, when it was given one.
    """

    def __init__(self, params: Sequence[Any], taken_names: Sequence[str] = (), loss: Any = None) -> None:
        self.params = list(params)
        self.keys = param_keys(self.params)
        self._loss = loss
        self.state: list[TensorSharedVariable] = []
        self.monitors: dict[str, Any] = {}
        self.hyperparams: dict[str, Any] = {}
        self._names = set(taken_names)
        self._owner: dict[Any, int | None] = {}
        self._entries: list[tuple[Any, Any, int | None, bool]] = []
        self._param_hooks: list[ParamHook] = []
        self._gates: list[tuple[Any, int, tuple[Any, ...]]] = []
        self._schedule_values: dict[Schedule, Any] = {}
        self._schedule_count: Any = None

    @property
    def loss(self) -> Any:
        return self._loss

    def new_state(self, name: str, initial: np.ndarray, shape: tuple[Any, ...], owner: int | None) -> Any:
        """A shared variable named ``name`` (made unique), holding ``initial``, laid out with
        ``params[owner]`` (None: after all params). Its ``tag.initial_value`` is what ``reset_state``
        restores."""
        unique = free_name(name, self._names)
        var = cast(TensorSharedVariable, pytensor.shared(np.array(initial), name=unique, shape=shape))
        self._names.add(unique)
        var.tag.initial_value = initial
        self.state.append(var)
        self._owner[var] = owner
        return var

    def slot(
        self,
        index: int,
        tag: str,
        slot: str,
        *,
        value: float = 0.0,
        extra_shape: tuple[int, ...] = (),
        reduced_axis: int | None = None,
        at_end: bool = False,
    ) -> Any:
        """A state variable for ``params[index]``: its shape (plus ``extra_shape``; with size 1 along
        ``reduced_axis`` if given, for a row or column statistic) and dtype, filled with ``value``,
        named ``"<param>.<tag>.<slot>"``. It is laid out with its param, or with ``at_end=True`` after
        all params, in registration order (Lasagne's momentum velocities)."""
        initial, shape = slot_initial(self.params[index], value, extra_shape, reduced_axis)
        return self.new_state(f"{self.keys[index]}.{tag}.{slot}", initial, shape, None if at_end else index)

    def scalar(self, name: str, value: Any, dtype: str, *, owner: int | None = None) -> Any:
        """A scalar state variable named ``name``; with ``owner=i`` it is laid out with ``params[i]``."""
        return self.new_state(name, np.asarray(value, dtype=dtype), (), owner)

    def array(self, name: str, value: Any, *, owner: int | None = None) -> Any:
        """A state variable of any shape named ``name``, starting at ``value`` (an array whose dtype and
        shape it keeps); with ``owner=i`` it is laid out with ``params[i]`` (state not shaped like a param:
        ``lbfgs``'s history of the flattened params)."""
        value = np.asarray(value)
        return self.new_state(name, value, value.shape, owner)

    def counter(self, tag: str) -> tuple[Any, Any]:
        """An int64 step counter ``"<tag>.t"`` starting at 0; returns ``(counter, counter + 1)`` and
        registers the increment, which Lasagne puts last in the dict."""
        count = self.scalar(f"{tag}.t", 0, "int64")
        incremented = count + 1
        self.set(count, incremented)
        return count, incremented

    def set(self, var: Any, expr: Any, *, after_param: bool = False) -> None:
        """Register ``var``'s next value. State of a param goes just before that param in the dict
        (``after_param=True``: just after it); other state goes at the end, in registration order."""
        self._entries.append((var, as_update(var, expr), self._owner.get(var), after_param))

    def monitor(self, name: str, expr: Any) -> None:
        """Expose ``expr`` in ``Updates.monitors`` under ``name`` (``name#2`` if taken)."""
        self.monitors[free_name(name, self.monitors)] = expr

    def hyperparam(self, name: str, var: Any) -> None:
        """List the shared hyper-parameter ``var`` in ``Updates.hyperparams`` under ``name`` (``name#2`` if
        taken by another variable)."""
        if not any(v is var for v in self.hyperparams.values()):
            self.hyperparams[free_name(name, self.hyperparams)] = var

    def resolve(self, value: Any) -> Any:
        """``value`` at this step: for a ``Schedule``, its float64 value, built once per rule (time-based
        schedules share one int64 counter ``"schedule.t"``, 0 at the first step, that the updates
        increment); a number or a symbolic scalar is returned as it is.

        A transform resolves its hyper-parameters first in its ``build``, in the order of its signature, so
        that a schedule's state comes before the transform's own."""
        if not isinstance(value, Schedule):
            return value
        if value not in self._schedule_values:
            self._schedule_values[value] = value.build(self)
        return self._schedule_values[value]

    def schedule_count(self) -> Any:
        if self._schedule_count is None:
            self._schedule_count, _ = self.counter("schedule")
        return self._schedule_count

    def mark(self) -> int:
        """A position in the registered state updates, for ``gate``."""
        return len(self._entries)

    def map_params(self, hook: ParamHook) -> None:
        """Register ``hook(values) -> values``, applied in ``finish`` to the next value of every param
        (in registration order, before the gates); hooks may register state updates."""
        self._param_hooks.append(hook)

    def gate(self, condition: Any, start: int, *, counters: Sequence[Any] = ()) -> None:
        """Skip the step unless ``condition``: in ``finish``, every param and every state update
        registered from ``start`` on (hooks' updates included) keeps its value when it is false, except
        the state variables in ``counters`` (the guard's own skip counters, which must count the skip)."""
        self._gates.append((condition, start, tuple(counters)))

    def subset(self, indices: Sequence[int]) -> Builder:
        """A builder for ``params[indices]`` only, writing into this one (for per-group transforms)."""
        return SubsetBuilder(self, indices)

    def finish(self, param_values: Sequence[Any]) -> Updates:
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
            param_values = [
                pt.switch(condition, v, p) for v, p in zip(param_values, self.params, strict=True)
            ]
        updates = Updates(
            params=self.params, state=self.state, monitors=self.monitors, hyperparams=self.hyperparams
        )
        for index, (param, value) in enumerate(zip(self.params, param_values, strict=True)):
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


class SubsetBuilder:
    """A builder seen through a subset of its params: indices are local to the subset, state and updates go
    to ``parent``."""

    def __init__(self, parent: Builder, indices: Sequence[int]) -> None:
        self._parent = parent
        self._indices = list(indices)
        self.params = [parent.params[i] for i in self._indices]
        self.keys = [parent.keys[i] for i in self._indices]

    @property
    def loss(self) -> Any:
        return self._parent.loss

    def _owner(self, owner: int | None) -> int | None:
        return None if owner is None else self._indices[owner]

    def new_state(self, name: str, initial: np.ndarray, shape: tuple[Any, ...], owner: int | None) -> Any:
        return self._parent.new_state(name, initial, shape, self._owner(owner))

    def slot(
        self,
        index: int,
        tag: str,
        slot: str,
        *,
        value: float = 0.0,
        extra_shape: tuple[int, ...] = (),
        reduced_axis: int | None = None,
        at_end: bool = False,
    ) -> Any:
        return self._parent.slot(
            self._indices[index],
            tag,
            slot,
            value=value,
            extra_shape=extra_shape,
            reduced_axis=reduced_axis,
            at_end=at_end,
        )

    def scalar(self, name: str, value: Any, dtype: str, *, owner: int | None = None) -> Any:
        return self._parent.scalar(name, value, dtype, owner=self._owner(owner))

    def array(self, name: str, value: Any, *, owner: int | None = None) -> Any:
        return self._parent.array(name, value, owner=self._owner(owner))

    def counter(self, tag: str) -> tuple[Any, Any]:
        return self._parent.counter(tag)

    def set(self, var: Any, expr: Any, *, after_param: bool = False) -> None:
        self._parent.set(var, expr, after_param=after_param)

    def monitor(self, name: str, expr: Any) -> None:
        self._parent.monitor(name, expr)

    def hyperparam(self, name: str, var: Any) -> None:
        self._parent.hyperparam(name, var)

    def resolve(self, value: Any) -> Any:
        return self._parent.resolve(value)

    def schedule_count(self) -> Any:
        return self._parent.schedule_count()

    def mark(self) -> int:
        return self._parent.mark()

    def gate(self, condition: Any, start: int, *, counters: Sequence[Any] = ()) -> None:
        self._parent.gate(condition, start, counters=counters)

    def subset(self, indices: Sequence[int]) -> Builder:
        return SubsetBuilder(self._parent, [self._indices[i] for i in indices])

    def map_params(self, hook: ParamHook) -> None:
        def on_subset(values: list[Any]) -> list[Any]:
            values = list(values)
            for i, v in zip(self._indices, hook([values[i] for i in self._indices]), strict=True):
                values[i] = v
            return values

        self._parent.map_params(on_subset)


class _FlatParam(pt.TensorVariable):
    """Params of one dtype as one vector: symbolically the concatenation of their ravelled values, and, like
    a shared variable, with ``get_value``/``set_value`` over the concatenated values (so a transform that
    starts its state at the params' values, ``swap_parameters`` and ``copy_parameters`` work on it)."""

    def get_value(self, borrow: bool = False) -> np.ndarray:
        return np.concatenate([p.get_value(borrow=True).ravel() for p in self.tag.flat_parts])

    def set_value(self, value: Any, borrow: bool = False) -> None:
        parts = self.tag.flat_parts
        sizes = [p.get_value(borrow=True).size for p in parts]
        value = np.asarray(value)
        if value.shape != (sum(sizes),):
            raise ValueError(f"{self.name} holds {sum(sizes)} values, got an array of shape {value.shape}")
        for p, piece in zip(parts, np.split(value, np.cumsum(sizes)[:-1]), strict=True):
            p.set_value(piece.reshape(p.get_value(borrow=True).shape).astype(p.dtype))


class FlatBuilder:
    """A builder seen through params of one dtype joined into one flat vector (for ``flatten``).

    Its one param is named ``"flat.<dtype>"`` (a ``_FlatParam``); a slot is one vector of the group's total
    size, laid out with the group's first param; ``map_params`` hooks see the group's next values as one
    vector; gates (skipped steps) are refused. ``rule`` names the flattened transform in errors;
    ``counters``, a dict shared by the groups of one ``flatten``, holds their step counters.
    """

    def __init__(self, parent: Builder, indices: Sequence[int], rule: str, counters: dict[str, Any]) -> None:
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

    @property
    def loss(self) -> Any:
        return self._parent.loss

    def join(self, values: Sequence[Any]) -> Any:
        """One value per param of the group (in order) as one flat vector."""
        return pt.concatenate([pt.as_tensor_variable(v).ravel() for v in values])

    def split(self, flat: Any) -> list[Any]:
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

    def new_state(self, name: str, initial: np.ndarray, shape: tuple[Any, ...], owner: int | None) -> Any:
        return self._parent.new_state(name, initial, shape, None if owner is None else self._indices[0])

    def slot(
        self,
        index: int,
        tag: str,
        slot: str,
        *,
        value: float = 0.0,
        extra_shape: tuple[int, ...] = (),
        reduced_axis: int | None = None,
        at_end: bool = False,
    ) -> Any:
        if reduced_axis is not None:
            raise ValueError(
                f"flatten cannot run {self._rule}: its state {tag}.{slot} is a row or column statistic "
                f"(reduced_axis={reduced_axis}), which {self.keys[0]}, one flat vector, does not have"
            )
        initial, shape = slot_initial(self.params[index], value, extra_shape, None)
        return self.new_state(f"{self.keys[index]}.{tag}.{slot}", initial, shape, None if at_end else index)

    def scalar(self, name: str, value: Any, dtype: str, *, owner: int | None = None) -> Any:
        return self.new_state(name, np.asarray(value, dtype=dtype), (), owner)

    def array(self, name: str, value: Any, *, owner: int | None = None) -> Any:
        value = np.asarray(value)
        return self.new_state(name, value, value.shape, owner)

    def counter(self, tag: str) -> tuple[Any, Any]:
        # Nothing inside flatten can skip a step (see gate), so every counter of a tag counts the same steps:
        # the dtypes share one.
        if tag not in self._counters:
            self._counters[tag] = self._parent.counter(tag)
        return self._counters[tag]

    def set(self, var: Any, expr: Any, *, after_param: bool = False) -> None:
        self._parent.set(var, expr, after_param=after_param)

    def monitor(self, name: str, expr: Any) -> None:
        self._parent.monitor(name, expr)

    def hyperparam(self, name: str, var: Any) -> None:
        self._parent.hyperparam(name, var)

    def resolve(self, value: Any) -> Any:
        return self._parent.resolve(value)

    def schedule_count(self) -> Any:
        return self._parent.schedule_count()

    def mark(self) -> int:
        return self._parent.mark()

    def gate(self, condition: Any, start: int, *, counters: Sequence[Any] = ()) -> None:
        # A gate skips everything registered from ``start`` on: the state of the dtypes flattened after this
        # one too, but not that of the dtypes before it, which would move while their params stay.
        raise ValueError(
            f"flatten cannot run {self._rule}: it skips steps or holds a rule that does (apply_if_finite, "
            f"accumulate_gradients); such a rule must wrap the whole rule: apply_if_finite(flatten(...))"
        )

    def subset(self, indices: Sequence[int]) -> Builder:
        return SubsetBuilder(self, indices)

    def map_params(self, hook: ParamHook) -> None:
        def on_flat(values: list[Any]) -> list[Any]:
            values = list(values)
            joined = self.join([values[i] for i in self._indices])
            (flat,) = hook([joined])
            if flat is not joined:  # slices of a new vector: each param's next value is then copied out
                for i, v in zip(self._indices, self.split(flat), strict=True):
                    values[i] = v
            return values

        self._parent.map_params(on_flat)
