"""Every public entry point taking ``params`` reads an iterable of them exactly once, or refuses it.

A generator read twice is empty the second time: a rule that did so would return updates that train
nothing (``adam`` returned only its step counter), the worst kind of bug. Each entry point here gets a
generator of params and must build the same updates, with the same first-step values, as with a list;
empty params must raise a ValueError naming ``params``.
"""

import inspect

import numpy as np
import pytensor
import pytest
from pytensor.compile.mode import Mode
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.traversal import graph_inputs

import symupdates as su
from symupdates.rules import adagrad, adam, layerwise, rmsprop, sgd, sign

# The classic rule families' public rules (and Lasagne's apply_* functions), not their scale_by_* transforms.
OPTIMIZERS = [
    name
    for family in (sgd, adagrad, rmsprop, adam, sign, layerwise)
    for name in family.__all__
    if name.startswith("apply_")
    or (
        callable(getattr(family, name))
        and "loss_or_grads" in inspect.signature(getattr(family, name)).parameters
    )
]

# Values of update expressions, not compiled behaviour, are the point: Python thunks compile fastest.
EQUATIONS = Mode(linker="py", optimizer="fast_compile")
APPLIERS = {"apply_momentum", "apply_nesterov_momentum"}


def problem():
    """Two params, named alike in every call so that the state names of two builds can be compared."""
    rng = np.random.default_rng(0)
    w = pytensor.shared(rng.normal(size=(2, 3)), name="w")
    b = pytensor.shared(rng.normal(size=3), name="b")
    loss = ((w - 0.5) ** 2).sum() + ((b + 0.3) ** 2).sum() + (w * b).sum()
    return [w, b], loss


def sgd_of(loss):
    """sgd's updates for every shared variable of ``loss``: what apply_momentum is given a part of."""
    return su.sgd(loss, [v for v in graph_inputs([loss]) if isinstance(v, SharedVariable)], 0.1)


def is_weight(p):
    return p.ndim > 1


ENTRY_POINTS = {
    **{name: getattr(su, name) for name in OPTIMIZERS if name not in APPLIERS},
    "adam(learning_rate=0.01) (partial application)": su.adam(learning_rate=0.01),
    "momentum(learning_rate=0.01) (partial application)": su.momentum(learning_rate=0.01),
    "Transform.__call__ (chain)": su.chain(
        su.clip_by_global_norm(1.0), su.scale_by_adam(), su.scale_by_learning_rate(0.1)
    ),
    "apply": lambda loss, params: su.apply(
        su.chain(su.scale_by_rss(), su.scale_by_learning_rate(0.1)), loss, params
    ),
    "masked": su.masked(su.adam(learning_rate=0.1), is_weight),
    "multi_transform": su.multi_transform(
        {"w": su.adam(learning_rate=0.1), "b": su.sgd(learning_rate=0.1)}, lambda p: p.name
    ),
    "apply_if_finite": su.apply_if_finite(su.adam(learning_rate=0.1)),
    "accumulate_gradients": su.accumulate_gradients(su.adam(learning_rate=0.1), every_k=1),
    "lookahead": su.lookahead(su.adam(learning_rate=0.1), sync_period=1),
    "parameter_ema": su.parameter_ema(su.adam(learning_rate=0.1)),
    "flatten": su.flatten(su.adam(learning_rate=0.1)),
    # The default argument binds each name's rule as the dict is built.
    **{name: lambda loss, params, rule=getattr(su, name): rule(sgd_of(loss), params) for name in APPLIERS},  # noqa: B008
}


def first_step(*updates):
    """The next values of every key of each updates dict, from one compiled function."""
    values = pytensor.function([], [v for u in updates for v in u.values()], mode=EQUATIONS)()
    result, start = [], 0
    for u in updates:
        result.append(dict(zip([k.name for k in u], values[start : start + len(u)], strict=True)))
        start += len(u)
    return result


def assert_trains_like_a_list(build, iterate):
    listed, listed_loss = problem()
    once, once_loss = problem()
    by_list = build(listed_loss, listed)
    by_iterator = build(once_loss, iterate(once))
    assert [k.name for k in by_iterator] == [k.name for k in by_list]
    assert all(p in by_iterator for p in once)
    from_list, from_iterator = first_step(by_list, by_iterator)
    for name, value in from_list.items():
        np.testing.assert_array_equal(from_iterator[name], value, err_msg=name)
    for p in listed:
        assert not np.allclose(from_list[p.name], p.get_value()), f"{p.name} does not move"


def generator(params):
    return (p for p in params)


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_a_generator_of_params_trains_as_a_list_does(name):
    assert_trains_like_a_list(ENTRY_POINTS[name], generator)


def mapped(params):
    return map(lambda p: p, params)


@pytest.mark.parametrize("iterate", [iter, mapped, tuple], ids=["iter", "map", "tuple"])
def test_other_iterables_of_params(iterate):
    assert_trains_like_a_list(su.adam, iterate)


@pytest.mark.parametrize("empty", [list, generator], ids=["[]", "empty generator"])
@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_empty_params_raise_naming_params(name, empty):
    _, loss = problem()
    with pytest.raises(ValueError, match="params is empty"):
        ENTRY_POINTS[name](loss, empty([]))


def test_get_or_compute_grads_reads_a_generator_once_and_refuses_empty_params():
    params, loss = problem()
    grads = su.get_or_compute_grads(loss, generator(params))
    expected = su.get_or_compute_grads(loss, params)
    assert len(grads) == 2
    for g, e in zip(grads, expected, strict=True):
        np.testing.assert_array_equal(g.eval(mode=EQUATIONS), e.eval(mode=EQUATIONS))
    with pytest.raises(ValueError, match="params is empty"):
        su.get_or_compute_grads(loss, generator([]))
    with pytest.raises(ValueError, match="params is empty"):
        su.get_or_compute_grads([], [])


def nmf_problem():
    rng = np.random.default_rng(0)
    X = pytensor.shared(rng.random((6, 5)), name="X")
    W = pytensor.shared(rng.random((6, 2)), name="W")
    H = pytensor.shared(rng.random((2, 5)), name="H")
    return [W, H], 0.5 * ((X - W @ H) ** 2).sum(), X


@pytest.mark.parametrize("alternating", [False, True])
def test_multiplicative_reads_a_generator_once(alternating):
    listed, listed_loss, listed_X = nmf_problem()
    once, once_loss, once_X = nmf_problem()
    by_list = su.multiplicative(listed_loss, listed, nonnegative=[listed_X], alternating=alternating)
    by_iterator = su.multiplicative(once_loss, generator(once), nonnegative=[once_X], alternating=alternating)
    assert [k.name for k in by_iterator] == ["W", "H"]
    from_list, from_iterator = first_step(by_list, by_iterator)
    for name in "WH":
        np.testing.assert_array_equal(from_iterator[name], from_list[name])
    with pytest.raises(ValueError, match="params is empty"):
        su.multiplicative(once_loss, generator([]), nonnegative=[once_X])
