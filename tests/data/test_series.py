"""Series prep: cleaning, encodings, splits, scaler, several series; every bad input's error."""
import json
import math

import numpy as np
import pandas as pd
import pytest

from rnnkit.data.encodings import angle_sin_cos, time_features, wind_vector
from rnnkit.data.prepared import prepare_series
from rnnkit.data.scaling import Scaler
from rnnkit.data.series import clean_series
from rnnkit.data.splits import split_rows
from rnnkit.errors import DataError, InvalidArgumentError


def frame(n=48, freq="h", **cols):
    t = pd.date_range("2013-03-01", periods=n, freq=freq)
    data = {"time": t.strftime("%Y-%m-%d %H:%M:%S"), "temp": np.arange(n, dtype=float)}
    data.update(cols)
    return pd.DataFrame(data)


# ---- cleaning --------------------------------------------------------------------------
def test_csv_path_and_resample_mean_and_sum(tmp_path):
    df = frame(6, rain=[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    path = tmp_path / "s.csv"
    df.to_csv(path, index=False)
    out = clean_series(path, time="time", resample="3h", agg={"rain": "sum"})[None]
    assert out["temp"].tolist() == [1.0, 4.0]          # mean of 0,1,2 and 3,4,5
    assert out["rain"].tolist() == [6.0, 15.0]         # sum of 1,2,3 and 4,5,6
    assert list(out.index.strftime("%H")) == ["00", "03"]


def test_gaps_are_filled_on_the_grid_by_time_interpolation():
    df = frame(5).drop(index=[2, 3])                   # hours 0, 1, 4
    out = clean_series(df, time="time", resample="1h")[None]
    assert out["temp"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_nan_refuse_names_column_and_count():
    df = frame(6, rh=[1.0, np.nan, 3.0, np.nan, 5.0, 6.0])
    with pytest.raises(DataError, match=r"'rh': 2"):
        clean_series(df, time="time", nan="refuse")
    assert clean_series(df, time="time")[None]["rh"].tolist() == [1, 2, 3, 4, 5, 6]


def test_all_nan_column_is_an_error():
    with pytest.raises(DataError, match="'rh'.*no values"):
        clean_series(frame(4, rh=[np.nan] * 4), time="time")


def test_duplicates_error_unless_merged():
    df = pd.DataFrame({"time": ["2013-11-03 01:00", "2013-11-03 01:00", "2013-11-03 02:00"],
                       "temp": [1.0, 3.0, 5.0]})
    with pytest.raises(DataError, match="1 duplicate timestamp.*2013-11-03 01:00"):
        clean_series(df, time="time")
    assert clean_series(df, time="time", duplicates="mean")[None]["temp"].tolist() == [2.0, 5.0]
    assert clean_series(df, time="time", duplicates="first")[None]["temp"].tolist() == [1.0, 5.0]
    assert clean_series(df, time="time", duplicates="last")[None]["temp"].tolist() == [3.0, 5.0]


def test_unparseable_time_is_an_error_with_examples():
    df = frame(3)
    df.loc[1, "time"] = "yesterday"
    with pytest.raises(DataError, match=r"`time` has 1 value.*'yesterday'"):
        clean_series(df, time="time")


def test_utc_offsets_become_utc():
    df = pd.DataFrame({"t": ["2013-01-01T06:00:00Z", "2013-01-01T01:00:00-05:00"], "v": [1.0, 2.0]})
    out = clean_series(df, time="t", duplicates="mean")[None]
    assert len(out) == 1 and str(out.index.tz) == "UTC" and out["v"].iloc[0] == 1.5


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(time="when"), DataError, r"'when' given as `time`.*Available columns"),
    (dict(time="time", target="tmp"), DataError, r"'tmp' given as `target`"),
    (dict(time="time", group="station"), DataError, r"'station' given as `group`"),
    (dict(time="time", nan="drop"), InvalidArgumentError, r"`nan`"),
    (dict(time="time", duplicates="yes"), InvalidArgumentError, r"`duplicates`"),
    (dict(time="time", resample="3 parsecs"), InvalidArgumentError, r"`resample`"),
])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        clean_series(frame(4), **kwargs)


def test_non_numeric_target_is_an_error():
    df = frame(3, cond=["sunny", "rain", "fog"])
    with pytest.raises(DataError, match="target column 'cond' is not numeric"):
        clean_series(df, time="time", target="cond")


def test_empty_csv_and_header_only_csv(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="empty"):
        clean_series(empty, time="time")
    header = tmp_path / "header.csv"
    header.write_text("time,temp\n")
    with pytest.raises(DataError, match="no rows"):
        clean_series(header, time="time")
    with pytest.raises(InvalidArgumentError, match="`source`"):
        clean_series(tmp_path / "missing.csv", time="time")


# ---- encodings -------------------------------------------------------------------------
def test_wind_vector_hand_cases():
    u, v = wind_vector([0, 90, 180, 270, np.nan, np.nan], [1, 2, 3, 4, 0, 5])
    np.testing.assert_allclose(u[:5], [1, 0, -3, 0, 0], atol=1e-12)
    np.testing.assert_allclose(v[:5], [0, 2, 0, -4, 0], atol=1e-12)
    assert math.isnan(u[5]) and math.isnan(v[5])       # direction unknown, wind not calm
    s, c = angle_sin_cos([0, 360, 45])
    np.testing.assert_allclose(s, [0, 0, math.sqrt(0.5)], atol=1e-12)
    np.testing.assert_allclose(c, [1, 1, math.sqrt(0.5)], atol=1e-12)


def test_angles_are_averaged_as_vectors_not_degrees():
    df = frame(2, wd=[350.0, 10.0], ws=[1.0, 1.0])
    out = clean_series(df, time="time", angles={"wd": "ws"}, resample="2h")[None]
    assert out["wd_x"].iloc[0] == pytest.approx(math.cos(math.radians(10)))
    assert out["wd_y"].iloc[0] == pytest.approx(0.0, abs=1e-12)


def test_time_features_hand_cases():
    f = time_features(pd.to_datetime(["1970-01-01 00:00", "1970-01-01 12:00"]))
    np.testing.assert_allclose(f["day_sin"], [0, 0], atol=1e-9)
    np.testing.assert_allclose(f["day_cos"], [1, -1], atol=1e-9)
    assert list(f.columns) == ["day_sin", "day_cos", "year_sin", "year_cos"]


# ---- splits and scaler ------------------------------------------------------------------
def test_split_by_fractions_and_dates():
    t = pd.date_range("2013-01-01", periods=100, freq="D")
    assert split_rows(t, (0.5, 0.3)) == {"train": (0, 50), "val": (50, 80), "test": (80, 100)}
    assert split_rows(t, ("2013-01-11", "2013-02-01")) == {"train": (0, 10), "val": (10, 31), "test": (31, 100)}
    with pytest.raises(InvalidArgumentError, match="`split`"):
        split_rows(t, (0.9, 0.9))
    with pytest.raises(InvalidArgumentError, match="`split`"):
        split_rows(t, ("soon", "later"))


def test_scaler_is_fitted_on_train_only_and_round_trips():
    df = frame(10)                                      # temp 0..9
    p = prepare_series(df, time="time", target="temp", split=(0.5, 0.25, 0.25), time_features=())
    train = np.arange(5.0)
    assert p.scaler.mean == [pytest.approx(train.mean())]
    assert p.scaler.std == [pytest.approx(train.std())]
    np.testing.assert_allclose(p.data[:, 0], (np.arange(10) - 2.0) / train.std(), rtol=1e-6)
    np.testing.assert_allclose(p.inverse_target(p.data[:, 0]), np.arange(10), atol=1e-5)
    d = json.loads(json.dumps(p.to_dict()))
    assert Scaler.from_dict(d["scaler"]) == p.scaler
    again = prepare_series(frame(10, ), time="time", target="temp", split=(0.5, 0.25, 0.25),
                           time_features=(), scaler=d["scaler"])
    np.testing.assert_array_equal(again.data, p.data)


# ---- several series ---------------------------------------------------------------------
def two_stations():
    a = frame(30)
    b = frame(30)
    b["temp"] = 100 + np.arange(30.0)
    a["st"], b["st"] = "A", "B"
    return pd.concat([b, a], ignore_index=True)


def test_groups_windows_never_cross_and_static_channels():
    static = {"A": {"lat": 1.0, "alt": 10.0}, "B": {"lat": 3.0, "alt": 30.0}}
    p = prepare_series(two_stations(), time="time", target="temp", group="st", time_features=(),
                       split=(0.5, 0.25, 0.25), static=static)
    assert p.groups == ["A", "B"] and p.bounds == [(0, 30), (30, 60)]
    assert p.parts["train"] == [(0, 15), (30, 45)]
    w = p.windows("train", lookback=4, delay=2)
    assert len(w) == 2 * (15 - 6 + 1)                # span = 4 - 1 + 2 + 1 = 6
    raw = p.scaler.inverse_transform(w.get_batch(range(len(w)))[0][..., :1].numpy(), column="temp")
    y = p.inverse_target(w.get_batch(range(len(w)))[1].numpy())
    for i in range(len(w)):                             # inputs and target from one station
        assert (raw[i] < 50).all() == (y[i] < 50).all()
        assert y[i, 0] == pytest.approx(raw[i, -1, 0] + 2, abs=1e-4)
    x, _ = w[0]
    assert x.shape == (4, 1 + 2)                        # temp + lat, alt channels
    np.testing.assert_allclose(x[:, 1:].numpy(), [[-1, -1]] * 4, atol=1e-6)   # A: standardised
    one = p.select("B")
    assert one.groups == ["B"] and len(one.data) == 30
    assert one.scaler.mean[0] == pytest.approx(107.0)   # refitted on B's train rows 100..114
    assert one.input_size() == 3


def test_series_shorter_than_window_is_an_error():
    p = prepare_series(frame(20), time="time", target="temp", time_features=())
    with pytest.raises(DataError, match="too short"):
        p.windows("val", lookback=3, delay=2)
    with pytest.raises(InvalidArgumentError, match="`delay`"):
        p.windows("train", lookback=3, delay=0)
    with pytest.raises(InvalidArgumentError, match="`part`"):
        p.windows("validation", lookback=3)


def test_saved_preparation_is_reused_for_a_subset_of_series():
    static = {"A": {"lat": 1.0, "alt": 10.0}, "B": {"lat": 3.0, "alt": 30.0}}
    p = prepare_series(two_stations(), time="time", target="temp", group="st", time_features=(),
                       split=(0.5, 0.25, 0.25), static=static)
    saved = json.loads(json.dumps(p.to_dict()))
    only_b = two_stations().query("st == 'B'")
    q = prepare_series(only_b, time="time", target="temp", group="st", time_features=(),
                       split=(1.0, 0.0), static=static, scaler=saved)
    assert q.scaler == p.scaler
    np.testing.assert_allclose(q.static, p.static[1:], atol=1e-6)        # B is still (+1, +1)
    np.testing.assert_array_equal(q.data, p.data[30:])
