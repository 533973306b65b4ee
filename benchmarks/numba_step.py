"""What a NUMBA-compiled update step costs, and where: the checks behind notes.md's sections on the 1 x 1e6
adam ratio and on flattening.

1. Adam on one float32 param of 1e6 elements: the nodes of the compiled step (fused, in place?), the
   vector instructions in the machine code numba made of it, and its time next to a PyTensor graph with
   the bias corrections folded into constants and the hand-written one-pass kernel of update_step.py.
2. The fixed cost per array of a compiled call: adam on 10 and on 100 params of 100 elements, calling the
   compiled numba function directly, divided by the arrays it receives and returns.

Usage: ``python benchmarks/numba_step.py``
"""

import functools
import re

from common import interleaved_median_us, median_us  # first: puts this checkout on sys.path

# isort: split

import numpy as np  # noqa: E402
import pytensor  # noqa: E402
import pytensor.tensor as pt  # noqa: E402

import symupdates as su  # noqa: E402
import update_step  # noqa: E402

N = 10**6


def adam_with_constant_corrections(grad):
    """Adam's step written by hand in PyTensor, its bias corrections replaced by the constant 1."""
    f32 = np.float32
    p, m, v = (pytensor.shared(np.zeros(N, f32), shape=(N,)) for _ in range(3))
    m_new = f32(0.9) * m + f32(0.1) * grad
    v_new = f32(0.999) * v + f32(0.001) * grad * grad
    p_new = p - f32(0.001) * m_new / (pt.sqrt(v_new) + f32(1e-8))
    return su.fast_function([grad], updates=[(p, p_new), (m, m_new), (v, v_new)])


def adam_loop():
    grad = pt.tensor(dtype="float32", shape=(N,))
    param = pytensor.shared(np.zeros(N, np.float32), shape=(N,))
    # Without numba's on-disk cache: numba shows no machine code for a function loaded from it.
    with pytensor.config.change_flags(numba__cache=False):
        step = su.fast_function([grad], updates=su.adam([grad], [param]))
    for node in step.function.maker.fgraph.toposort():
        print(f"  node {node.op}, destroy_map {getattr(node.op, 'destroy_map', {})}")
    g = np.random.default_rng(0).normal(size=N).astype(np.float32)
    step(g)
    jitted = step.function.vm.jit_fn
    asm = jitted.inspect_asm(jitted.signatures[0])
    counts = {op: len(re.findall(rf"\b{op}\b", asm)) for op in ["vsqrtps", "vdivps", "vsqrtss", "vdivss"]}
    print(f"  in numba's machine code: {counts}, zmm (AVX-512) registers used: {'zmm' in asm}")
    constants = adam_with_constant_corrections(pt.tensor(dtype="float32", shape=(N,)))
    steps = {
        "symupdates adam": lambda: step(g),
        "constant corrections": lambda: constants(g),
        "numba kernel (bound)": update_step.streaming_kernel("adam", [np.zeros(N, np.float32)], [g]),
    }
    times = interleaved_median_us(steps, repeats=15, min_seconds=0.02)
    bound = times["numba kernel (bound)"]
    print("  " + ", ".join(f"{k} {t:.0f} us ({t / bound:.2f}x the bound)" for k, t in times.items()))


def cost_per_array():
    for n in [10, 100]:
        grads = [pt.tensor(dtype="float32", shape=(100,)) for _ in range(n)]
        params = [pytensor.shared(np.zeros(100, np.float32), shape=(100,)) for _ in range(n)]
        function = su.fast_function(grads, updates=su.adam(grads, params)).function
        args = [c.storage[0] for c in function.input_storage]
        args[:n] = [np.ones(100, np.float32)] * n
        jitted = function.vm.jit_fn
        us = median_us(functools.partial(jitted, *args), repeats=15, min_seconds=0.02)
        arrays = len(args) + len(function.output_storage)
        print(
            f"  adam, {n} x 100: {us:.1f} us per call, {arrays} arrays in and out, {us / arrays:.2f} us each"
        )


if __name__ == "__main__":
    print("1. adam, 1 x 1e6, NUMBA")
    adam_loop()
    print("2. the cost of a compiled call per array")
    cost_per_array()
