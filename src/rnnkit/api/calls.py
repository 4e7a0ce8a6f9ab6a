"""``rnnkit.forecast`` and ``rnnkit.classify``: the ``rnnkit forecast`` and ``rnnkit classify``
commands on a DataFrame, lists of texts, an array of images or of series."""
from __future__ import annotations

import contextlib
import os

import pandas as pd

from rnnkit.api._common import csv_of, flushing_subnormals, make_config, strings, temp_file, train
from rnnkit.api._files import write_idx_folder, write_ts
from rnnkit.api.run import Run
from rnnkit.errors import InvalidArgumentError
from rnnkit.tasks.classify import ClassifyConfig
from rnnkit.tasks.forecast_config import ForecastJob

__all__ = ["forecast", "classify"]


@flushing_subnormals
def forecast(data: pd.DataFrame, *, target: str, time_col: str, **options) -> Run:
    """``rnnkit forecast`` on a DataFrame (one row per time step; the columns the CSV would have).

    Args:
        data: the series (a ``group_col`` option for several series in one table).
        target: the column to forecast; time_col: the time column.
        options: any other option of ``rnnkit forecast`` (``lookback``, ``delay``, ``units``, ``epochs``, ``out``, ...).
    """
    if not isinstance(data, pd.DataFrame):
        raise InvalidArgumentError.for_argument("data", type(data).__name__, "a pandas DataFrame",
                                                "Build one with pandas.DataFrame({...}) or pandas.read_csv(path).")
    with csv_of(data) as csv:
        config = make_config(ForecastJob, "forecast", options, csv=csv, target=target, time_col=time_col)
        return Run(train("forecast", config), data)


@flushing_subnormals
def classify(texts=None, labels=None, *, images=None, series=None, test=None, **options) -> Run:
    """``rnnkit classify`` on one of:

    - ``texts``: a list of strings with ``labels`` (one per text), or a DataFrame with the
      ``text_col`` and ``label_col`` columns (defaults ``text`` and ``label``) (``--csv``);
    - ``images``: an array ``N x rows x cols`` of whole pixel values 0-255 with ``labels``
      (whole numbers 0-255), each image read row by row (``--idx``);
    - ``series``: an array ``N x steps x features`` (or a list of ``steps x features`` arrays of any
      lengths) with ``labels`` (strings or numbers without spaces) (``--ts``).

    ``test``: a ``(data, labels)`` pair of the same kind, the test set (``--test-csv``,
    ``--test-ts``, the IDX ``t10k`` files; default: a part of the data, by ``split``).
    ``options``: any other option of ``rnnkit classify``.
    """
    given = [name for name, v in (("texts", texts), ("images", images), ("series", series)) if v is not None]
    if len(given) != 1:
        raise InvalidArgumentError.for_argument("data", given or None, "exactly one of texts, images or series")
    if images is not None:
        return _images(images, labels, test, options)
    if series is not None:
        return _series(series, labels, test, options)
    frames = [_text_frame(texts, labels, options)] + ([_text_frame(*test, options)] if test is not None else [])
    testing = csv_of(frames[1]) if test is not None else contextlib.nullcontext()
    with csv_of(frames[0]) as csv, testing as test_csv:
        config = make_config(ClassifyConfig, "classify", options, csv=csv,
                             **({"test_csv": test_csv} if test_csv else {}))
        return Run(train("classify", config))


def _text_frame(texts, labels, options) -> pd.DataFrame:
    if isinstance(texts, pd.DataFrame):
        if labels is not None:
            raise InvalidArgumentError.for_argument("labels", "a list beside a DataFrame", "None",
                                                    "Name the DataFrame's label column with label_col=.")
        return texts
    texts = strings(texts, "texts")
    labels = list(labels) if labels is not None and not isinstance(labels, str) else labels
    if labels is None or len(labels) != len(texts):
        raise InvalidArgumentError.for_argument(
            "labels", f"{'None' if labels is None else len(labels)} labels", f"one label per text ({len(texts)})")
    return pd.DataFrame({options.get("text_col", "text"): texts, options.get("label_col", "label"): labels})


def _images(images, labels, test, options) -> Run:
    tx, ty = test if test is not None else (None, None)
    with temp_file("idx", lambda p: _idx_folder(p, images, labels, tx, ty)) as folder:
        return Run(train("classify", make_config(ClassifyConfig, "classify", options, idx=folder)))


def _idx_folder(path, images, labels, test_images, test_labels) -> None:
    os.mkdir(path)
    write_idx_folder(path, images, labels, test_images, test_labels)


def _series(series, labels, test, options) -> Run:
    testing = (temp_file("test.ts", lambda p: write_ts(p, test[0], test[1], "test")) if test is not None
               else contextlib.nullcontext())
    with temp_file("train.ts", lambda p: write_ts(p, series, labels)) as ts, testing as test_ts:
        config = make_config(ClassifyConfig, "classify", options, ts=ts, **({"test_ts": test_ts} if test_ts else {}))
        return Run(train("classify", config))
