"""Forecast from a CSV as it grows (``rnnkit predict --run DIR --follow FILE``): one forecast
per new row, O(1) per row (a :class:`~rnnkit.export.streaming.Streamer` step).

The rows already in the file are prepared exactly as ``rnnkit predict`` prepares them (the run's
own preparation, saved scaler) and the streamer starts from the last ``lookback`` of them, so the
first forecast is ``rnnkit predict``'s; a run trained with ``--stateful`` (on the state carried
over consecutive windows) starts from all of the file's last segment instead, so every forecast
is the model's over the whole history, the state it was trained to carry. Then the file is
polled; every complete line appended is one new row: its data columns are read, the time
features the run uses (sin/cos of the time of day/year) are computed from its time, it is
scaled and fed to the streamer, and the forecast ``delay`` rows ahead is printed (a CSV line after a
header; a ``--quantiles`` run prints its median as the forecast and every quantile beside it, the
columns of ``rnnkit predict``). Later forecasts carry the state (see
:mod:`rnnkit.export.streaming` for how that differs from a sliding window).

Supported runs: one series read from ``--csv`` (no ``--group-col``, no static features), no
``--resample`` (rows arrive at the trained time step), ``--step 1``, a recurrent model without a
conv front-end. A header that changes, a file that shrinks, a row with a missing or non-numeric
value, or a row whose time is not one time step after the previous one end with a DataError.

    >>> import inspect
    >>> list(inspect.signature(follow).parameters)[:3]
    ['run_dir', 'path', 'poll']
"""
from __future__ import annotations

import csv
import io
import time as _time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from rnnkit.data._checks import listing, shown
from rnnkit.errors import DataError, InvalidArgumentError
from rnnkit.export.streaming import Streamer
from rnnkit.load import load_predictor
from rnnkit.tasks.forecast_predict import _prepare_for_prediction
from rnnkit.training.quantile_metrics import point_forecast
from rnnkit.data.encodings import time_features

__all__ = ["follow", "follow_command"]


def _check_run(p) -> None:
    job = p.job
    why = ("it was trained on the embedded weather or Jena data, not on a --csv file" if job.csv is None else
           "it has several series (--group-col)" if job.group_col else
           "it resamples its data (--resample): rows of a growing file are not resampled one at a time"
           if job.resample else f"it reads every {job.step}-th row (--step {job.step})" if job.step != 1 else
           "it has static features" if p.static_features else None)
    if why:
        raise InvalidArgumentError.for_argument(
            "--follow", "this run", "a run trained on one series of a --csv file, without --resample, --step 1",
            f"--follow cannot use it: {why}. Use rnnkit predict --csv FILE on the grown file instead.")


def _utf8(line: bytes, lineno: int) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataError(f"Line {lineno} of the followed file is not UTF-8 (byte {e.start} of the line). Append "
                        "UTF-8 text rows.") from None


class _Rows:
    """Turns appended CSV lines into the model's raw feature rows (time features computed)."""

    def __init__(self, p, header: list[str]):
        job = p.job
        self.p, self.header, self.time_col = p, header, job.time_col
        self.periods = tuple(job.time_features)
        derived = {f"{q}_{f}" for q in self.periods for f in ("sin", "cos")}
        missing = [c for c in p.data_features if c not in derived and c not in header]
        if job.time_col not in header or missing:
            raise DataError(f"The followed file's header ({listing(header)}) lacks the column(s) "
                            f"{listing(missing or [job.time_col])} the run was trained on.")
        self.time_format, self.dayfirst = job.time_format, job.dayfirst

    def parse(self, line: str, lineno: int) -> tuple[pd.Timestamp, dict]:
        try:
            fields = next(csv.reader([line]))
        except csv.Error as e:          # a NUL byte, an unterminated quote, a 128 kB field
            raise DataError(f"Line {lineno} of the followed file is not a CSV row ({e}).") from None
        if len(fields) != len(self.header):
            raise DataError(f"Line {lineno} of the followed file has {len(fields)} fields, the header {len(self.header)}.")
        rec = dict(zip(self.header, fields))
        try:
            t = pd.to_datetime(rec[self.time_col], format=self.time_format, dayfirst=self.dayfirst)
        except (ValueError, TypeError):
            raise DataError(f"Line {lineno}: the time {shown(rec[self.time_col])} in column {self.time_col!r} cannot be "
                            "read as the training data's times were.") from None
        row = {k: float(v) for k, v in time_features([t], self.periods).iloc[0].items()} if self.periods else {}
        for c in self.p.data_features:
            if c in row:
                continue
            try:
                row[c] = float(rec[c])
            except ValueError:
                row[c] = float("nan")
            if not np.isfinite(row[c]):
                raise DataError(f"Line {lineno}: column {c!r} holds {shown(rec[c])}, not a finite number. A followed "
                                "file needs every value (training interpolated gaps; a stream cannot wait for the "
                                "next row).")
        return t, row


def _read_start(path: Path) -> tuple[int, str, str, list[str], pd.DataFrame]:
    """``(end, text, header line, header, table)`` of the file's complete lines now (``end``: the
    byte offset after the last newline; a partial last line waits)."""
    raw = path.read_bytes()
    end = raw.rfind(b"\n") + 1
    try:    # ValueError: not UTF-8 (UnicodeDecodeError), ragged or empty (pandas' ParserError, EmptyDataError)
        text = raw[:end].decode("utf-8")
        header_line = text.split("\n", 1)[0]
        header = next(csv.reader([header_line]))
        table = pd.read_csv(io.StringIO(text))
    except (ValueError, csv.Error, StopIteration) as e:
        raise DataError(f"The followed file {path} is not a UTF-8 CSV with a header line and complete rows "
                        f"({type(e).__name__}: {str(e)[:150]}). Follow the CSV file the training data came "
                        "from, with the same columns.") from None
    return end, text, header_line, header, table


def _appended(path: Path, offset: int, header_line: str) -> bytes:
    """The bytes appended to ``path`` after ``offset`` (a file that shrank or whose header
    changed is a DataError)."""
    size = path.stat().st_size
    if size < offset:
        raise DataError(f"The followed file {path} shrank from {offset} to {size} bytes: it was truncated or "
                        "replaced. Start rnnkit predict --follow again on the new file.")
    with path.open("rb") as f:
        first = _utf8(f.readline(), 1).rstrip("\r\n")
        if first != header_line.rstrip("\r"):
            raise DataError(f"The header of the followed file {path} changed from {shown(header_line)} to {shown(first)}; "
                            "its columns no longer mean what the model was trained on. Start again with a file "
                            "that keeps the training columns.")
        f.seek(offset)
        return f.read()


def _emitter(p, step: pd.Timedelta, out, results: list):
    """Print the CSV header now; returns ``emit(last observed time, streamer output)``, which
    appends the forecast to ``results`` and prints its line."""
    qs = tuple(getattr(p.model.config, "quantiles", None) or ())
    names = [f"q{q:g}" for q in qs]             # rnnkit predict's quantile columns
    out(",".join(["last_observed", "target_time", "forecast", *names]))

    def emit(last: pd.Timestamp, y: torch.Tensor) -> None:
        values = p.scaler.inverse_transform(y.reshape(-1, len(qs) or 1).numpy(), column=p.target)
        point = point_forecast(values, qs) if qs else values[:, 0]      # per horizon step; the median
        r = {"last_observed": last, "target_time": last + step * p.delay, "forecast": float(point[0]),
             "forecasts": [float(v) for v in point]}
        if qs:
            r["quantiles"] = {n: float(values[0, k]) for k, n in enumerate(names)}
        results.append(r)
        out(",".join([str(last), str(r["target_time"]), f"{r['forecast']:.6g}",
                      *(f"{v:.6g}" for v in r.get("quantiles", {}).values())]))
    return emit


def follow(run_dir, path, poll: float = 0.5, *, max_rows: int | None = None, idle_timeout: float | None = None,
           stop=None, out=print) -> list[dict]:
    """Print (``out``) a forecast for the end of ``path`` now, then one per row appended to it.

    Stops after ``max_rows`` new rows, after ``idle_timeout`` seconds without a new row, or when
    ``stop()`` returns True (checked every ``poll`` seconds); with none of them it runs until
    interrupted. Prints a CSV: the header ``last_observed,target_time,forecast`` (and, for a
    ``--quantiles`` run, rnnkit predict's columns ``q0.1,q0.5,...``), then one line per forecast.
    Returns the forecasts as dicts (``last_observed``, ``target_time``, ``forecast``: the first
    horizon value, ``forecasts``: every horizon step's; for a quantile run the point forecast is the
    median (else the mean of the quantiles) and ``quantiles`` maps ``q0.1``... to the first step's)."""
    if not (isinstance(poll, (int, float)) and poll > 0):
        raise InvalidArgumentError.for_argument("poll", poll, "a positive number of seconds")
    p = load_predictor(run_dir)
    _check_run(p)
    path = Path(path)
    if not path.is_file():
        raise InvalidArgumentError.for_argument("--follow", str(path), "an existing CSV file")
    end, text, header_line, header, table = _read_start(path)
    rows = _Rows(p, header)
    prepared = _prepare_for_prediction(p.job, p.config, table)
    a, b = prepared.last_segments()[0]
    if b - a < p.lookback:
        raise DataError(f"The followed file has {b - a} usable rows; the model needs {p.lookback} to start.")
    streamer = Streamer(p.model)
    step_s = p.config.get("source", {}).get("time_step_s") or (prepared.times[b - 1] - prepared.times[b - 2]).total_seconds()
    step, results = pd.Timedelta(seconds=step_s), []
    emit = _emitter(p, step, out, results)
    last = prepared.times[b - 1]
    begin = a if getattr(p.job, "stateful", False) else b - p.lookback
    emit(last, streamer.start(torch.from_numpy(prepared.data[begin:b])))
    offset, lineno, new, idle_since, pending = end, text.count("\n"), 0, _time.monotonic(), b""
    while max_rows is None or new < max_rows:
        if stop is not None and stop():
            break
        if idle_timeout is not None and _time.monotonic() - idle_since > idle_timeout:
            break
        chunk = _appended(path, offset, header_line)
        if not chunk:
            _time.sleep(poll)
            continue
        offset += len(chunk)
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            lineno += 1
            line = _utf8(line, lineno).rstrip("\r")
            if not line.strip():
                continue
            t, row = rows.parse(line, lineno)
            if t - last != step:
                raise DataError(f"Line {lineno}: time {t} is {t - last} after the previous row; the model reads "
                                f"one row every {step}. Append rows in order, one per time step.")
            x = torch.from_numpy(p.scale(pd.DataFrame([row]))[0])
            emit(t, streamer.step(x))
            last, new, idle_since = t, new + 1, _time.monotonic()
            if max_rows is not None and new >= max_rows:
                break
    return results


def follow_command(args) -> int:
    """``rnnkit predict --run DIR --follow FILE``: :func:`follow` until interrupted (Ctrl-C ends it
    with status 0). ``--csv`` and ``--output`` do not apply to a followed file."""
    for name in ("csv", "output"):
        if getattr(args, name, None):
            raise InvalidArgumentError.for_argument(
                f"--{name}", getattr(args, name), "nothing with --follow",
                "--follow reads the growing file itself and prints one forecast per new row; drop --"
                f"{name}, or drop --follow for one forecast from that file.")
    try:
        follow(args.run, args.follow)
    except KeyboardInterrupt:
        pass
    return 0
