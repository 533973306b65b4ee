"""Seeing, saving, loading and resetting optimizer state: bit-identical resume in a fresh process for every
rule, one test per way a checkpoint can be refused (nothing changes when it is), and a fuzz test on damaged
files."""

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytensor
import pytest

import symupdates as su
from support import ROOT, checkpoint_cases
from support.modes import require_mode
from support.params import make_params

MODES = ["NUMBA", "CVM"]


# -- Resume: every optimizer and transform, one compiled function per mode, one fresh process ----------------


SIGN_OF_MOMENTUM = {"lion", "signum", "sophia"}


def test_every_rule_resumes_bit_identically_in_a_fresh_process(tmp_path):
    in_process, labels = {}, {}
    for mode in MODES:
        step, cases = checkpoint_cases.build(mode)
        in_process[mode] = checkpoint_cases.uninterrupted(tmp_path / "in-process", mode, step, cases)
        labels[mode] = set(cases)

        # The state matters: resuming from the saved params with fresh state ends elsewhere for every
        # rule (the silent accuracy drop of a restart that forgets Adagrad's accumulators).
        for label, (_, updates) in cases.items():
            su.load_state(updates, checkpoint_cases.checkpoint_path(tmp_path / "in-process", mode, label))
            su.reset_state(updates)
        for x in checkpoint_cases.DATA[checkpoint_cases.N_STEPS :]:
            step(x)
        unaffected = [
            label
            for label, (params, _) in cases.items()
            if all(
                np.array_equal(p.get_value(), in_process[mode][f"{label}/{i}"]) for i, p in enumerate(params)
            )
        ]
        # lion and signum step by the sign of a momentum, and so does sophia here (its defaults clip every
        # step of this problem: gamma * h is about 2e-4 * x); each gradient keeps its sign, so a fresh
        # momentum has the same sign as the restored one. Their restored state is still checked below.
        assert sorted(unaffected) == sorted(SIGN_OF_MOMENTUM & set(cases)), unaffected

    # The reference run and the resume each run in a fresh process, after this one compiled the step: both
    # run the same machine code. (In NUMBA mode this process, which compiled the step, and a process that
    # loads it from PyTensor's cache can differ in the last bit: docs/checkpoints.md, "Bit for bit across
    # processes".)
    for stage in ("uninterrupted", "resume"):
        result = subprocess.run(
            [sys.executable, str(Path(checkpoint_cases.__file__)), stage, str(tmp_path), *MODES],
            capture_output=True,
            text=True,
            timeout=900,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert result.returncode == 0, result.stderr

    stateless = {"sgd", "sign_sgd"}
    rules = set(checkpoint_cases.rules())
    assert {
        "muon",
        "schedule_free_adamw",
        "prodigy",
        "dadapt_adamw",
        "adahessian",
        "sophia",
        "wrapper:sam",
        "wrapper:schedule_free",
    } <= rules
    assert {r for r in rules if ":" not in r} - stateless <= labels["NUMBA"]
    assert {"float32", "float64"} == {params[0].dtype for params, _ in cases.values()}
    for mode in MODES:
        uninterrupted = np.load(tmp_path / mode / "uninterrupted.npz", allow_pickle=False)
        resumed = np.load(tmp_path / mode / "resume.npz", allow_pickle=False)
        assert set(uninterrupted) == set(resumed) == set(in_process[mode])
        for key, want in uninterrupted.items():
            got = resumed[key]
            assert got.dtype == want.dtype == in_process[mode][key].dtype, f"{key} in {mode}"
            assert got.tobytes() == want.tobytes(), f"{key} in {mode}"
            # The fresh processes ran the same steps as this one, up to rounding.
            np.testing.assert_allclose(want, in_process[mode][key], rtol=1e-5, err_msg=f"{key} in {mode}")


# -- Seeing and resetting the state ------------------------------------------------------------------------


def test_state_of_lists_state_names_shapes_and_dtypes_without_the_params():
    params = make_params("float64", shapes=[(2, 3)], prefix="W")
    params += make_params("float32", shapes=[(4,)], prefix="b")
    updates = su.adam((params[0] ** 2).sum() + (params[1] ** 2).sum(), params)
    assert su.state_of(updates) == [
        ("adam.t", (), np.dtype("int64")),
        ("W0.adam.m", (2, 3), np.dtype("float64")),
        ("W0.adam.v", (2, 3), np.dtype("float64")),
        ("b0.adam.m", (4,), np.dtype("float32")),
        ("b0.adam.v", (4,), np.dtype("float32")),
    ]
    window = su.adagrad_window((params[0] ** 2).sum(), params[:1], n_win=4)
    assert [tuple(e) for e in su.state_of(window)] == [
        ("W0.adagrad_window.accu", (2, 3, 4), np.dtype("float64")),
        ("W0.adagrad_window.index", (), np.dtype("int64")),
    ]


def with_initial_value(value):
    """A transform whose accumulator starts at ``value``, like torch's ``initial_accumulator_value``, and
    whose scalar step count starts at 5."""

    def build(steps, builder):
        for i in range(len(steps)):
            builder.set(builder.slot(i, "custom", "accu", value=value), steps[i])
            builder.set(builder.scalar(f"{builder.keys[i]}.custom.n", 5, "int64", owner=i), 0)
        return steps

    return su.Transform(build, "with_initial_value", {"value": value})


def test_reset_state_restores_each_rules_initial_values_and_leaves_params_alone():
    params = make_params("float32", shapes=[(3,), (2, 2)])
    updates = su.chain(with_initial_value(0.1), su.scale_by_adam())(sum((p**2).sum() for p in params), params)
    before = [p.get_value() for p in params]
    for var in updates.state:
        var.set_value(np.full_like(var.get_value(), 7))
    su.reset_state(updates)
    for var in updates.state:
        value = var.get_value()
        want = {"accu": 0.1, "n": 5}.get(var.name.rsplit(".", 1)[1], 0)
        assert value.dtype == var.dtype
        np.testing.assert_array_equal(value, np.full(value.shape, want, dtype=var.dtype), err_msg=var.name)
    for p, want in zip(params, before, strict=True):
        np.testing.assert_array_equal(p.get_value(), want)


# -- Saving and loading ------------------------------------------------------------------------------------


def trained_adam(shapes=((2, 3), (3,)), names=("W", "b"), dtype="float64", seed=0, rule=su.adam):
    """Adam's updates whose params and state hold distinct random values, as after some training."""
    rng = np.random.default_rng(seed)
    params = [
        pytensor.shared(rng.normal(size=s).astype(dtype), name=n) for s, n in zip(shapes, names, strict=True)
    ]
    updates = rule(sum((p**2).sum() for p in params), params)
    for var in updates.state:
        var.set_value((rng.integers(1, 100, size=var.get_value().shape)).astype(var.dtype))
    return updates


def values(updates):
    return {v.name: v.get_value().copy() for v in [*updates.params, *updates.state]}


def assert_unchanged(updates, before):
    after = values(updates)
    assert after.keys() == before.keys()
    for name, value in before.items():
        assert after[name].dtype == value.dtype and after[name].tobytes() == value.tobytes(), name


def test_save_then_load_restores_state_and_params(tmp_path):
    saved = trained_adam(seed=1)
    su.save_state(saved, tmp_path / "ckpt.npz", include_params=True)
    live = trained_adam(seed=2)
    metadata = su.load_state(live, tmp_path / "ckpt.npz")
    assert_unchanged(live, values(saved))
    assert metadata["rule"] == saved.rule and metadata["rule"]["config"]["learning_rate"] == 0.001
    assert metadata["version"] == 1


def test_state_only_checkpoint_leaves_params_alone_and_is_plain_npz(tmp_path):
    saved = trained_adam(seed=1)
    su.save_state(saved, tmp_path / "ckpt.npz")
    with np.load(tmp_path / "ckpt.npz", allow_pickle=False) as archive:
        assert sorted(archive.files) == [
            "state/W.adam.m",
            "state/W.adam.v",
            "state/adam.t",
            "state/b.adam.m",
            "state/b.adam.v",
            "symupdates.json",
        ]
        metadata = json.loads(archive["symupdates.json"].tobytes())
        np.testing.assert_array_equal(archive["state/W.adam.m"], saved.state[1].get_value())
    assert metadata["format"] == "symupdates-checkpoint" and metadata["rule"]["name"] == "adam"
    live = trained_adam(seed=2)
    params_before = [p.get_value() for p in live.params]
    su.load_state(live, tmp_path / "ckpt.npz")
    for var, want in zip(live.state, saved.state, strict=True):
        np.testing.assert_array_equal(var.get_value(), want.get_value())
    for p, want in zip(live.params, params_before, strict=True):
        np.testing.assert_array_equal(p.get_value(), want)
    with pytest.raises(su.CheckpointError, match="has no params"):
        su.load_state(live, tmp_path / "ckpt.npz", include_params=True)


def test_hyper_parameters_may_change_on_resume(tmp_path):
    su.save_state(trained_adam(), tmp_path / "ckpt.npz")
    su.load_state(
        trained_adam(rule=lambda loss, params: su.adam(loss, params, learning_rate=1e-5)),
        tmp_path / "ckpt.npz",
    )


def test_save_is_atomic_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    su.save_state(trained_adam(seed=1), path)
    original = path.read_bytes()

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", fail)
    with pytest.raises(OSError, match="disk full"):
        su.save_state(trained_adam(seed=2), path)
    assert path.read_bytes() == original
    assert os.listdir(tmp_path) == ["ckpt.npz"]


# -- Crash hygiene: killed writers, file mode, durability, error messages ----------------------------------

WRITER = """
import sys, numpy as np, pytensor, symupdates as su
path, value = sys.argv[1], int(sys.argv[2])
w = pytensor.shared(np.full(2_000_000, float(value)), name="W")
updates = su.adam((w ** 2).sum(), [w])
for var in updates.state:
    var.set_value(np.full_like(var.get_value(), value))
while True:
    su.save_state(updates, path, include_params=True)
"""


def big_adam(value):
    """The writer's updates (48 MB with its param: tens of milliseconds to write), every entry ``value``."""
    w = pytensor.shared(np.full(2_000_000, float(value)), name="W")
    updates = su.adam((w**2).sum(), [w])
    for var in updates.state:
        var.set_value(np.full_like(var.get_value(), value))
    return updates


def entry_values(updates):
    return {np.unique(var.get_value()).item() for var in [*updates.params, *updates.state]}


def kill_mid_save(path, value, timeout=60):
    """Start a process saving checkpoints of ``value`` to ``path`` in a loop, and ``kill -9`` it as soon as
    its temporary file has data."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), str(value)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        prefix, deadline = f"{path.name}.{writer.pid}.", time.monotonic() + timeout
        while not any(e.name.startswith(prefix) and e.stat().st_size > 0 for e in os.scandir(path.parent)):
            assert writer.poll() is None, writer.stderr.read().decode()
            assert time.monotonic() < deadline, "the writer never started a save"
            time.sleep(0.002)
        os.kill(writer.pid, signal.SIGKILL)
        assert writer.wait(timeout=10) == -signal.SIGKILL
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
        writer.stderr.close()


def test_saves_killed_mid_write_leave_no_torn_file_and_the_next_save_removes_their_debris(tmp_path):
    path = tmp_path / "ckpt.npz"
    live = big_adam(0)
    su.save_state(live, path, include_params=True)
    debris_after_kill = []
    for value in range(1, 5):
        kill_mid_save(path, value)
        debris_after_kill.append(sorted(os.listdir(tmp_path))[1:])
        su.load_state(live, path)  # complete and consistent: one version, every CRC checked
        assert len(entry_values(live)) == 1 and entry_values(live) <= set(range(value + 1))
    # Each kill left its temporary file, and the next writer's save removed it (they would pile up: 4 files).
    assert all(len(debris) <= 1 for debris in debris_after_kill), debris_after_kill
    assert max(map(len, debris_after_kill)) == 1, debris_after_kill
    named = [name for debris in debris_after_kill for name in debris]
    assert all(name.startswith("ckpt.npz.") and name.endswith(".tmp") for name in named), named

    su.save_state(big_adam(9), path, include_params=True)
    assert os.listdir(tmp_path) == ["ckpt.npz"]
    su.load_state(live, path)
    assert entry_values(live) == {9}


def test_a_live_writers_temporary_file_and_other_files_are_left_alone(tmp_path):
    fcntl = pytest.importorskip("fcntl")
    path = tmp_path / "ckpt.npz"
    in_progress = tmp_path / "ckpt.npz.4242.0badcafe.tmp"
    others = ["ckpt.npz.backup.tmp", "other.npz.4242.0badcafe.tmp", "ckpt.npz.4242.0badcafe.tmp.keep"]
    for name in [in_progress.name, *others]:
        (tmp_path / name).write_bytes(b"partial")
    with open(in_progress, "rb") as held:  # a writer holds its lock until its rename
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        su.save_state(trained_adam(), path)
        assert in_progress.exists()
    su.save_state(trained_adam(), path)  # its writer is gone: debris
    assert sorted(os.listdir(tmp_path)) == sorted(["ckpt.npz", *others])


def test_the_file_mode_follows_the_umask_and_the_rename_is_made_durable(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    synced = []
    fsync = os.fsync

    def spy(fd):
        synced.append(("directory" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file", path.exists()))
        fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    for umask in (0o022, 0o077, 0o002):
        previous = os.umask(umask)
        try:
            su.save_state(trained_adam(), path)
            np.save(tmp_path / "reference.npy", np.zeros(1))
        finally:
            os.umask(previous)
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == 0o666 & ~umask == stat.S_IMODE((tmp_path / "reference.npy").stat().st_mode), oct(mode)
        (tmp_path / "reference.npy").unlink()
    # the data before the rename, the directory entry after it
    assert synced == [("file", False), ("directory", True)] + [("file", True), ("directory", True)] * 2


def test_errors_name_the_checkpoint_path(tmp_path):
    path = tmp_path / "missing" / "ckpt.npz"
    with pytest.raises(FileNotFoundError, match=f"checkpoint {path}: directory {path.parent} does not exist"):
        su.save_state(trained_adam(), path)
    (tmp_path / "ckpt.npz").mkdir()
    with pytest.raises(IsADirectoryError, match=f"cannot save checkpoint {tmp_path / 'ckpt.npz'}: Is a dir"):
        su.save_state(trained_adam(), tmp_path / "ckpt.npz")
    assert os.listdir(tmp_path) == ["ckpt.npz"]


def test_merged_per_layer_rules_save_all_eight_variables(tmp_path):
    params, updates = checkpoint_cases.per_layer_adam(pytensor.tensor.scalar("x", dtype="float64"))
    su.save_state(updates, tmp_path / "ckpt.npz", include_params=True)
    with np.load(tmp_path / "ckpt.npz", allow_pickle=False) as archive:
        saved = {key: archive[key] for key in archive.files if key != "symupdates.json"}
    assert sorted(saved) == [
        "params/W[0]",
        "params/W[1]",
        "state/W.adam.m",
        "state/W.adam.m#2",
        "state/W.adam.v",
        "state/W.adam.v#2",
        "state/adam.t",
        "state/adam.t#2",
    ]
    assert saved["params/W[1]"].dtype == np.float32 and saved["state/W.adam.v#2"].dtype == np.float32
    np.testing.assert_array_equal(saved["params/W[1]"], params[1].get_value())


def refuse(live, path, match, **kwargs):
    """``load_state`` raises CheckpointError matching ``match`` and no shared value of ``live`` changes."""
    before = values(live)
    with pytest.raises(su.CheckpointError, match=match) as error:
        su.load_state(live, path, **kwargs)
    assert_unchanged(live, before)
    return str(error.value)


def test_missing_entries_are_refused(tmp_path):
    su.save_state(trained_adam(shapes=[(2, 3)], names=["W"]), tmp_path / "ckpt.npz")
    message = refuse(trained_adam(), tmp_path / "ckpt.npz", "missing entries")
    assert "state/b.adam.m" in message and "state/b.adam.v" in message and "unexpected" not in message


def test_unexpected_entries_are_refused(tmp_path):
    su.save_state(trained_adam(), tmp_path / "ckpt.npz")
    message = refuse(trained_adam(shapes=[(2, 3)], names=["W"]), tmp_path / "ckpt.npz", "unexpected entries")
    assert "state/b.adam.m" in message and "missing" not in message


def test_params_of_another_name_are_refused(tmp_path):
    su.save_state(trained_adam(), tmp_path / "ckpt.npz", include_params=True)
    message = refuse(trained_adam(names=["W", "c"]), tmp_path / "ckpt.npz", "missing entries")
    assert "params/c" in message and "unexpected entries" in message and "params/b" in message


def test_shape_mismatch_is_refused(tmp_path):
    su.save_state(trained_adam(), tmp_path / "ckpt.npz")
    message = refuse(trained_adam(shapes=[(3, 2), (3,)]), tmp_path / "ckpt.npz", "shape mismatch")
    assert "state/W.adam.m is (2, 3) in the file but (3, 2) here" in message


def test_dtype_mismatch_is_refused_unless_cast_is_asked(tmp_path):
    saved = trained_adam(dtype="float64", seed=1)
    su.save_state(saved, tmp_path / "ckpt.npz", include_params=True)
    live = trained_adam(dtype="float32", seed=2)
    message = refuse(live, tmp_path / "ckpt.npz", "dtype mismatch")
    assert "float64 in the file but float32 here" in message and "cast=True" in message

    su.load_state(live, tmp_path / "ckpt.npz", cast=True)
    for var, want in zip([*live.params, *live.state], [*saved.params, *saved.state], strict=True):
        assert var.get_value().dtype == var.dtype
        np.testing.assert_array_equal(var.get_value(), want.get_value().astype(var.dtype), err_msg=var.name)

    # and back: float32 into float64 is exact
    su.save_state(live, tmp_path / "ckpt32.npz", include_params=True)
    again = trained_adam(dtype="float64", seed=3)
    refuse(again, tmp_path / "ckpt32.npz", "dtype mismatch")
    su.load_state(again, tmp_path / "ckpt32.npz", cast=True)
    for var, want in zip(again.state, live.state, strict=True):
        np.testing.assert_array_equal(var.get_value(), want.get_value().astype("float64"))


def test_cast_refuses_values_that_overflow_float32(tmp_path):
    saved = trained_adam(dtype="float64")
    saved.state[1].set_value(np.full((2, 3), 1e300))
    su.save_state(saved, tmp_path / "ckpt.npz")
    refuse(trained_adam(dtype="float32"), tmp_path / "ckpt.npz", "overflow float32", cast=True)


def rmsprop_with_adagrads_state_names(loss, params):
    return su.chain(su.scale_by_rms(name="adagrad"), su.scale_by_learning_rate(0.1))(loss, params)


@pytest.mark.parametrize("other", [su.amsgrad, rmsprop_with_adagrads_state_names], ids=["amsgrad", "rmsprop"])
def test_a_file_from_another_optimizer_is_refused(tmp_path, other):
    su.save_state(trained_adam(rule=lambda loss, params: su.adagrad(loss, params)), tmp_path / "ckpt.npz")
    message = refuse(trained_adam(rule=other), tmp_path / "ckpt.npz", "written by another optimizer")
    assert "adagrad(learning_rate=1.0, epsilon=1e-06)" in message


def test_flattened_and_unflattened_checkpoints_are_refused_by_each_other(tmp_path):
    flat_adam = su.flatten(su.adam())
    su.save_state(trained_adam(), tmp_path / "adam.npz", include_params=True)
    message = refuse(trained_adam(rule=flat_adam, seed=1), tmp_path / "adam.npz", "by another optimizer")
    assert "these updates come from flatten(inner=adam(" in message
    su.save_state(trained_adam(rule=flat_adam), tmp_path / "flat.npz")
    refuse(trained_adam(seed=1), tmp_path / "flat.npz", "written by another optimizer")


def test_truncated_file_is_refused(tmp_path):
    path = tmp_path / "ckpt.npz"
    su.save_state(trained_adam(), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    refuse(trained_adam(), path, "truncated or corrupt")


def test_corrupt_array_data_is_refused(tmp_path):
    path = tmp_path / "ckpt.npz"
    saved = trained_adam()
    su.save_state(saved, path)
    data = bytearray(path.read_bytes())
    at = bytes(data).index(saved.state[1].get_value().tobytes())  # W.adam.m's raw values
    data[at + 3] ^= 0x10
    path.write_bytes(bytes(data))
    assert "Bad CRC-32" in refuse(trained_adam(), path, "truncated or corrupt")


def test_files_that_are_not_checkpoints_are_refused(tmp_path):
    live = trained_adam()
    (tmp_path / "notes.txt").write_text("hello")
    refuse(live, tmp_path / "notes.txt", "not a symupdates checkpoint: it is not an .npz")
    np.save(tmp_path / "array.npy", np.zeros(3))
    refuse(live, tmp_path / "array.npy", "not a symupdates checkpoint")
    np.savez(tmp_path / "other.npz", weights=np.zeros(3))
    refuse(live, tmp_path / "other.npz", "not a symupdates checkpoint: it has no 'symupdates.json' entry")


def rewrite(path, edit_metadata=lambda m: m, **extra_arrays):
    """Rewrite a checkpoint with edited metadata and extra arrays (what another tool might write)."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    metadata = edit_metadata(json.loads(arrays["symupdates.json"].tobytes()))
    arrays["symupdates.json"] = np.frombuffer(json.dumps(metadata).encode(), dtype=np.uint8)
    np.savez(path, **{**arrays, **extra_arrays})


def test_a_newer_format_version_is_refused(tmp_path):
    path = tmp_path / "ckpt.npz"
    su.save_state(trained_adam(), path)
    rewrite(path, lambda m: {**m, "version": 2})
    refuse(trained_adam(), path, "format version 2; this symupdates reads version 1")


def test_arrays_that_disagree_with_the_metadata_are_refused(tmp_path):
    path = tmp_path / "ckpt.npz"
    su.save_state(trained_adam(), path)
    rewrite(path, **{"state/W.adam.m": np.zeros(5)})
    refuse(trained_adam(), path, "do not match its metadata")


unpickled = []


class Payload:
    def __reduce__(self):
        return (unpickled.append, ("executed",))


def test_pickled_entries_are_never_unpickled(tmp_path):
    path = tmp_path / "ckpt.npz"
    su.save_state(trained_adam(), path)
    payload = np.empty(1, dtype=object)
    payload[0] = Payload()
    listed = {"evil": {"shape": [1], "dtype": "|O"}}
    rewrite(path, lambda m: {**m, "entries": {**m["entries"], **listed}}, evil=payload)
    refuse(trained_adam(), path, "holds a pickled object entry 'evil'")
    assert unpickled == []


def test_fuzzed_files_load_identically_or_are_refused_without_partial_load(tmp_path):
    source = tmp_path / "ckpt.npz"
    saved = trained_adam(seed=1)
    su.save_state(saved, source, include_params=True)
    original, expected = source.read_bytes(), values(saved)
    live = trained_adam(seed=2)
    sentinel = values(live)
    rng = np.random.default_rng(12345)
    path = tmp_path / "fuzzed.npz"
    outcomes = {"loaded": 0, "refused": 0}
    for _ in range(300):
        data = bytearray(original)
        if rng.random() < 0.25:
            data = data[: rng.integers(0, len(data))]
        else:
            for at in rng.integers(0, len(data), size=rng.integers(1, 4)):
                data[at] ^= int(rng.integers(1, 256))
        path.write_bytes(bytes(data))
        try:
            su.load_state(live, path)
        except su.CheckpointError:
            outcomes["refused"] += 1
            assert_unchanged(live, sentinel)
        else:
            outcomes["loaded"] += 1
            assert_unchanged(live, expected)
            for var in [*live.params, *live.state]:
                var.set_value(sentinel[var.name])
    assert outcomes["refused"] > 200, outcomes


def test_a_step_in_jax_mode_saves_in_the_declared_dtypes(tmp_path):
    """PyTensor's JAX mode turns the float32 params and state of an ordinary call into float64 arrays (its
    sums return float64); the checkpoint still holds float32, so it loads into a float32 model of any mode
    without ``cast``."""
    require_mode("JAX")
    x = pytensor.tensor.matrix("x", dtype="float32", shape=(4, 3))

    def model():
        params = make_params("float32", seed=5, shapes=[(3,), ()])
        loss = ((pytensor.tensor.tanh(x * params[0] + params[1]).sum(axis=1) - 1) ** 2).mean()
        return loss, su.adam(loss, params, learning_rate=0.1)

    loss, trained = model()
    pytensor.function([x], loss, updates=trained, mode="JAX")(np.ones((4, 3), dtype="float32"))
    path = tmp_path / "jax.npz"
    su.save_state(trained, path, include_params=True)
    with np.load(path, allow_pickle=False) as saved:
        dtypes = {saved[k].dtype for k in saved.files if k != "symupdates.json"}
    assert dtypes == {np.dtype("float32"), np.dtype("int64")}
    _, fresh = model()
    su.load_state(fresh, path)
    for trained_var, fresh_var in zip(trained, fresh, strict=True):
        np.testing.assert_allclose(fresh_var.get_value(), np.asarray(trained_var.get_value()), rtol=1e-6)


def test_injected_hyperparameters_are_saved_and_restored(tmp_path):
    injected = su.inject_hyperparams(su.adam)
    saved = trained_adam(rule=lambda loss, params: injected(loss, params, learning_rate=0.01))
    saved.hyperparams["learning_rate"].set_value(0.002)
    su.save_state(saved, tmp_path / "ckpt.npz")
    with np.load(tmp_path / "ckpt.npz", allow_pickle=False) as archive:
        assert archive["hyperparams/learning_rate"] == 0.002 and archive["hyperparams/beta1"] == 0.9
    live = trained_adam(seed=2, rule=lambda loss, params: injected(loss, params, learning_rate=0.01))
    su.load_state(live, tmp_path / "ckpt.npz")
    assert live.hyperparams["learning_rate"].get_value() == 0.002
    for var, want in zip(live.state, saved.state, strict=True):
        np.testing.assert_array_equal(var.get_value(), want.get_value())
    # A file without them does not silently leave them at whatever they were.
    su.save_state(trained_adam(), tmp_path / "plain.npz")
    with pytest.raises(su.CheckpointError, match="missing entries.*hyperparams/beta1"):
        su.load_state(live, tmp_path / "plain.npz")
