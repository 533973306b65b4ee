"""Clipping transforms against NumPy implementations of their definitions (optax's forms), all three in one
compiled function over float32 and float64 params."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import symupdates as su
from support.params import gradient_sequence, make_params

# A scalar and a matrix per dtype (the core's tests cover every rank); few shapes keep compilation short.
SHAPES = [(), (2, 3)]
TOLERANCE = {"float64": 1e-10, "float32": 2e-6}
LR = 0.1


def mixed_params(prefix):
    return make_params("float64", seed=3, shapes=SHAPES, prefix=prefix + "d") + make_params(
        "float32", seed=3, shapes=SHAPES, prefix=prefix + "s"
    )


def ref_clip_by_value(grads, low, high):
    return [np.clip(g, g.dtype.type(low), g.dtype.type(high)) for g in grads]


def ref_clip_by_norm(grads, max_norm):
    out = []
    for g in grads:
        norm = np.sqrt(np.sum(g**2, dtype=np.float64))
        out.append(g if norm <= max_norm else (g * (max_norm / norm)).astype(g.dtype))
    return out


def global_norm(grads):
    return np.sqrt(sum(np.sum(g**2, dtype=np.float64) for g in grads))


def ref_clip_by_global_norm(grads, max_norm):
    norm = global_norm(grads)
    return [g if norm <= max_norm else (g * (max_norm / norm)).astype(g.dtype) for g in grads]


@pytest.mark.fast
def test_clipping_matches_numpy_over_several_steps_in_both_dtypes():
    cases = {
        "value": (su.clip_by_value(-0.5, 0.8), lambda gs: ref_clip_by_value(gs, -0.5, 0.8)),
        "norm": (su.clip_by_norm(1.5), lambda gs: ref_clip_by_norm(gs, 1.5)),
        "global": (su.clip_by_global_norm(2.5), lambda gs: ref_clip_by_global_norm(gs, 2.5)),
    }
    params = {name: mixed_params(name) for name in cases}
    grads = {name: [pt.tensor(dtype=p.dtype, shape=p.type.shape) for p in ps] for name, ps in params.items()}
    updates = {}
    monitors = []
    for name, (clip, _) in cases.items():
        u = su.chain(clip, su.scale_by_learning_rate(LR))(grads[name], params[name])
        updates.update(u)
        monitors.append(u.monitors)
    assert "global_norm" in monitors[2] and "global_norm" not in monitors[0]
    fn = pytensor.function(sum(grads.values(), []), monitors[2]["global_norm"], updates=updates)

    values = {name: [p.get_value() for p in ps] for name, ps in params.items()}
    # Shrinking gradients: early steps are clipped, late ones pass through unchanged.
    sequence = gradient_sequence(params["value"], 8, seed=4, shrink=0.7)
    clipped = {"value": 0, "norm": 0, "global": 0}
    for step in sequence:
        norm = fn(*(step * len(cases)))
        np.testing.assert_allclose(norm, global_norm(step), rtol=1e-6)
        for name, (_, ref) in cases.items():
            steps = ref(step)
            clipped[name] += any(not np.array_equal(s, g) for s, g in zip(steps, step, strict=True))
            values[name] = [v - v.dtype.type(LR) * s for v, s in zip(values[name], steps, strict=True)]
            for p, want in zip(params[name], values[name], strict=True):
                got = p.get_value()
                assert got.dtype == want.dtype
                np.testing.assert_allclose(
                    got, want, rtol=TOLERANCE[p.dtype], atol=TOLERANCE[p.dtype], err_msg=f"{name} {p.name}"
                )
    assert all(0 < n < len(sequence) for n in clipped.values()), clipped


def test_clipping_argument_errors():
    with pytest.raises(ValueError, match="min_value must be <= max_value"):
        su.clip_by_value(1.0, -1.0)
    with pytest.raises(ValueError, match="max_norm must be a finite number >= 0"):
        su.clip_by_global_norm(-1.0)
    with pytest.raises(TypeError, match="max_norm must be a number"):
        su.clip_by_norm("1")
