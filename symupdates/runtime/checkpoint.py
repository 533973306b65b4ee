"""Optimizer state you can see, save and resume.

A checkpoint is an ordinary ``.npz`` archive: one array per state variable under ``"state/<state name>"``
(the deterministic names ``"W.adam.m"``, ``"adam.t"``), one per shared hyper-parameter
(``inject_hyperparams``) under ``"hyperparams/<key>"``, optionally one per param under ``"params/<name>"``,
and a ``"symupdates.json"`` entry, a uint8 array holding UTF-8 JSON: the format name and version, the rule
that built the updates (``Updates.rule``) and the shape and dtype of every entry. ``np.load(path,
allow_pickle=False)`` reads it; ``load_state`` reads it without pickle, checks everything against the live
updates first and only then writes the shared variables, so a refused file changes nothing.
"""

import contextlib
import errno
import io
import json
import os
import re
import secrets
import zipfile
from typing import Any, NamedTuple

import numpy as np
from pytensor.tensor.sharedvar import TensorSharedVariable

from ..core.builder import param_keys
from ..core.updates import Updates
from ..interop import adapter_for

try:
    import fcntl
except ImportError:  # Windows: temporary files of killed saves are left in place
    fcntl = None  # type: ignore[assignment]

__all__ = ["CheckpointError", "StateEntry", "load_state", "reset_state", "save_state", "state_of"]

FORMAT = "symupdates-checkpoint"
VERSION = 1
METADATA = "symupdates.json"
_ZIP_MAGIC = b"PK\x03\x04"
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class CheckpointError(ValueError):
    """A checkpoint file that cannot be loaded into these updates; nothing was modified."""


class StateEntry(NamedTuple):
    """One optimizer state variable: its deterministic name, its value's shape and its dtype."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype


def state_of(updates: Updates) -> list[StateEntry]:
    """The optimizer state an updates dict created, without the params.

    Parameters
    ----------
    updates : Updates
        What a rule returned, e.g. ``symupdates.adam(loss, params)``.

    Returns
    -------
    list of StateEntry
        ``(name, shape, dtype)`` per state variable, in creation order; the variables themselves are
        ``updates.state``.

    Notes
    -----
    Lasagne's state was anonymous (its issue #600); torch's ``state_dict`` is keyed by parameter position;
    here every entry has a name built from its param's name and the rule's slot.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.ones((2, 3), dtype="float32"), name="w")
    >>> for entry in symupdates.state_of(symupdates.adam((w ** 2).sum(), [w])):
    ...     print(entry.name, entry.shape, entry.dtype)
    adam.t () int64
    w.adam.m (2, 3) float32
    w.adam.v (2, 3) float32
    """
    updates = _own_updates(updates)
    return [StateEntry(name, value.shape, value.dtype) for name, value in _values(_state_variables(updates))]


def reset_state(updates: Updates) -> None:
    """Put every state variable back to the value it was created with (zeros for most rules).

    Parameters
    ----------
    updates : Updates

    Notes
    -----
    The initial value is the one the rule gave when it created the state (``builder.slot(..., value=v)``),
    so a rule whose accumulator starts at 0.1 restarts at 0.1; state created elsewhere goes back to zeros.
    The params are left alone. Compiled functions see the new values at once (no recompilation).

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> updates = symupdates.adagrad((w ** 2).sum(), [w])
    >>> pytensor.function([], [], updates=updates)()
    []
    >>> symupdates.reset_state(updates); updates.state[0].get_value()
    array([0., 0.])
    """
    updates = _own_updates(updates)
    for var in _state_variables(updates):
        initial = getattr(var.tag, "initial_value", None)
        value = var.get_value(borrow=True)
        var.set_value(np.zeros_like(value) if initial is None else np.array(initial, dtype=value.dtype))


def save_state(updates: Updates, path: str | os.PathLike[str], include_params: bool = False) -> None:
    """Write the optimizer state (and optionally the params) of ``updates`` to a ``.npz`` checkpoint.

    Parameters
    ----------
    updates : Updates
        What a rule returned.
    path : str or os.PathLike
        Written exactly there (no suffix is added), atomically: the data goes to a temporary file
        ``<path>.<pid>.<random hex>.tmp`` in the same directory, fsynced, that then replaces ``path`` (and the
        directory is fsynced), so an interrupted save leaves the previous file intact. The file's mode is
        ``0o666 & ~umask``, as ``np.save`` gives.
    include_params : bool
        Also store ``updates.params``, so one file restores a whole training run.

    Raises
    ------
    ValueError
        ``updates`` has an entry for a variable that is neither one of its params nor state of its rules
        (added by hand or merged from a plain dict): the checkpoint would silently leave it out.
    OSError
        The message names ``path`` (a missing directory, no permission, a full disk).

    Notes
    -----
    A save killed mid-write leaves its temporary file; the next save to the same ``path`` removes the ones
    whose writer is gone. A writer holds an exclusive ``flock`` on its temporary file until its rename, and
    the system drops the locks of a process that dies, so a file whose lock can be taken is debris; pids are
    not trusted (they are reused). Where ``flock`` is not available (Windows, some network file systems)
    the files are left in place.

    No pickle: every entry is a plain numeric array, and the metadata is JSON in a uint8 array. torch's
    ``torch.save`` pickles; optax has no I/O.

    Each value is written in its variable's declared dtype. After an ordinary ``pytensor.function`` call in
    JAX mode a float32 variable can hold a float64 array (PyTensor's JAX sums return float64; see
    ``fast_function``); the file still records float32, so it loads in any mode.

    Examples
    --------
    >>> import os, tempfile, numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> updates = symupdates.adam((w ** 2).sum(), [w])
    >>> path = os.path.join(tempfile.mkdtemp(), "adam.npz")
    >>> symupdates.save_state(updates, path, include_params=True)
    >>> sorted(np.load(path, allow_pickle=False).files)
    ['params/w', 'state/adam.t', 'state/w.adam.m', 'state/w.adam.v', 'symupdates.json']
    """
    updates = _own_updates(updates)
    arrays = {
        key: np.asarray(var.get_value(borrow=True), dtype=var.dtype)
        for key, var in _entries(updates, include_params).items()
    }
    metadata = {
        "format": FORMAT,
        "version": VERSION,
        "rule": getattr(updates, "rule", None),
        "entries": {key: {"shape": list(a.shape), "dtype": a.dtype.str} for key, a in arrays.items()},
    }
    arrays[METADATA] = np.frombuffer(json.dumps(metadata).encode(), dtype=np.uint8)
    _write_atomically(os.fspath(path), arrays)


def load_state(
    updates: Updates, path: str | os.PathLike[str], *, cast: bool = False, include_params: bool | None = None
) -> dict[str, Any]:
    """Load a checkpoint written by ``save_state`` into the shared variables of ``updates``.

    Everything is checked before anything is written: the file is a readable symupdates checkpoint of a
    known format version, it comes from the same rule (same transforms, by name), it has exactly the
    entries these updates need, each of the same shape and dtype. Otherwise ``CheckpointError`` is raised
    and no shared variable is modified.

    Parameters
    ----------
    updates : Updates
        Rebuilt the same way as the updates that were saved (same rule, params of the same names,
        shapes and dtypes).
    path : str or os.PathLike
    cast : bool
        Convert float state (and params) between float32 and float64 when the file's dtype differs from
        the live variable's, e.g. to resume a float64 run in float32. Without it a dtype difference is an
        error; integer entries are never converted.
    include_params : bool or None
        ``None`` restores the params too when the file has them; ``True`` requires them; ``False`` loads
        the state only.

    Returns
    -------
    dict
        The file's metadata: ``format``, ``version``, ``rule`` (with the saved hyper-parameters) and
        ``entries``.

    Raises
    ------
    CheckpointError
        The message names the problem: not a checkpoint, truncated or corrupt, newer format version,
        written by another rule, missing or unexpected entries, shape or dtype mismatch.

    Notes
    -----
    Hyper-parameter values given as numbers may differ from the saved ones (resuming with a lower
    learning rate is common); they are in the returned metadata. Those made shared by
    ``inject_hyperparams`` (``updates.hyperparams``) are saved as ``"hyperparams/<key>"`` and restored.
    torch's ``load_state_dict`` matches optimizer state by parameter position, checking only the group
    sizes, and restores the saved hyper-parameters instead.

    Examples
    --------
    >>> import os, tempfile, numpy as np, pytensor, symupdates
    >>> path = os.path.join(tempfile.mkdtemp(), "run.npz")
    >>> w64 = pytensor.shared(np.ones(2), name="w")
    >>> symupdates.save_state(symupdates.adam((w64 ** 2).sum(), [w64]), path)
    >>> w32 = pytensor.shared(np.ones(2, dtype="float32"), name="w")
    >>> updates32 = symupdates.adam((w32 ** 2).sum(), [w32])
    >>> try:
    ...     symupdates.load_state(updates32, path)
    ... except symupdates.CheckpointError as error:
    ...     print(str(error).split(": ", 1)[1])
    dtype mismatch: state/w.adam.m is float64 in the file but float32 here; pass cast=True to convert
    >>> symupdates.load_state(updates32, path, cast=True)["rule"]["name"]
    'adam'
    """
    updates = _own_updates(updates)
    path = os.fspath(path)
    metadata, arrays = _read(path)
    _check_rule(path, metadata.get("rule"), getattr(updates, "rule", None))
    has_params = any(key.startswith("params/") for key in arrays)
    if include_params and not has_params:
        raise CheckpointError(f"{path} has no params (it was saved with include_params=False)")
    load_params = has_params if include_params is None else include_params
    targets = _entries(updates, load_params)
    offered = {key: a for key, a in arrays.items() if load_params or not key.startswith("params/")}
    _check_entries(path, targets, offered)
    values = {key: _converted(path, key, offered[key], var, cast) for key, var in targets.items()}
    for key, var in targets.items():
        var.set_value(values[key])
    return metadata


def _own_updates(updates: Any) -> Any:
    """``updates``, or another library's updates dict (pytensor-ml's) read as symupdates ``Updates``."""
    adapter = adapter_for(updates)
    return updates if adapter is None else adapter.as_updates(updates)


def _state_variables(updates: Any) -> list[TensorSharedVariable]:
    state = getattr(updates, "state", None)
    if state is None:
        raise TypeError(
            f"updates must be the Updates a rule returned, got {type(updates).__name__}; to combine the "
            "updates of several rules, use symupdates.merge(a, b) or a.update(b), which keep their state"
        )
    return list(state)


def _values(variables: list[TensorSharedVariable]) -> list[tuple[Any, np.ndarray]]:
    return [(var.name, var.get_value(borrow=True)) for var in variables]


def _entries(updates: Updates, include_params: bool) -> dict[str, TensorSharedVariable]:
    """``{"state/<name>": var}``, ``{"hyperparams/<key>": var}`` for the hyper-parameters made shared by
    ``inject_hyperparams`` and, with ``include_params``, ``{"params/<name>": param}``."""
    known = {*_state_variables(updates), *updates.params}
    for var in updates:
        if var not in known:
            raise ValueError(
                f"updates has an entry for {var.name or str(var)!r}, which is neither one of its params nor "
                "state of the rules that built it (an entry added with update(), | or item assignment), so "
                "a checkpoint would silently leave it out; checkpoint the rules' own updates and save "
                "this variable yourself"
            )
    entries: dict[str, TensorSharedVariable] = {}
    for i, var in enumerate(_state_variables(updates)):
        if not var.name:
            raise ValueError(f"updates.state[{i}] has no name, so it cannot be matched in a checkpoint")
        if f"state/{var.name}" in entries:
            raise ValueError(f"two state variables are named {var.name!r}; checkpoint names must be unique")
        entries[f"state/{var.name}"] = var
    entries.update((f"hyperparams/{key}", var) for key, var in getattr(updates, "hyperparams", {}).items())
    if include_params:
        entries.update(
            (f"params/{key}", p) for key, p in zip(param_keys(updates.params), updates.params, strict=True)
        )
    return entries


def _write_atomically(path: str, arrays: dict[str, Any]) -> None:
    """``np.savez`` to a locked temporary file next to ``path``, fsync, rename over ``path``, fsync the
    directory; first remove the temporary files of earlier saves to ``path`` whose writer died."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        if not os.path.isdir(directory):
            raise FileNotFoundError(errno.ENOENT, f"directory {directory} does not exist")
        _remove_debris(directory, os.path.basename(path))
        fd, temporary = _create_temporary(directory, os.path.basename(path))
        # The lock taken in _create_temporary is held until the rename is done: a concurrent save must not
        # take this file for debris.
        with os.fdopen(fd, "wb") as f:
            try:
                np.savez(f, **arrays)
                f.flush()
                os.fsync(f.fileno())
                os.replace(temporary, path)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temporary)
                raise
        _fsync_directory(directory)
    except OSError as error:
        message = f"cannot save checkpoint {path}: {error.strerror or error}"
        raise (type(error)(message) if error.errno is None else type(error)(error.errno, message)) from error


def _create_temporary(directory: str, name: str) -> tuple[int, str]:
    """A new temporary file for a save to ``directory/name``, open for writing and exclusively locked."""
    while True:
        temporary = os.path.join(directory, f"{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            # Mode 0o666 before the umask, as np.save creates files: the checkpoint keeps it after the rename.
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _CLOEXEC, 0o666)
        except FileExistsError:
            continue
        if not _lock(fd, blocking=True):
            return fd, temporary
        # Between os.open and the lock, a concurrent save may have removed the file as debris: start again.
        with contextlib.suppress(FileNotFoundError):
            if os.stat(temporary).st_ino == os.fstat(fd).st_ino:
                return fd, temporary
        os.close(fd)


def _remove_debris(directory: str, name: str) -> None:
    """Remove the temporary files of saves to ``name`` whose writer is gone (killed mid-save): a writer
    holds a lock on its file until its rename is done, and the operating system releases the locks of a
    process that dies, so a file whose lock can be taken has no live writer."""
    pattern = re.compile(re.escape(name) + r"\.[0-9]+\.[0-9a-f]+\.tmp")  # as _create_temporary names them
    for entry in os.scandir(directory):
        if not pattern.fullmatch(entry.name):
            continue
        try:
            fd = os.open(entry.path, os.O_RDONLY | _CLOEXEC)
        except OSError:  # removed meanwhile, or not ours to read
            continue
        try:
            if _lock(fd, blocking=False):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
        finally:
            os.close(fd)


def _lock(fd: int, blocking: bool) -> bool:
    """Take an exclusive ``flock`` on ``fd``; False if another open file holds it, or where locks are not
    available (no ``fcntl``, a file system without ``flock``): such files are never taken for debris."""
    if fcntl is None:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _fsync_directory(directory: str) -> None:
    """Make the rename durable: on POSIX a rename is recorded in the directory, which has its own fsync."""
    if not hasattr(os, "O_DIRECTORY"):  # Windows cannot open a directory
        return
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | _CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read(path: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The metadata and arrays of a checkpoint, every zip member CRC-checked, without pickle."""
    with open(path, "rb") as f:
        if f.read(len(_ZIP_MAGIC)) != _ZIP_MAGIC:
            raise CheckpointError(f"{path} is not a symupdates checkpoint: it is not an .npz (zip) archive")
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if f"{METADATA}.npy" not in names:
                raise CheckpointError(f"{path} is not a symupdates checkpoint: it has no {METADATA!r} entry")
            arrays = {name.removesuffix(".npy"): _read_array(path, archive, name) for name in names}
        metadata = json.loads(arrays.pop(METADATA).tobytes().decode("utf-8"))
        _check_metadata(path, metadata, arrays)
    except CheckpointError:
        raise
    except Exception as error:  # zipfile, zlib, numpy and json each raise their own types on damaged bytes
        raise CheckpointError(f"{path} is truncated or corrupt: {error}") from error
    return metadata, arrays


def _read_array(path: str, archive: zipfile.ZipFile, name: str) -> np.ndarray:
    data = archive.read(name)  # reads the whole member, so zipfile verifies its CRC-32
    buffer = io.BytesIO(data)
    if _header_dtype(buffer).hasobject:
        raise CheckpointError(
            f"{path} holds a pickled object entry {name.removesuffix('.npy')!r}: a symupdates checkpoint "
            "holds numeric arrays only, and load_state never unpickles (a pickle can run any code)"
        )
    array = np.lib.format.read_array(buffer, allow_pickle=False)
    if buffer.tell() != len(data) or array.dtype.kind not in "biuf":
        raise ValueError(f"entry {name!r} is not a plain numeric array")
    return array


def _header_dtype(buffer: io.BytesIO) -> np.dtype:
    """The dtype an .npy header declares (the buffer is left at its start); an unreadable header declares
    none (``read_array`` then says what is wrong)."""
    readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    try:
        reader = readers.get(np.lib.format.read_magic(buffer))
        dtype = np.dtype(np.void) if reader is None else reader(buffer)[2]
    except ValueError:
        dtype = np.dtype(np.void)
    buffer.seek(0)
    return dtype


def _check_metadata(path: str, metadata: Any, arrays: dict[str, np.ndarray]) -> None:
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a symupdates checkpoint: its metadata has no format {FORMAT!r}")
    version = metadata.get("version")
    if version != VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format version {version!r}; this symupdates reads version {VERSION}"
        )
    entries = metadata.get("entries")
    listed = (
        {
            key: (tuple(e.get("shape", ())), e.get("dtype"))
            for key, e in entries.items()
            if isinstance(e, dict)
        }
        if isinstance(entries, dict)
        else None
    )
    present = {key: (a.shape, a.dtype.str) for key, a in arrays.items()}
    if listed != present:
        raise CheckpointError(f"{path} is truncated or corrupt: its arrays do not match its metadata")


def _check_rule(path: str, saved: Any, live: Any) -> None:
    if _signature(saved) != _signature(live):
        raise CheckpointError(
            f"{path} was written by another optimizer: {_rule_repr(saved)}; these updates come from "
            f"{_rule_repr(live)}"
        )


def _signature(description: Any) -> Any:
    """The names of the transforms in a rule description, without hyper-parameter values."""
    if isinstance(description, dict):
        if set(description) == {"name", "config"}:
            return description["name"], _signature(description["config"])
        items = tuple((k, s) for k, v in sorted(description.items()) if (s := _signature(v)) is not None)
        return items or None
    if isinstance(description, list):
        items = tuple(_signature(v) for v in description)
        return items if any(s is not None for s in items) else None
    return None


def _rule_repr(description: Any) -> str:
    if isinstance(description, dict) and set(description) == {"name", "config"}:
        config = description["config"] if isinstance(description["config"], dict) else {}
        args = ", ".join(f"{k}={_rule_repr(v)}" for k, v in config.items())
        return f"{description['name']}({args})"
    if isinstance(description, list):
        return "[" + ", ".join(_rule_repr(v) for v in description) + "]"
    return "an unknown rule" if description is None else repr(description)


def _check_entries(
    path: str, targets: dict[str, TensorSharedVariable], offered: dict[str, np.ndarray]
) -> None:
    missing = [key for key in targets if key not in offered]
    unexpected = [key for key in offered if key not in targets]
    problems = []
    if missing:
        problems.append(f"missing entries {missing}")
    if unexpected:
        problems.append(f"unexpected entries {unexpected}")
    if problems:
        raise CheckpointError(f"{path} does not match these updates: " + " and ".join(problems))
    for key, var in targets.items():
        shape = var.get_value(borrow=True).shape
        if offered[key].shape != shape:
            raise CheckpointError(
                f"{path}: shape mismatch: {key} is {offered[key].shape} in the file but {shape} here"
            )


def _converted(path: str, key: str, array: np.ndarray, var: TensorSharedVariable, cast: bool) -> np.ndarray:
    dtype = np.dtype(var.dtype)
    if array.dtype == dtype:
        return array
    both_float = array.dtype.kind == "f" and dtype.kind == "f"
    if not (cast and both_float):
        hint = "; pass cast=True to convert" if both_float else ""
        raise CheckpointError(
            f"{path}: dtype mismatch: {key} is {array.dtype} in the file but {dtype} here{hint}"
        )
    with np.errstate(over="ignore"):
        converted = array.astype(dtype)
    if not np.array_equal(np.isfinite(converted), np.isfinite(array)):
        raise CheckpointError(f"{path}: {key} has values that overflow {dtype}")
    return converted
