"""(c) k steps per compiled call, and the data-parallel step on several CPU devices.

Steps per call: microseconds per *step* of adam on 1 param of 1 element and 10 params of 100 elements, float32
(gradients given, as in update_step.py) and of the 784-50-10 tanh MLP training step (batch 64, as in
mlp_step.py), in NUMBA mode: one ``fast_function`` call per step, and ``steps_function`` with k = 1, 10, 100
(the time of a call divided by k). The adam rows also give update_step.py's hand-written numba kernel, the
bound. Every peer here works in one thread, so the times are CPU time (``time.process_time``): other jobs on
the shared cores do not enter them (notes.md, "Wall clock on a loaded machine: the k-steps MLP result").

Sharded step: the MLP step in JAX mode on one device (``fast_function``) and ``sharded_function`` with the
batch split over 1, 2 and 4 CPU devices (a subprocess with ``--xla_force_host_platform_device_count=4``).
CPU devices are slices of the same cores (2 here): this measures the cost of the sharding machinery, not
a speed-up.

    python benchmarks/steps_per_call.py [--repeats 15]
"""

import argparse
import os
import subprocess
import sys
import time

from common import interleaved_median_us, ratio_table  # first: puts this checkout on sys.path

# isort: split

import numpy as np
import pytensor
import pytensor.tensor as pt

import mlp_step
import symupdates as su
import update_step

KS = [1, 10, 100]
ADAM_SHAPES = {"adam 1 x 1": (1, 1), "adam 10 x 100": (10, 100)}
PEERS = ["one call per step", *[f"k={k}" for k in KS], "numba kernel (bound)"]
SHARDED_PEERS = ["single device", "sharded, 1 device", "sharded, 2 devices", "sharded, 4 devices"]


def adam_calls(n, size):
    """{peer: (call, steps per call)} for adam on ``n`` vectors of ``size`` params, gradients given."""
    rng = np.random.default_rng(0)
    params = [rng.normal(size=size).astype("float32") for _ in range(n)]
    grads = [rng.normal(size=size).astype("float32") for _ in range(n)]
    calls = {
        "numba kernel (bound)": (update_step.streaming_kernel("adam", [p.copy() for p in params], grads), 1)
    }

    def compiled(k):
        shared = [pytensor.shared(p.copy(), shape=p.shape) for p in params]
        inputs = [pt.tensor(dtype="float32", shape=p.shape) for p in params]
        updates = su.adam(inputs, shared, **update_step.HYPER["adam"])
        if k is None:
            step = su.fast_function(inputs, updates=updates, mode="NUMBA")
            return lambda: step(*grads)
        step = su.steps_function(inputs, updates=updates, steps_per_call=k, mode="NUMBA")
        stacked = [np.ascontiguousarray(np.broadcast_to(g, (k, *g.shape))) for g in grads]
        return lambda: step(*stacked)

    calls["one call per step"] = (compiled(None), 1)
    for k in KS:
        calls[f"k={k}"] = (compiled(k), k)
    return calls


def mlp_calls(batch=64):
    """{peer: (call, steps per call)} for the 784-50-10 tanh MLP step."""
    weights, x, y = mlp_step.data(50, batch)

    def compiled(k):
        params = [pytensor.shared(w.copy(), shape=w.shape) for w in weights]
        xv = pt.matrix("x", dtype="float32", shape=x.shape)
        yv = pt.vector("y", dtype="int64", shape=y.shape)
        loss = mlp_step.pytensor_loss(xv, yv, params, "tanh")
        updates = su.adam(loss, params, learning_rate=mlp_step.LR)
        if k is None:
            step = su.fast_function([xv, yv], loss, updates=updates, mode="NUMBA")
            return lambda: step(x, y)
        step = su.steps_function([xv, yv], loss, updates=updates, steps_per_call=k, mode="NUMBA")
        xs, ys = np.stack([x] * k), np.stack([y] * k)
        return lambda: step(xs, ys)

    calls = {"one call per step": (compiled(None), 1)}
    for k in KS:
        calls[f"k={k}"] = (compiled(k), k)
    return calls


def per_step(calls, repeats):
    calls_only = {name: call for name, (call, _) in calls.items()}
    times = interleaved_median_us(calls_only, repeats=repeats, clock=time.process_time)
    return {name: times[name] / steps for name, (_, steps) in calls.items()}


def run(repeats=15, mlp=True, log=print):
    """Markdown tables: adam rows against the bound, and (``mlp``) the MLP row against one call per step."""
    adam_rows = []
    for case, shape in ADAM_SHAPES.items():
        log(f"steps per call: {case}")
        adam_rows.append((case, per_step(adam_calls(*shape), repeats)))
    tables = [
        ratio_table(
            "k steps per call (steps_function), NUMBA, float32: CPU microseconds per step",
            adam_rows,
            PEERS,
            ["numba kernel (bound)"],
            note="Ratios to the hand-written one-pass numba kernel (update_step.py), the memory-bandwidth "
            "bound. `k=K`: one call of K steps, its time divided by K. CPU time of the benchmark's process.",
        )
    ]
    if not mlp:
        return tables
    log("steps per call: MLP")
    mlp_rows = [("784-50-10 tanh, batch 64", per_step(mlp_calls(), repeats))]
    return tables + [
        ratio_table(
            "k steps per call, the MLP training step (forward, backward, adam), NUMBA: CPU us per step",
            mlp_rows,
            PEERS[:-1],
            ["one call per step"],
            note="Ratios to one `fast_function` call per step. CPU time of the benchmark's process.",
        ),
    ]


def sharded_rows(repeats):
    """Runs in the subprocess with 4 CPU devices: the MLP step on one device and sharded over 1, 2, 4."""
    import jax
    from jax.sharding import Mesh

    weights, x, y = mlp_step.data(50, 64)
    calls = {}
    for peer in SHARDED_PEERS:
        params = [pytensor.shared(w.copy(), shape=w.shape) for w in weights]
        xv = pt.matrix("x", dtype="float32", shape=x.shape)
        yv = pt.vector("y", dtype="int64", shape=y.shape)
        loss = mlp_step.pytensor_loss(xv, yv, params, "tanh")
        updates = su.adam(loss, params, learning_rate=mlp_step.LR)
        if peer == "single device":
            step = su.fast_function([xv, yv], loss, updates=updates, mode="JAX")
        else:
            mesh = Mesh(np.array(jax.devices()[: int(peer.split(", ")[1][0])]), ("data",))
            step = su.sharded_function([xv, yv], loss, updates=updates, mesh=mesh)
        # np.asarray waits for the asynchronous step.
        calls[peer] = lambda step=step: np.asarray(step(x, y))
    return [("784-50-10 tanh, batch 64", interleaved_median_us(calls, repeats=repeats))]


def sharded_table(repeats, log=print):
    log("sharded step (subprocess, 4 CPU devices)")
    env = dict(os.environ)
    env["XLA_FLAGS"] = env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4"
    run_ = subprocess.run(
        [sys.executable, __file__, "--sharded-section", "--repeats", str(repeats)],
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    if run_.returncode:
        raise RuntimeError(run_.stderr[-3000:])
    return run_.stdout.split("<<table>>\n", 1)[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--sharded-section", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sharded_section:
        print("<<table>>")
        print(
            ratio_table(
                "Data-parallel MLP step, JAX mode, CPU devices: microseconds per step",
                sharded_rows(args.repeats),
                SHARDED_PEERS,
                ["single device"],
                note="Ratios to the single-device step (`fast_function`, mode JAX). The CPU devices share "
                "the machine's cores: this is the cost of splitting the batch and all-reducing, not a "
                "speed-up.",
            )
        )
        return
    for table in run(args.repeats):
        print(table)
    print(sharded_table(args.repeats))


if __name__ == "__main__":
    main()
