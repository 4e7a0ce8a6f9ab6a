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


class RnnkitError(Exception):
    """Base class of every error rnnkit raises on purpose."""


class InvalidArgumentError(RnnkitError, ValueError):
    """An argument has a value rnnkit cannot use."""

    @classmethod
    def for_argument(cls, name: str, value, expected: str, fix: str | None = None) -> "InvalidArgumentError":
        msg = f"Received an invalid value for argument `{name}`, expected {expected}, got {value!r}."
        if fix:
            msg += f" {fix}"
        return cls(msg)


class DataError(RnnkitError, ValueError):
    """Input data (a CSV, a DataFrame, a series) cannot be used as given."""


class CheckpointError(RnnkitError):
    """A checkpoint or run directory cannot be read or does not match."""
