"""Print the compiled step of a sample of rules: its fused loops, their in-place outputs, their scalar code.

Run it on two commits and diff the outputs to check that a refactoring left the compiled graphs unchanged::

    git worktree add /tmp/before <commit>
    PYTHONPATH=/tmp/before python scripts/print_rule_graphs.py NUMBA > before.txt
    PYTHONPATH=$PWD python scripts/print_rule_graphs.py NUMBA > after.txt
    diff before.txt after.txt

Each rule updates a float32 matrix (through a matrix product) and a float64 vector; the mode is the first
argument (NUMBA, the default, or CVM).
"""

import argparse
import io
import re

import numpy as np
import pytensor
import pytensor.tensor as pt

import symupdates as su

RULES = {
    "adam": lambda: su.adam(learning_rate=1e-3),
    "adam_outside": lambda: su.adam(epsilon_placement="outside"),
    "adamw": lambda: su.adamw(),
    "rmsprop": lambda: su.rmsprop(learning_rate=0.01),
    "lamb": lambda: su.lamb(weight_decay=0.01),
    "sgd_momentum": lambda: su.sgd(learning_rate=0.1, momentum=0.9),
    "momentum": lambda: su.momentum(learning_rate=0.1),
    "adagrad": lambda: su.adagrad(learning_rate=0.1),
    "radam": lambda: su.radam(),
    "nadam": lambda: su.nadam(),
    "adafactor": lambda: su.adafactor(),
    "lion": lambda: su.lion(),
    "adam_scheduled": lambda: su.adam(learning_rate=su.linear_schedule(0.1, 0.0, 10)),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", nargs="?", default="NUMBA", choices=["NUMBA", "CVM"])
    mode = parser.parse_args().mode
    x = pt.matrix("x", dtype="float32")
    for name, make in RULES.items():
        W = pytensor.shared(np.ones((3, 4), dtype="float32"), name="W")
        b = pytensor.shared(np.ones(4, dtype="float64"), name="b")
        updates = make()(((x @ W) ** 2).sum() + (b**2).sum(), [W, b])
        fn = pytensor.function([x], [], updates=updates, mode=mode)
        out = io.StringIO()
        pytensor.dprint(fn.maker.fgraph, file=out, print_destroy_map=True, print_view_map=True)
        for node in fn.maker.fgraph.toposort():
            inner = getattr(getattr(node.op, "scalar_op", None), "fgraph", None)
            if inner is not None:
                pytensor.dprint(list(inner.outputs), file=out)
        print(f"=== {name}: {[v.name for v in updates]}")
        print(re.sub(r"0x[0-9a-f]+", "0x", out.getvalue()))


if __name__ == "__main__":
    main()
