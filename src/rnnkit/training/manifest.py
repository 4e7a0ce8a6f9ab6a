"""The manifest of a run directory: proof that rnnkit made it, and a checksum of every file.

``create_run_dir`` writes ``manifest.json`` into every directory it creates. rnnkit writes
only into a directory that has one (or into a new or empty directory, which it then claims),
so ``--out`` pointing at someone's folder can never overwrite it. Every file written into a
run directory by :meth:`rnnkit.training.run_dir.RunDir.write_bytes` is recorded with its
sha256; :func:`verify` checks them when a run is read back, so a flipped byte in
``model.safetensors`` is an error, not a silently different forecast.

A write is crash-safe: the new checksum is added to the manifest *before* the file is replaced
(both the old and the new one are accepted while the write is pending) and the old one is
dropped after, so a run killed at any instant still verifies.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "run"
    >>> from rnnkit.training.run_dir import RunDir
    >>> run = RunDir.claim(d)
    >>> is_run_dir(d)
    True
    >>> run.write_text("config.json", "{}")
    >>> verify(d, ["config.json"])
    >>> _ = (d / "config.json").write_text("{ }")
    >>> verify(d, ["config.json"])
    Traceback (most recent call last):
    ...
    rnnkit.errors.CheckpointError: ...config.json has changed since rnnkit wrote it...
    >>> run.release()
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

from rnnkit import _io
from rnnkit.errors import CheckpointError
from rnnkit.training.run_lock import LOCK   # the write lock: not a run file, never checksummed
from rnnkit.training import run_lock

__all__ = ["MANIFEST", "claim", "is_run_dir", "has_content", "run_root", "verify", "file_sha256", "record_pending",
           "record_done", "unclaimed"]

MANIFEST = "manifest.json"
FORMAT = 1


def file_sha256(path) -> str:
    """sha256 of a file's bytes (hex), read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def is_run_dir(path) -> bool:
    """True when ``path`` holds an rnnkit ``manifest.json``."""
    return (Path(path) / MANIFEST).is_file()


def has_content(path) -> bool:
    """True when the directory ``path`` holds anything besides a manifest (and its write lock)."""
    return Path(path).is_dir() and any(p.name not in (MANIFEST, LOCK) for p in Path(path).iterdir())


def run_root(path, levels: int = 2) -> Path | None:
    """The run directory a file ``path`` belongs to (its folder or the one above), or None."""
    p = Path(path).parent
    for _ in range(levels):
        if is_run_dir(p):
            return p
        if p.parent == p:
            break
        p = p.parent
    return None


def _read(run_dir: Path) -> dict:
    p = Path(run_dir) / MANIFEST
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as e:  # ValueError: not UTF-8, not JSON, a huge number
        raise CheckpointError(f"{p} is unreadable ({type(e).__name__}); {run_dir} cannot be trusted as an "
                              "rnnkit run. Use another run directory.") from None
    if (not isinstance(data, dict) or data.get("rnnkit_run") != FORMAT or not isinstance(data.get("files"), dict)
            or not all(isinstance(v, list) and all(isinstance(h, str) for h in v) for v in data["files"].values())
            or not all(_plain(name) for name in data["files"])):
        raise CheckpointError(f"{p} is not an rnnkit run manifest; {run_dir} cannot be trusted as an rnnkit "
                              "run. Use another run directory.")
    return data


def _plain(name: str) -> bool:
    """True for a file name a run records: relative, inside the run, no ``..``, no NUL, short parts."""
    parts = name.split("/")
    return (bool(name) and "\x00" not in name and not name.startswith("/")
            and all(p not in ("", ".", "..") and len(p) <= 255 for p in parts))


def _write(run_dir: Path, data: dict) -> None:
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    _io.atomic_write_bytes(Path(run_dir) / MANIFEST, text.encode("utf-8"))


def claim(run_dir) -> None:
    """Make ``run_dir`` (new or empty) an rnnkit run directory: create it and its manifest.

    A directory that already has a manifest is left as it is; a non-empty one without a
    manifest is refused (it is not rnnkit's to write into).
    """
    run_dir = Path(run_dir)
    if is_run_dir(run_dir):
        _read(run_dir)
        return
    if run_dir.exists() and not unclaimed(run_dir):
        raise not_a_run(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    for p in run_dir.iterdir():              # a claim killed half-way left its temporary manifest
        if p.name != LOCK:
            p.unlink()
    _write(run_dir, {"rnnkit_run": FORMAT, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "files": {}})


def unclaimed(path) -> bool:
    """True when ``path`` is an empty directory, or holds only what a claim killed before its
    manifest was in place leaves: the write lock and a temporary manifest."""
    return Path(path).is_dir() and all(
        p.name == LOCK or (p.name.startswith(f".{MANIFEST}.") and p.name.endswith(".tmp") and p.is_file())
        for p in Path(path).iterdir())


def not_a_run(path) -> CheckpointError:
    return CheckpointError(
        f"{path} exists and was not created by rnnkit as a run directory (it has no {MANIFEST}): rnnkit "
        "refuses to write into it, so nothing there is overwritten. Pass a new --out directory (rnnkit "
        "creates it), or an empty one.")


def _rel(run_dir: Path, path: Path) -> str:
    return path.resolve().relative_to(run_dir.resolve()).as_posix()


def record_pending(run_dir, path, sha256: str) -> None:
    """Before ``path`` is replaced: accept its old and its new checksum."""
    run_dir, rel = Path(run_dir), None
    rel = _rel(run_dir, Path(path))
    data = _read(run_dir)
    old = data["files"].get(rel, [])
    data["files"][rel] = [sha256] + [h for h in old if h != sha256]
    _write(run_dir, data)


def record_done(run_dir, path, sha256: str | None) -> None:
    """After ``path`` was replaced (``sha256`` its checksum), or failed to be (``sha256`` None:
    keep what the file holds now)."""
    run_dir = Path(run_dir)
    path = Path(path)
    rel = _rel(run_dir, path)
    data = _read(run_dir)
    if sha256 is None:
        if not path.exists():
            data["files"].pop(rel, None)
        else:
            data["files"][rel] = [file_sha256(path)]
    else:
        data["files"][rel] = [sha256]
    _write(run_dir, data)


def verify(run_dir, names=None) -> None:
    """Check the files ``names`` (relative paths; default every recorded one that exists)
    against the manifest. CheckpointError when one has changed or is not recorded."""
    run_dir = Path(run_dir)
    data = _read(run_dir)
    files = data["files"]
    names = [n for n in files if (run_dir / n).exists()] if names is None else names
    for name in names:
        p = run_dir / name
        if not p.exists():
            continue
        if not p.is_file():
            raise CheckpointError(f"{p} is not a file, but {MANIFEST} records it as one: {run_dir} was edited or "
                                  "not written by rnnkit. Use another run directory.")
        if name not in files:
            raise CheckpointError(f"{p} is not recorded in {run_dir / MANIFEST}: it was not written by this run. "
                                  "Remove it, or use another run directory.")
        if file_sha256(p) not in files[name] and not _replaced_meanwhile(run_dir, name, p):
            raise CheckpointError(
                f"{p} has changed since rnnkit wrote it (its sha256 is not the one in {MANIFEST}): the file "
                "is corrupt or was edited, and loading it would give wrong results. Restore it from a "
                "backup, or retrain into a new --out directory.")


def _replaced_meanwhile(run_dir: Path, name: str, path: Path, seconds: float = 2.0) -> bool:
    """True when ``path`` matches the manifest read again. A writer (another process, holding the
    run's lock) may replace the file between the reads of the manifest and of the file: both are
    read again while it holds the lock (up to ``seconds``), and once more when no one writes."""
    deadline = time.monotonic() + seconds
    while True:
        writing = run_lock.locked_elsewhere(run_dir)   # before the look: a writer ending after it gets one more
        try:
            if file_sha256(path) in _read(run_dir)["files"].get(name, []):
                return True
        except (OSError, CheckpointError):
            pass
        if not writing or time.monotonic() > deadline:
            return False
        time.sleep(0.05)
