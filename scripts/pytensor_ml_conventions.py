"""How far pytensor-ml's rules and symupdates' same-named rules drift apart; the options that make them agree.

Each pytensor-ml 0.3 rule and one or more symupdates calls (the same hyper-parameters, then the option
that reproduces pytensor-ml's arithmetic, where there is one) train the same least-squares problem for
``--steps`` steps from the same start; the table gives the largest absolute difference of the params
(0 means bit for bit). docs/pytensor_ml.md quotes it. Needs pytensor-ml (Python >= 3.12).

    python scripts/pytensor_ml_conventions.py
"""

import argparse
import warnings

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytensor_ml.optim as ptml
from pytensor_ml.params import trainable

import symupdates as su
from symupdates.interop.pytensor_ml import from_pytensor_ml

warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")

RNG = np.random.default_rng(0)
FEATURES, TARGETS = RNG.normal(size=(64, 5)), RNG.normal(size=(64, 3))

# pytensor-ml rule -> symupdates calls with the same hyper-parameters, the first with symupdates' defaults.
PAIRS = {
    "sgd": (ptml.sgd(0.05), {"su.sgd(learning_rate=0.05)": su.sgd(learning_rate=0.05)}),
    "sgd, momentum 0.9": (
        ptml.sgd(0.05, momentum=0.9),
        {"su.sgd(learning_rate=0.05, momentum=0.9)": su.sgd(learning_rate=0.05, momentum=0.9)},
    ),
    "adam": (
        ptml.adam(0.05),
        {
            "su.adam(learning_rate=0.05)": su.adam(learning_rate=0.05),
            'su.adam(learning_rate=0.05, epsilon_placement="outside")': su.adam(
                learning_rate=0.05, epsilon_placement="outside"
            ),
        },
    ),
    "adamw": (ptml.adamw(0.05), {"su.adamw(learning_rate=0.05)": su.adamw(learning_rate=0.05)}),
    "adamax": (
        ptml.adamax(0.05),
        {
            "su.adamax(learning_rate=0.05)": su.adamax(learning_rate=0.05),
            'su.adamax(learning_rate=0.05, epsilon_placement="inside")': su.adamax(
                learning_rate=0.05, epsilon_placement="inside"
            ),
        },
    ),
    "nadam": (
        ptml.nadam(0.05),
        {
            "su.nadam(learning_rate=0.05)": su.nadam(learning_rate=0.05),
            "su.chain(from_pytensor_ml(ptml.nadam(0.05)))": su.chain(from_pytensor_ml(ptml.nadam(0.05))),
        },
    ),
    "rmsprop": (
        ptml.rmsprop(0.01),
        {
            "su.rmsprop(learning_rate=0.01, epsilon=1e-8)": su.rmsprop(learning_rate=0.01, epsilon=1e-8),
            'su.rmsprop(learning_rate=0.01, epsilon=1e-8, epsilon_placement="outside")': su.rmsprop(
                learning_rate=0.01, epsilon=1e-8, epsilon_placement="outside"
            ),
        },
    ),
    "adagrad": (
        ptml.adagrad(0.05),
        {
            "su.adagrad(learning_rate=0.05, epsilon=1e-8)": su.adagrad(learning_rate=0.05, epsilon=1e-8),
            'su.adagrad(learning_rate=0.05, epsilon=1e-8, epsilon_placement="outside")': su.adagrad(
                learning_rate=0.05, epsilon=1e-8, epsilon_placement="outside"
            ),
        },
    ),
    "adadelta": (
        ptml.adadelta(1.0),
        {
            "su.adadelta(learning_rate=1.0, rho=0.9, epsilon=1e-8)": su.adadelta(
                learning_rate=1.0, rho=0.9, epsilon=1e-8
            )
        },
    ),
    "rprop": (ptml.rprop(0.01), {"su.rprop(learning_rate=0.01)": su.rprop(learning_rate=0.01)}),
}


def final_params(rule, steps, mode):
    """The params after ``steps`` steps of ``rule`` on the least-squares problem, as one vector."""
    W = trainable(np.linspace(-1.0, 1.0, 15).reshape(5, 3), name="W")
    b = trainable(np.zeros(3), name="b")
    loss = ((pt.constant(FEATURES) @ W + b - TARGETS) ** 2).mean()
    step = pytensor.function([], loss, updates=rule(loss, [W, b]), mode=mode)
    for _ in range(steps):
        step()
    return np.concatenate([W.get_value().ravel(), b.get_value()])


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=50, help="training steps (default 50)")
    parser.add_argument("--mode", default="FAST_COMPILE", help="PyTensor mode (default FAST_COMPILE)")
    args = parser.parse_args(argv)
    print(f"{args.steps} steps, mode {args.mode}, float64; max |params difference| from pytensor-ml's rule\n")
    print("| pytensor-ml | symupdates | max abs difference |")
    print("| --- | --- | --- |")
    for name, (theirs, ours) in PAIRS.items():
        reference = final_params(theirs, args.steps, args.mode)
        for call, rule in ours.items():
            difference = np.max(np.abs(final_params(rule, args.steps, args.mode) - reference))
            print(f"| {name} | `{call}` | {'0 (bit for bit)' if difference == 0 else f'{difference:.1e}'} |")


if __name__ == "__main__":
    main()
