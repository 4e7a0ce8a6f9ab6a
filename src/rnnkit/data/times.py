"""Reading timestamps and durations without guessing: nothing that could be read two ways is
accepted silently (numbers need a unit, ``05/03/2020`` needs the day/month order).

    >>> parse_times(["2013-01-01 00:00", "2013-01-01 01:00"])[1]
    Timestamp('2013-01-01 01:00:00')
    >>> parse_duration("--max-gap", "2h")
    Timedelta('0 days 02:00:00')
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from rnnkit.data._checks import check_choice, listing, shown
from rnnkit.errors import DataError, InvalidArgumentError

__all__ = ["parse_times", "parse_duration", "TIME_UNITS"]

_DMY = re.compile(r"^\s*(\d{1,2})([/.\-])(\d{1,2})\2(\d{2,4})(?!\d)")
TIME_UNITS = ("s", "ms", "us", "ns")


def parse_times(values, column: str = "time", time_format: str | None = None, dayfirst: bool = False,
                time_unit: str | None = None) -> pd.DatetimeIndex:
    """Parse timestamps; time-zone aware ones are converted to UTC. Unparseable -> DataError.

    Nothing is guessed that could be read two ways: numbers are refused unless ``time_unit``
    (``"s"``, ``"ms"``, ``"us"``, ``"ns"`` since 1970-01-01 UTC) or ``time_format`` says what they
    are, and dates like ``05/03/2020`` are refused when every row fits both day-first and
    month-first, unless ``dayfirst=True`` or ``time_format`` decides.

    >>> parse_times(["01.01.2009 00:10:00"], time_format="%d.%m.%Y %H:%M:%S")[0]
    Timestamp('2009-01-01 00:10:00')
    >>> parse_times(["05/03/2020", "06/03/2020"], dayfirst=True)[0]
    Timestamp('2020-03-05 00:00:00')
    >>> parse_times(["05/03/2020", "13/03/2020"])[0]         # 13 can only be a day
    Timestamp('2020-03-05 00:00:00')
    >>> parse_times([1577836800, 1577840400], time_unit="s")[1]
    Timestamp('2020-01-01 01:00:00')
    >>> parse_times(["05/03/2020", "06/03/2020"])
    Traceback (most recent call last):
    ...
    rnnkit.errors.DataError: Column `time` has dates such as '05/03/2020' that read as day-first and as month-first...
    """
    s = pd.Series(values)
    if time_unit is not None:
        check_choice("time_unit", time_unit, TIME_UNITS, "Use --time-unit s for epoch seconds, ms for milliseconds.")
        return _epoch_times(s, column, time_unit)
    kw = {}
    if time_format is None:
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            example = s.dropna().head(1).tolist()
            raise DataError(
                f"Column `{column}` holds numbers (e.g. {listing(example)}), not dates: rnnkit does not guess their "
                "unit. Pass --time-unit s (time_unit='s') if they are seconds since 1970-01-01 UTC, --time-unit ms "
                "for milliseconds, or --time-format (e.g. '%Y%m%d') if they are dates written as digits.")
        kw["dayfirst"] = _day_first(s, column, dayfirst)
    elif pd.api.types.is_numeric_dtype(s):
        s = s.map(lambda v: v if pd.isna(v) else str(int(v)) if float(v).is_integer() else str(v))
    try:
        t = pd.to_datetime(s, format=time_format, errors="coerce", **kw)
    except (ValueError, TypeError):        # mixed time zones and the like
        t = pd.to_datetime(s, format=time_format, errors="coerce", utc=True, **kw)
    bad = t.isna() & s.notna()
    if s.isna().any() or bad.any():
        examples = s[t.isna()].head(3).tolist()
        raise DataError(
            f"Column `{column}` has {int(t.isna().sum())} value(s) that are not timestamps, e.g. {listing(examples)}. "
            f"Fix or drop those rows, or pass the format (--time-format, time_format=..., e.g. '%d.%m.%Y %H:%M:%S').")
    idx = pd.DatetimeIndex(t)
    if idx.tz is not None:
        idx = idx.tz_convert("UTC")
    return idx


def _day_first(s: pd.Series, column: str, dayfirst: bool) -> bool:
    """True/False when the day/month order of ``s`` is known (or ``dayfirst``); DataError when
    dates like 05/03/2020 fit both orders."""
    text = s.dropna().astype(str)
    if dayfirst or len(text) == 0:
        return dayfirst
    parts = text.str.extract(_DMY)
    if parts[0].isna().any():        # not all of the form A/B/YYYY: ISO dates and the like
        return False
    a, b = parts[0].astype(int), parts[2].astype(int)
    if (a > 12).any():
        return True
    if (b > 12).any():
        return False
    raise DataError(
        f"Column `{column}` has dates such as {shown(text.iloc[0])} that read as day-first and as month-first "
        f"(every day and month is <= 12), so rnnkit cannot tell 5 March from 3 May. Pass --dayfirst "
        f"(dayfirst=True) for day/month/year, or --time-format '%m{parts[1].iloc[0]}%d{parts[1].iloc[0]}%Y' "
        f"(time_format=...) for month/day/year.")


def _epoch_times(s: pd.Series, column: str, unit: str) -> pd.DatetimeIndex:
    num = pd.to_numeric(s, errors="coerce")
    bad = num.isna() | ~np.isfinite(num.astype(float))
    if bad.any():
        raise DataError(f"Column `{column}` has {int(bad.sum())} value(s) that are not numbers of {unit} since "
                        f"1970, e.g. {listing(s[bad].head(3))}. Fix or drop those rows, or leave out --time-unit "
                        "for dates written as text.")
    try:
        t = pd.to_datetime(num, unit=unit, errors="raise")
    except (ValueError, OverflowError, pd.errors.OutOfBoundsDatetime):
        raise DataError(f"Column `{column}` read as {unit} since 1970 goes beyond the years 1677-2262 (e.g. "
                        f"{shown(float(num.iloc[0]))}): pass a smaller --time-unit (s for seconds).") from None
    idx = pd.DatetimeIndex(t)
    coarser = TIME_UNITS[:TIME_UNITS.index(unit)]
    if coarser and idx.max() < pd.Timestamp("1971-01-01"):
        raise DataError(f"Column `{column}` read as {unit} since 1970 gives dates in 1970 only (up to {idx.max()}): "
                        f"the numbers look like a coarser unit. Pass --time-unit {coarser[-1]} "
                        f"(or {', '.join(coarser[:-1]) or coarser[-1]}).")
    return idx


def parse_duration(name: str, value) -> pd.Timedelta:
    """A positive duration (``"30min"``, ``"2h"``, ``"1D"``, a :class:`pandas.Timedelta`), else an
    error naming ``name``.

    >>> parse_duration("--max-gap", "30min")
    Timedelta('0 days 00:30:00')
    >>> parse_duration("--max-gap", "30")
    Traceback (most recent call last):
    ...
    rnnkit.errors.InvalidArgumentError: Received an invalid value for argument `--max-gap`, expected a positive duration with a unit such as 30min, 2h or 1D, got '30'...
    """
    expected = "a positive duration with a unit such as 30min, 2h or 1D"
    fix = "Write the number with its unit (s, min, h, D), e.g. --max-gap 30min."
    if isinstance(value, pd.Timedelta):
        td = value
    elif isinstance(value, str) and re.search(r"[A-Za-z]", value):
        try:
            td = pd.Timedelta(value.strip())
        except (ValueError, TypeError, OverflowError):
            raise InvalidArgumentError.for_argument(name, value, expected, fix) from None
    else:
        raise InvalidArgumentError.for_argument(name, value, expected, fix)
    if pd.isna(td) or td <= pd.Timedelta(0):
        raise InvalidArgumentError.for_argument(name, value, expected, fix)
    return td
