"""The Jena climate 2009-2016 data set (seed 001): download, cache, load, prepare.

14 weather variables every 10 minutes at the Max Planck Institute for Biogeochemistry, Jena;
420,551 rows. Fetched once from the Keras mirror into the cache (see :mod:`rnnkit.data.download`).

Known quirks of the raw file, handled by :func:`prepare_jena`: a few hundred duplicated
timestamps (merged by their mean) and gaps (resampled onto the 10-minute grid and
interpolated); ``wv`` and ``max. wv`` of ``-9999`` (instrument errors, set to 0 as in the
TensorFlow weather tutorial). :func:`jena_float_data` gives the seed's raw ``float_data``
array instead, untouched.

>>> JENA_COLUMNS[:3], len(JENA_COLUMNS)
(['Date Time', 'p (mbar)', 'T (degC)'], 15)
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rnnkit.data.download import download, extract_member
from rnnkit.data.series import read_table
from rnnkit.errors import DataError
from rnnkit.data.prepared import prepare_series

__all__ = ["JENA_URL", "JENA_SHA256", "JENA_COLUMNS", "JENA_TIME_FORMAT", "jena_path", "load_jena",
           "jena_float_data", "prepare_jena"]

JENA_URL = "https://s3.amazonaws.com/keras-datasets/jena_climate_2009_2016.csv.zip"
# Not pinned: the archive's sha256 cannot be known offline (this was written without network
# access, and no copy of the archive was available to hash), so none is invented here. Without
# it a download is not checked, but the cache is keyed by URL (a planted file is never served)
# and a cached copy is checked against the sha256 recorded when it was downloaded. Set it (or
# pass sha256=...) once verified against a real download.
JENA_SHA256: str | None = None
JENA_CSV = "jena_climate_2009_2016.csv"
JENA_SPLIT = (200000 / 420551, 100000 / 420551)
JENA_TIME_FORMAT = "%d.%m.%Y %H:%M:%S"
JENA_COLUMNS = ["Date Time", "p (mbar)", "T (degC)", "Tpot (K)", "Tdew (degC)", "rh (%)",
                "VPmax (mbar)", "VPact (mbar)", "VPdef (mbar)", "sh (g/kg)", "H2OC (mmol/mol)",
                "rho (g/m**3)", "wv (m/s)", "max. wv (m/s)", "wd (deg)"]


def jena_path(url: str = JENA_URL, *, sha256: str | None = JENA_SHA256, cache_dir=None,
              force: bool = False) -> Path:
    """The local CSV, downloading and unzipping it into the cache on first use.

    ``url`` may point at the zip (default) or straight at a CSV (``file://`` or a path).
    """
    got = download(url, sha256=sha256, cache_dir=cache_dir, force=force)
    if got.suffix == ".zip":
        return extract_member(got, JENA_CSV)
    return got


def load_jena(path=None, **download_kwargs) -> pd.DataFrame:
    """The raw table with ``Date Time`` parsed; ``path`` default: :func:`jena_path`."""
    path = jena_path(**download_kwargs) if path is None else path
    df = read_table(path)
    missing = [c for c in JENA_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"{Path(path).name} is not the Jena climate CSV: no column(s) {missing!r}.")
    df["Date Time"] = pd.to_datetime(df["Date Time"], format=JENA_TIME_FORMAT, errors="raise")
    return df


def jena_float_data(path=None, **download_kwargs) -> np.ndarray:
    """The seed's ``float_data``: every column but the date, as float64 ``(rows, 14)``, raw."""
    df = read_table(jena_path(**download_kwargs) if path is None else path)
    return df[JENA_COLUMNS[1:]].to_numpy(np.float64)


def prepare_jena(target: str = "T (degC)", path=None, *, download_kwargs=None, **kwargs):
    """The Jena data as a :class:`~rnnkit.data.prepared.PreparedSeries`.

    Defaults: 10-minute grid, duplicates merged by mean, gaps interpolated, wind as a vector,
    day/year time features, the seed's proportions as fractions (rows 0-200000 of 420551 train,
    the next 100000 val, the rest test). Any ``prepare_series`` argument can be overridden.
    """

    df = read_table(jena_path(**(download_kwargs or {})) if path is None else path)
    for c in ("wv (m/s)", "max. wv (m/s)"):
        if c in df.columns:
            df.loc[df[c] == -9999.0, c] = 0.0
    opts = dict(time="Date Time", time_format=JENA_TIME_FORMAT, duplicates="mean", resample="10min",
                angles={"wd (deg)": "wv (m/s)"}, split=JENA_SPLIT)
    opts.update(kwargs)
    return prepare_series(df, target=target, **opts)
