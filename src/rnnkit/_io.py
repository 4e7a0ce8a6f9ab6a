"""Atomic file writes, the ground floor every other part of rnnkit writes through.

A write goes to a temporary file in the destination's folder, is flushed to disk (fsync), then
renamed over the destination with :func:`os.replace`: a reader, or a process killed mid-write,
sees the old file or the new one, never half of one. A failed write (disk full, no
permission...) leaves the old file as it was and raises
:class:`~rnnkit.errors.StorageError` naming the file and the fix.

These functions know nothing of run directories: writing into a run directory goes through
:func:`rnnkit.training.checkpoint.atomic_write_bytes`, which also records the file's checksum
in the run's manifest.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "sub", "notes.txt")
    >>> atomic_write_text(path, "first\\n")
    >>> atomic_write_text(path, "second\\n")
    >>> open(path).read()
    'second\\n'
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from rnnkit.errors import StorageError

__all__ = ["atomic_write_bytes", "atomic_write_text", "atomic_write_json", "json_text"]


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, fsync, os.replace);
    the folder is created when missing."""
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as e:
        _cleanup(tmp)
        raise StorageError.for_write(path, e, len(data)) from None
    except BaseException:
        _cleanup(tmp)
        raise


def _cleanup(tmp) -> None:
    if tmp is None:
        return
    try:
        os.unlink(tmp)
    except OSError:
        pass


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write a UTF-8 text file atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def json_text(obj: Any) -> str:
    """``obj`` as indented, key-sorted JSON text with a final newline (rnnkit's JSON files)."""
    return json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n"


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented, key-sorted JSON, atomically."""
    atomic_write_text(path, json_text(obj))
