"""Data-parallel steps equal single-device steps, on 4 CPU devices of one process and on 2 processes x 2
devices (jax.distributed over 127.0.0.1 with gloo collectives). Each runs tests/support/parallel_cases.py in
fresh processes, since the device count is fixed when jax starts; the rest of the suite keeps one device."""

import os
import socket
import subprocess
import sys

import pytest

from support import ROOT
from support.modes import require_mode

CASES = ROOT / "tests" / "support" / "parallel_cases.py"
EXPECTED = [
    "ok adam float32",
    "ok adam float64",
    "ok lamb float32",
    "ok clip_by_global_norm float32",
    "ok schedule float32",
    "ok apply_if_finite float32",
    "ok adam float32 split by columns",
    "ok resume",
]
TIMEOUT = 420  # seconds for a whole case run (about 40 s on an idle 2-core machine)


def environment(devices):
    env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def passed_cases(output):
    return [line for line in output.splitlines() if line.startswith("ok ")]


def test_sharded_steps_on_four_devices_equal_the_single_device_step(tmp_path):
    require_mode("JAX")
    run = subprocess.run(
        [sys.executable, str(CASES), "mesh", str(tmp_path)],
        env=environment(4),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    assert passed_cases(run.stdout) == EXPECTED


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_of_two_devices_equal_the_single_device_step(tmp_path):
    require_mode("JAX")
    port = str(free_port())
    processes = [
        subprocess.Popen(
            [sys.executable, str(CASES), "process", str(rank), port, str(tmp_path)],
            env=environment(2),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for rank in range(2)
    ]
    try:
        outputs = [p.communicate(timeout=TIMEOUT)[0] for p in processes]
    finally:
        for p in processes:  # on a timeout or any failure: no process outlives the test
            if p.poll() is None:
                p.kill()
                p.wait()
    for rank, (p, output) in enumerate(zip(processes, outputs, strict=True)):
        assert p.returncode == 0, f"process {rank}:\n{output[-3000:]}"
        assert passed_cases(output) == EXPECTED, f"process {rank}"
    # Only process 0 wrote the checkpoints (replicated state), and both processes resumed from them.
    assert sorted(f.name for f in tmp_path.iterdir()) == ["numba.npz", "sharded.npz"]


def test_bad_mesh_arguments_are_named_before_compiling():
    require_mode("JAX")
    import jax
    import numpy as np
    import pytensor
    import pytensor.tensor as pt
    from jax.sharding import Mesh

    import symupdates as su

    w = pytensor.shared(np.zeros(2), name="w")
    x = pt.matrix("x", dtype="float64", shape=(3, 2))
    loss = ((x - w) ** 2).mean()
    updates = su.sgd(loss, [w], learning_rate=0.1)
    mesh = Mesh(np.array(jax.devices()[:1] * 2), ("data",))  # a batch of 3 does not split in 2
    with pytest.raises(TypeError, match="mesh"):
        su.sharded_function([x], loss, updates=updates, mesh=jax.devices())
    with pytest.raises(ValueError, match="batch_axis"):
        su.sharded_function([x], loss, updates=updates, mesh=mesh, batch_axis="model")
    with pytest.raises(ValueError, match="not divisible by 2"):
        su.sharded_function([x], loss, updates=updates, mesh=mesh)
    with pytest.raises(ValueError, match="shardings"):
        su.sharded_function([x], loss, updates=updates, mesh=mesh, shardings={pytensor.shared(1.0): None})
