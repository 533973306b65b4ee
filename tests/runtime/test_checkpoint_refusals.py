"""load_state's refusals name the real reason: a checkpoint holding a pickled object entry says so (it is
not truncated or corrupt), and no code in the pickle runs."""

import json
import zipfile

import numpy as np
import pytensor
import pytest

import symupdates as su

unpickled = []


class Payload:
    def __reduce__(self):
        return (unpickled.append, ("executed",))


def adam_updates():
    w = pytensor.shared(np.arange(6.0).reshape(2, 3), name="W")
    return su.adam((w**2).sum(), [w])


def add_entry(path, name, array):
    """Rewrite a checkpoint with one more entry, listed in its metadata (what another tool might write)."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    metadata = json.loads(arrays["symupdates.json"].tobytes())
    metadata["entries"][name] = {"shape": list(array.shape), "dtype": array.dtype.str}
    arrays["symupdates.json"] = np.frombuffer(json.dumps(metadata).encode(), dtype=np.uint8)
    np.savez(path, **arrays, **{name: array})


@pytest.mark.parametrize("pickled", ["object", "record with an object field"])
def test_a_pickled_object_entry_is_refused_as_such(tmp_path, pickled):
    path = tmp_path / "ckpt.npz"
    su.save_state(adam_updates(), path)
    if pickled == "object":
        payload = np.empty(1, dtype=object)
    else:
        payload = np.empty(1, dtype=[("x", "f8"), ("o", object)])
    payload[0] = Payload() if pickled == "object" else (1.0, Payload())
    add_entry(path, "evil", payload)
    with zipfile.ZipFile(path) as archive:  # the archive itself is whole: every member's CRC holds
        assert archive.testzip() is None
    live = adam_updates()
    before = {v: v.get_value().copy() for v in [*live.params, *live.state]}
    with pytest.raises(su.CheckpointError) as error:
        su.load_state(live, path)
    message = str(error.value)
    assert "holds a pickled object entry 'evil'" in message and "corrupt" not in message
    assert unpickled == []
    for var, value in before.items():
        np.testing.assert_array_equal(var.get_value(), value)


def test_a_truncated_checkpoint_is_still_refused_as_truncated(tmp_path):
    path = tmp_path / "ckpt.npz"
    su.save_state(adam_updates(), path)
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(su.CheckpointError, match="truncated or corrupt"):
        su.load_state(adam_updates(), path)
