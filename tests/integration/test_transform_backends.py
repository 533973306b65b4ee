"""The clipping transforms, wrappers and schedules give the same numbers in PyTensor's NUMBA, CVM and JAX
modes: one compiled function exercises all of them, skipped steps included."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import symupdates as su
from support.modes import require_mode
from support.params import gradient_sequence, make_params

# Two vectors: loops of one rank compile once per structure, which keeps the C compilation short.
SHAPES = [(3,), (2,)]
_trajectories = {}


def is_long(p):
    return p.get_value().size > 2


def build_rules(loss):
    warmup = su.warmup_cosine_decay_schedule(0.0, 0.1, 2, 12)
    guarded = su.apply_if_finite(
        su.parameter_ema(
            su.lookahead(
                su.accumulate_gradients(
                    su.chain(
                        su.clip_by_global_norm(1.0),
                        su.clip_by_value(-0.5, 0.5),
                        su.clip_by_norm(0.8),
                        su.scale_by_adam(),
                        su.scale_by_learning_rate(warmup),
                    ),
                    2,
                ),
                2,
            ),
            0.9,
        )
    )
    joined = su.join_schedules(
        [su.sgdr_schedule(0.1, 3, 2), su.exponential_decay(0.05, 2, 0.7, staircase=True)], [6]
    )
    grouped = su.chain(
        su.masked(su.clip_by_norm(0.5), is_long),
        su.multi_transform(
            {
                "w": su.adam(learning_rate=su.cosine_onecycle_schedule(10, 0.2)),
                "b": su.sgd(learning_rate=joined),
            },
            lambda p: "w" if is_long(p) else "b",
        ),
        su.scale(su.reduce_on_plateau(loss, patience=2, cooldown=1, factor=0.5)),
    )
    return guarded, grouped


def trajectory(mode):
    """Both rules in one compiled function, on float64 params (the float32 numbers are checked against
    NumPy in the modules' tests; C compilation of a second copy of the graph would double this test)."""
    loss = pt.dscalar("loss")
    guarded, grouped = build_rules(loss)
    params_a = make_params("float64", seed=12, shapes=SHAPES, prefix="a")
    params_b = make_params("float64", seed=13, shapes=SHAPES, prefix="b")
    grads = [pt.tensor(dtype=p.dtype, shape=p.type.shape) for p in params_a + params_b]
    updates = guarded(grads[:2], params_a)
    updates.update(grouped(grads[2:], params_b))
    fn = pytensor.function([*grads, loss], [], updates=updates, mode=mode)
    sequence = gradient_sequence(params_a, 10, seed=14)
    sequence[4][1] = np.full_like(sequence[4][1], np.nan)  # the guarded rule skips it
    unguarded = gradient_sequence(params_b, 10, seed=15)
    losses = [3.0, 2.0, 2.5, 2.4, np.nan, 2.6, 2.7, 1.0, 1.5, 1.4]
    history = []
    for step, other, value in zip(sequence, unguarded, losses, strict=True):
        fn(*step, *other, value)
        history.append([v.get_value().copy() for v in updates])
    return [v.name for v in updates], history


@pytest.mark.parametrize("mode", ["CVM", "JAX"])
def test_transforms_wrappers_and_schedules_agree_with_numba(mode):
    require_mode(mode)
    if "NUMBA" not in _trajectories:
        _trajectories["NUMBA"] = trajectory("NUMBA")
    names, expected = _trajectories["NUMBA"]
    got_names, got = trajectory(mode)
    assert got_names == names
    for step, (want_values, got_values) in enumerate(zip(expected, got, strict=True)):
        for name, want, value in zip(names, want_values, got_values, strict=True):
            assert value.dtype == want.dtype, name
            np.testing.assert_allclose(value, want, rtol=1e-12, atol=1e-300, err_msg=f"{name} at step {step}")
