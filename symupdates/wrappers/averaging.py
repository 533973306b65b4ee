"""Rules acting on the params' next values (``lookahead``, ``parameter_ema``) wherever they stand in a chain,
and the tools to evaluate with averaged params (``averaged_parameters``, ``swap_parameters``,
``copy_parameters``).
"""

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import pytensor
import pytensor.tensor as pt
from pytensor.compile.mode import Mode
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Variable
from pytensor.tensor.variable import TensorVariable

from ..core.hyperparams import UNIT_INTERVAL, check_count, typed
from ..core.transform import Transform, check_transform, transform
from ..core.types import Build, Builder, Hyper, Scalar, Steps
from ..core.updates import Updates

# ``hook(builder, values) -> values``: what a wrapper does to the params' next values.
Hook = Callable[[Builder, list[TensorVariable]], list[TensorVariable]]

__all__ = ["lookahead", "parameter_ema", "averaged_parameters", "swap_parameters", "copy_parameters"]


def _with_final_values(inner: Transform, hook: Callable[..., list[TensorVariable]], *hyper: Hyper) -> Build:
    """A wrapper running ``inner`` and then ``hook(builder, values, *hyper) -> values`` on the params' next
    values, each hyper-parameter resolved (``builder.resolve``) when the wrapper is built.

    The hook creates its state when the updates are laid out, after every inner gate was registered, so
    skipped steps do not touch it either.
    """
    check_transform(inner, "inner")

    def build(steps: Steps, builder: Builder) -> Steps:
        resolved = [builder.resolve(x) for x in hyper]  # before inner's state, as every transform does
        out = inner.build(steps, builder)
        builder.map_params(lambda values: hook(builder, values, *resolved))
        return out

    return build


@transform
def lookahead(inner: Transform, sync_period: int = 5, slow_step_size: Scalar = 0.5) -> Build:
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
    sync_period = check_count(sync_period, "sync_period")

    def hook(
        builder: Builder, values: list[TensorVariable], slow_step_size_now: Scalar
    ) -> list[TensorVariable]:
        _, t = builder.counter("lookahead")
        sync = pt.eq(t % sync_period, 0)
        out = []
        for i, (v, p) in enumerate(zip(values, builder.params, strict=True)):
            slow = builder.slot(i, "lookahead", "slow", value=p.get_value())
            slow_new = pt.switch(sync, slow + typed(slow_step_size_now, p.dtype) * (v - slow), slow)
            builder.set(slow, slow_new)
            out.append(pt.switch(sync, slow_new, v))
        return out

    return _with_final_values(inner, hook, slow_step_size)


@transform(decay=UNIT_INTERVAL)
def parameter_ema(inner: Transform, decay: Scalar = 0.999) -> Build:
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

    def hook(builder: Builder, values: list[TensorVariable], decay_now: Scalar) -> list[TensorVariable]:
        for i, (v, p) in enumerate(zip(values, builder.params, strict=True)):
            shadow = builder.slot(i, "ema", "shadow", value=p.get_value())
            shadow.tag.average_of = p
            d = typed(decay_now, p.dtype)
            builder.set(shadow, d * shadow + (typed(1, p.dtype) - d) * v, after_param=True)
        return values

    return _with_final_values(inner, hook, decay)


def averaged_parameters(updates: Updates) -> dict[SharedVariable, SharedVariable]:
    """``{param: shadow}`` for the averages a ``parameter_ema`` rule keeps in ``updates``.

    Examples
    --------
    See ``parameter_ema``.
    """
    return {v.tag.average_of: v for v in updates.state if getattr(v.tag, "average_of", None) is not None}


def _current_values(others: Sequence[Variable]) -> list[Any]:
    """The values of shared variables and of expressions of them (such as the evaluation point of a
    schedule-free rule), all read before any is changed. Expressions run on NumPy: nothing to compile."""
    expressions = [v for v in others if not hasattr(v, "get_value")]
    computed = iter(pytensor.function([], expressions, mode=Mode(linker="py"))() if expressions else ())
    return [v.get_value() if hasattr(v, "get_value") else next(computed) for v in others]


def _exchange(pairs: dict[SharedVariable, Variable], both_ways: bool) -> list[Any]:
    olds = [a.get_value() for a in pairs]
    for (a, b), old, value in zip(pairs.items(), olds, _current_values(list(pairs.values())), strict=True):
        a.set_value(value)
        if both_ways and hasattr(b, "set_value"):
            b.set_value(old)
    return olds


@contextlib.contextmanager
def swap_parameters(
    pairs: Mapping[SharedVariable, Variable],
) -> Iterator[dict[SharedVariable, Variable]]:
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
        for (a, b), old in zip(pairs.items(), olds, strict=True):
            if hasattr(b, "set_value"):
                b.set_value(a.get_value())
            a.set_value(old)


def copy_parameters(pairs: Mapping[SharedVariable, Variable]) -> None:
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
