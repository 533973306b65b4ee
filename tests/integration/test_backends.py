"""Every rule gives the same numbers in PyTensor's NUMBA, CVM (C) and JAX modes, and compiles to one fused,
in-place elementwise loop per parameter."""

import numpy as np
import pytest

import symupdates
from support.modes import require_mode
from support.params import compile_with_grad_inputs, gradient_sequence, make_params
from support.reference import DEFAULTS, OTHER
from support.reference_more import DEFAULTS_MORE, OTHER_MORE

# Every rule with its non-default test setting; a new module of rules adds its dict here.
HYPER = {**OTHER, **OTHER_MORE}
RULES = sorted({**DEFAULTS, **DEFAULTS_MORE})
# Rules that need per-tensor reductions (norms, row/column means): their state and param updates are
# in-place elementwise loops, but the reduction sits between them, so they cannot be ONE loop.
REDUCING = {"lamb", "lars", "adafactor", "novograd", "prodigy", "dadapt_adamw"}
# Matrix rules (muon's Newton-Schulz): neither elementwise nor defined on vectors.
MATRIX = {"muon"}
# Compile budget: the rules beyond Lasagne are checked on one (matrix) param, and for fusion in float32 only
# (where a stray float64 constant would break the loop); each extra shape or dtype is another compile.
SHAPES = {rule: [(2, 3)] for rule in DEFAULTS_MORE} | {"muon": [(2, 3), (3, 2)]}
FUSION_CASES = [(rule, dtype) for rule in sorted(DEFAULTS) for dtype in ("float64", "float32")] + [
    (rule, "float32") for rule in sorted(DEFAULTS_MORE) if rule not in MATRIX
]
_trajectories = {}


def trajectory(rule, mode):
    """Params and state after each of 10 steps of ``rule`` in ``mode`` (float64, same data every time)."""
    params = make_params("float64", seed=5, shapes=SHAPES.get(rule, [(3,), (2, 3)]))
    fn, updates = compile_with_grad_inputs(getattr(symupdates, rule), params, mode=mode, **HYPER[rule])
    history = []
    for g in gradient_sequence(params, 10, seed=6):
        fn(*g)
        history.append([v.get_value().copy() for v in updates])
    return [v.name for v in updates], history


@pytest.mark.parametrize("mode", ["CVM", "JAX"])
@pytest.mark.parametrize("rule", RULES)
def test_backends_agree_with_numba(rule, mode):
    require_mode(mode)
    if (rule, "NUMBA") not in _trajectories:
        _trajectories[rule, "NUMBA"] = trajectory(rule, "NUMBA")
    names, expected = _trajectories[rule, "NUMBA"]
    got_names, got = trajectory(rule, mode)
    assert got_names == names
    for step, (want_values, got_values) in enumerate(zip(expected, got, strict=True)):
        for name, want, value in zip(names, want_values, got_values, strict=True):
            assert value.dtype == want.dtype
            np.testing.assert_allclose(value, want, rtol=1e-12, atol=1e-300, err_msg=f"{name} at step {step}")


@pytest.mark.parametrize("rule, dtype", FUSION_CASES)
def test_one_fused_inplace_loop_per_parameter(rule, dtype):
    (param,) = make_params(dtype, shapes=[(7,)])
    fn, updates = compile_with_grad_inputs(getattr(symupdates, rule), [param], mode="CVM")
    report = symupdates.inspect_step(fn)
    per_param = [v for v in updates if v is param or v.type.ndim > 0]
    if rule == "adagrad_window":
        # A window write and its sum are not elementwise: the buffer is written in place by a
        # set_subtensor and the param by one fused in-place loop.
        (window,) = [v for v in per_param if v.name.endswith(".accu")]
        assert report.of(window)["in_place"], report.of(window)
        per_param = [param]
    record = report.of(param)
    assert record["in_place"], f"the update does not work in place: {record}"
    if rule in REDUCING:
        # A norm needs the whole direction before the param's loop can run: each update is an in-place
        # loop of its own, reading the direction another loop wrote.
        for v in per_param:
            assert report.of(v)["in_place"], report.of(v)
        return
    assert record["fused"], f"{param.name} is updated by {record['node']}"
    assert {report.of(v)["loop"] for v in per_param} == {record["loop"]}, str(report)
