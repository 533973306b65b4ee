"""symupdates and pytensor-ml 0.3 (``symupdates.interop.pytensor_ml``), against the real pytensor-ml.

Both directions of composition are compared, bit for bit, with the same rule used alone: a symupdates rule
or transform as a stage of ``pytensor_ml.optim.chain``, and a pytensor-ml transform inside
``symupdates.chain``, ``apply_if_finite`` and ``multi_transform``. The checkpoint test trains a pytensor-ml
model with symupdates rules, saves it through ``symupdates.save_state`` and through pytensor-ml's own
``save_state`` + ``collect_optimizer_state``, and resumes it in a fresh process.

Skipped where pytensor-ml is not installed (it needs Python >= 3.12), except with
``SYMUPDATES_REQUIRE_PYTENSOR_ML=1`` (CI's pymc6+pytensor-ml leg), where a missing pytensor-ml fails instead.

Run as a script, ``python test_pytensor_ml.py STAGE DIR``, it is a fresh process of the resume test (see
``run_stage``).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

if os.environ.get("SYMUPDATES_REQUIRE_PYTENSOR_ML") or __name__ == "__main__":
    import pytensor_ml
else:
    pytensor_ml = pytest.importorskip(
        "pytensor_ml",
        reason="pytensor-ml is not installed (Python >= 3.12; CI's pymc6+pytensor-ml leg requires it)",
    )

import pytensor_ml.optim as ptml  # noqa: E402
from pytensor_ml.activations import ReLU  # noqa: E402
from pytensor_ml.layers import Input, Linear, Sequential  # noqa: E402
from pytensor_ml.loss import CrossEntropy, supervised_loss  # noqa: E402
from pytensor_ml.model import Model  # noqa: E402
from pytensor_ml.params import trainable  # noqa: E402
from pytensor_ml.pytensorf import collect_optimizer_state, collect_shared_variables  # noqa: E402

import symupdates as su  # noqa: E402
from symupdates.interop.pytensor_ml import from_pytensor_ml  # noqa: E402

N_STEPS = 12
# What is compared is the update graph each side builds (PyTensor's backends are tested elsewhere); the
# model and checkpoint tests compile in the default mode, as pytensor-ml users do.
MODE = "FAST_COMPILE"
RNG = np.random.default_rng(0)
FEATURES = RNG.normal(size=(24, 3))
TARGETS = RNG.normal(size=(24, 2))


def regression():
    """A 3x2 weight and a bias on fixed data, mean squared error: fresh params per call."""
    W = trainable(np.linspace(-0.5, 0.5, 6).reshape(3, 2), name="W")
    b = trainable(np.zeros(2), name="b")
    loss = ((pt.constant(FEATURES) @ W + b - TARGETS) ** 2).mean()
    return W, b, loss


def trajectory(make_updates, steps=N_STEPS):
    """The params after each of ``steps`` compiled steps of ``make_updates(loss, params)``."""
    W, b, loss = regression()
    updates = make_updates(loss, [W, b])
    step = pytensor.function([], loss, updates=updates, mode=MODE)
    path = []
    for _ in range(steps):
        step()
        path.append(np.concatenate([W.get_value().ravel(), b.get_value()]))
    return np.array(path)


def assert_same_path(composed, alone):
    a, b = trajectory(composed), trajectory(alone)
    assert np.all(np.abs(a[-1] - a[0]) > 0), "the rule did not move every param"
    np.testing.assert_array_equal(a, b)


# -- symupdates inside pytensor-ml ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule",
    [
        su.adam(learning_rate=0.05),
        su.schedule_free_adamw(learning_rate=0.05),
        su.chain(su.clip_by_global_norm(0.5), su.scale_by_adam(), su.scale_by_learning_rate(0.05)),
        su.apply_if_finite(su.nesterov_momentum(learning_rate=0.05)),
    ],
    ids=["adam", "schedule_free_adamw", "chain", "apply_if_finite"],
)
def test_our_rule_as_a_stage_of_a_pytensor_ml_chain_follows_the_rule_alone(rule):
    # to_updates is pytensor-ml's own first stage: the Gradients {p: p + g} every chain starts from.
    assert_same_path(lambda loss, params: ptml.chain(ptml.to_updates, rule)(loss, params), rule)


def test_our_rule_after_a_pytensor_ml_clip_and_before_its_weight_decay():
    """The same mixed chain built from either side: pytensor-ml's chain holding ours, ours holding its."""
    theirs = ptml.chain(
        ptml.clip_by_global_norm(0.3), su.adam(learning_rate=0.05), ptml.add_weight_decay(0.1)
    )
    ours = su.chain(
        from_pytensor_ml(ptml.clip_by_global_norm(0.3)),
        su.adam(learning_rate=0.05),
        from_pytensor_ml(ptml.add_weight_decay(0.1), reads="steps"),
    )
    assert_same_path(theirs, ours)


def test_our_clip_between_stages_keeps_the_space_it_reads():
    W, b, loss = regression()
    before = ptml.chain(su.clip_by_global_norm(0.3))(ptml.to_updates(loss, [W, b]), [W, b])
    after = ptml.chain(ptml.adam(0.05), su.clip_by_global_norm(0.01))(loss, [W, b])
    assert type(before) is ptml.Gradients and type(after) is ptml.Steps
    # The state of the stage before (pytensor-ml's adam) travels on with ours.
    assert {v.name for v in after} == {
        "W",
        "b",
        "adam/step_count",
        *(f"{p}/adam/{m}" for p in "Wb" for m in ("first_moment", "second_moment")),
    }
    assert_same_path(
        ptml.chain(su.clip_by_global_norm(0.3), ptml.adam(0.05)),
        su.chain(su.clip_by_global_norm(0.3), from_pytensor_ml(ptml.adam(0.05))),
    )


def test_model_compile_train_with_our_rule_in_its_chain_trains():
    X = Input("X", shape=(None, 3))
    model = Model(Sequential(Linear("fc1", n_in=3, n_out=8), ReLU(), Linear("fc2", n_in=8, n_out=2))(X))
    model.initialize(seed=0)
    step = model.compile_train(
        ptml.chain(ptml.clip_by_global_norm(1.0), su.adam(learning_rate=0.05)),
        CrossEntropy(expect_logits=True),
    )
    labels = (FEATURES[:, 0] > 0).astype("int64")
    losses = [float(step(FEATURES, labels)) for _ in range(30)]
    assert losses[-1] < 0.5 * losses[0]


def test_two_of_our_stateful_stages_in_one_pytensor_ml_chain_get_distinct_state_names():
    W, b, loss = regression()
    updates = ptml.chain(su.scale_by_adam(), su.adam(learning_rate=0.05))(loss, [W, b])
    names = sorted(v.name for v in updates if v not in (W, b))
    assert names == ["W.adam.m", "W.adam.m#2", "W.adam.v", "W.adam.v#2", "adam.t", "adam.t#2"] + [
        "b.adam.m",
        "b.adam.m#2",
        "b.adam.v",
        "b.adam.v#2",
    ]
    pytensor.function([], loss, updates=updates, mode=MODE)()


def test_a_descending_rule_refuses_pytensor_ml_steps():
    W, b, loss = regression()
    steps = ptml.adam(0.05)(loss, [W, b])
    with pytest.raises(
        ValueError, match="adam descends along what it reads, but it was given pytensor-ml Steps"
    ):
        su.adam(learning_rate=0.05)(steps, [W, b])
    with pytest.raises(ValueError, match=r"have no entry for params \['b'\]"):
        su.clip_by_global_norm(1.0)(ptml.Gradients({W: W + 1.0}), [W, b])


# -- pytensor-ml inside symupdates ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, theirs",
    [
        ("adam", lambda: ptml.adam(0.05)),
        ("nadam", lambda: ptml.nadam(0.05)),
        ("sgd", lambda: ptml.sgd(0.05, momentum=0.9, nesterov=True)),
        ("rprop", lambda: ptml.rprop(0.01)),
        ("scheduled", lambda: ptml.adam(ptml.cosine_schedule(0.05, total_steps=20))),
        (
            "chain",
            lambda: ptml.chain(
                ptml.clip_by_value(-0.5, 0.5), ptml.adamw(0.05), ptml.clip_by_global_norm(1.0)
            ),
        ),
        ("apply_if_finite", lambda: ptml.apply_if_finite(ptml.rmsprop(0.01))),
    ],
)
def test_their_rule_inside_our_chain_and_guard_follows_the_rule_alone(name, theirs):
    assert_same_path(su.chain(from_pytensor_ml(theirs())), theirs())
    assert_same_path(su.apply_if_finite(from_pytensor_ml(theirs())), theirs())


def test_their_rule_wrapped_by_us_is_a_rule_in_their_chain_again():
    wrapped = su.chain(su.clip_by_global_norm(100.0), from_pytensor_ml(ptml.adam(0.05)))
    W, b, loss = regression()
    assert type(ptml.chain(ptml.to_updates, wrapped)(loss, [W, b])) is ptml.Steps
    assert_same_path(lambda loss, params: ptml.chain(ptml.to_updates, wrapped)(loss, params), wrapped)


def test_their_rule_inside_multi_transform_follows_each_rule_alone():
    def alone(loss, params):
        W, b = params
        return {**ptml.adam(0.05)(loss, [W]), **su.sgd(loss, [b], learning_rate=0.1)}

    def grouped(loss, params):
        return su.multi_transform(
            {"weights": from_pytensor_ml(ptml.adam(0.05)), "biases": su.sgd(learning_rate=0.1)},
            lambda p: "weights" if p.ndim > 1 else "biases",
        )(loss, params)

    assert_same_path(grouped, alone)
    W, b, loss = regression()
    updates = grouped(loss, [W, b])
    assert [entry.name for entry in su.state_of(updates)] == [
        "adam.step_count",
        "W.adam.first_moment",
        "W.adam.second_moment",
    ]


def test_their_state_is_named_like_ours_and_their_clock_advances():
    W, b, loss = regression()
    W.name = b.name = "layer_W"  # two params of one name: symupdates tells them apart by position
    schedule = ptml.cosine_schedule(0.05, total_steps=20)
    updates = su.chain(
        from_pytensor_ml(ptml.adam(1.0)),
        from_pytensor_ml(ptml.scale_by_schedule(schedule), reads="steps"),
    )(loss, [W, b])
    names = [v.name for v in updates.state]
    assert names == [
        "adam.step_count",
        "layer_W[0].adam.first_moment",
        "layer_W[0].adam.second_moment",
        "layer_W[1].adam.first_moment",
        "layer_W[1].adam.second_moment",
        "scale_by_schedule.step_count",
    ]
    step = pytensor.function([], loss, updates=updates, mode=MODE)
    step(), step()
    clocks = {v.name: int(v.get_value()) for v in updates.state if v.name.endswith("step_count")}
    assert clocks == {"adam.step_count": 2, "scale_by_schedule.step_count": 2}
    # The n-th variable of a slot under the shared name went to the n-th param of that name.
    assert updates.state[1].get_value().shape == (3, 2) and updates.state[3].get_value().shape == (2,)


def test_our_guard_holds_back_their_state_on_a_nonfinite_gradient():
    W, b, _ = regression()
    rule = su.apply_if_finite(from_pytensor_ml(ptml.adam(0.05)))
    updates = rule([pt.constant(np.full((3, 2), np.nan)), pt.zeros(2)], [W, b])
    values = pytensor.function([], list(updates.values()), mode=MODE)()
    for var, value in zip(updates, values, strict=True):
        expected = 1 if var.name == "apply_if_finite.skipped" else var.get_value()
        np.testing.assert_array_equal(value, expected)


def test_from_pytensor_ml_refusals_name_the_argument():
    with pytest.raises(ValueError, match="reads must be one of 'gradients', 'steps', got 'step'"):
        from_pytensor_ml(ptml.adam(0.05), reads="step")
    with pytest.raises(TypeError, match="transform must be a pytensor-ml transform"):
        from_pytensor_ml(0.05)
    W, b, loss = regression()
    with pytest.raises(ValueError, match=r"returned no update for params \['b'\]"):
        su.chain(from_pytensor_ml(lambda u, ps: ptml.Steps({ps[0]: u[ps[0]]})))(loss, [W, b])


# -- one checkpoint --------------------------------------------------------------------------------------

CHECKPOINT_STEPS, RESUMED_STEPS = 7, 6


def digits_like():
    rng = np.random.default_rng(1)
    features = rng.normal(size=(32, 6))
    return features, (features[:, 0] + features[:, 1] > 0).astype("int64")


def pytensor_ml_run(kind):
    """A pytensor-ml model, its step and the updates of the rule: ``kind`` says which side holds the chain."""
    X = Input("X", shape=(None, 6))
    model = Model(Sequential(Linear("fc1", n_in=6, n_out=5), ReLU(), Linear("fc2", n_in=5, n_out=2))(X))
    model.initialize(seed=0)
    loss, target = supervised_loss(model.y, CrossEntropy(expect_logits=True))
    if kind == "pytensor_ml_chain":  # symupdates rules in pytensor-ml's chain; state of both
        rule = ptml.chain(
            ptml.clip_by_global_norm(1.0),
            su.multi_transform(
                {
                    "matrices": su.muon(learning_rate=0.02),
                    "vectors": su.schedule_free_adamw(learning_rate=0.02),
                },
                lambda p: "matrices" if p.ndim == 2 else "vectors",
            ),
            ptml.scale_by_schedule(ptml.linear_schedule(1.0, total_steps=20, final_learning_rate=0.5)),
        )
    else:  # pytensor-ml's rule in symupdates' chain and guard
        rule = su.apply_if_finite(
            su.chain(
                su.clip_by_global_norm(1.0), from_pytensor_ml(ptml.nadam(ptml.cosine_schedule(0.02, 20)))
            )
        )
    updates = rule(loss, model.weights)
    step = model.compile_train(updates, loss=loss, inputs=[X, target])
    return model, step, updates


def run_stage(stage, directory):
    """``uninterrupted``: train, checkpoint, train on; ``resume``: load the checkpoints, train on.

    Each run writes its final params to ``DIRECTORY/<kind>.<format>.<stage>.npz``. Both stages run in fresh
    processes after the test's own process compiled the steps: in NUMBA mode a process that compiled a step
    and one that loaded it from PyTensor's cache can differ in the last bit (README, "Using with PyMC"),
    which is not the checkpoint's doing.
    """
    from pytensor_ml import load_state, save_state

    features, labels = digits_like()
    directory = Path(directory)
    for kind in ("pytensor_ml_chain", "symupdates_chain"):
        for file_format in ("symupdates", "pytensor_ml"):
            model, step, updates = pytensor_ml_run(kind)
            path = directory / f"{kind}.{file_format}"
            everything = [
                *collect_shared_variables(model.y),
                *collect_optimizer_state(updates, model.weights),
            ]
            if stage == "uninterrupted":
                for _ in range(CHECKPOINT_STEPS):
                    step(features, labels)
                if file_format == "symupdates":
                    su.save_state(updates, path, include_params=True)
                else:
                    save_state(everything, path)
            else:
                if file_format == "symupdates":
                    su.load_state(updates, path, include_params=True)
                else:
                    load_state(everything, path)
            for _ in range(RESUMED_STEPS):
                step(features, labels)
            np.savez(f"{path}.{stage}.npz", *[w.get_value() for w in model.weights])


def test_a_pytensor_ml_model_trained_with_our_rules_resumes_bit_for_bit_in_a_new_process(tmp_path):
    # Compiled here first, so that both fresh processes load the steps from PyTensor's cache and run the
    # same machine code.
    for kind in ("pytensor_ml_chain", "symupdates_chain"):
        _, step, _ = pytensor_ml_run(kind)
        step(*digits_like())
    for stage in ("uninterrupted", "resume"):
        subprocess.run([sys.executable, __file__, stage, str(tmp_path)], check=True)
    for kind in ("pytensor_ml_chain", "symupdates_chain"):
        for file_format in ("symupdates", "pytensor_ml"):
            base = tmp_path / f"{kind}.{file_format}"
            uninterrupted, resumed = np.load(f"{base}.uninterrupted.npz"), np.load(f"{base}.resume.npz")
            assert len(uninterrupted.files) == 4
            for key in uninterrupted.files:
                np.testing.assert_array_equal(uninterrupted[key], resumed[key], err_msg=f"{base.name} {key}")


def test_checkpoint_holds_the_state_of_both_libraries_and_refusals_name_it(tmp_path):
    model, step, updates = pytensor_ml_run("pytensor_ml_chain")
    # symupdates' state named as symupdates names it, pytensor-ml's as pytensor-ml does, in one dict.
    assert [entry.name for entry in su.state_of(updates)] == [
        *(
            f"{p}.{slot}"
            for p in ("fc2_b", "fc2_W", "fc1_b", "fc1_W")
            for slot in (
                ("muon.momentum",) if p.endswith("W") else ("schedule_free_adamw.v", "schedule_free.z")
            )
        ),
        "schedule_free.max_lr",
        "schedule_free.weight_sum",
        "schedule_free_adamw.t",
        "scale_by_schedule/step_count",
    ]
    path = tmp_path / "run.npz"
    su.save_state(updates, path, include_params=True)
    other_model, _, other = pytensor_ml_run("symupdates_chain")
    with pytest.raises(
        su.CheckpointError,
        match=r"was written by another optimizer: pytensor_ml\(\); these updates come from apply_if_finite",
    ):
        su.load_state(other, path)
    from pytensor_ml import load_state, save_state

    save_state(
        [*collect_shared_variables(model.y), *collect_optimizer_state(updates, model.weights)], tmp_path / "a"
    )
    with pytest.raises(ValueError, match="Archive keys do not match the targets"):
        load_state(
            [*collect_shared_variables(other_model.y), *collect_optimizer_state(other, other_model.weights)],
            tmp_path / "a",
        )


def test_the_convnet_example_trains_three_nets_and_draws_them(tmp_path):
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [
            sys.executable,
            str(root / "examples" / "pytensor_ml_convnet.py"),
            "--epochs",
            "1",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert result.returncode == 0, result.stderr
    accuracies = re.findall(r"^(.+): held-out accuracy per epoch ([0-9.]+)$", result.stdout, flags=re.M)
    assert [name.split(" ")[0] for name, _ in accuracies] == ["pytensor-ml", "Muon", "schedule-free"]
    assert all(0.5 < float(accuracy) <= 1 for _, accuracy in accuracies)  # ten classes: 0.1 by chance
    assert (tmp_path / "pytensor_ml_convnet.png").stat().st_size > 10_000


if __name__ == "__main__":
    run_stage(sys.argv[1], sys.argv[2])
