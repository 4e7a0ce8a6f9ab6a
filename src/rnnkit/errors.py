"""Errors raised by rnnkit for bad input.

Every error names the argument, the value received and the fix::

    >>> from rnnkit.errors import InvalidArgumentError
    >>> try:
    ...     raise InvalidArgumentError.for_argument("units", 0, "a positive integer")
    ... except ValueError as e:
    ...     print(e)
    Received an invalid value for argument `units`, expected a positive integer, got 0.
"""
from __future__ import annotations

import contextlib
import re


class RnnkitError(Exception):
    """Base class of every error rnnkit raises on purpose."""


class InvalidArgumentError(RnnkitError, ValueError):
    """An argument has a value rnnkit cannot use."""

    @classmethod
    def for_argument(cls, name: str, value, expected: str, fix: str | None = None) -> "InvalidArgumentError":
        shown = repr(value)
        shown = shown if len(shown) <= 200 else shown[:197] + "..."     # a value read from a file can be huge
        msg = f"Received an invalid value for argument `{name}`, expected {expected}, got {shown}."
        if fix:
            msg += f" {fix}"
        return cls(msg)


class DataError(RnnkitError, ValueError):
    """Input data (a CSV, a DataFrame, a series) cannot be used as given."""


class CheckpointError(RnnkitError):
    """A checkpoint or run directory cannot be read or does not match."""


class StorageError(RnnkitError, OSError):
    """A file could not be written (disk full, no permission, read-only...); the previous
    version of the file, if any, is intact."""

    @classmethod
    def for_write(cls, path, error: OSError, size: int | None = None) -> "StorageError":
        import errno
        import os

        what = {errno.ENOSPC: "the disk is full (ENOSPC)", errno.EDQUOT: "the disk quota is exceeded (EDQUOT)",
                errno.EACCES: "permission denied (EACCES)", errno.EPERM: "permission denied (EPERM)",
                errno.EROFS: "the file system is read-only (EROFS)"}.get(
                    error.errno, error.strerror or str(error) or type(error).__name__)
        need = f" (about {size / 1e6:.1f} MB needed)" if size and error.errno in (errno.ENOSPC, errno.EDQUOT) else ""
        fix = ("Free some space" + need if error.errno in (errno.ENOSPC, errno.EDQUOT)
               else "Fix the permissions or choose another location")
        e = cls(error.errno, f"Could not write {os.fspath(path)}: {what}. The previous version of the file, "
                             f"if any, is intact (the last good checkpoint is kept). {fix}, then run the same "
                             f"command again (add --resume --out DIR to continue an interrupted training run).")
        return e

    def __str__(self) -> str:
        return self.strerror or super().__str__()


@contextlib.contextmanager
def as_cli_options(**options: str):
    """Inside a command: an :class:`InvalidArgumentError` naming a Python argument (`top_k`) is
    raised again naming its command-line option (`--top-k`); ``options`` maps the arguments whose
    option has another name (``beam_size="--beam"``).

        >>> try:
        ...     with as_cli_options(beam_size="--beam"):
        ...         raise InvalidArgumentError.for_argument("beam_size", 0, "a positive integer")
        ... except InvalidArgumentError as e:
        ...     print(e)
        Received an invalid value for argument `--beam`, expected a positive integer, got 0.
    """
    try:
        yield
    except InvalidArgumentError as e:
        def option(m):
            return f"argument `{options.get(m.group(1), '--' + m.group(1).replace('_', '-'))}`"
        text = re.sub(r"argument `([A-Za-z_][A-Za-z0-9_]*)`", option, str(e), count=1)
        if text == str(e):
            raise
        raise type(e)(text) from None
