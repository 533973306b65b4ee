"""The transform layer the rules are built from, and the momentum dict transformers."""

from collections import OrderedDict

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import symupdates as su
from conftest import gradient_sequence, make_params
from reference import ref_adam, ref_momentum, ref_sgd


def run(updates, params, grads):
    inputs = [pt.tensor(dtype=p.dtype, shape=p.type.shape) for p in params]
    fn = pytensor.function(inputs, [], updates=updates(inputs, params) if callable(updates) else updates)
    for g in grads:
        fn(*g)
    return [p.get_value() for p in params]


def test_chain_of_transforms_is_adam():
    a, b = make_params("float64", shapes=[(4,)]), make_params("float64", shapes=[(4,)])
    grads = gradient_sequence(a, 8)
    tx = su.chain(su.scale_by_adam(0.8, 0.95, 1e-5), su.scale_by_learning_rate(0.05))
    [got] = run(tx, a, grads)
    [want] = run(su.adam(learning_rate=0.05, beta1=0.8, beta2=0.95, epsilon=1e-5), b, grads)
    np.testing.assert_array_equal(got, want)


def test_apply_equals_calling_the_transform():
    (p,) = make_params("float64", shapes=[(3,)])
    tx = su.chain(su.scale_by_rss(), su.scale_by_learning_rate(0.1))
    assert [v.name for v in su.apply(tx, (p**2).sum(), [p])] == [v.name for v in tx((p**2).sum(), [p])]
    with pytest.raises(TypeError, match="transform must be a Transform"):
        su.apply(lambda g, p: g, (p**2).sum(), [p])


def test_partially_applied_rules_compose_in_a_chain():
    a, b = make_params("float64", shapes=[(4,)]), make_params("float64", shapes=[(4,)])
    grads = gradient_sequence(a, 6)
    [got] = run(su.chain(su.scale(0.5), su.adam(learning_rate=0.1)), a, grads)
    halved = [[g * 0.5 for g in step] for step in grads]
    [want] = run(su.adam(learning_rate=0.1), b, halved)
    np.testing.assert_allclose(got, want, rtol=1e-13)


def test_scale_then_learning_rate_is_sgd():
    (p,) = make_params("float64", shapes=[(3,)])
    start = p.get_value()
    grads = gradient_sequence([p], 5)
    [got] = run(su.chain(su.scale(2.0), su.scale_by_learning_rate(0.05)), [p], grads)
    np.testing.assert_allclose(got, ref_sgd(start, [g[0] for g in grads], 0.1)[-1], rtol=1e-13)


def test_same_transform_twice_gets_distinct_state_names():
    (p,) = make_params("float64", shapes=[(3,)], prefix="W")
    tx = su.chain(su.scale_by_adam(), su.scale_by_adam(), su.scale_by_learning_rate(0.1))
    updates = tx((p**2).sum(), [p])
    names = [v.name for v in updates]
    assert names == ["W0.adam.m", "W0.adam.v", "W0.adam.m#2", "W0.adam.v#2", "W0", "adam.t", "adam.t#2"]
    assert len(set(names)) == len(names)


def test_chain_rejects_non_transforms():
    with pytest.raises(TypeError, match="chain argument 1 must be a Transform"):
        su.chain(su.scale(1.0), "adam")


def test_transform_repr_shows_hyperparameters():
    assert repr(su.adam(learning_rate=0.01)) == "adam(learning_rate=0.01, beta1=0.9, beta2=0.999, epsilon=1e-08)"


def test_updates_keep_params_and_state_through_copy_and_pickle():
    import pickle

    (p,) = make_params("float64", shapes=[(3,)])
    updates = su.adam((p**2).sum(), [p])
    for copy in [updates.copy(), pickle.loads(pickle.dumps(updates))]:
        assert [v.name for v in copy] == [v.name for v in updates]
        assert [v.name for v in copy.params] == ["p0"]
        assert [v.name for v in copy.state] == [v.name for v in updates.state]


@pytest.mark.parametrize("apply_rule", [su.apply_momentum, su.apply_nesterov_momentum])
def test_apply_momentum_does_not_mutate_its_input(apply_rule):
    (p,) = make_params("float64", shapes=[(3,)])
    plain = OrderedDict([(p, p - 0.1 * p)])
    before = list(plain.items())
    result = apply_rule(plain, [p], momentum=0.5)
    assert list(plain.items()) == before
    assert len(result) == 2 and result is not plain
    assert [v.name for v in result.state] == [f"p0.{apply_rule.__name__[6:]}.velocity"]


def test_apply_momentum_to_a_plain_dict_matches_reference():
    (p,) = make_params("float64", shapes=[(3,)])
    start = p.get_value()
    grads = gradient_sequence([p], 6)
    g = pt.vector()
    fn = pytensor.function([g], [], updates=su.apply_momentum({p: p - 0.1 * g}, momentum=0.7))
    for step in grads:
        fn(*step)
    np.testing.assert_allclose(p.get_value(), ref_momentum(start, [s[0] for s in grads], 0.1, 0.7)[-1], rtol=1e-12)


def test_apply_momentum_without_params_skips_integer_counters():
    (p,) = make_params("float64", shapes=[(3,)])
    updates = su.apply_momentum(su.adam((p**2).sum(), [p]))
    velocities = [v.name for v in updates if v.name.endswith("velocity")]
    assert velocities == ["p0.adam.m.momentum.velocity", "p0.adam.v.momentum.velocity", "p0.momentum.velocity"]
    assert len(updates.state) == 3 + 3


def test_apply_momentum_argument_errors():
    (p,) = make_params("float64", shapes=[(3,)])
    q = pytensor.shared(np.ones(2), name="q")
    with pytest.raises(ValueError, match=r"params\[0\] \('q'\) has no entry in updates"):
        su.apply_momentum({p: p * 0.5}, [q])
    with pytest.raises(TypeError, match="updates must be a dict"):
        su.apply_momentum([(p, p * 0.5)])
    with pytest.raises(TypeError, match="momentum must be a number"):
        su.apply_nesterov_momentum({p: p * 0.5}, momentum="0.9")


def test_adam_reference_for_two_dtypes_in_one_dict():
    """A float32 and a float64 param in one call share the counter; each is updated in its own dtype."""
    a = make_params("float32", shapes=[(3,)], prefix="a")[0]
    b = make_params("float64", shapes=[(3,)], prefix="b")[0]
    starts = [a.get_value(), b.get_value()]
    grads = gradient_sequence([a, b], 7)
    got = run(su.adam(learning_rate=0.01), [a, b], grads)
    for k, (value, start) in enumerate(zip(got, starts)):
        want = ref_adam(start, [g[k] for g in grads], 0.01, 0.9, 0.999, 1e-8)[-1]
        assert value.dtype == start.dtype
        np.testing.assert_allclose(value, want, rtol=2e-5 if k == 0 else 1e-12)
