"""Merging the updates of several rules (``Updates.update``, ``|``, ``|=``, ``symupdates.merge``): nothing of
either rule is lost, nothing is silently replaced, checkpoint names stay unique and deterministic. The
bit-identical resume of merged rules in a fresh process is in test_checkpoint.py (checkpoint_cases)."""

from collections import OrderedDict

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import symupdates as su


def layers(names=("W1", "W2", "W3")):
    params = [pytensor.shared(np.full((2, 3), i + 1.0), name=n) for i, n in enumerate(names)]
    return params, sum((p**2).sum() for p in params)


def snapshot(updates):
    return (
        list(updates.items()),
        list(updates.params),
        [(v, v.name) for v in updates.state],
        updates.rule,
        dict(updates.monitors),
    )


def test_update_merges_entries_params_state_rule_and_monitors():
    (W1, W2, _), loss = layers()
    first, second = su.adam(loss, [W1], learning_rate=0.1), su.adam(loss, [W2], learning_rate=0.01)
    expected_items = [*first.items(), *second.items()]
    first_rule, second_rule = first.rule, second.rule
    first.update(second)
    assert list(first.items()) == expected_items  # the very expressions, in order: the step is unchanged
    assert first.params == [W1, W2]
    assert [v.name for v in first.state] == [
        "adam.t",
        "W1.adam.m",
        "W1.adam.v",
        "adam.t#2",
        "W2.adam.m",
        "W2.adam.v",
    ]
    assert first.rule == {"name": "merge", "config": {"rules": [first_rule, second_rule]}}
    assert first.rule["config"]["rules"][1]["config"]["learning_rate"] == 0.01
    assert list(first.monitors) == ["learning_rate", "learning_rate#2"]
    assert first.monitors["learning_rate#2"] is second.monitors["learning_rate"]


def test_or_ior_and_merge_agree_and_or_leaves_its_operands_alone():
    def build():
        (W1, W2, W3), loss = layers()
        return [su.adam(loss, [W1]), su.rmsprop(loss, [W2], learning_rate=0.1), su.adam(loss, [W3])]

    a, b, c = build()
    before = snapshot(a), snapshot(b)
    merged = a | b
    assert (snapshot(a), snapshot(b)) == before
    merged = merged | c

    a2, b2, c2 = build()
    accumulated = su.Updates()
    accumulated |= a2
    accumulated |= b2
    accumulated.update(c2)

    a3, b3, c3 = build()
    for result in (accumulated, su.merge(a3, b3, c3)):
        assert isinstance(result, su.Updates)
        assert [v.name for v in result] == [v.name for v in merged]
        assert [v.name for v in result.state] == [v.name for v in merged.state]
        assert [p.name for p in result.params] == ["W1", "W2", "W3"]
        assert result.rule == merged.rule
        assert [r["name"] for r in result.rule["config"]["rules"]] == ["adam", "rmsprop", "adam"]
    # Three adams' counters: the names a rebuilt script gets again.
    assert [v.name for v in merged.state if v.name.startswith("adam.t")] == ["adam.t", "adam.t#2"]
    assert su.merge(a3).rule == a3.rule and su.merge().rule is None


def test_state_names_are_unique_and_the_same_when_the_script_is_rebuilt():
    def build():
        params, loss = layers(names=("W", "W", "W"))  # Lasagne names every dense layer's weights W
        return su.merge(*(su.adam(loss, [p], learning_rate=0.1 / (i + 1)) for i, p in enumerate(params)))

    names = [v.name for v in build().state]
    assert len(set(names)) == len(names) == 9
    assert names == [v.name for v in build().state]
    assert names[:3] == ["adam.t", "W.adam.m", "W.adam.v"] and names[-3:] == [
        "adam.t#3",
        "W.adam.m#3",
        "W.adam.v#3",
    ]


def test_a_renamed_name_never_collides_with_a_name_the_incoming_rule_already_has():
    (W1, W2, W3), loss = layers()
    first = su.adam(loss, [W1])
    second = su.merge(su.adam(loss, [W2]), su.adam(loss, [W3]))  # its counters: adam.t, adam.t#2
    counters = [v.name for v in su.merge(first, second).state if v.name.startswith("adam.t")]
    assert counters == ["adam.t", "adam.t#3", "adam.t#2"]


@pytest.mark.parametrize("how", ["update", "or", "ior", "merge"])
def test_a_param_updated_by_two_rules_is_refused_and_nothing_changes(how):
    (W1, W2, _), loss = layers()
    first = su.adam(loss, [W1, W2])
    second = su.sgd(loss, [W2], learning_rate=0.1)
    before = snapshot(first), snapshot(second)
    with pytest.raises(ValueError, match=r"cannot merge: 'W2' \(a param\) is already updated"):
        if how == "update":
            first.update(second)
        elif how == "or":
            first | second
        elif how == "ior":
            first |= second
        else:
            su.merge(first, second)
    assert (snapshot(first), snapshot(second)) == before


def test_state_merged_twice_and_a_plain_dict_replacing_an_entry_are_refused():
    (W1, W2, _), loss = layers()
    first, second = su.adam(loss, [W1]), su.adam(loss, [W2])
    merged = first | second
    with pytest.raises(ValueError, match=r"'W2.adam.m' \(state\) is already updated"):
        merged.update(su.Updates({v: merged[v] for v in second.state[1:]}, state=second.state[1:]))
    with pytest.raises(ValueError, match=r"'W1' \(an entry\) is already updated"):
        merged.update({W1: W1 - 0.1})
    with pytest.raises(ValueError, match=r"'W1.adam.v' \(an entry\)"):
        merged.update(OrderedDict([(first.state[2], pt.zeros_like(first.state[2]))]))


def test_item_assignment_still_replaces_an_entry_as_in_lasagne():
    (W1, _, _), loss = layers()
    updates = su.adam(loss, [W1])
    constrained = su.norm_constraint(updates[W1], max_norm=1.0)
    updates[W1] = constrained
    assert updates[W1] is constrained and updates.params == [W1]


def test_keys_must_be_shared_variables():
    (W1, _, _), loss = layers()
    updates = su.adam(loss, [W1])
    with pytest.raises(TypeError, match="the key 'W1' is a str, not a shared variable"):
        updates.update({"W1": W1 + 1})
    with pytest.raises(TypeError, match="no keyword arguments"):
        updates.update(W1=W1 + 1)


def test_foreign_entries_are_stepped_but_refused_by_checkpoints(tmp_path):
    (W1, _, _), loss = layers()
    running_mean = pytensor.shared(np.zeros(3), name="running_mean")
    updates = su.adam(loss, [W1])
    optimizer_only = updates.copy()
    updates.update({running_mean: 0.9 * running_mean + 0.1 * W1.mean(axis=0)})
    assert running_mean in updates and updates.params == [W1] and updates.rule == optimizer_only.rule
    with pytest.raises(ValueError, match=r"entry for 'running_mean', which is neither one of its params nor"):
        su.save_state(updates, tmp_path / "ckpt.npz")
    assert not (tmp_path / "ckpt.npz").exists()
    su.save_state(optimizer_only, tmp_path / "ckpt.npz")
    with pytest.raises(ValueError, match="running_mean"):
        su.load_state(updates, tmp_path / "ckpt.npz")
    # a plain dict merged the old way is refused with the supported way named
    with pytest.raises(TypeError, match=r"got OrderedDict; .* symupdates\.merge"):
        su.save_state(OrderedDict(optimizer_only), tmp_path / "ckpt.npz")


def test_a_checkpoint_of_merged_rules_loads_only_into_the_same_merge(tmp_path):
    def build(rules=(su.adam, su.adam)):
        (W1, W2, _), loss = layers()
        return su.merge(*(rule(loss, [p]) for rule, p in zip(rules, (W1, W2), strict=True)))

    su.save_state(build(), tmp_path / "ckpt.npz", include_params=True)
    su.load_state(build(), tmp_path / "ckpt.npz")
    with pytest.raises(su.CheckpointError, match=r"another optimizer: merge\(rules=\[adam\(.*\), adam\("):
        su.load_state(build(rules=(su.adam, su.amsgrad)), tmp_path / "ckpt.npz")
    (W1, _, _), loss = layers()
    with pytest.raises(su.CheckpointError, match="another optimizer"):
        su.load_state(su.adam(loss, [W1]), tmp_path / "ckpt.npz")
