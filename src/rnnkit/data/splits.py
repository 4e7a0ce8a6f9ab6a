"""Chronological train/val/test splits, by fractions or by dates.

>>> import pandas as pd
>>> split_rows(pd.date_range("2013-01-01", periods=10, freq="h"), (0.6, 0.2, 0.2))
{'train': (0, 6), 'val': (6, 8), 'test': (8, 10)}
>>> split_rows(pd.date_range("2013-01-01", periods=10, freq="h"), ("2013-01-01 03:00", "2013-01-01 07:00"))
{'train': (0, 3), 'val': (3, 7), 'test': (7, 10)}
"""
from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from rnnkit.errors import InvalidArgumentError

__all__ = ["split_rows", "PARTS"]

PARTS = ("train", "val", "test")


def split_rows(times, split) -> dict[str, tuple[int, int]]:
    """Row ranges ``[begin, end)`` of the train, val and test parts of one sorted series.

    Arguments:
        times: the series' sorted timestamps (only its length is used for fractions).
        split: either fractions ``(train, val[, test])`` summing to at most 1 (the test part
            is the rest when two are given), or two dates ``(val_start, test_start)``:
            train is before ``val_start``, val before ``test_start``, test the rest.
    """
    n = len(times)
    split = tuple(split)
    if len(split) in (2, 3) and all(isinstance(f, numbers.Real) and not isinstance(f, bool) for f in split):
        fr = [float(f) for f in split]
        if not all(np.isfinite(fr)) or any(f < 0 for f in fr) or sum(fr) > 1 + 1e-9 or fr[0] == 0:
            raise InvalidArgumentError.for_argument(
                "split", split, "fractions (train, val[, test]) >= 0 with a positive train part, summing to <= 1",
                "For example split=(0.7, 0.15, 0.15).")
        a = int(round(n * fr[0]))
        b = int(round(n * (fr[0] + fr[1])))
        c = n if len(fr) == 2 else int(round(n * sum(fr)))
        return {"train": (0, a), "val": (a, b), "test": (b, c)}
    if len(split) == 2:
        try:
            d = [pd.Timestamp(x) for x in split]
        except (ValueError, TypeError):
            raise InvalidArgumentError.for_argument(
                "split", split, "two dates (val_start, test_start) or fractions", "For example split=('2013-09-01', '2013-11-01').") from None
        idx = pd.DatetimeIndex(times)
        if idx.tz is not None:
            d = [x.tz_localize(idx.tz) if x.tz is None else x for x in d]
        else:
            d = [x if x.tz is None else x.tz_convert("UTC").tz_localize(None) for x in d]
        if d[1] < d[0]:
            raise InvalidArgumentError.for_argument("split", split, "val_start <= test_start")
        a, b = (int(idx.searchsorted(x, side="left")) for x in d)
        return {"train": (0, a), "val": (a, b), "test": (b, n)}
    raise InvalidArgumentError.for_argument(
        "split", split, "fractions (train, val[, test]) or two dates (val_start, test_start)",
        "For example split=(0.7, 0.15, 0.15) or split=('2013-09-01', '2013-11-01').")
