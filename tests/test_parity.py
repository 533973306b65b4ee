"""Our parity-configured rules reproduce torch.optim's and optax's trajectories (recorded fixtures).

The fixtures under tests/fixtures/parity were written by scripts/record_parity.py with torch==2.13.0 and
optax (float64, 20 steps, one shared problem); this test needs neither. Every call below is a row of the
parity table in docs/optimizers.md. All cases are compiled into ONE function, fed the same gradients.
"""

from pathlib import Path

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import symupdates as su
from test_optimizers_beyond_lasagne import EQUATIONS

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "parity"

# fixture name -> our rule configured to reproduce it (partially applied: a callable (grads, params)).
PARITY = {
    "torch_Adagrad": su.adagrad(learning_rate=0.1, epsilon=1e-10, epsilon_placement="outside"),
    "torch_Adagrad_lr_decay": su.adagrad(
        learning_rate=0.1, epsilon=1e-10, epsilon_placement="outside", lr_decay=0.05, initial_accumulator_value=0.1
    ),
    "torch_Adam": su.adam(learning_rate=0.01, epsilon_placement="outside"),
    "torch_Adam_amsgrad": su.amsgrad(learning_rate=0.01, beta1=0.8, beta2=0.9, epsilon_placement="outside"),
    "torch_AdamW": su.adamw(learning_rate=0.01, weight_decay=0.1),
    "torch_RMSprop": su.rmsprop(learning_rate=0.01, rho=0.99, epsilon=1e-8, epsilon_placement="outside"),
    "torch_NAdam": su.nadam(learning_rate=0.01),
    "torch_RAdam": su.radam(learning_rate=0.01),
    "torch_Adamax": su.adamax(learning_rate=0.01, epsilon_placement="inside"),
    "torch_Adadelta": su.adadelta(learning_rate=1.0, rho=0.9),
    "torch_SGD": su.sgd(learning_rate=0.05),
    "torch_SGD_momentum": su.sgd(learning_rate=0.05, momentum=0.9, weight_decay=0.01),
    "torch_SGD_nesterov": su.sgd(learning_rate=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    "torch_Rprop": su.rprop(learning_rate=0.01),
    "torch_Adafactor": su.adafactor(learning_rate=0.01),
    "torch_Adafactor_weight_decay": su.adafactor(learning_rate=0.01, weight_decay=0.1),
    "optax_adagrad": su.adagrad(learning_rate=0.1, epsilon=1e-7, initial_accumulator_value=0.1),
    "optax_adam": su.adam(learning_rate=0.01, epsilon_placement="outside"),
    "optax_adam_eps_root": su.adam(learning_rate=0.01, epsilon=1e-8, epsilon_placement="inside"),
    "optax_adamw": su.adamw(learning_rate=0.01, weight_decay=0.1),
    "optax_adamax": su.adamax(learning_rate=0.01),
    "optax_rmsprop": su.rmsprop(learning_rate=0.01, rho=0.9, epsilon=1e-8),
    "optax_radam": su.radam(learning_rate=0.01, epsilon_placement="outside"),
    "optax_sgd_nesterov": su.sgd(learning_rate=0.05, momentum=0.9, nesterov=True),
    "optax_lion": su.lion(learning_rate=0.001, weight_decay=1e-3),
    "optax_yogi": su.yogi(learning_rate=0.01),
    "optax_adabelief": su.adabelief(learning_rate=0.01),
    "optax_lamb": su.lamb(learning_rate=0.01, weight_decay=0.01),
    "optax_lars": su.lars(learning_rate=0.1, weight_decay=0.01),
    "optax_novograd": su.novograd(learning_rate=0.01, weight_decay=0.01),
}

# The rules whose defaults are NOT the framework's: the parity options must change their numbers.
DIFFERENT_BY_DEFAULT = {
    "torch_Adagrad": su.adagrad(learning_rate=0.1),
    "torch_Adam": su.adam(learning_rate=0.01),
    "torch_RMSprop": su.rmsprop(learning_rate=0.01, rho=0.99, epsilon=1e-8),
    "optax_adagrad": su.adagrad(learning_rate=0.1),
    "optax_adam": su.adam(learning_rate=0.01),
    "optax_radam": su.radam(learning_rate=0.01),
}
# (torch's Adamax differs from ours by epsilon * (1 - beta2^k) in u: below 1e-6 over these 20 steps, so
# its option is checked above but cannot be shown necessary here.)


def load(name):
    with np.load(FIXTURES / f"{name}.npz", allow_pickle=False) as data:
        n = sum(1 for k in data.files if k.startswith("initial_"))
        return {
            "source": str(data["source"]),
            "initial": [data[f"initial_{k}"] for k in range(n)],
            "grads": [data[f"grads_{k}"] for k in range(n)],
            "trajectory": [data[f"trajectory_{k}"] for k in range(n)],
        }


@pytest.fixture(scope="module")
def results():
    """Every case of PARITY and DIFFERENT_BY_DEFAULT run in one compiled function on the shared problem."""
    fixtures = {name: load(name) for name in PARITY}
    problem = next(iter(fixtures.values()))
    for name, f in fixtures.items():
        for a, b in zip(f["initial"] + f["grads"], problem["initial"] + problem["grads"]):
            np.testing.assert_array_equal(a, b, err_msg=f"{name} was recorded on another problem")
    grads = [pt.tensor(f"g{k}", dtype="float64", shape=g.shape[1:]) for k, g in enumerate(problem["grads"])]
    cases = [(name, rule) for name, rule in PARITY.items()] + [
        ("default " + name, rule) for name, rule in DIFFERENT_BY_DEFAULT.items()
    ]
    params, updates = {}, {}
    for name, rule in cases:
        params[name] = [pytensor.shared(p.copy(), name=f"p{k}") for k, p in enumerate(problem["initial"])]
        updates.update(rule(grads, params[name]))
    # The equations, not a backend, are under test here (tests/test_backends.py compares the backends):
    # the Python linker runs NumPy and compiles nothing, where Numba or C would take minutes on 37 cases.
    step = pytensor.function(grads, [], updates=updates, mode=EQUATIONS)
    history = {name: [[] for _ in problem["initial"]] for name, _ in cases}
    for t in range(problem["grads"][0].shape[0]):
        step(*[g[t] for g in problem["grads"]])
        for name, _ in cases:
            for k, p in enumerate(params[name]):
                history[name][k].append(p.get_value())
    return fixtures, {name: [np.stack(h) for h in hs] for name, hs in history.items()}


@pytest.mark.parametrize("name", sorted(PARITY))
def test_trajectory_matches_recorded_framework(results, name):
    fixtures, ours = results
    for k, (want, got) in enumerate(zip(fixtures[name]["trajectory"], ours[name])):
        assert want.shape == got.shape == (20, *fixtures[name]["initial"][k].shape)
        for t in range(want.shape[0]):
            np.testing.assert_allclose(
                got[t], want[t], rtol=1e-6, atol=1e-12, err_msg=f"{fixtures[name]['source']}, param {k}, step {t + 1}"
            )


@pytest.mark.parametrize("name", sorted(DIFFERENT_BY_DEFAULT))
def test_parity_options_are_needed(results, name):
    fixtures, ours = results
    assert not all(
        np.allclose(got, want, rtol=1e-6, atol=1e-12)
        for got, want in zip(ours["default " + name], fixtures[name]["trajectory"])
    )
