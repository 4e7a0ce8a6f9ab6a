"""Series ready for a forecaster: cleaned, encoded, split, scaled; windows per part.

:func:`prepare_series` runs :func:`rnnkit.data.series.clean_series`, adds time-of-day/year
features, splits every series chronologically, fits the scaler on the training part of every
series together (never on val/test), and keeps one float32 array with the series one after
the other. :meth:`PreparedSeries.windows` gives the :class:`~rnnkit.data.windows.Windows` of a
part; a window lies entirely inside one part of one series.

Several series (``group``): one model for all of them is the default; static per-series
features (``static``, e.g. station latitude/longitude/elevation, standardised across series)
are appended to every window as constant input channels (or returned separately). For one
model per series, :meth:`PreparedSeries.select` gives a series on its own with its own scaler.

With ``max_gap``, a series is cut at every gap in time longer than it: its segments are
``PreparedSeries.segments``, the parts are cut the same way, and windows never cross a gap.

>>> import numpy as np, pandas as pd
>>> t = pd.date_range("2013-01-01", periods=100, freq="h")
>>> df = pd.DataFrame({"time": t, "temp": np.sin(np.arange(100) / 5), "wind": 1.0})
>>> p = prepare_series(df, time="time", target="temp", split=(0.6, 0.2, 0.2), time_features=())
>>> p.feature_names, p.parts["train"]
(['temp', 'wind'], [(0, 60)])
>>> w = p.windows("val", lookback=6, delay=1)
>>> len(w), tuple(w[0][0].shape)                       # 20 val rows - span 7 + 1
(14, (6, 2))
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from rnnkit.data._checks import check_choice
from rnnkit.data.encodings import time_features as _time_features
from rnnkit.data.scaling import Scaler
from rnnkit.data.series import clean_series
from rnnkit.data.splits import PARTS, split_rows
from rnnkit.data.windows import Windows
from rnnkit.errors import DataError, InvalidArgumentError

__all__ = ["PreparedSeries", "prepare_series"]


class PreparedSeries:
    """Scaled series one after the other, with their split row ranges. Build with :func:`prepare_series`.

    Attributes:
        data: float32 array ``(rows, features)``, scaled; series after series.
        feature_names: the column names of ``data``; ``target`` is one of them.
        target: the target column name; ``target_index`` its position.
        groups: the series names (``[None]`` for a single series).
        bounds: ``[(begin, end)]`` rows of each series in ``data``.
        segments: ``[(begin, end)]`` rows of each segment: a series, or with ``max_gap`` a piece
            of a series between two gaps longer than ``max_gap``.
        parts: ``{"train"|"val"|"test": [(begin, end) per segment]}`` (empty ranges where a
            segment has no rows of that part).
        gaps: ``{"split": n, "interpolated": m, "longest_split": s, "longest_interpolated": s}``
            over all series (see :func:`rnnkit.data.series.clean_series`).
        times: the timestamps of every row of ``data``.
        scaler: the :class:`Scaler` fitted on the training rows.
        static: ``(n_series, n_static)`` standardised static features, or None; ``static_names`` their names.
        config: the preparation arguments (JSON-able), for :meth:`to_dict`.
    """

    def __init__(self, frames: dict, target: str, split, scaler: Scaler | None, static, config: dict,
                 static_scaler: Scaler | None = None, segments: dict | None = None, gaps: dict | None = None):
        self.groups = list(frames)
        self.target = target
        self.feature_names = list(next(iter(frames.values())).columns)
        self.target_index = self.feature_names.index(target)
        self.config = config
        bounds, segs, owner, parts, pos = [], [], [], {p: [] for p in PARTS}, 0
        for key, f in frames.items():
            bounds.append((pos, pos + len(f)))
            local = (segments or {}).get(key) or [(0, len(f))]
            segs.extend((pos + a, pos + b) for a, b in local)
            owner.extend([len(bounds) - 1] * len(local))
            for p, (a, b) in split_rows(f.index, split).items():
                for sa, sb in local:          # a part cut at the gaps: windows never cross them
                    lo = max(a, sa)
                    parts[p].append((pos + lo, pos + max(lo, min(b, sb))))
            pos += len(f)
        self.bounds, self.segments, self.parts = bounds, segs, parts
        self._owner = np.array(owner, dtype=np.int64)          # the series of every segment
        self.gaps = dict(gaps or {"split": 0, "interpolated": 0, "longest_split": 0.0, "longest_interpolated": 0.0})
        raw = np.concatenate([f.to_numpy(np.float64) for f in frames.values()])
        idx = [f.index for f in frames.values()]
        self.times = pd.DatetimeIndex(idx[0].append(idx[1:]) if len(idx) > 1 else idx[0])
        if scaler is None:
            train = np.concatenate([raw[a:b] for a, b in parts["train"]])
            if len(train) == 0:
                raise DataError("The training part is empty: give a larger train fraction or an earlier val date.")
            scaler = Scaler.fit(train, self.feature_names)
        elif scaler.columns != self.feature_names:
            raise DataError(f"The saved scaler is for columns {scaler.columns}, the data has {self.feature_names}.")
        self.scaler = scaler
        self.data = scaler.transform(raw).astype(np.float32)
        self.static, self.static_names, self.static_scaler = None, [], None
        if static is not None:
            self._set_static(static, static_scaler)

    def _set_static(self, static, static_scaler: Scaler | None = None) -> None:
        table = pd.DataFrame(static)
        missing = [g for g in self.groups if g not in table.index]
        if missing:
            raise DataError(f"`static` has no row for series {missing!r}; its index is {list(table.index)!r}. "
                            f"Index it by the values of the group column.")
        table = table.loc[self.groups].astype(np.float64)
        self.static_names = [str(c) for c in table.columns]
        if static_scaler is None:
            static_scaler = Scaler.fit(table.to_numpy(), self.static_names)
        elif static_scaler.columns != self.static_names:
            raise DataError(f"The saved static scaler is for {static_scaler.columns}, `static` has {self.static_names}.")
        self.static_scaler = static_scaler
        self.static = self.static_scaler.transform(table.to_numpy()).astype(np.float32)

    # -------------------------------------------------------------------------------------
    def windows(self, part: str = "train", *, lookback: int, step: int = 1, delay: int = 1,
                horizon: int = 1, stride: int = 1, target_step: int | None = None,
                seq2seq: bool = False, static_as: str = "channels", target=None) -> Windows:
        """The windows of ``part`` (``"train"``, ``"val"``, ``"test"``); arguments as in :class:`Windows`.

        ``target`` defaults to this series' target column; pass column names to forecast others.
        Series or parts too short for one window contribute none.
        """
        check_choice("part", part, PARTS)
        names = [self.target] if target is None else [target] if isinstance(target, str) else list(target)
        unknown = [n for n in names if n not in self.feature_names]
        if unknown:
            raise InvalidArgumentError.for_argument("target", unknown, "column(s) of " + ", ".join(self.feature_names))
        cols = [self.feature_names.index(n) for n in names]
        tgt = self.data[:, cols[0]] if (target is None or isinstance(target, str)) else self.data[:, cols]
        return Windows(self.data, np.ascontiguousarray(tgt), lookback=lookback, step=step, delay=delay,
                       horizon=horizon, stride=stride, segments=self.parts[part], target_step=target_step,
                       seq2seq=seq2seq, static=None if self.static is None else self.static[self._owner],
                       static_as=static_as)

    def series_counts(self, windows: Windows) -> np.ndarray:
        """Windows per series (``windows.counts`` is per segment), in the order of ``groups``."""
        begins = np.array([a for a, _ in self.bounds])
        owner = np.searchsorted(begins, windows.segments[:, 0], side="right") - 1
        return np.bincount(owner, weights=windows.counts, minlength=len(self.groups)).astype(np.int64)

    def last_segments(self) -> list[tuple[int, int]]:
        """The last segment of every series (where a forecast from the end of the data starts)."""
        return [max((s for s in self.segments if a <= s[0] and s[1] <= b and s[1] > s[0]), default=(b, b))
                for a, b in self.bounds]

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    def input_size(self, static_as: str = "channels") -> int:
        """Features per window step (the data columns, plus the static ones as channels)."""
        return self.n_features + (len(self.static_names) if static_as == "channels" else 0)

    def inverse_target(self, values) -> np.ndarray:
        """Scaled target values (or predictions) back in the target's own units."""
        return self.scaler.inverse_transform(values, column=self.target)

    def select(self, group) -> "PreparedSeries":
        """One series on its own (for one model per series), with a scaler refitted on its train part."""
        if group not in self.groups:
            raise InvalidArgumentError.for_argument("group", group, "one of " + ", ".join(map(repr, self.groups)))
        i = self.groups.index(group)
        a, b = self.bounds[i]
        raw = self.scaler.inverse_transform(self.data[a:b])
        frame = pd.DataFrame(raw, index=self.times[a:b], columns=self.feature_names)
        local = [(sa - a, sb - a) for sa, sb in self.segments if a <= sa and sb <= b]
        new = PreparedSeries({group: frame}, self.target, self.config["split"], None, None, dict(self.config),
                             segments={group: local})
        if self.static is not None:          # keeps the standardisation across all series
            new.static, new.static_names = self.static[i:i + 1], list(self.static_names)
            new.static_scaler = self.static_scaler
        return new

    def to_dict(self) -> dict:
        """JSON-able: the preparation arguments, the scaler(s), the names (saved with a model)."""
        return {"config": self.config, "feature_names": self.feature_names, "target": self.target,
                "groups": [None if g is None else str(g) for g in self.groups],
                "scaler": self.scaler.to_dict(),
                "static_scaler": None if self.static_scaler is None else self.static_scaler.to_dict()}

    def __repr__(self) -> str:
        sizes = {p: sum(b - a for a, b in r) for p, r in self.parts.items()}
        return (f"PreparedSeries({len(self.groups)} series, {len(self.data)} rows, "
                f"{self.n_features} features, target={self.target!r}, parts={sizes})")


def prepare_series(source, *, time: str, target: str, features: Sequence[str] | None = None,
                   group: str | None = None, angles: Mapping[str, str | None] | None = None,
                   time_features: Sequence[str] = ("day", "year"), resample: str | None = None,
                   agg: Mapping[str, str] | None = None, nan: str = "interpolate",
                   duplicates: str = "error", time_format: str | None = None, dayfirst: bool = False,
                   time_unit: str | None = None, encoding: str | None = None,
                   na_values: Sequence[str] | None = None, max_gap=None, split=(0.7, 0.15, 0.15), static=None, scaler: Scaler | dict | None = None,
                   static_scaler: Scaler | dict | None = None) -> PreparedSeries:
    """Clean, encode, split and scale a table of time series for forecasting.

    The cleaning arguments ``source``, ``time``, ``target``, ``features``, ``group``, ``angles``,
    ``resample``, ``agg``, ``nan``, ``duplicates``, ``time_format``, ``dayfirst``, ``time_unit``,
    ``encoding``, ``na_values`` and ``max_gap`` are those of :func:`rnnkit.data.series.clean_series`
    (``max_gap`` cuts series into segments at longer gaps; windows never cross them).

    Args:
        time_features: periods for sin/cos time features (``"day"``, ``"year"``); ``()`` for none.
        split: fractions ``(train, val[, test])`` of each series, or dates ``(val_start, test_start)``.
        static: optional per-series constants, a DataFrame or ``{group: {name: value}}`` indexed
            by the group values.
        scaler: a fitted :class:`Scaler` (or its dict) to reuse instead of fitting one, e.g. the
            one saved with a model when predicting on new data; or a whole
            :meth:`PreparedSeries.to_dict` (then its static scaler is reused too).
        static_scaler: a fitted scaler of the static features (default: fitted across the
            series given; pass the saved one when predicting for a subset of the series).
    """
    if not isinstance(target, str):
        raise InvalidArgumentError.for_argument("target", target, "one column name")
    frames = clean_series(source, time=time, target=target, features=features, group=group, angles=angles,
                          resample=resample, agg=agg, nan=nan, duplicates=duplicates, time_format=time_format,
                          dayfirst=dayfirst, time_unit=time_unit, encoding=encoding, na_values=na_values,
                          max_gap=max_gap)
    segments = {k: f.attrs.get("segments") for k, f in frames.items()}
    gaps = _total_gaps([f.attrs.get("gaps", {}) for f in frames.values()])
    if time_features:
        frames = {k: pd.concat([f, _time_features(f.index, tuple(time_features)).set_axis(f.index)], axis=1)
                  for k, f in frames.items()}
    if isinstance(static, Mapping) and not isinstance(static, pd.DataFrame):
        static = pd.DataFrame.from_dict(static, orient="index")
    if isinstance(scaler, Mapping) and "scaler" in scaler:           # a PreparedSeries.to_dict()
        static_scaler = static_scaler if static_scaler is not None else scaler.get("static_scaler")
        scaler = scaler["scaler"]
    if isinstance(scaler, Mapping):
        scaler = Scaler.from_dict(scaler)
    if isinstance(static_scaler, Mapping):
        static_scaler = Scaler.from_dict(static_scaler)
    config = {"time": time, "target": target, "features": None if features is None else list(features),
              "group": group, "angles": None if angles is None else dict(angles),
              "time_features": list(time_features), "resample": resample,
              "agg": None if agg is None else dict(agg), "nan": nan, "duplicates": duplicates,
              "time_format": time_format, "dayfirst": dayfirst, "time_unit": time_unit,
              "encoding": encoding, "na_values": None if na_values is None else list(na_values),
              "max_gap": None if max_gap is None else str(max_gap), "split": [s if isinstance(s, (int, float)) else str(s) for s in split]}
    return PreparedSeries(frames, target, tuple(split), scaler, static, config, static_scaler,
                          segments=segments, gaps=gaps)


def _total_gaps(stats: list) -> dict:
    return {"split": sum(g.get("split", 0) for g in stats),
            "interpolated": sum(g.get("interpolated", 0) for g in stats),
            "longest_split": max((g.get("longest_split", 0.0) for g in stats), default=0.0),
            "longest_interpolated": max((g.get("longest_interpolated", 0.0) for g in stats), default=0.0)}
