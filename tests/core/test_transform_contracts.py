"""The contracts of symupdates.core: an immutable Transform that declares what it is, one Builder protocol
that every builder implements itself, hyper-parameters checked once per call, schedules resolved without
re-running a transform's body."""

import dataclasses
import inspect

import numpy as np
import pytensor
import pytest

import symupdates as su
import symupdates.core.transform as transform_module
from symupdates.core.builder import Builder, FlatBuilder, SubsetBuilder, UpdateBuilder
from symupdates.core.hyperparams import NONNEGATIVE
from symupdates.core.transform import Transform, transform
from symupdates.wrappers.sparse import _RowBuilder

PROTOCOL = [
    name
    for name, value in vars(Builder).items()
    if not name.startswith("_") and (callable(value) or isinstance(value, property))
] + list(Builder.__annotations__)


def test_the_protocol_lists_what_a_transform_uses():
    assert {"params", "keys", "loss", "slot", "scalar", "counter", "set", "resolve", "gate", "subset"} <= set(
        PROTOCOL
    )


@pytest.mark.parametrize("builder_class", [UpdateBuilder, SubsetBuilder, FlatBuilder, _RowBuilder])
def test_every_builder_implements_the_whole_protocol_itself(builder_class):
    assert not hasattr(builder_class, "__getattr__")
    methods = [name for name in PROTOCOL if name not in Builder.__annotations__]
    for name in methods:
        assert name in vars(builder_class), f"{builder_class.__name__} does not define {name}"
        if isinstance(vars(Builder)[name], property):
            continue
        ours = inspect.signature(getattr(builder_class, name))
        theirs = inspect.signature(getattr(Builder, name))
        assert list(ours.parameters) == list(theirs.parameters), (builder_class.__name__, name)


def test_a_transform_is_immutable_and_replace_makes_a_changed_copy():
    made = su.adam(learning_rate=0.01)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.name = "other"
    renamed = dataclasses.replace(made, name="other")
    assert (made.name, renamed.name) == ("adam", "other")
    assert renamed.parts == made.parts


def test_transforms_declare_their_parts_rows_and_loss():
    adam = su.adam()
    assert [p.name for p in adam.parts] == ["scale_by_adam", "scale_by_learning_rate"]
    assert [p.rowwise for p in adam.parts] == ["lazy", "exact"]
    assert su.scale_by_trust_ratio().rowwise is None
    guarded = su.apply_if_finite(adam)
    assert guarded.parts == (adam,) and guarded.rowwise == "exact"
    assert su.multi_transform({"a": adam, "b": su.sgd()}, lambda p: "a").parts[0] is adam
    assert not adam.needs_loss
    assert su.sam(adam).needs_loss and su.adahessian().needs_loss
    assert su.lookahead(su.sophia()).needs_loss  # through its parts


def test_a_rule_that_needs_the_loss_refuses_gradients_when_it_is_built():
    w = pytensor.shared(np.ones(2), name="w")
    with pytest.raises(ValueError, match="sam needs the loss"):
        su.lookahead(su.sam(su.sgd(learning_rate=0.1)))([2 * w], [w])


def test_each_hyper_parameter_is_checked_once_per_call(monkeypatch):
    checked = []
    original = transform_module.check_hyper
    monkeypatch.setattr(
        transform_module,
        "check_hyper",
        lambda value, name, domain: checked.append(name) or original(value, name, domain),
    )
    w = pytensor.shared(np.ones(2), name="w")
    for rule in (su.adam, su.lamb, su.sgd, su.novograd, su.inject_hyperparams(su.adam)):
        checked.clear()
        rule((w**2).sum(), [w])
        assert len(checked) == len(set(checked)), (rule.__name__, checked)
    checked.clear()
    su.adam(beta1=0.5)
    assert checked.count("beta1") == 1


def test_a_schedule_is_resolved_by_the_builder_without_running_the_body_again():
    calls = []

    @transform(factor=NONNEGATIVE)
    def scale_counted(factor: float) -> object:
        calls.append(factor)

        def build(steps, builder):
            value = builder.resolve(factor)
            return [s * value for s in steps]

        return build

    schedule = su.linear_schedule(1.0, 0.0, 4)
    made = scale_counted(schedule)
    w = pytensor.shared(np.ones(2), name="w")
    updates = su.chain(made, su.scale_by_learning_rate(0.5))(w.sum(), [w])  # gradient 1
    assert calls == [schedule]
    assert [v.name for v in updates.state] == ["schedule.t"]
    step = pytensor.function([], [], updates=updates)
    step()
    np.testing.assert_allclose(w.get_value(), 1 - 0.5 * 1.0)  # the schedule is 1.0 at step 0
    step()
    np.testing.assert_allclose(w.get_value(), 0.5 - 0.5 * 0.75)  # and 0.75 at step 1


def test_docstrings_are_written_out_not_templated():
    for name in su.__all__:
        doc = getattr(getattr(su, name), "__doc__", None) or ""
        assert "{rule_parameters}" not in doc and "{maximize}" not in doc, name
    assert isinstance(su.adam(), Transform)
    assert inspect.signature(su.scale_by_adam).return_annotation is Transform
