"""Run by tests/runtime/test_parallel.py in fresh processes (they need several JAX CPU devices, which must be
set up before jax is imported): ``python parallel_cases.py mesh DIR`` on 4 devices of one process, or ``python
parallel_cases.py process ID PORT DIR`` as one of 2 processes x 2 devices. Every rule family's sharded step is
compared with the single-device JAX step; a checkpoint is resumed across NUMBA and the sharded step. Prints
one ``ok <case>`` line per passed case and raises on the first mismatch."""

import sys

import jax

if sys.argv[1] == "process":
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(f"127.0.0.1:{sys.argv[3]}", num_processes=2, process_id=int(sys.argv[2]))

import numpy as np  # noqa: E402
import pytensor  # noqa: E402
import pytensor.tensor as pt  # noqa: E402
from jax.sharding import Mesh, PartitionSpec  # noqa: E402

import symupdates as su  # noqa: E402

BATCH, STEPS = 8, 3
RULES = {
    "adam": lambda: su.adam(learning_rate=0.05),
    "lamb": lambda: su.lamb(learning_rate=0.05, weight_decay=0.01),
    "clip_by_global_norm": lambda: su.chain(su.clip_by_global_norm(0.1), su.adam(learning_rate=0.05)),
    "schedule": lambda: su.adam(learning_rate=su.warmup_cosine_decay_schedule(0.0, 0.1, 2, 6)),
    "apply_if_finite": lambda: su.apply_if_finite(su.adam(learning_rate=0.05)),
}


def model(rule, dtype):
    """A tanh layer and a linear read-out, trained on a mean squared error; (inputs, outputs, updates)."""
    rng = np.random.default_rng(0)
    w = pytensor.shared(rng.normal(size=(3, 4)).astype(dtype), name="w")
    v = pytensor.shared(rng.normal(size=4).astype(dtype), name="v")
    x = pt.matrix("x", dtype=dtype, shape=(BATCH, 3))
    y = pt.vector("y", dtype=dtype, shape=(BATCH,))
    loss = ((pt.tanh(x @ w) @ v - y) ** 2).mean()
    updates = RULES[rule]()(loss, [w, v])
    return [x, y], [loss, *updates.monitors.values()], updates


def data(dtype, steps):
    rng = np.random.default_rng(1)
    xs = rng.normal(size=(steps, BATCH, 3)).astype(dtype)
    xs[1, 5] = np.nan  # a non-finite gradient at step 1, which apply_if_finite skips
    return xs, rng.normal(size=(steps, BATCH)).astype(dtype)


def values(updates):
    return {var.name: gathered(var.get_value(borrow=True)) for var in updates}


def gathered(value):
    """The whole value, also of an array split over several processes' devices."""
    if isinstance(value, jax.Array) and not value.is_fully_addressable and not value.is_fully_replicated:
        from jax.experimental import multihost_utils

        return np.asarray(multihost_utils.process_allgather(value, tiled=True))
    return np.asarray(value)


def assert_close(got, want, dtype, what):
    """Relative error of each array as a whole (an element near zero, e.g. a moment that is a sum of terms
    that cancel, has a larger relative error of its own when the sums are added in another order)."""
    rtol = 1e-6 if dtype == "float32" else 1e-12
    for g, w in zip(got, want, strict=True):
        g, w = np.asarray(g, dtype="float64"), np.asarray(w, dtype="float64")
        assert g.shape == w.shape, what
        error = np.linalg.norm((g - w).ravel()) / max(np.linalg.norm(w.ravel()), 1e-30)
        assert error <= rtol or np.array_equal(g, w, equal_nan=True), f"{what}: relative error {error:.2e}"


def compare_rule(mesh, rule, dtype, split=False):
    """With ``split``, W and its adam moments are split by columns over the devices, not replicated."""
    inputs, outputs, updates = model(rule, dtype)
    single = su.fast_function(inputs, outputs, updates=updates, mode="JAX")
    s_inputs, s_outputs, s_updates = model(rule, dtype)
    split_w = {var: PartitionSpec(None, "data") for var in s_updates if split and var.name.startswith("w")}
    sharded = su.sharded_function(s_inputs, s_outputs, updates=s_updates, mesh=mesh, shardings=split_w)
    xs, ys = data(dtype, STEPS)
    if rule != "apply_if_finite":
        xs = np.nan_to_num(xs)
    for k in range(STEPS):
        assert_close(sharded(xs[k], ys[k]), single(xs[k], ys[k]), dtype, f"{rule} outputs at step {k}")
        want, got = values(updates), values(s_updates)
        assert_close([got[n] for n in want], list(want.values()), dtype, f"{rule} state at step {k}")
        assert all(got[n].dtype == want[n].dtype for n in want), rule
    if split:
        assert sorted(v.name for v in split_w) == ["w", "w.adam.m", "w.adam.v"]
        assert all(v.get_value(borrow=True).sharding.spec == PartitionSpec(None, "data") for v in split_w)
    if rule == "apply_if_finite":
        assert int(got["apply_if_finite.skipped"]) == 1  # the NaN step was skipped


def resume_across_backends(mesh, directory, writer):
    """Sharded -> checkpoint -> NUMBA -> checkpoint -> sharded, each leg continuing the same run; compared
    with one uninterrupted NUMBA run."""
    xs, ys = data("float64", 4)
    xs = np.nan_to_num(xs)
    inputs, outputs, updates = model("adam", "float64")
    reference = su.fast_function(inputs, outputs, updates=updates, mode="NUMBA")
    want = [np.asarray(reference(x, y)[0]) for x, y in zip(xs, ys, strict=True)]
    s_inputs, s_outputs, s_updates = model("adam", "float64")
    sharded = su.sharded_function(s_inputs, s_outputs, updates=s_updates, mesh=mesh)
    n_inputs, n_outputs, n_updates = model("adam", "float64")
    numba = su.fast_function(n_inputs, n_outputs, updates=n_updates, mode="NUMBA")
    got = [sharded(xs[0], ys[0])[0]]
    if writer:  # replicated state: one process writes, every process reads the same file
        su.save_state(s_updates, f"{directory}/sharded.npz", include_params=True)
    barrier("saved sharded")
    su.load_state(n_updates, f"{directory}/sharded.npz")
    got += [numba(xs[1], ys[1])[0], numba(xs[2], ys[2])[0]]
    if writer:
        su.save_state(n_updates, f"{directory}/numba.npz", include_params=True)
    barrier("saved numba")
    su.load_state(s_updates, f"{directory}/numba.npz")
    got.append(sharded(xs[3], ys[3])[0])
    assert_close(got, want, "float64", "losses of the resumed run")
    final = values(updates)
    assert_close(
        [np.asarray(values(s_updates)[n]) for n in final], list(final.values()), "float64", "resumed state"
    )


def barrier(name):
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(name)


def main():
    directory = sys.argv[-1]
    mesh = Mesh(np.array(jax.devices()), ("data",))
    assert len(jax.devices()) == 4, jax.devices()
    assert jax.process_count() == (2 if sys.argv[1] == "process" else 1)
    assert jax.local_device_count() == 4 // jax.process_count()
    for rule in RULES:
        for dtype in ["float32", "float64"] if rule == "adam" else ["float32"]:
            compare_rule(mesh, rule, dtype)
            print(f"ok {rule} {dtype}", flush=True)
    compare_rule(mesh, "adam", "float32", split=True)
    print("ok adam float32 split by columns", flush=True)
    resume_across_backends(mesh, directory, writer=jax.process_index() == 0)
    print("ok resume", flush=True)


if __name__ == "__main__":
    main()
