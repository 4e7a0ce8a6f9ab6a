"""One model for all series vs one per series (seed 000), on a two-station CSV."""
import numpy as np
import pandas as pd
import pytest

from rnnkit.tasks.forecast import ForecastJob
from rnnkit.recipes.stations import compare_station_models


def test_station_comparison_per_series_baseline(tmp_path):
    n = 200
    t = pd.date_range("2021-01-01", periods=n, freq="h")
    frames = []
    for k, name in enumerate(["A", "B"]):
        temp = 5 * k + np.sin(np.arange(n) * 2 * np.pi / 24 + k) + np.arange(n) * 0.01
        frames.append(pd.DataFrame({"time": t, "station": name, "temp": temp, "wind": np.cos(np.arange(n) / 5)}))
    csv = tmp_path / "two.csv"
    pd.concat(frames).to_csv(csv, index=False)
    job = ForecastJob(csv=str(csv), time_col="time", group_col="station", target="temp", lookback=12,
                      delay=3, units=4, epochs=1, steps_per_epoch=2, quiet=True, out=str(tmp_path / "cmp"))
    table = compare_station_models(job)
    assert set(table) == {"A", "B"}
    for k, name in enumerate(["A", "B"]):
        temp = frames[k]["temp"].to_numpy()
        begin = round(n * 0.85)
        last = np.arange(begin + 11, n - 3)
        expected = np.abs(temp[last] - temp[last + 3]).mean()
        assert table[name]["common_sense"] == pytest.approx(expected, rel=1e-4)
        assert np.isfinite(table[name]["own_model"]) and np.isfinite(table[name]["one_model"])
    assert (tmp_path / "cmp" / "comparison.json").is_file()
    assert (tmp_path / "cmp" / "only-A" / "model.safetensors").is_file()


def test_stations_recipe_is_registered(tmp_path, capsys):
    from rnnkit.cli import main
    assert main(["recipes"]) == 0
    assert "seed000-stations" in capsys.readouterr().out
    assert main(["recipe", "seed000", "--stations", "JFK,LGA", "--units", "4", "--epochs", "1",
                 "--steps-per-epoch", "2", "--lookback", "24", "--out", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    assert "JFK" in out and "LGA" in out and "one model" in out
