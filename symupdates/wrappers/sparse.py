"""Row-sparse updates for embedding tables: a step whose cost follows the rows a batch looks up, not the
table's size.

PyTensor's gradient of a lookup ``E[idx]`` is a scatter of the looked-up rows' gradients into zeros of
``E``'s shape (``AdvancedIncSubtensor(zeros_like(E), row_grads, idx)``), so a dense rule reads and writes
the whole table every step. ``sparse(rule)`` recognises that gradient and runs the rule on the touched rows
only::

    updates = symupdates.sparse(symupdates.adagrad(learning_rate=0.1))(loss, [E, W])

For each param whose gradient is a sum of such scatters along axis 0 (one or several lookups of the table,
index vectors or matrices, ``E[idx]`` or ``pt.take(E, idx, axis=0)``), with ``u`` the distinct looked-up
rows: the gradient rows ``g[u]`` are summed in the order the dense gradient sums them, the rule runs on
``p[u]``, ``g[u]`` and each state variable's rows ``s[u]``, and the new rows are written in place
(``set_subtensor``). Other params (biases, dense layers, a table also used whole) take the dense step,
with a ``SparseFallbackWarning`` naming them.
"""

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytensor.tensor as pt
from pytensor.scalar import Add, Cast
from pytensor.tensor.basic import Alloc, get_underlying_scalar_constant_value
from pytensor.tensor.elemwise import Elemwise
from pytensor.tensor.exceptions import NotScalarConstantError

from ..core.builder import Builder, ParamHook, SubsetBuilder
from ..core.compat import is_row_scatter
from ..core.transform import Transform

__all__ = ["sparse", "SparseFallbackWarning"]


class SparseFallbackWarning(UserWarning):
    """A param given to ``sparse(...)`` takes the dense step: its gradient is not a scatter of rows.

    Turn it into an error with ``warnings.simplefilter("error", SparseFallbackWarning)``.
    """


def _check_rule(transform: Transform, lazy: bool) -> None:
    """Raise unless ``transform`` and all its parts are declared row-wise (``Transform.rowwise``): "exact"
    ones compute on the touched rows what the dense rule computes there and leave other rows unchanged;
    "lazy" ones (state that decays every step) only with ``lazy=True``."""
    if transform.rowwise is None:
        raise ValueError(
            f"sparse cannot run {transform!r}: it is not declared row-wise (its step of a row depends on "
            "other rows, or on the whole tensor)"
        )
    if transform.rowwise == "lazy" and not lazy:
        raise ValueError(
            f"sparse cannot run {transform!r} exactly: its state decays at every step, also on rows the "
            "batch does not touch. Pass lazy=True for the lazy rule (torch SparseAdam / TensorFlow LazyAdam: "
            "untouched rows keep their state), or use the dense rule"
        )
    for part in transform.parts:
        _check_rule(part, lazy)


def _is_zeros_of(var: Any, param: Any) -> bool:
    """True when ``var`` is zeros of ``param``'s shape as ``pytensor.grad`` builds them."""
    node = var.owner
    if node is None:
        return False
    if isinstance(node.op, Elemwise) and node.op.scalar_op.__class__.__name__ == "Second":
        like, fill = node.inputs
        return like is param and _is_zero_constant(fill)
    if isinstance(node.op, Alloc):
        fill, *shape = node.inputs
        return (
            _is_zero_constant(fill)
            and len(shape) == param.ndim
            and all(s.owner is not None and s.owner.inputs[0] is param for s in shape)
        )
    return False


def _is_zero_constant(var: Any) -> bool:
    try:
        return get_underlying_scalar_constant_value(var) == 0
    except NotScalarConstantError:
        return False


def _row_scatters(grad: Any, param: Any) -> list[tuple[Any, Any, Any]] | None:
    """The scatters ``(node, rows, idx)`` into zeros of ``param`` that ``grad`` sums, or None if ``grad`` is
    anything else (only sums, casts and axis-0 scatters of integer indices are recognised)."""
    node = grad.owner
    if node is None:
        return None
    op = node.op
    if isinstance(op, Elemwise) and isinstance(op.scalar_op, Add | Cast):
        scatters = []
        for x in node.inputs:
            found = _row_scatters(x, param)
            if found is None:
                return None
            scatters.extend(found)
        return scatters
    if is_row_scatter(node) and not op.set_instead_of_inc and _is_zeros_of(node.inputs[0], param):
        zeros, rows, idx = node.inputs
        if getattr(idx.type, "dtype", "").startswith(("int", "uint")):
            return [(node, rows, idx)]
    return None


def _distinct_rows(indices: list[Any], n_rows: Any) -> tuple[Any, list[Any]]:
    """``(u, positions)``: the distinct rows among all ``indices`` (sorted; negative indices counted from
    the end, as the dense scatter does) and, for each index array, where each of its entries is in ``u``.

    Built from argsort and cumsum rather than ``pt.unique(..., return_inverse=True)``, which the NUMBA
    backend runs in object mode."""
    flat = pt.concatenate([pt.as_tensor_variable(i).ravel().astype("int64") for i in indices])
    flat = pt.switch(flat < 0, flat + n_rows, flat)
    order = pt.argsort(flat)
    ordered = flat[order]
    starts = pt.concatenate([pt.ones((1,), dtype="int64"), pt.neq(ordered[1:], ordered[:-1]).astype("int64")])
    distinct = ordered[starts.nonzero()[0]]
    position = pt.set_subtensor(pt.zeros_like(flat)[order], pt.cumsum(starts) - 1)
    positions, offset = [], 0
    for i in indices:
        size = pt.as_tensor_variable(i).size
        positions.append(position[offset : offset + size].reshape(i.shape, ndim=i.ndim))
        offset = offset + size
    return distinct, positions


def _gathered_gradient(grad: Any, param: Any, scatters: list[tuple[Any, Any, Any]]) -> tuple[Any, Any]:
    """``(u, g_u)``: the touched rows and their gradient rows, each the sum of the same terms in the same
    order as in the dense gradient ``grad`` (the same scatter op, into zeros of ``len(u)`` rows)."""
    # One position array per index variable, so that lookups sharing an index are rewritten (merged) as
    # PyTensor rewrites them in the dense gradient.
    indices = list(dict.fromkeys(idx for _, _, idx in scatters))
    distinct, positions = _distinct_rows(indices, param.shape[0])
    position_of = dict(zip(indices, positions, strict=True))
    zeros = pt.zeros((distinct.shape[0], *[param.shape[d] for d in range(1, param.ndim)]), dtype=param.dtype)
    replaced = {node.outputs[0]: node.op(zeros, rows, position_of[idx]) for node, rows, idx in scatters}

    def rebuild(var: Any) -> Any:
        if var in replaced:
            return replaced[var]
        return var.owner.op(*[rebuild(x) for x in var.owner.inputs])

    return distinct, rebuild(grad)


class _RowBuilder:
    """A builder seen through the touched rows of some params: their ``params`` entry, their state slots and
    the state updates registered for them are rows ``u`` of the real variables; the rest goes to
    ``parent``."""

    def __init__(self, parent: Builder, rows: dict[int, Any]) -> None:
        self._parent = parent
        self._rows = rows  # param index -> distinct touched rows
        # Rows are read through clipped indices (equal to the rows, which are in range): so that PyTensor
        # does not rewrite ``set_subtensor(x[u], x[u] + y)`` into ``inc_subtensor(x[u], y)``, and the new rows
        # are computed by the same fused loop as the dense step's, with the same rounding.
        self._reads = {i: pt.clip(u, 0, parent.params[i].shape[0] - 1) for i, u in rows.items()}
        self.params = [p[self._reads[i]] if i in rows else p for i, p in enumerate(parent.params)]
        self.keys = parent.keys
        self._full: dict[Any, tuple[Any, Any]] = {}  # gathered state rows -> (state variable, rows)

    @property
    def loss(self) -> Any:
        return self._parent.loss

    def new_state(self, name: str, initial: np.ndarray, shape: tuple[Any, ...], owner: int | None) -> Any:
        return self._parent.new_state(name, initial, shape, owner)

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
        var = self._parent.slot(
            index, tag, slot, value=value, extra_shape=extra_shape, reduced_axis=reduced_axis, at_end=at_end
        )
        if index not in self._rows:
            return var
        gathered = var[self._reads[index]]
        self._full[gathered] = (var, self._rows[index])
        return gathered

    def scalar(self, name: str, value: Any, dtype: str, *, owner: int | None = None) -> Any:
        return self._parent.scalar(name, value, dtype, owner=owner)

    def array(self, name: str, value: Any, *, owner: int | None = None) -> Any:
        return self._parent.array(name, value, owner=owner)

    def counter(self, tag: str) -> tuple[Any, Any]:
        return self._parent.counter(tag)

    def set(self, var: Any, expr: Any, *, after_param: bool = False) -> None:
        if var in self._full:
            var, rows = self._full[var]
            expr = pt.set_subtensor(var[rows], expr)
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

    def map_params(self, hook: ParamHook) -> None:
        self._parent.map_params(hook)

    def subset(self, indices: Sequence[int]) -> Builder:
        return SubsetBuilder(self, indices)


def sparse(inner: Transform, *, lazy: bool = False) -> Transform:
    """Run ``inner`` on the rows of each embedding table that the batch looks up, in place.

    For a param ``E`` whose gradient is a scatter of row gradients into zeros (``pytensor.grad`` of
    ``E[idx]``, ``pt.take(E, idx, axis=0)``, or a sum of several such lookups, ``idx`` of any integer
    shape), with ``u`` the distinct looked-up rows and ``g_u`` their gradient rows (duplicates summed in
    the dense gradient's order)::

        s_u = inner(g_u) on rows u of E and of each state variable
        E[u] <- E[u] + s_u;  state[u] <- its new rows;  other rows untouched

    Parameters
    ----------
    inner : Transform
        A rule made of row-wise transforms: ``sgd`` (without momentum or weight decay), ``adagrad``,
        ``sign_sgd``, chains of ``scale_by_rss``, ``scale``, ``scale_by_learning_rate``,
        ``scale_by_inverse_time``, ``clip_by_global_norm``, and ``apply_if_finite`` around them; with
        ``lazy=True`` also ``adam``, ``rmsprop``, ``sgd(momentum=...)`` and chains of ``scale_by_adam``,
        ``scale_by_rms``, ``trace``.
    lazy : bool, keyword-only
        Allow rules whose state decays at every step. Their sparse step is the *lazy* rule, not the dense
        one: rows the batch does not touch keep their moments and do not move, and step counters (Adam's
        bias correction) count global steps, as torch's ``SparseAdam`` and TensorFlow Addons' ``LazyAdam``.

    Returns
    -------
    Transform
        To be applied last (``sparse(rule)(loss, params)`` or as the last transform of a ``chain``).

    Raises
    ------
    ValueError
        When the rule is built: ``inner`` holds a transform that is not row-wise (trust ratios, per-param
        norms, Adafactor, flatten, lookahead, ...), or one that decays its state and ``lazy`` is False;
        or a transform after ``sparse`` in a chain changes its steps.

    Warns
    -----
    SparseFallbackWarning
        For each param whose gradient is not recognised (a bias, a dense weight, a table also used whole
        or with a slice in its lookup): it takes ``inner``'s dense step.

    Notes
    -----
    Without ``lazy`` the sparse step equals the dense step bit for bit (the rules it accepts leave a row
    with zero gradient and its state unchanged, and the touched rows go through the same arithmetic). With
    ``clip_by_global_norm`` the norm is summed over the touched rows only, equal to the dense norm up to
    rounding. ``apply_if_finite`` works, but its skip selects between whole tables. torch's sparse
    ``SGD``/``Adagrad``/``SparseAdam`` take ``nn.Embedding(sparse=True)`` gradients; optax has no
    equivalent. Lasagne's ``momentum`` (a velocity added to an updates dict) is not a transform: use
    ``sgd(momentum=...)`` with ``lazy=True``.

    References
    ----------
    Duchi, Hazan and Singer (2011), Adaptive subgradient methods, JMLR 12 (Adagrad on sparse data).
    TensorFlow Addons ``LazyAdam``; PyTorch ``torch.optim.SparseAdam``.

    Examples
    --------
    >>> import numpy as np, pytensor, pytensor.tensor as pt, symupdates as su
    >>> E = pytensor.shared(np.ones((5, 2)), name="E")
    >>> idx = pt.lvector("idx")
    >>> updates = su.sparse(su.sgd(learning_rate=0.5))((E[idx] ** 2).sum() / 2, [E])
    >>> step = pytensor.function([idx], [], updates=updates)
    >>> _ = step(np.array([1, 3, 1])); E.get_value()[:, 0]   # row 1 looked up twice: 1 - 0.5 * 2
    array([1. , 0. , 1. , 0.5, 1. ])
    """
    if not isinstance(inner, Transform):
        raise TypeError(f"inner must be a Transform, got {type(inner).__name__}")
    if not isinstance(lazy, bool):
        raise TypeError(f"lazy must be a bool, got {lazy!r}")
    _check_rule(inner, lazy)

    def build(steps: list[Any], builder: Builder) -> list[Any]:
        rows, row_steps = {}, list(steps)
        for i, (step, param) in enumerate(zip(steps, builder.params, strict=True)):
            scatters = _row_scatters(step, param) if param.ndim >= 1 else None
            if not scatters:
                warnings.warn(
                    f"sparse: param {i} ({param.name!r}) takes the dense step: its gradient is not a scatter "
                    "of looked-up rows into zeros",
                    SparseFallbackWarning,
                    stacklevel=4,
                )
                continue
            rows[i], row_steps[i] = _gathered_gradient(step, param, scatters)
        row_builder = _RowBuilder(builder, rows)
        out = inner.build(row_steps, row_builder)
        markers = {i: pt.zeros_like(builder.params[i]) for i in rows}

        def write_rows(values: list[Any]) -> list[Any]:
            values = list(values)
            for i, marker in markers.items():
                param, value = builder.params[i], values[i]
                if value.owner is None or value.owner.inputs[-1] is not marker:
                    raise ValueError("sparse must be applied last: a transform after it changed its steps")
                values[i] = pt.set_subtensor(param[rows[i]], row_builder.params[i] + out[i])
            return values

        builder.map_params(write_rows)
        return [markers.get(i, s) for i, s in enumerate(out)]

    return Transform(build, "sparse", {"inner": inner, "lazy": lazy}, parts=(inner,))
