"""One writer per run directory: an OS-level lock on ``RUN/.lock``.

Every command that writes a run (training, ``--resume``, ``tune``, the recipes) takes the lock
before it touches the directory, and holds it until it ends. The lock is
``fcntl.flock(LOCK_EX | LOCK_NB)``: the kernel drops it when the process dies, kill -9 included,
so a lock is never stale. A second writer is refused with :class:`RunLockedError` (exit 2 in
the CLI) naming the directory and the PID holding it, and changes nothing there: the lock file
is opened, never written, unless the lock was taken. Readers (``predict``, ``export``,
``compare``, ``load_model``) never take it; every file of a run is replaced atomically, so they
see the old file or the new one.

The lock file itself holds the PID of the last process that took it; it is not a run file
(no checksum in the manifest) and does not make an empty directory non-empty.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with RunLock(d) as lock:
    ...     lock.held
    True
    >>> hold(d) is hold(d)          # a process holds a run's lock once, however often it asks
    True
    >>> release_all()
"""
from __future__ import annotations

import errno
import os
import warnings
from pathlib import Path

from rnnkit.errors import RnnkitError

__all__ = ["LOCK", "RunLock", "RunLockedError", "hold", "release", "release_all", "held", "check_free", "locked_elsewhere"]

LOCK = ".lock"
UNSUPPORTED = tuple(getattr(errno, n) for n in ("ENOLCK", "EOPNOTSUPP", "ENOTSUP", "ENOSYS") if hasattr(errno, n))

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock, runs are not locked
    fcntl = None


class RunLockedError(RnnkitError):
    """Another process is writing the run directory."""


class RunLock:
    """The write lock of one run directory (the directory must exist)."""

    def __init__(self, run_dir):
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> "RunLock":
        """Take the lock or raise :class:`RunLockedError`; then write this process's PID into it."""
        if self._fd is not None or fcntl is None:
            return self
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno in UNSUPPORTED:         # a file system without locks (some network mounts)
                warnings.warn(f"rnnkit: {self.run_dir} is on a file system without file locks "
                              f"({os.strerror(e.errno)}): nothing stops a second command from writing this run at "
                              "the same time.", stacklevel=3)
            else:
                holder = _read_pid(fd)
                os.close(fd)
                if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise locked_error(self.run_dir, holder) from None
                raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        """Drop the lock (closing the file drops it; the file stays, holding the last PID)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        return int(text) if text.isdigit() else None
    except OSError:  # pragma: no cover
        return None


def locked_error(run_dir, pid: int | None) -> RunLockedError:
    who = f"process {pid}" if pid else "another process (it has not written its PID yet)"
    return RunLockedError(
        f"The run directory {run_dir} is being written by {who}: two commands writing one run would "
        "interleave its checkpoints, history and manifest, so this one stopped without changing anything "
        f"there. Wait for that process to finish (then add --resume to continue the run), stop it, or "
        "pass another --out directory.")


def _holder(run_dir) -> tuple[bool, int | None]:
    """(whether another open file holds the lock of ``run_dir``, the PID in the lock file); reads only."""
    path = Path(run_dir) / LOCK
    if fcntl is None or not path.is_file():
        return False, None
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return False, None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False, None
    except OSError as e:
        if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return True, _read_pid(fd)
        if e.errno in UNSUPPORTED:
            return False, None
        raise
    finally:
        os.close(fd)


def check_free(run_dir) -> None:
    """:class:`RunLockedError` when another process holds the lock of ``run_dir``; changes nothing
    (the lock file, when there is one, is only opened for reading)."""
    locked, pid = _holder(run_dir)
    if locked:
        raise locked_error(run_dir, pid)


def locked_elsewhere(run_dir) -> bool:
    """True when another process is writing ``run_dir`` (it holds the lock; this process does not)."""
    return not held(run_dir) and _holder(run_dir)[0]


_HELD: dict[str, RunLock] = {}


def _key(run_dir) -> str:
    return os.path.realpath(run_dir)


def hold(run_dir) -> RunLock:
    """Take the lock of ``run_dir`` for the rest of this process (or until :func:`release`); a
    process that already holds it gets the same lock back."""
    key = _key(run_dir)
    lock = _HELD.get(key)
    if lock is None or not lock.held:
        lock = RunLock(run_dir).acquire()
        _HELD[key] = lock
    return lock


def held(run_dir) -> bool:
    """True when this process holds the lock of ``run_dir``."""
    lock = _HELD.get(_key(run_dir))
    return lock is not None and lock.held


def release(run_dir) -> None:
    """Drop this process's lock of ``run_dir`` (nothing when it holds none)."""
    lock = _HELD.pop(_key(run_dir), None)
    if lock is not None:
        lock.release()


def release_all() -> None:
    """Drop every lock this process holds (the CLI does it when a command ends, for callers of
    ``rnnkit.cli.main`` in-process)."""
    while _HELD:
        _HELD.popitem()[1].release()
