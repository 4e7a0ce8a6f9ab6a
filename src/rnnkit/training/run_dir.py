"""A run directory as one object, :class:`RunDir`: creating it, its write lock, its manifest,
checksummed atomic writes, and reading it back as untrusted input.

A run directory is written only by the process that created (or reopened, for ``--resume``)
it and holds its lock (:mod:`rnnkit.training.run_lock`). Every write goes through
:meth:`RunDir.write_bytes`: the new sha256 is recorded in ``manifest.json`` before the file is
replaced (atomically, :func:`rnnkit._io.atomic_write_bytes`) and the old one dropped after, so
a run killed at any instant still verifies. The ground-floor write in :mod:`rnnkit._io` knows
nothing of run directories; :func:`rnnkit.training.checkpoint.atomic_write_bytes` records a
file only into a run directory this process has open (:meth:`RunDir.owning`), never into a
manifest it merely finds above a path.

    >>> import tempfile, pathlib
    >>> run = RunDir.create("demo", root=tempfile.mkdtemp())
    >>> run.write_json("config.json", {"units": 8})
    >>> run.verify(["config.json"])
    >>> RunDir.owning(run / "config.json") is run
    True
    >>> run.read_json("config.json")
    {'units': 8}
    >>> run.release()
    >>> RunDir.owning(run / "config.json") is None
    True
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path
from typing import Any

from rnnkit import _io
from rnnkit.errors import CheckpointError, InvalidArgumentError, RnnkitError, StorageError
from rnnkit.training import manifest, run_lock

__all__ = ["RunDir"]

_ORPHAN_TMP = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")     # _io.atomic_write_bytes' temp files (tempfile.mkstemp)
_OPEN: dict[str, "RunDir"] = {}                          # realpath -> the run directories this process writes


class RunDir:
    """One run directory. Make one with :meth:`create` (a new run, or an existing one for
    ``--resume``) or :meth:`reopen` (a finished run to rewrite a file of); read one with
    :meth:`read_json` and :meth:`verify`. A ``RunDir`` is path-like (``run / "config.json"``,
    ``os.fspath(run)``, ``Path(run)``).

    Attributes:
        path: the directory.
        lock: its :class:`~rnnkit.training.run_lock.RunLock`, held by this process.
    """

    def __init__(self, path, lock=None):
        self.path = Path(path)
        self.lock = lock

    # -- making one -----------------------------------------------------------------------------
    @classmethod
    def create(cls, name: str, out: str | os.PathLike | None = None, root: str | os.PathLike = "runs",
               exist_ok: bool = False) -> "RunDir":
        """Create the run directory with its ``manifest.json``, taking its write lock first
        (a second writer gets :class:`~rnnkit.training.run_lock.RunLockedError`).

        Args:
            name: short run name, e.g. ``"jena-gru"`` (letters, digits, ``-_.``).
            out: explicit directory (``--out DIR``); when given, ``name`` and ``root`` are unused.
                It may be new or empty. An existing rnnkit run directory is refused unless
                ``exist_ok`` (``--resume``); any other non-empty directory is always refused,
                and left as it was.
            root: parent of timestamped run directories (default ``runs``).
            exist_ok: accept an existing rnnkit run directory.
        """
        if out is not None:
            return cls._open_out(Path(out), exist_ok)
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name or ""):
            raise InvalidArgumentError.for_argument("name", name, "a run name of letters, digits, '-', '_' or '.'")
        stamp = time.strftime("%Y%m%d-%H%M%S")
        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        for i in range(1000):
            path = root / (f"{name}-{stamp}" if i == 0 else f"{name}-{stamp}-{i}")
            try:
                path.mkdir()
            except FileExistsError:
                continue
            run = cls._held(path)
            manifest.claim(path)
            return run
        raise CheckpointError(f"Could not create a fresh run directory under {root}.")  # pragma: no cover

    @classmethod
    def _open_out(cls, path: Path, exist_ok: bool) -> "RunDir":
        _check_out(path, exist_ok)          # refusals first: a refused directory is not touched
        try:
            path.mkdir(parents=True, exist_ok=True)
            run = cls._held(path)           # one writer: a second one is refused here, nothing changed
            _check_out(path, exist_ok)      # again, now that no other writer can change it
            manifest.claim(path)
            _remove_orphan_temp_files(path)
        except OSError as e:
            raise InvalidArgumentError.for_argument(
                "--out", str(path), "a directory rnnkit can create",
                f"Creating it failed: {e.strerror or e}. Choose a writable location.") from None
        return run

    @classmethod
    def reopen(cls, path) -> "RunDir":
        """An existing run directory (it has rnnkit's manifest), locked for writing by this process."""
        path = Path(path)
        if not manifest.is_run_dir(path):
            raise manifest.not_a_run(path)
        return cls._held(path)

    @classmethod
    def claim(cls, path) -> "RunDir":
        """``path`` (new, empty, or already a run directory) made a run directory and locked for
        writing by this process: what a :class:`~rnnkit.training.Trainer` given a bare
        ``run_dir`` does before it writes."""
        path = Path(path)
        if path.exists() and not manifest.is_run_dir(path) and not manifest.unclaimed(path):
            raise manifest.not_a_run(path)
        path.mkdir(parents=True, exist_ok=True)
        run = cls._held(path)
        manifest.claim(path)
        return run

    @classmethod
    def _held(cls, path: Path) -> "RunDir":
        run = cls(path, run_lock.hold(path))
        _OPEN[os.path.realpath(path)] = run
        return run

    @classmethod
    def owning(cls, path) -> "RunDir | None":
        """The run directory this process has open and still holds the lock of that the file
        ``path`` is in (its folder or the one above), or None."""
        folder = os.path.realpath(Path(path).parent)
        for key in (folder, os.path.dirname(folder)):
            run = _OPEN.get(key)
            if run is not None and run.lock is not None and run.lock.held:
                return run
        return None

    def release(self) -> None:
        """Stop writing: drop the lock (the kernel would when the process ends)."""
        _OPEN.pop(os.path.realpath(self.path), None)
        run_lock.release(self.path)

    # -- path-like -----------------------------------------------------------------------------
    def __fspath__(self) -> str:
        return os.fspath(self.path)

    def __truediv__(self, name) -> Path:
        return self.path / name

    def __str__(self) -> str:
        return str(self.path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    # -- writing ---------------------------------------------------------------------------------
    def write_bytes(self, name, data: bytes) -> None:
        """Write the file ``name`` (relative to the run, or a path inside it) atomically and
        record its sha256 in the manifest. A failed write (disk full, no permission...) leaves
        the old file and a valid manifest, and raises :class:`~rnnkit.errors.StorageError`."""
        path = self.path / name
        digest = hashlib.sha256(data).hexdigest()
        try:
            manifest.record_pending(self.path, path, digest)
        except OSError as e:
            raise StorageError.for_write(path, e, len(data)) from None
        try:
            _io.atomic_write_bytes(path, data)
        except StorageError:
            try:
                manifest.record_done(self.path, path, None)
            except (OSError, RnnkitError):
                pass  # the pending entry accepts the old file and the new one: still valid
            raise
        manifest.record_done(self.path, path, digest)

    def write_text(self, name, text: str) -> None:
        """Write a UTF-8 text file (see :meth:`write_bytes`)."""
        self.write_bytes(name, text.encode("utf-8"))

    def write_json(self, name, obj: Any) -> None:
        """Write ``obj`` as indented, key-sorted JSON (see :meth:`write_bytes`)."""
        self.write_text(name, _io.json_text(obj))

    # -- reading back (untrusted input) ------------------------------------------------------
    @staticmethod
    def check_readable(path) -> Path:
        """``path`` as a run directory to read: an existing directory (CheckpointError otherwise)."""
        path = Path(path)
        if not path.is_dir():
            raise CheckpointError(f"Run directory {path} does not exist." if not path.exists() else
                                  f"{path} is a file, not a run directory. Pass the directory an rnnkit "
                                  "command wrote (its --out).")
        return path

    def verify(self, names=None) -> None:
        """Check the files ``names`` (default: every recorded one) against the manifest
        (CheckpointError when one changed since rnnkit wrote it)."""
        manifest.verify(self.path, names)

    def read_json(self, name: str, required: bool = True) -> Any:
        """The JSON file ``name`` of the run (``{}`` when absent and not ``required``);
        CheckpointError naming the file when it is missing or not JSON."""
        p = self.path / name
        if not p.exists():
            if required:
                raise CheckpointError(f"{p} is missing: {self.path} is not a complete rnnkit run.")
            return {}
        try:
            return json.loads(p.read_text(encoding="utf-8"))
        except (ValueError, RecursionError) as e:     # not UTF-8, not JSON, nested too deep, a huge number
            raise CheckpointError(f"{p} is not valid JSON ({str(e)[:200]}): {self.path} is damaged or was not "
                                  "written by rnnkit. Retrain it, or pass another run directory.") from None


def _remove_orphan_temp_files(path: Path) -> None:
    """Remove the temp files of atomic writes whose process was killed mid-write (``kill -9``
    leaves ``.manifest.json.k2j4x_9a.tmp``): this process holds the run's lock, so no writer is
    mid-write and each is an orphan. Called when a run directory is opened again (``--resume``)."""
    for p in path.rglob(".*.tmp"):
        if _ORPHAN_TMP.fullmatch(p.name) and p.is_file():
            try:
                p.unlink()
            except OSError:
                pass


def _check_out(path: Path, exist_ok: bool) -> None:
    """Why ``--out`` ``path`` cannot be written (an error), read-only: a file, a folder that is not
    rnnkit's, a finished run without ``exist_ok``, a run another process is writing."""
    if path.exists() and not path.is_dir():
        raise InvalidArgumentError.for_argument("out", str(path), "a directory", "It exists and is a file.")
    if path.is_dir() and not run_lock.held(path):
        run_lock.check_free(path)           # being written (maybe still being claimed) by another process
    if path.is_dir() and not manifest.unclaimed(path):
        if not manifest.is_run_dir(path):
            raise manifest.not_a_run(path)
        if manifest.has_content(path) and not exist_ok:
            raise CheckpointError(
                f"Run directory {path} already exists and is not empty. Pass a new --out "
                "directory, or --resume to continue the run that is there.")
