"""Small argument checks shared by the data modules (private)."""
from __future__ import annotations

import numbers

from rnnkit.errors import InvalidArgumentError


def check_int(name: str, value, minimum: int = 1, fix: str | None = None) -> int:
    """Return ``value`` as an ``int`` if it is an integer >= ``minimum``, else raise.

    >>> check_int("step", 6)
    6
    >>> check_int("step", 0)
    Traceback (most recent call last):
    ...
    rnnkit.errors.InvalidArgumentError: Received an invalid value for argument `step`, expected an integer >= 1, got 0.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise InvalidArgumentError.for_argument(name, value, f"an integer >= {minimum}", fix)
    return int(value)


def check_choice(name: str, value, choices, fix: str | None = None):
    """Return ``value`` if it is one of ``choices``, else raise naming the choices."""
    if value not in choices:
        expected = "one of " + ", ".join(repr(c) for c in choices)
        raise InvalidArgumentError.for_argument(name, value, expected, fix)
    return value


def shown(value, width: int = 60) -> str:
    """``repr(value)``, cut to about ``width`` characters: user data quoted in an error message
    (a column name, a cell) must not turn the message into a page.

    >>> shown("x" * 100, 12)
    "'xxxxxxxx..."
    """
    text = repr(value)
    return text if len(text) <= width else text[:width - 3] + "..."


def listing(values, limit: int = 12, width: int = 40) -> str:
    """The first ``limit`` of ``values`` as :func:`shown` texts, comma-separated, plus how many
    more there are.

    >>> listing(["a", "b", "c"], limit=2)
    "'a', 'b' and 1 more"
    """
    values = list(values)
    text = ", ".join(shown(v, width) for v in values[:limit])
    return text + (f" and {len(values) - limit} more" if len(values) > limit else "")
