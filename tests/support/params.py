"""Params, gradient sequences and step runners for checking a rule's trajectory against its reference."""

import numpy as np
import pytensor
import pytensor.tensor as pt

# Shapes every rule is checked on, all at once (one compiled function updates them together).
SHAPES = [(), (3,), (2, 3), (2, 1, 3, 2)]
TOLERANCE = {"float64": 1e-10, "float32": 2e-5}
# Params start at scale ~1, so a value that passes near zero carries an absolute error of a few ulps of 1.
ABSOLUTE = {"float64": 1e-13, "float32": 1e-6}


def make_params(dtype, seed=0, shapes=SHAPES, prefix="p", static_shape=False):
    rng = np.random.default_rng(seed)
    return [
        pytensor.shared(
            rng.normal(size=s).astype(dtype), name=f"{prefix}{i}", shape=s if static_shape else None
        )
        for i, s in enumerate(shapes)
    ]


def mixed_params(seed):
    """Four shapes (scalar to 4-D) in float64 and again in float32: one compiled function checks all."""
    return make_params("float64", seed=seed) + make_params("float32", seed=seed, prefix="q")


def gradient_sequence(params, steps, seed=1, shrink=1.0):
    """Random gradients per step; with shrink < 1 their magnitude decays as shrink**k."""
    rng = np.random.default_rng(seed)
    return [
        [(rng.normal(size=p.get_value().shape) * shrink**k).astype(p.dtype) for p in params]
        for k in range(steps)
    ]


def compile_with_grad_inputs(rule, params, mode=None, **hyper):
    """Compile one step of ``rule`` whose gradients are function inputs; returns (fn, updates)."""
    grads = [pt.tensor(f"g{i}", dtype=p.dtype, shape=p.type.shape) for i, p in enumerate(params)]
    updates = rule(grads, params, **hyper)
    fn = pytensor.function(grads, [], updates=updates, mode=mode)
    return fn, updates


def run_steps(fn, params, grads, *extra_inputs):
    """Call ``fn(*g, *extra_inputs)`` for each step's gradients ``g``; the params' values after each step."""
    history = []
    for g in grads:
        fn(*g, *extra_inputs)
        history.append([p.get_value() for p in params])
    return history
