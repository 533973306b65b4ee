"""The transform layer the rules are built from, and the momentum dict transformers."""

import inspect
from collections import OrderedDict

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile.mode import Mode

import symupdates as su
from support.params import gradient_sequence, make_params
from support.reference import ref_adam, ref_momentum, ref_sgd
from symupdates.rules import adagrad, adam, layerwise, rmsprop, sgd, sign

# The classic rule families' public rules: what each module declares with @rule.
CLASSIC_RULES = [
    name
    for family in (sgd, adagrad, rmsprop, adam, sign, layerwise)
    for name in family.__all__
    if callable(getattr(family, name))
    and "loss_or_grads" in inspect.signature(getattr(family, name)).parameters
]


def run(updates, params, grads):
    inputs = [pt.tensor(dtype=p.dtype, shape=p.type.shape) for p in params]
    fn = pytensor.function(inputs, [], updates=updates(inputs, params) if callable(updates) else updates)
    for g in grads:
        fn(*g)
    return [p.get_value() for p in params]


@pytest.mark.fast
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
    assert (
        repr(su.adam(learning_rate=0.01)) == "adam(learning_rate=0.01, beta1=0.9, beta2=0.999, epsilon=1e-08)"
    )


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


@pytest.mark.fast
def test_apply_momentum_to_a_plain_dict_matches_reference():
    (p,) = make_params("float64", shapes=[(3,)])
    start = p.get_value()
    grads = gradient_sequence([p], 6)
    g = pt.vector()
    fn = pytensor.function([g], [], updates=su.apply_momentum({p: p - 0.1 * g}, momentum=0.7))
    for step in grads:
        fn(*step)
    np.testing.assert_allclose(
        p.get_value(), ref_momentum(start, [s[0] for s in grads], 0.1, 0.7)[-1], rtol=1e-12
    )


def test_apply_momentum_without_params_skips_integer_counters():
    (p,) = make_params("float64", shapes=[(3,)])
    updates = su.apply_momentum(su.adam((p**2).sum(), [p]))
    velocities = [v.name for v in updates if v.name.endswith("velocity")]
    assert velocities == [
        "p0.adam.m.momentum.velocity",
        "p0.adam.v.momentum.velocity",
        "p0.momentum.velocity",
    ]
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


@pytest.mark.fast
def test_adam_reference_for_two_dtypes_in_one_dict():
    """A float32 and a float64 param in one call share the counter; each is updated in its own dtype."""
    a = make_params("float32", shapes=[(3,)], prefix="a")[0]
    b = make_params("float64", shapes=[(3,)], prefix="b")[0]
    starts = [a.get_value(), b.get_value()]
    grads = gradient_sequence([a, b], 7)
    got = run(su.adam(learning_rate=0.01), [a, b], grads)
    for k, (value, start) in enumerate(zip(got, starts, strict=True)):
        want = ref_adam(start, [g[k] for g in grads], 0.01, 0.9, 0.999, 1e-8)[-1]
        assert value.dtype == start.dtype
        np.testing.assert_allclose(value, want, rtol=2e-5 if k == 0 else 1e-12)


def test_rules_are_declared_once_with_the_shared_parameters_block():
    rules = [getattr(su, name) for name in CLASSIC_RULES]
    rules.append(su.multiplicative)
    for rule in rules:
        assert hasattr(rule, "declaration"), rule.__name__
        for placeholder in ("{rule_parameters}", "{maximize}", "{weight_decay_options}"):
            assert placeholder not in rule.__doc__, rule.__name__
    for rule in rules[:-1]:  # multiplicative documents its own (P, N) pairs
        assert "params : list of SharedVariable, optional" in rule.__doc__, rule.__name__


@pytest.mark.parametrize(
    "rule,apply_rule", [(su.momentum, su.apply_momentum), (su.nesterov_momentum, su.apply_nesterov_momentum)]
)
def test_momentum_rules_are_transforms_with_lasagnes_numbers_and_key_order(rule, apply_rule):
    made = rule(learning_rate=0.1, momentum=0.5)
    assert isinstance(made, su.Transform)
    assert repr(made) == f"{rule.__name__}(learning_rate=0.1, momentum=0.5)"
    grads = gradient_sequence(make_params("float32"), 4, seed=3)
    by_chain, by_dict = make_params("float32"), make_params("float32")
    got = run(su.chain(su.scale(1.0), made), by_chain, grads)
    want = run(lambda g, p: apply_rule(su.sgd(g, p, 0.1), p, momentum=0.5), by_dict, grads)
    for a, b in zip(got, want, strict=True):
        assert a.tobytes() == b.tobytes()
    updates = made([pt.ones_like(p) for p in by_chain], by_chain)
    tag = rule.__name__
    velocities = [f"{p.name}.{tag}.velocity" for p in by_chain]
    assert [v.name for v in updates] == [p.name for p in by_chain] + velocities


def test_partial_application_needs_both_or_neither():
    w = pytensor.shared(np.ones(2), name="w")
    for rule in (su.adam, su.momentum, su.multiplicative):
        with pytest.raises(ValueError, match="params is missing"):
            rule((w**2).sum())
        with pytest.raises(ValueError, match="loss_or_grads is missing"):
            rule(params=[w])


def _all_rules_graph(inject, names, dtype="float32"):
    """The rules ``names``, each on its own small params, in one graph: one compile checks them all."""
    rng = np.random.default_rng(7)
    updates, params = {}, []
    for name in names:
        W = pytensor.shared(rng.normal(size=(3, 2)).astype(dtype), name=f"{name}.W")
        b = pytensor.shared(rng.normal(size=2).astype(dtype), name=f"{name}.b")
        loss = pt.sum(pt.tanh(pt.constant(rng.normal(size=(4, 3)).astype(dtype)) @ W + b) ** 2)
        rule = getattr(su, name)
        made = (su.inject_hyperparams(rule) if inject else rule)(loss, [W, b])
        updates.update(made)
        params += [W, b]
        if inject:
            assert made.hyperparams and all(v.dtype == "float64" for v in made.hyperparams.values()), name
    return updates, params


ALL_RULES = CLASSIC_RULES


@pytest.mark.parametrize(
    "names,mode",
    [
        # Every rule, in the graph PyTensor's rewrites make (run by the Python linker: no compiler between).
        (ALL_RULES, Mode(linker="py", optimizer="fast_run")),
        # The compiled NUMBA step (default mode): LLVM's fast-math may reassociate around a runtime scalar
        # differently than around a literal; for these rules it does not (see inject_hyperparams' Notes).
        (["sgd", "momentum", "adam"], None),
    ],
    ids=["rewritten-graph", "numba"],
)
def test_injected_hyperparameters_give_bit_identical_numbers_to_constants(names, mode):
    runs, scaled_products = [], False
    for inject in (False, True):
        updates, params = _all_rules_graph(inject, names)
        step = pytensor.function([], [], updates=updates, mode=mode)
        # PyTensor 2.38 rewrites a constant learning rate times the gradient's matrix product into one BLAS
        # call (Dot22Scalar: alpha * X @ Y in sgemm), and the injected one into the product followed by an
        # elementwise multiply: the same numbers rounded in another order. PyTensor 3 keeps the Dot apart.
        scaled_products |= any(type(n.op).__name__ == "Dot22Scalar" for n in step.maker.fgraph.apply_nodes)
        for _ in range(3):
            step()
        runs.append({p.name: p.get_value() for p in params})
    for name, value in runs[0].items():
        if scaled_products:
            np.testing.assert_allclose(runs[1][name], value, rtol=4 * np.finfo(value.dtype).eps, err_msg=name)
        else:
            assert value.tobytes() == runs[1][name].tobytes(), name


def test_injected_hyperparameters_change_without_recompiling():
    w = pytensor.shared(np.array([1.0, -2.0]), name="w")
    shared_lr, shared_beta1 = pytensor.shared(0.1), pytensor.shared(0.9)
    v = pytensor.shared(np.array([1.0, -2.0]), name="v")
    injected = su.inject_hyperparams(su.adam)((w**2).sum(), [w], learning_rate=0.1)
    by_hand = su.adam((v**2).sum(), [v], learning_rate=shared_lr, beta1=shared_beta1)
    assert sorted(injected.hyperparams) == ["beta1", "beta2", "epsilon", "learning_rate"]
    step = pytensor.function([], [], updates={**injected, **by_hand})
    step()
    for var, value in [
        (injected.hyperparams["learning_rate"], 0.01),
        (shared_lr, 0.01),
        (injected.hyperparams["beta1"], 0.5),
        (shared_beta1, 0.5),
    ]:
        var.set_value(value)
    before = w.get_value()
    step()
    step()
    assert not np.allclose(w.get_value(), before)
    np.testing.assert_array_equal(w.get_value(), v.get_value())


def test_injected_transforms_in_a_chain_are_keyed_by_argument_name():
    w = pytensor.shared(np.ones(2), name="w")
    inject = su.inject_hyperparams
    tx = su.chain(
        inject(su.scale_by_adam)(beta1=0.8),
        inject(su.scale_by_learning_rate)(0.1),
        inject(su.scale_by_learning_rate)(0.5),
    )
    updates = tx((w**2).sum(), [w])
    assert list(updates.hyperparams) == ["beta1", "beta2", "epsilon", "learning_rate", "learning_rate#2"]
    assert updates.hyperparams["beta1"].get_value() == 0.8
    assert updates.hyperparams["learning_rate#2"].get_value() == 0.5


def test_inject_hyperparams_leaves_values_that_cannot_be_symbolic():
    w = pytensor.shared(np.ones(2), name="w")
    updates = su.inject_hyperparams(su.rprop)((w**2).sum(), [w])
    assert "learning_rate" not in updates.hyperparams  # it fills the initial step sizes
    assert set(su.inject_hyperparams(su.adagrad)((w**2).sum(), [w]).hyperparams) == {
        "learning_rate",
        "epsilon",
        "lr_decay",
    }
    with pytest.raises(ValueError, match="beta1 must be in \\[0, 1\\)"):
        su.inject_hyperparams(su.adam)(beta1=1.0)
    with pytest.raises(TypeError, match="multiplicative is not"):
        su.inject_hyperparams(su.multiplicative)()
    with pytest.raises(TypeError, match="declared with rule/transform"):
        su.inject_hyperparams(lambda: None)
