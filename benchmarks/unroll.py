"""Value and hypergradient through k training steps: ``symupdates.unroll`` against JAX + optax.

The digits MLP (64-32-10, tanh, float64), adam with epsilon inside the root (``epsilon_placement="inside"``,
optax's ``eps=0, eps_root=1e-8``: with epsilon outside, the digits' always-zero pixels give ``v = 0`` and
``d sqrt(v) / dv`` is infinite, so both frameworks return a NaN hypergradient), mini-batches of 64;
the cost is the held-out loss after ``k`` steps and its gradient with respect to the learning rate. Timed:
one compiled PyTensor function (``pytensor.function`` of the value and ``pytensor.grad``) and
``jax.jit(jax.value_and_grad(...))`` of the same ``k`` optax steps in a ``jax.lax.scan``; both in one
process, their calls alternating, median of repeated calls after a warm-up call (compile time excluded,
printed apart), in wall-clock time and in CPU time (``time.process_time``: every thread of the process).
Memory: each framework and ``k`` alone in its own process, the peak resident set size
(``ru_maxrss``, compilation included: a first compilation of the numba code costs more than one from
its cache), and what one call allocates (its peak resident set above the one before it, the peak reset by
``/proc/self/clear_refs``, glibc told to map every block of 64 kB or more afresh; compilation excluded).
``--separate`` times each framework alone in its own process instead (then JAX's threads do not share the
process with PyTensor's).
``--blas-threads N`` sets ``OPENBLAS_NUM_THREADS`` (and ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``) in those
processes: the BLAS that PyTensor's ``Dot`` calls in NUMBA and CVM mode otherwise splits these small
products over every core, which costs more than it gains when the cores are busy (XLA, in JAX and in
PyTensor's JAX mode, keeps its own threads and ignores it).

Usage: ``python benchmarks/unroll.py [--steps 10 50 100] [--repeats 5] [--mode NUMBA] [--separate]
[--blas-threads N]``.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
# For the memory processes only: glibc then maps every allocation of 64 kB or more afresh and unmaps it when
# freed, instead of keeping freed blocks for the next call, so a call's resident set shows what it allocates.
MEMORY_ENV = {"MALLOC_MMAP_THRESHOLD_": "65536"}

MEASURE = """
import json, resource, sys, time, warnings
warnings.filterwarnings("ignore")
import numpy as np
k, repeats, mode, framework = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
from sklearn.datasets import load_digits
digits = load_digits()
X, Y = digits.data / 16.0, np.eye(10)[digits.target]
rng = np.random.default_rng(0)
rows = rng.integers(1200, size=(k, 64))
Xs, Ys, Xh, Yh = X[rows], Y[rows], X[1200:], Y[1200:]
init = [rng.normal(scale=1 / 8, size=(64, 32)), np.zeros(32),
        rng.normal(scale=1 / np.sqrt(32), size=(32, 10)), np.zeros(10)]
lr = 0.01

def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

runs, compile_s = {}, {}
if framework in ("pytensor", "both"):
    import pytensor, pytensor.tensor as pt
    import symupdates as su
    params = [pytensor.shared(p, name=f"p{i}") for i, p in enumerate(init)]
    def loss_of(ps, x, y):
        logits = pt.dot(pt.tanh(pt.dot(x, ps[0]) + ps[1]), ps[2]) + ps[3]
        return -(y * pt.special.log_softmax(logits, axis=-1)).sum(axis=-1).mean()
    x, y, xs, ys = pt.dmatrix("x"), pt.dmatrix("y"), pt.dtensor3("xs"), pt.dtensor3("ys")
    rate = pt.dscalar("lr")
    rule = su.adam(learning_rate=rate, epsilon=1e-8, epsilon_placement="inside")
    result = su.unroll(rule, loss_of(params, x, y), params, {x: xs, y: ys}, k)
    held = loss_of(result.params, Xh, Yh)
    start = time.perf_counter()
    f_pt = pytensor.function([rate, xs, ys], [held, pytensor.grad(held, rate)], mode=mode)
    compile_s["pytensor"] = time.perf_counter() - start
    # np.asarray waits for the result in JAX mode (PyTensor returns JAX's asynchronous arrays there).
    runs["pytensor"] = lambda: [np.asarray(out) for out in f_pt(lr, Xs, Ys)]
if framework in ("jax", "both"):
    import jax, jax.numpy as jnp, optax
    jax.config.update("jax_enable_x64", True)
    def loss_of(ps, x, y):
        logits = jnp.tanh(x @ ps[0] + ps[1]) @ ps[2] + ps[3]
        return -(y * jax.nn.log_softmax(logits, axis=-1)).sum(axis=-1).mean()
    def held(rate, xs, ys):
        opt = optax.adam(rate, eps=0.0, eps_root=1e-8)
        ps = [jnp.asarray(p) for p in init]
        def body(carry, batch):
            ps, state = carry
            g = jax.grad(loss_of)(ps, *batch)
            updates, state = opt.update(g, state, ps)
            return (optax.apply_updates(ps, updates), state), None
        (ps, _), _ = jax.lax.scan(body, (ps, opt.init(ps)), (xs, ys))
        return loss_of(ps, Xh, Yh)
    f_jax = jax.jit(jax.value_and_grad(held))
    start = time.perf_counter()
    jax.block_until_ready(f_jax(lr, Xs, Ys))
    compile_s["jax"] = time.perf_counter() - start
    runs["jax"] = lambda: jax.block_until_ready(f_jax(lr, Xs, Ys))
after_compile = rss_mb()
values = {name: [float(v) for v in run()] for name, run in runs.items()}

def status_mb(field):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field)) / 1024

# What one call allocates: the peak resident set during the call above the resident set before it, the
# process's peak first reset to the current size (writing 5 to clear_refs, Linux).
call_mb = {}
for name, run in runs.items():
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    before = status_mb("VmRSS:")
    run()
    call_mb[name] = status_mb("VmHWM:") - before
# With both frameworks in the process their calls alternate, so a change of the machine's load hits both.
times = {name: [] for name in runs}
cpu_times = {name: [] for name in runs}  # CPU time of the process's threads: less sensitive to the load
for _ in range(repeats):
    for name, run in runs.items():
        start, cpu_start = time.perf_counter(), time.process_time()
        run()
        times[name].append(time.perf_counter() - start)
        cpu_times[name].append(time.process_time() - cpu_start)
print(json.dumps({name: {"value": values[name][0], "grad": values[name][1],
                         "median_s": float(np.median(times[name])),
                         "median_cpu_s": float(np.median(cpu_times[name])), "compile_s": compile_s[name],
                         "rss_after_compile_mb": after_compile, "rss_peak_mb": rss_mb(),
                         "call_mb": call_mb[name]} for name in runs}))
"""


def measure(k, repeats, mode, framework, blas_threads=None, extra_env=None):
    threads = {} if blas_threads is None else dict.fromkeys(THREAD_VARIABLES, str(blas_threads))
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, str(k), str(repeats), mode, framework],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, **threads, **(extra_env or {}), "PYTHONPATH": str(ROOT)},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, nargs="+", default=[10, 50, 100])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--mode", default="NUMBA")
    parser.add_argument("--separate", action="store_true", help="time each framework alone in its process")
    parser.add_argument(
        "--blas-threads", type=int, help="OPENBLAS_NUM_THREADS etc. in the measuring processes"
    )
    args = parser.parse_args(argv)
    print(
        "| k | framework | value + hypergradient (ms) | ratio to JAX | CPU time (ms) | ratio | compile (s) "
        "| peak RSS (MB) "
        "| one call's memory (MB) | hypergradient |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for k in args.steps:
        if args.separate:
            timed = {
                fw: measure(k, args.repeats, args.mode, fw, args.blas_threads)[fw]
                for fw in ["jax", "pytensor"]
            }
        else:
            timed = measure(k, args.repeats, args.mode, "both", args.blas_threads)
        for fw in ["jax", "pytensor"]:
            r = timed[fw]
            memory = measure(k, 1, args.mode, fw, args.blas_threads, MEMORY_ENV)[fw]  # alone in its process
            ratio = r["median_s"] / timed["jax"]["median_s"]
            cpu_ratio = r["median_cpu_s"] / timed["jax"]["median_cpu_s"]
            name = f"symupdates.unroll ({args.mode})" if fw == "pytensor" else "jax.jit + optax"
            print(
                f"| {k} | {name} | {1e3 * r['median_s']:.2f} | {ratio:.2f} | {1e3 * r['median_cpu_s']:.2f} | "
                f"{cpu_ratio:.2f} | {r['compile_s']:.1f} | "
                f"{memory['rss_peak_mb']:.0f} | {memory['call_mb']:.1f} | {r['grad']:.10g} |"
            )
        sys.stdout.flush()


if __name__ == "__main__":
    main()
