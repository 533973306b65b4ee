"""Which rules give bit-identical params with inject_hyperparams as with constants, per compile mode.

For each rule: the same small tanh model, once with the rule's default hyper-parameters as constants and
once through ``symupdates.inject_hyperparams``, a few steps each; prints the rules whose params differ
and by how much. ``PY`` runs the rewritten graph with the Python linker (no compiler in between).

    python benchmarks/inject_bits.py NUMBA float32
    python benchmarks/inject_bits.py PY float32 --rules adam,rmsprop
"""

import argparse
import time
import warnings

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.compile.mode import Mode

import symupdates as su

warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")

MODES = {"NUMBA": "NUMBA", "CVM": "CVM", "PY": Mode(linker="py", optimizer="fast_run")}
RULES = [n for n in su.optimizers.__all__ if not n.startswith("apply_")]


def final_params(rule, inject, mode, dtype, steps):
    rng = np.random.default_rng(0)
    W = pytensor.shared(rng.normal(size=(4, 3)).astype(dtype), name="W")
    b = pytensor.shared(rng.normal(size=3).astype(dtype), name="b")
    X = rng.normal(size=(5, 4)).astype(dtype)
    loss = pt.sum(pt.tanh(X @ W + b) ** 2)
    updates = (su.inject_hyperparams(rule) if inject else rule)(loss, [W, b])
    step = pytensor.function([], loss, updates=updates, mode=mode)
    for _ in range(steps):
        step()
    return W.get_value(), b.get_value()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "mode", nargs="?", default="NUMBA", choices=sorted(MODES), help="compile mode (default: %(default)s)"
    )
    parser.add_argument(
        "dtype",
        nargs="?",
        default="float32",
        choices=["float32", "float64"],
        help="params' dtype (default: %(default)s)",
    )
    parser.add_argument("--rules", default=",".join(RULES), help="comma-separated rules (default: all)")
    parser.add_argument("--steps", type=int, default=4, help="optimizer steps per run (default: %(default)s)")
    args = parser.parse_args()
    start, differing = time.time(), []
    for name in args.rules.split(","):
        constant, injected = (
            final_params(getattr(su, name), inject, MODES[args.mode], args.dtype, args.steps)
            for inject in (False, True)
        )
        if not all(np.array_equal(a, b) for a, b in zip(constant, injected, strict=True)):
            differing.append(name)
            largest = max(float(np.max(np.abs(a - b))) for a, b in zip(constant, injected, strict=True))
            print(f"{name}: max |difference| {largest:.3g}", flush=True)
    print(
        f"mode {args.mode}, {args.dtype}: {len(differing)} of {len(args.rules.split(','))} rules differ "
        f"{differing} ({time.time() - start:.0f} s)"
    )


if __name__ == "__main__":
    main()
