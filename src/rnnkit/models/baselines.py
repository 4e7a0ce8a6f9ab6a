"""Non-learned forecasts, evaluated on exactly the windows a model is evaluated on.

For window ``i`` with last observed row ``a`` and target rows ``t_h = a + delay + h * target_step``
(see :class:`rnnkit.data.Windows`):

- ``common_sense`` (persistence, seed 001's "common-sense, non-machine-learning baseline"):
  ``y_hat[t_h] = series[a]``, the last observed value.
- ``seasonal_naive`` (period ``p`` rows, e.g. 24 for "same hour yesterday" on hourly data):
  ``y_hat[t_h] = series[t_h - k * p]`` with the smallest ``k >= 1`` that makes the row observed
  (``<= a``); for ``delay <= p`` that is simply ``t_h - p``.
- ``mean``: the mean of ``series`` over every raw row of the window, ``[start, a]``.

``series`` is the target column in whatever units you want the forecast in (scaled or raw).

    >>> import numpy as np
    >>> from rnnkit.data import Windows
    >>> s = np.arange(10, dtype=np.float32)
    >>> w = Windows(s[:, None], target=s, lookback=3, delay=2)
    >>> common_sense(w, s)[:2, 0].tolist(), seasonal_naive(w, s, period=4)[:2, 0].tolist()
    ([2.0, 3.0], [0.0, 1.0])
    >>> mean_baseline(w, s)[0, 0].item()
    1.0
"""
from __future__ import annotations

import numpy as np

from rnnkit.errors import InvalidArgumentError

BASELINES = ("common_sense", "seasonal_naive", "mean")


def window_rows(windows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(start rows, last observed rows, target rows (n, horizon)) of every window, in order."""
    starts = np.concatenate([b + np.arange(c, dtype=np.int64) * windows.stride
                             for (b, _), c in zip(windows.segments, windows.counts)])
    last = starts + windows.lookback - windows.step
    targets = last[:, None] + windows.delay + np.arange(windows.horizon) * windows.target_step
    return starts, last, targets


def _series(series) -> np.ndarray:
    arr = np.asarray(series, dtype=np.float64)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise InvalidArgumentError.for_argument("series", arr.shape, "one target column, shape (rows,)")
    return arr


def common_sense(windows, series) -> np.ndarray:
    """Persistence: the last observed value for every target of each window, (n, horizon)."""
    s = _series(series)
    _, last, targets = window_rows(windows)
    return np.broadcast_to(s[last][:, None], targets.shape).copy()


def seasonal_naive(windows, series, period: int, bounds=None) -> np.ndarray:
    """The value one (or more) seasons before each target, never past the last observed row
    and never before the start of the window's own series.

    ``bounds``: ``[(begin, end)]`` rows of each series in ``series`` (e.g.
    ``PreparedSeries.bounds``), so a season may reach back into earlier parts of the same
    series; default the windows' own segments. A season reaching before its series' first row
    is an error (it would read another series' values).

        >>> from rnnkit.data import Windows
        >>> s = np.arange(20, dtype=np.float32)          # two series of 10 rows, one after the other
        >>> w = Windows(s[:, None], target=s, lookback=3, delay=1, segments=[(0, 10), (10, 20)])
        >>> seasonal_naive(w, s, period=3)[:2, 0].tolist()
        [0.0, 1.0]
        >>> seasonal_naive(w, s, period=4)
        Traceback (most recent call last):
        ...
        rnnkit.errors.InvalidArgumentError: Received an invalid value for argument `period`, expected a season the windows can reach back to within their own series, got 4...
    """
    if not isinstance(period, (int, np.integer)) or period < 1:
        raise InvalidArgumentError.for_argument("period", period, "a positive number of rows, e.g. 24 for hourly data")
    s = _series(series)
    starts, last, targets = window_rows(windows)
    k = np.ceil((targets - last[:, None]) / period).astype(np.int64)
    rows = targets - k * period
    begins = np.array(sorted(a for a, _ in (windows.segments if bounds is None else bounds)), dtype=np.int64)
    own = begins[np.clip(np.searchsorted(begins, starts, side="right") - 1, 0, None)] if len(starts) else begins[:0]
    if len(rows) and (rows.min() < 0 or (rows < own[:, None]).any()):
        raise InvalidArgumentError.for_argument(
            "period", period, "a season the windows can reach back to within their own series",
            "Use a longer lookback or shorter period.")
    return s[rows]


def mean_baseline(windows, series) -> np.ndarray:
    """The mean of the target over the window's raw rows ``[start, last]``, for every target."""
    s = _series(series)
    starts, last, targets = window_rows(windows)
    csum = np.concatenate([[0.0], np.cumsum(s)])
    means = (csum[last + 1] - csum[starts]) / (last + 1 - starts)
    return np.broadcast_to(means[:, None], targets.shape).copy()


def all_baselines(windows, series, period: int | None = None, bounds=None) -> dict[str, np.ndarray]:
    """Every baseline's predictions, keyed by name (seasonal naive only when ``period`` is given;
    ``bounds`` as in :func:`seasonal_naive`)."""
    out = {"common_sense": common_sense(windows, series)}
    if period:
        out["seasonal_naive"] = seasonal_naive(windows, series, period, bounds)
    out["mean"] = mean_baseline(windows, series)
    return out
