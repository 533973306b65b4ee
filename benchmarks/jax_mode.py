"""Why PyTensor's JAX mode is slower than jax.jit + optax on the MLP step: dtypes and buffer donation.

Times, in one process, the 784-50-10 (batch 64) and 784-256-10 (batch 256) Adam steps four ways: the
jitted function PyTensor's JAX linker builds, called directly (whose float32 params become float64 after
the first step, see notes.md), the same traced function with every result cast to its declared dtype
(what ``symupdates.fast_function`` compiles), that with the params and state donated, and jax.jit + optax.

Usage: ``python benchmarks/jax_mode.py``
"""

from common import interleaved_median_us  # first: puts this checkout on sys.path, one thread per library

# isort: split

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import pytensor  # noqa: E402
import pytensor.tensor as pt  # noqa: E402

import mlp_step  # noqa: E402
import symupdates as su  # noqa: E402
from symupdates.runtime.fast import _traced_with_declared_dtypes  # noqa: E402  what fast_function jits in JAX mode


def pytensor_jax_variants(weights, x, y, activation):
    """The traced Python function of PyTensor's JAX step, re-jitted three ways, each called directly on
    device arrays (no per-call conversion) with the updated values fed back as the next inputs."""
    params = [pytensor.shared(w.copy()) for w in weights]
    xv = pt.matrix("x", dtype="float32", shape=x.shape)
    yv = pt.vector("y", dtype="int64", shape=y.shape)
    loss = mlp_step.pytensor_loss(xv, yv, params, activation)
    function = pytensor.function(
        [xv, yv], loss, updates=su.adam(loss, params, learning_rate=mlp_step.LR), mode="JAX"
    )
    traced = function.vm.jit_fn.__wrapped__
    declared = _traced_with_declared_dtypes(function)
    updated = [i for i, spec in enumerate(function.maker.expanded_inputs) if spec.update is not None]
    first_update = len(function.output_storage) - len(updated)

    def driver(jitted):
        shared_values = [jnp.asarray(c.storage[0]) for c in function.input_storage[2:]]
        args = [jnp.asarray(x), jnp.asarray(y), *shared_values]

        def step():
            outs = jitted(*args)
            for k, i in enumerate(updated):
                args[i] = outs[first_update + k]
            return outs[0].block_until_ready()

        return step

    return {
        "PyTensor's jitted step": driver(jax.jit(traced)),
        "results cast to declared dtypes": driver(jax.jit(declared)),
        "cast + donated params and state": driver(jax.jit(declared, donate_argnums=tuple(updated))),
    }


def main():
    for name, batch in [("784-50-10 tanh", 64), ("784-256-10 relu", 256)]:
        hidden, activation = mlp_step.CONFIGS[name]
        weights, x, y = mlp_step.data(hidden, batch)
        steps = pytensor_jax_variants(weights, x, y, activation)
        steps["jax.jit + optax"] = mlp_step.jax_step(weights, x, y, activation)
        times = interleaved_median_us(steps, repeats=11, min_seconds=0.02)
        best = times["jax.jit + optax"]
        cells = ", ".join(f"{k} {v:.0f} us ({v / best:.2f}x)" for k, v in times.items())
        print(f"{name}, batch {batch}: {cells}")


if __name__ == "__main__":
    main()
