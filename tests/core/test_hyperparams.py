"""Bad hyper-parameters are refused at graph-build time with the argument's name."""

import re

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import symupdates
from support.reference import DEFAULTS

RULES = sorted(DEFAULTS)
FLOAT_HYPERS = sorted({k for h in DEFAULTS.values() for k in h if k != "n_win"})

BAD = [
    ("a string", "0.1", TypeError, "must be a number"),
    ("None", None, TypeError, "must be a number"),
    ("a bool", True, TypeError, "must be a number"),
    ("a complex", 1j, TypeError, "must be a real number"),
    ("a vector", pt.vector(), ValueError, "must be a scalar, got a symbolic expression with ndim 1"),
    ("an array", np.ones(2), ValueError, "must be a scalar, got an array of shape"),
    ("an integer-dtype bool tensor", pt.scalar(dtype="bool"), TypeError, "must be a real scalar"),
]


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("what,value,error,message", BAD, ids=[b[0] for b in BAD])
def test_bad_hyperparameters_name_the_argument(rule, what, value, error, message):
    w = pytensor.shared(np.ones(3), name="w")
    for name in DEFAULTS[rule]:
        if name == "n_win":
            continue
        with pytest.raises(error, match=f"{name} {message}"):
            getattr(symupdates, rule)((w**2).sum(), [w], **{name: value})
        # Partial application checks too, before anything is built.
        with pytest.raises(error, match=f"{name} {message}"):
            getattr(symupdates, rule)(**{name: value})


@pytest.mark.parametrize("rule", [r for r in RULES if "epsilon" in DEFAULTS[r]])
@pytest.mark.parametrize("value", [-1e-8, float("nan"), float("inf")])
def test_epsilon_must_be_nonnegative(rule, value):
    w = pytensor.shared(np.ones(3), name="w")
    with pytest.raises(ValueError, match="epsilon must be a finite number >= 0"):
        getattr(symupdates, rule)((w**2).sum(), [w], epsilon=value)


@pytest.mark.parametrize("value", [0, -3, 2.5, "10"])
def test_n_win_must_be_a_positive_integer(value):
    w = pytensor.shared(np.ones(3), name="w")
    with pytest.raises(ValueError, match="n_win must be an integer >= 1"):
        symupdates.adagrad_window((w**2).sum(), [w], n_win=value)


def test_zero_dimensional_arrays_and_numpy_scalars_are_numbers():
    w = pytensor.shared(np.ones(3, dtype="float32"), name="w")
    for lr in [np.array(0.1), np.float64(0.1), np.float32(0.1), np.int64(1)]:
        updates = symupdates.sgd((w**2).sum(), [w], learning_rate=lr)
        assert updates[w].type == w.type


@pytest.mark.parametrize(
    "rule,name",
    [
        ("adagrad", "initial_accumulator_value"),
        ("yogi", "initial_accumulator_value"),
        ("rprop", "learning_rate"),
    ],
)
def test_values_that_fill_initial_state_must_be_numbers(rule, name):
    w = pytensor.shared(np.ones(3), name="w")
    with pytest.raises(TypeError, match=f"{name} must be a number \\(it sets the initial optimizer state\\)"):
        getattr(symupdates, rule)((w**2).sum(), [w], **{name: pytensor.shared(0.1)})


# Documented domains, by argument name: every public rule and transform with such an argument refuses a
# number outside it, naming the argument. (A rule that forgets to declare a domain fails here.)
DOMAINS = {
    **{
        name: ("in [0, 1)", [1.0, -0.1, 1.5])
        for name in ("beta1", "beta2", "rho", "momentum", "decay_in_unit")
    },
    **{
        name: ("a finite number >= 0", [-0.5, float("inf")])
        for name in (
            "learning_rate",
            "epsilon",
            "epsilon1",
            "epsilon2",
            "weight_decay",
            "lr_decay",
            "max_norm",
            "momentum_decay",
            "initial_accumulator_value",
            "min_step",
            "max_step",
            "power",
        )
    },
}
# trace's, parameter_ema's decay is a momentum-like rate; scale_by_inverse_time's is a decay of the rate.
UNIT_DECAYS = {"trace", "parameter_ema"}
# Names that mean something else in these rules: sam's rho is a radius, schedule-free's beta1 an interpolation
# weight (optax's b1, any positive number).
OTHER_MEANINGS = {
    ("sam", "rho"): "radius",
    **{
        (name, "beta1"): "interpolation"
        for name in ("schedule_free", "schedule_free_adamw", "schedule_free_sgd")
    },
}
DOMAINS["radius"] = DOMAINS["learning_rate"]
DOMAINS["interpolation"] = ("a finite number > 0", [0.0, -0.5, float("inf")])


def _declared_with(names):
    """(public name, argument) for every public rule or transform taking one of ``names``."""
    found = []
    for public in symupdates.__all__:
        fn = getattr(symupdates, public)
        if not hasattr(fn, "declaration"):
            continue
        for arg in fn.declaration.signature.parameters:
            key = "decay_in_unit" if arg == "decay" and public in UNIT_DECAYS else arg
            key = OTHER_MEANINGS.get((public, arg), key)
            if key in names:
                found.append((public, arg, key))
    return found


# Values for the arguments without a default.
REQUIRED = {
    "inner": symupdates.sgd(),
    "transforms": {"a": symupdates.sgd()},
    "param_labels": ["a"],
    "decay": 0.5,
    "min_value": -1.0,
    "max_value": 1.0,
    "factor": 1.0,
    "max_norm": 1.0,
    "weight_decay": 0.0,
    "learning_rate": 0.1,
}


@pytest.mark.parametrize("public,arg,key", _declared_with(DOMAINS), ids=lambda v: str(v))
def test_numbers_outside_a_documented_domain_name_the_argument(public, arg, key):
    fn = getattr(symupdates, public)
    params = fn.declaration.signature.parameters
    base = {k: v for k, v in REQUIRED.items() if k in params and params[k].default is params[k].empty}
    text, values = DOMAINS[key]
    for value in values:
        message = f"^{arg} must be {re.escape(text)}, got {re.escape(repr(value))}$"
        with pytest.raises(ValueError, match=message):
            fn(**{**base, arg: value})
    # Symbolic values are not range-checked: their value is only known when the step runs.
    if fn.declaration.domains[arg].symbolic:
        fn(**{**base, arg: pt.dscalar()})


def test_every_rule_with_a_documented_domain_is_covered():
    covered = {public for public, _, _ in _declared_with(DOMAINS)}
    assert set(RULES) <= covered
    assert {"scale_by_adam", "scale_by_rms", "trace", "clip_by_global_norm", "multiplicative"} <= covered
