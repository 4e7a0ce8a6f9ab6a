"""Issue 10, real-world series: ``--max-gap`` splits a series at long gaps in time (windows never
cross them) instead of interpolating across; the output says how many gaps were split and how
many interpolated. The fixture is shaped like a 5-minute glucose sensor export."""
import re

import numpy as np
import pandas as pd
import pytest

from rnnkit.cli import main
from rnnkit.data import prepare_series
from rnnkit.models.baselines import window_rows

MAX_GAP = pd.Timedelta("30min")
# (row after which readings stop, minutes without a reading until the next one)
LONG_GAPS = [(300, 28 * 60), (650, 45), (900, 95), (1150, 240)]      # split: 4, the longest 28 h
SHORT_GAPS = [(100, 15), (450, 25), (700, 10), (1000, 30), (1250, 20)]  # interpolated: 5 (30 min is not > 30 min)


def glucose_csv(path, rows=1400, seed=0):
    """A sensor export: a reading every 5 minutes (a few seconds of jitter), gaps as above,
    readings in mg/dL, a few empty cells."""
    rng = np.random.default_rng(seed)
    extra = {r: m - 5 for r, m in LONG_GAPS + SHORT_GAPS}
    minutes = np.cumsum([0] + [5 + extra.get(i, 0) for i in range(rows - 1)])
    t = pd.Timestamp("2021-03-01 00:02:00") + pd.to_timedelta(minutes, "min") \
        + pd.to_timedelta(rng.integers(-20, 20, rows), "s")
    glucose = 120 + 40 * np.sin(minutes / 180.0) + rng.normal(0, 5, rows)
    df = pd.DataFrame({"Device Timestamp": t.strftime("%Y-%m-%d %H:%M:%S"),
                       "Historic Glucose mg/dL": np.round(glucose)})
    df.loc[[r for r in (37, 555) if r < rows], "Historic Glucose mg/dL"] = np.nan
    df.to_csv(path, index=False)
    return path


def _prepared(csv, **kw):
    return prepare_series(csv, time="Device Timestamp", target="Historic Glucose mg/dL", resample="5min",
                          time_features=(), **kw)


def _widest_step_inside_windows(prepared, part, lookback=12, delay=2):
    """The longest time between two consecutive rows that any window reads across (inputs to target)."""
    w = prepared.windows(part, lookback=lookback, delay=delay)
    starts, _, targets = window_rows(w)
    step = prepared.times[1:] - prepared.times[:-1]          # between row r and r + 1
    return max(step[s:e].max() for s, e in zip(starts, targets[:, -1])), len(w)


def test_no_window_crosses_a_split_gap(tmp_path):
    csv = glucose_csv(tmp_path / "glucose.csv")
    p = _prepared(csv, max_gap="30min")
    for part in ("train", "val", "test"):
        widest, n = _widest_step_inside_windows(p, part)
        assert n > 0 and widest == pd.Timedelta("5min"), (part, widest)
    assert len(p.segments) == 1 + len(LONG_GAPS)
    # nothing invented inside the 28-hour gap: no row between its two edges
    t = pd.read_csv(csv)["Device Timestamp"].pipe(pd.to_datetime)
    a, b = t[LONG_GAPS[0][0]], t[LONG_GAPS[0][0] + 1]
    assert not ((p.times > a + MAX_GAP) & (p.times < b - MAX_GAP)).any()


def test_without_max_gap_windows_cross_interpolated_gaps(tmp_path):
    """The fixture does what it should: without --max-gap the 28 hours are filled and crossed."""
    p = _prepared(glucose_csv(tmp_path / "glucose.csv"))
    assert len(p.segments) == 1 and p.gaps["split"] == 0
    assert p.gaps["interpolated"] == len(LONG_GAPS) + len(SHORT_GAPS)
    assert p.gaps["longest_interpolated"] == pytest.approx(28 * 3600 + 300, abs=300)


def test_gap_counts(tmp_path):
    p = _prepared(glucose_csv(tmp_path / "glucose.csv"), max_gap="30min")
    assert p.gaps["split"] == len(LONG_GAPS)
    assert p.gaps["interpolated"] == len(SHORT_GAPS)
    assert p.gaps["longest_split"] == pytest.approx(28 * 3600, abs=60)


def test_the_forecast_output_says_how_many_gaps_were_split_and_interpolated(tmp_path, capsys):
    csv = glucose_csv(tmp_path / "glucose.csv")
    code = main(["forecast", "--csv", str(csv), "--time-col", "Device Timestamp", "--target",
                 "Historic Glucose mg/dL", "--resample", "5min", "--max-gap", "30min", "--out",
                 str(tmp_path / "run"), "--units", "4", "--epochs", "1", "--steps-per-epoch", "2",
                 "--lookback", "12", "--delay", "2", "--patience", "1"])
    out = capsys.readouterr().out
    assert code == 0
    assert "gaps: 4 longer than --max-gap 30min split the series" in out, out
    assert re.search(r"longest 1 days 0[34]:", out), out
    assert "5 shorter interpolated linearly" in out, out


def test_without_max_gap_the_output_counts_the_interpolated_gaps(tmp_path, capsys):
    csv = glucose_csv(tmp_path / "glucose.csv")
    code = main(["forecast", "--csv", str(csv), "--time-col", "Device Timestamp", "--target",
                 "Historic Glucose mg/dL", "--resample", "5min", "--out", str(tmp_path / "run"), "--units", "4",
                 "--epochs", "1", "--steps-per-epoch", "2", "--lookback", "12", "--delay", "2"])
    out = capsys.readouterr().out
    assert code == 0 and "gaps: 9 interpolated linearly" in out and "--max-gap" in out, out


def test_predict_keeps_max_gap_and_warns_when_the_last_segment_is_short(tmp_path, capsys):
    csv = glucose_csv(tmp_path / "glucose.csv")
    run = tmp_path / "run"
    assert main(["forecast", "--csv", str(csv), "--time-col", "Device Timestamp", "--target",
                 "Historic Glucose mg/dL", "--resample", "5min", "--max-gap", "30min", "--out", str(run),
                 "--units", "4", "--epochs", "1", "--steps-per-epoch", "2", "--lookback", "12", "--delay", "2",
                 "--quiet"]) == 0
    # new data whose last readings after a 2-hour gap are fewer than the lookback
    df = pd.read_csv(csv)
    t = pd.to_datetime(df["Device Timestamp"])
    tail = pd.DataFrame({"Device Timestamp": (t.iloc[-1] + pd.to_timedelta(120 + 5 * np.arange(5), "min"))
                         .strftime("%Y-%m-%d %H:%M:%S"), "Historic Glucose mg/dL": 130.0})
    new = tmp_path / "new.csv"
    pd.concat([df, tail]).to_csv(new, index=False)
    with pytest.warns(UserWarning, match="5 row.* after its last gap longer than --max-gap, fewer than the lookback"):
        with pytest.raises(Exception, match="rows this model needs after its last gap"):
            from rnnkit.tasks.forecast_predict import forecast_from_run
            forecast_from_run(run, csv=str(new))
    # the run's own data: the forecast starts from the last reading, after the last split gap
    from rnnkit.tasks.forecast_predict import forecast_from_run
    table = forecast_from_run(run)
    assert table["last_observed"].iloc[0] == t.iloc[-1].floor("5min")


@pytest.mark.parametrize("value", ["30", "0min", "-5min", "soon", "nan"])
def test_a_bad_max_gap_is_refused(tmp_path, capsys, value):
    csv = glucose_csv(tmp_path / "glucose.csv", rows=200)
    code = main(["forecast", "--csv", str(csv), "--time-col", "Device Timestamp", "--target",
                 "Historic Glucose mg/dL", "--resample", "5min", f"--max-gap={value}", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("rnnkit: error: ") and "Traceback" not in err
    assert "`--max-gap`" in err and repr(value) in err and "30min" in err
    assert not (tmp_path / "r").exists()


def test_a_max_gap_shorter_than_the_resample_step_is_refused(tmp_path, capsys):
    csv = glucose_csv(tmp_path / "glucose.csv", rows=200)
    code = main(["forecast", "--csv", str(csv), "--time-col", "Device Timestamp", "--target",
                 "Historic Glucose mg/dL", "--resample", "1h", "--max-gap", "30min", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and "`--max-gap`" in err and "--resample step 1h" in err and "Traceback" not in err
