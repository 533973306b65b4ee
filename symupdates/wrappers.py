"""Wrappers: transforms that change how another transform is applied.

Per-group rules (``multi_transform``, ``masked``), one flat vector per dtype (``flatten``), a NaN guard
(``apply_if_finite``), gradient accumulation (``accumulate_gradients``), and rules acting on the params' next
values (``lookahead``, ``parameter_ema``).

``apply_if_finite`` and ``accumulate_gradients`` skip steps: when they skip, every param and every state
update registered by their inner transform, by the transforms after them in a chain and by the wrappers
around them keeps its value. So wrap the whole rule (``apply_if_finite(adam(learning_rate=sched))``): a
transform chained *before* the wrapper, or a schedule it resolved first, still changes its state.
``lookahead`` and ``parameter_ema`` act on the params' final next values wherever they stand.
"""

import contextlib
import functools
import operator
from collections.abc import Mapping

import pytensor
import pytensor.tensor as pt
from pytensor.compile.mode import Mode

from ._compat import isfinite
from .builder import _FlatBuilder
from .hyperparams import UNIT_INTERVAL, typed
from .transforms import Transform, transform

__all__ = [
    "multi_transform",
    "masked",
    "flatten",
    "apply_if_finite",
    "accumulate_gradients",
    "lookahead",
    "parameter_ema",
    "averaged_parameters",
    "swap_parameters",
    "copy_parameters",
]


def _check_transform(value, name):
    if not isinstance(value, Transform):
        raise TypeError(f"{name} must be a Transform, got {type(value).__name__}")
    return value


def _check_count(value, name):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return value


def _labels_of(param_labels, params, name):
    labels = [param_labels(p) for p in params] if callable(param_labels) else list(param_labels)
    if len(labels) != len(params):
        raise ValueError(f"{name} has {len(labels)} entries for {len(params)} params")
    return labels


@transform
def multi_transform(transforms, param_labels):
    """Apply a different transform to each group of params (per-group hyper-parameters).

    Parameters
    ----------
    transforms : dict
        ``{label: Transform}``.
    param_labels : sequence or callable
        One label per param, in the order of ``params``, or ``label = param_labels(param)``.

    Returns
    -------
    Transform

    Notes
    -----
    As ``optax.multi_transform``. Each group's transform creates its state for that group's params only
    (two groups using adam get counters ``adam.t`` and ``adam.t#2``).

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates as su
    >>> W, b = pytensor.shared(np.ones((2, 2)), name="W"), pytensor.shared(np.ones(2), name="b")
    >>> tx = su.multi_transform({"weights": su.adam(learning_rate=1e-3), "biases": su.sgd(learning_rate=0.1)},
    ...                         lambda p: "weights" if p.ndim > 1 else "biases")
    >>> [v.name for v in tx((W.sum() + b.sum()) ** 2, [W, b])]
    ['W.adam.m', 'W.adam.v', 'W', 'b', 'adam.t']
    """
    if not isinstance(transforms, Mapping):
        raise TypeError(f"transforms must be a dict of label: Transform, got {type(transforms).__name__}")
    transforms = dict(transforms)
    for label, t in transforms.items():
        _check_transform(t, f"transforms[{label!r}]")

    def build(steps, builder):
        labels = _labels_of(param_labels, builder.params, "param_labels")
        unknown = {label for label in labels if label not in transforms}
        if unknown:
            raise ValueError(f"param_labels has labels {sorted(map(repr, unknown))} missing from transforms")
        out = list(steps)
        for label, t in transforms.items():
            group = [i for i, lab in enumerate(labels) if lab == label]
            if group:
                for i, s in zip(group, t.build([steps[i] for i in group], builder.subset(group))):
                    out[i] = s
        return out

    return build


_identity = Transform(lambda steps, builder: steps, "identity")


@transform
def masked(inner, mask):
    """Apply ``inner`` to the params where ``mask`` is true; the others' steps pass through unchanged.

    Parameters
    ----------
    inner : Transform
    mask : sequence of bool or callable
        One flag per param, or ``flag = mask(param)`` (e.g. ``lambda p: p.ndim > 1`` for weights only).

    Returns
    -------
    Transform

    Notes
    -----
    As ``optax.masked``: unmasked steps are left as they come, so a later transform of the chain still
    applies to them (``chain(masked(clip_by_norm(1.0), mask), scale_by_adam(), ...)`` clips some gradients
    and adapts all). To give the other params another transform, use ``multi_transform``.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates as su
    >>> W, b = pytensor.shared(np.ones((2, 2)), name="W"), pytensor.shared(np.ones(2), name="b")
    >>> tx = su.chain(su.masked(su.scale_by_rss(), lambda p: p.ndim > 1), su.scale_by_learning_rate(0.1))
    >>> [v.name for v in tx((W.sum() + b.sum()) ** 2, [W, b])]
    ['W.adagrad.accu', 'W', 'b']
    """
    _check_transform(inner, "inner")

    def build(steps, builder):
        flags = [bool(f) for f in _labels_of(mask, builder.params, "mask")]
        return multi_transform({True: inner, False: _identity}, flags).build(steps, builder)

    return build


@transform
def flatten(inner):
    """Run ``inner`` on one flat vector per dtype: all params of a dtype, and their steps, concatenated.

    For each dtype (groups in the order the params first appear): ``g = concat(ravel(g_i))`` over the
    params ``p_i`` of that dtype, ``s = inner(g)`` with ``inner`` seeing one param
    ``p = concat(ravel(p_i))`` named ``"flat.<dtype>"``, and ``s_i = reshape(s[o_i:o_i + n_i], shape(p_i))``
    (``o_i`` the offset and ``n_i`` the size of ``p_i``), so ``p_i' = p_i + s_i``. ``inner``'s state is one
    vector per dtype, named ``"flat.<dtype>.<tag>.<slot>"`` (``"flat.float32.adam.m"``).

    Parameters
    ----------
    inner : Transform
        The rule to run on the flat vectors, e.g. ``adam(learning_rate=1e-3)``. (Lasagne's ``momentum`` and
        ``nesterov_momentum`` act on a finished updates dict; their transform form is
        ``sgd(learning_rate, momentum=mu, nesterov=...)``.)

    Returns
    -------
    Transform

    Notes
    -----
    As ``optax.flatten``, for speed with many small params. A compiled call pays a fixed cost per array
    argument and result (with NUMBA, boxing and unboxing each one), and each param brings its state arrays
    too; flat state makes that one array per slot and dtype. Each param's update is still one in-place add,
    reading its slice of the flat step without a copy. The price is the concatenation of the gradients, one
    more read and write of every value: flattening pays for many small params and costs time on a few
    large ones (measured with ``benchmarks/update_step.py``, see benchmarks/results.md), so it is opt-in.

    Elementwise rules (sgd, with or without momentum, adagrad, rmsprop, adadelta, adam, ...) give the same
    numbers as ``inner`` itself, up to rounding (the step and the add are two loops, no longer one). Rules
    that use a param's norm or shape (lamb, lars, novograd, ``clip_by_norm``, ``scale_by_trust_ratio``,
    masks by ``ndim``) see one vector per dtype instead, as in optax, and give other numbers
    (``clip_by_global_norm`` is unaffected); adafactor keeps an unfactored second moment for the vector,
    losing its memory saving, and a transform asking for a row or column statistic (``reduced_axis``) is
    refused. Each dtype's state is laid out just before the first param of that dtype, and the dtypes
    share ``inner``'s step counters (``adam.t``). A checkpoint of ``inner`` does not load into
    ``flatten(inner)`` (other state names and shapes), nor the reverse.

    The rules that skip steps, ``apply_if_finite`` and ``accumulate_gradients``, go outside
    (``apply_if_finite(flatten(adam(...)))``); inside, each dtype's check would skip the others' steps
    half-way, so ``flatten`` refuses them. ``lookahead`` and ``parameter_ema`` work either way; inside,
    their state is flat too (``lookahead`` then copies each param's next value out of a flat vector), and
    the key of ``averaged_parameters`` is the flat vector of each dtype, which ``swap_parameters`` and
    ``copy_parameters`` accept.

    References
    ----------
    optax, ``optax.flatten``: https://optax.readthedocs.io/en/latest/api/optimizer_wrappers.html.
    PyTorch's ``foreach`` and ``fused`` optimizer implementations, which batch the params of a dtype and
    device for the same reason: https://pytorch.org/docs/stable/optim.html.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates as su
    >>> W = pytensor.shared(np.ones((2, 3), dtype="float32"), name="W")
    >>> b = pytensor.shared(np.ones(3, dtype="float32"), name="b")
    >>> updates = su.flatten(su.adam(learning_rate=1e-3))((W.sum() + b.sum()) ** 2, [W, b])
    >>> [(v.name, v.get_value().shape) for v in updates.state]
    [('adam.t', ()), ('flat.float32.adam.m', (9,)), ('flat.float32.adam.v', (9,))]
    >>> [v.name for v in updates]
    ['flat.float32.adam.m', 'flat.float32.adam.v', 'W', 'b', 'adam.t']
    """
    _check_transform(inner, "inner")

    def build(steps, builder):
        groups = {}
        for i, p in enumerate(builder.params):
            groups.setdefault(p.dtype, []).append(i)
        out, counters = list(steps), {}
        for indices in groups.values():
            flat = _FlatBuilder(builder, indices, inner.name, counters)
            (step,) = inner.build([flat.join([steps[i] for i in indices])], flat)
            for i, s in zip(indices, flat.split(step)):
                out[i] = s
        return out

    return build


@transform
def apply_if_finite(inner):
    """Skip the whole step when a gradient is not finite, counting the skipped steps.

    ``ok = all(isfinite(g))`` over every element of every incoming step; when ``ok`` is false every param
    and every state variable keeps its value (bit for bit) except the counter
    ``"apply_if_finite.skipped"`` (int64), which is incremented.

    Parameters
    ----------
    inner : Transform
        The rule to guard, e.g. ``adam(learning_rate=1e-3)``.

    Returns
    -------
    Transform
        Its updates' ``monitors["skipped_steps"]`` is the number of steps skipped so far, this one
        included.

    Notes
    -----
    Like ``optax.apply_if_finite`` without ``max_consecutive_errors`` (it never gives up), and like
    torch's ``GradScaler``, which skips ``optimizer.step()`` on inf/NaN gradients. optax checks the
    inner transform's output; this checks its input, so an overflow inside the rule is not caught.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates as su
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> updates = su.apply_if_finite(su.adam(learning_rate=0.1))([np.array([np.nan, 1.0])], [w])
    >>> updates[w].eval(), updates.monitors["skipped_steps"].eval()
    (array([1., 1.]), array(1))
    """
    _check_transform(inner, "inner")

    def build(steps, builder):
        finite = functools.reduce(operator.and_, [pt.all(isfinite(s)) for s in steps])
        skipped = builder.scalar("apply_if_finite.skipped", 0, "int64")
        skipped_new = skipped + pt.cast(~finite, "int64")
        builder.set(skipped, skipped_new)
        builder.monitor("skipped_steps", skipped_new)
        start = builder.mark()
        out = inner.build(steps, builder)
        builder.gate(finite, start)
        return out

    return build


@transform
def accumulate_gradients(inner, every_k):
    """Apply ``inner`` every ``every_k`` calls, to the mean of the gradients of those calls.

    Per param a sum ``a`` (``"<param>.accumulate.sum"``) and one int64 counter
    ``"accumulate.micro_step"`` ``c``: ``a_new = a + g``; the call is a real step when
    ``c + 1 == every_k``; then ``inner`` sees ``a_new / every_k``, and ``a' = 0``, ``c' = 0``. On the other
    calls ``a' = a_new``, ``c' = c + 1`` and the params and all of ``inner``'s state keep their values.

    Parameters
    ----------
    inner : Transform
        The whole rule (decay, clipping and schedules inside it act on real steps only).
    every_k : int >= 1

    Returns
    -------
    Transform

    Notes
    -----
    As ``optax.MultiSteps(inner, every_k_schedule=every_k)``. With micro-batches of equal size and a mean
    loss, ``every_k`` calls equal one step on their concatenated batch.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates as su
    >>> w = pytensor.shared(np.zeros(1), name="w")
    >>> g = pytensor.tensor.vector("g")
    >>> rule = su.accumulate_gradients(su.sgd(learning_rate=1.0), 2)
    >>> step = pytensor.function([g], [], updates=rule([g], [w]))
    >>> _ = step([1.0]); w.get_value()
    array([0.])
    >>> _ = step([3.0]); w.get_value()
    array([-2.])
    """
    _check_transform(inner, "inner")
    every_k = _check_count(every_k, "every_k")

    def build(steps, builder):
        micro = builder.scalar("accumulate.micro_step", 0, "int64")
        real = pt.eq(micro + 1, every_k)
        builder.set(micro, pt.switch(real, 0, micro + 1))
        means = []
        for i, (s, p) in enumerate(zip(steps, builder.params)):
            total = builder.slot(i, "accumulate", "sum")
            total_new = total + s
            builder.set(total, pt.switch(real, pt.zeros_like(total_new), total_new))
            means.append(total_new / typed(every_k, p.dtype))
        start = builder.mark()
        out = inner.build(means, builder)
        builder.gate(real, start)
        return out

    return build


def _with_final_values(inner, hook):
    """A wrapper running ``inner`` and then ``hook(builder, values) -> values`` on the params' next values.

    The hook creates its state when the updates are laid out, after every inner gate was registered, so
    skipped steps do not touch it either.
    """
    _check_transform(inner, "inner")

    def build(steps, builder):
        out = inner.build(steps, builder)
        builder.map_params(lambda values: hook(builder, values))
        return out

    return build


@transform
def lookahead(inner, sync_period=5, slow_step_size=0.5):
    """Lookahead: ``inner`` moves fast weights; every ``sync_period`` steps slow weights move toward them.

    With ``p`` the fast weights (the params), ``x`` the slow weights (``"<param>.lookahead.slow"``, started
    at the params' values when the rule is built) and ``t`` the int64 counter ``"lookahead.t"``:
    ``p_fast = inner's next value``; ``t' = t + 1``; if ``t' % sync_period == 0``:
    ``x' = x + slow_step_size * (p_fast - x)`` and ``p' = x'``, else ``x' = x``, ``p' = p_fast``.

    Parameters
    ----------
    inner : Transform
    sync_period : int >= 1
        ``k`` in the paper.
    slow_step_size : float or symbolic scalar
        ``alpha`` in the paper.

    Returns
    -------
    Transform

    Notes
    -----
    As the paper and ``torch_optimizer.Lookahead`` (the params hold the fast weights, reset to the slow
    ones at each sync). ``optax.lookahead`` keeps both in a ``LookaheadParams`` pair instead.

    References
    ----------
    Zhang, Lucas, Hinton and Ba (2019), Lookahead optimizer: k steps forward, 1 step back, NeurIPS.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates as su
    >>> w = pytensor.shared(np.ones(1), name="w")
    >>> [v.name for v in su.lookahead(su.sgd(learning_rate=0.1))((w ** 2).sum(), [w])]
    ['w.lookahead.slow', 'w', 'lookahead.t']
    """
    sync_period = _check_count(sync_period, "sync_period")

    def hook(builder, values):
        _, t = builder.counter("lookahead")
        sync = pt.eq(t % sync_period, 0)
        out = []
        for i, (v, p) in enumerate(zip(values, builder.params)):
            slow = builder.slot(i, "lookahead", "slow", value=p.get_value())
            slow_new = pt.switch(sync, slow + typed(slow_step_size, p.dtype) * (v - slow), slow)
            builder.set(slow, slow_new)
            out.append(pt.switch(sync, slow_new, v))
        return out

    return _with_final_values(inner, hook)


@transform(decay=UNIT_INTERVAL)
def parameter_ema(inner, decay=0.999):
    """Polyak averaging: keep an exponential moving average of the params in shadow variables.

    ``a' = decay * a + (1 - decay) * p'`` after each step, with ``a`` (``"<param>.ema.shadow"``) started at
    the params' values when the rule is built. The params themselves follow ``inner`` unchanged; evaluate
    with the averages via ``swap_parameters(averaged_parameters(updates))``.

    Parameters
    ----------
    inner : Transform
    decay : float or symbolic scalar (or a Schedule)

    Returns
    -------
    Transform

    Notes
    -----
    As TF's ``ExponentialMovingAverage`` without ``num_updates`` and torch's
    ``AveragedModel(multi_avg_fn=get_ema_multi_avg_fn(decay))``. ``optax.ema`` averages the *updates*, not
    the params.

    References
    ----------
    Polyak and Juditsky (1992), Acceleration of stochastic approximation by averaging, SIAM J. Control
    Optim. 30(4).

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates as su
    >>> w = pytensor.shared(np.ones(1), name="w")
    >>> updates = su.parameter_ema(su.sgd(learning_rate=0.1), decay=0.9)((w ** 2).sum(), [w])
    >>> [v.name for v in updates], list(su.averaged_parameters(updates).values())
    (['w', 'w.ema.shadow'], [w.ema.shadow])
    """

    def hook(builder, values):
        for i, (v, p) in enumerate(zip(values, builder.params)):
            shadow = builder.slot(i, "ema", "shadow", value=p.get_value())
            shadow.tag.average_of = p
            d = typed(decay, p.dtype)
            builder.set(shadow, d * shadow + (typed(1, p.dtype) - d) * v, after_param=True)
        return values

    return _with_final_values(inner, hook)


def averaged_parameters(updates):
    """``{param: shadow}`` for the averages a ``parameter_ema`` rule keeps in ``updates``.

    Examples
    --------
    See ``parameter_ema``.
    """
    return {v.tag.average_of: v for v in updates.state if getattr(v.tag, "average_of", None) is not None}


def _current_values(others):
    """The values of shared variables and of expressions of them (such as the evaluation point of a
    schedule-free rule), all read before any is changed. Expressions run on NumPy: nothing to compile."""
    expressions = [v for v in others if not hasattr(v, "get_value")]
    computed = iter(pytensor.function([], expressions, mode=Mode(linker="py"))() if expressions else ())
    return [v.get_value() if hasattr(v, "get_value") else next(computed) for v in others]


def _exchange(pairs, both_ways):
    olds = [a.get_value() for a in pairs]
    for (a, b), old, value in zip(pairs.items(), olds, _current_values(list(pairs.values()))):
        a.set_value(value)
        if both_ways and hasattr(b, "set_value"):
            b.set_value(old)
    return olds


@contextlib.contextmanager
def swap_parameters(pairs):
    """Within the ``with`` block, each ``param`` of ``{param: other}`` holds ``other``'s value (and
    ``other`` the param's); on exit both are restored, exception or not. ``other`` may also be an
    expression of shared variables (e.g. from ``schedule_free_eval_parameters``): the param then holds its
    value, computed on entry.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates as su
    >>> w, avg = pytensor.shared(np.ones(1), name="w"), pytensor.shared(np.zeros(1), name="avg")
    >>> with su.swap_parameters({w: avg}):
    ...     print(w.get_value())
    [0.]
    >>> w.get_value()
    array([1.])
    """
    pairs = dict(pairs)
    olds = _exchange(pairs, both_ways=True)
    try:
        yield pairs
    finally:
        for (a, b), old in zip(pairs.items(), olds):
            if hasattr(b, "set_value"):
                b.set_value(a.get_value())
            a.set_value(old)


def copy_parameters(pairs):
    """Set each ``param`` of ``{param: other}`` to ``other``'s value, e.g. to keep the averages of
    ``parameter_ema`` for good: ``copy_parameters(averaged_parameters(updates))``.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates as su
    >>> w, avg = pytensor.shared(np.ones(1), name="w"), pytensor.shared(np.zeros(1), name="avg")
    >>> su.copy_parameters({w: avg}); w.get_value()
    array([0.])
    """
    _exchange(dict(pairs), both_ways=False)
