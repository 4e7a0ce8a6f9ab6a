"""One tiny forecasting run (CSV, lookback 12, 4 GRU units) shared by the export tests."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest


def hourly_csv(path: Path, n: int = 300) -> Path:
    t = pd.date_range("2020-01-01", periods=n, freq="h")
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"time": t.strftime("%Y-%m-%d %H:%M:%S"),
                       "temp": 10 + 5 * np.sin(np.arange(n) * 2 * np.pi / 24) + rng.normal(0, 0.3, n),
                       "wind": np.cos(np.arange(n) / 7)})
    df.to_csv(path, index=False)
    return path


def train(out: Path, csv: Path, **job):
    from rnnkit.tasks.forecast import ForecastJob, run_forecast
    kw = dict(csv=str(csv), time_col="time", target="temp", lookback=12, delay=2, units=4, epochs=1,
              steps_per_epoch=2, quiet=True, patience=1, out=str(out))
    kw.update(job)
    run_forecast(ForecastJob(**kw))
    return out


@pytest.fixture(scope="session")
def csv_run(tmp_path_factory):
    """``(run_dir, csv)``: a GRU run trained on an hourly CSV (time, temp, wind)."""
    d = tmp_path_factory.mktemp("export_run")
    csv = hourly_csv(d / "data.csv")
    return train(d / "run", csv), csv
