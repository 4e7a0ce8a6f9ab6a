"""`rnnkit forecast` / `rnnkit predict` end to end on small CSVs, and every bad input.

Each bad input must end with exit code 2 and one paragraph naming the argument, the value and
the fix (no traceback), and must leave an existing run directory exactly as it was.
"""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rnnkit.cli import main

from tests.recipes.cli_helpers import TINY, _csv, _snapshot  # noqa: F401


@pytest.fixture(scope="module")
def good_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    csv = _csv(d / "series.csv")
    out = d / "run"
    assert main(["forecast", "--csv", str(csv), "--time-col", "time", "--target", "temp",
                 "--out", str(out), *TINY]) == 0
    return csv, out


def test_forecast_writes_a_complete_run(good_run):
    csv, out = good_run
    for name in ("config.json", "model.safetensors", "metrics.json", "history.csv", "loss.png",
                 "forecast_test.png"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["test"]) == {"model", "common_sense", "seasonal_naive", "mean"}
    assert json.loads((out / "config.json").read_text())["task"] == "forecast"   # runs from before have none
    # common sense on the test windows, computed independently from the CSV in its own units
    df = pd.read_csv(csv)
    temp = df["temp"].to_numpy()
    n = len(temp)
    test_begin = round(n * 0.85)
    last = np.arange(test_begin + 11, n - 2)          # last observed rows of the test windows
    expected = np.abs(temp[last] - temp[last + 2]).mean()
    assert metrics["test"]["common_sense"]["mae"] == pytest.approx(expected, rel=1e-4)


def test_predict_from_run(good_run, capsys):
    csv, out = good_run
    assert main(["predict", "--run", str(out), "--csv", str(csv), "--output", str(out.parent / "p.csv")]) == 0
    table = pd.read_csv(out.parent / "p.csv")
    assert list(table.columns) == ["series", "last_observed", "target_time", "forecast"]
    assert table["target_time"][0] == "2020-01-13 13:00:00"  # last row 11:00 + 2 h
    assert np.isfinite(table["forecast"]).all()


def _bad(tmp_path, name, **overrides):
    return _csv(tmp_path / f"{name}.csv", **overrides)


BAD = [
    ("unknown target column", lambda p: ["--csv", str(_csv(p / "a.csv")), "--time-col", "time", "--target", "nope"],
     "nope"),
    ("unknown time column", lambda p: ["--csv", str(_csv(p / "a.csv")), "--time-col", "when", "--target", "temp"],
     "when"),
    ("non-numeric target", lambda p: ["--csv", str(_bad(p, "b", temp="warm")), "--time-col", "time",
                                      "--target", "temp"], "temp"),
    ("all-NaN column", lambda p: ["--csv", str(_bad(p, "c", wind=np.nan)), "--time-col", "time",
                                  "--target", "temp"], "wind"),
    ("series too short", lambda p: ["--csv", str(_csv(p / "d.csv", n=20)), "--time-col", "time",
                                    "--target", "temp"], "lookback"),
    ("lookback not multiple of step", lambda p: ["--csv", str(_csv(p / "e.csv")), "--time-col", "time",
                                                 "--target", "temp", "--step", "5"], "step"),
    ("step <= 0", lambda p: ["--csv", str(_csv(p / "f.csv")), "--time-col", "time", "--target", "temp",
                             "--step", "0"], "step"),
    ("delay <= 0", lambda p: ["--csv", str(_csv(p / "g.csv")), "--time-col", "time", "--target", "temp",
                              "--delay", "0"], "delay"),
    ("horizon <= 0", lambda p: ["--csv", str(_csv(p / "h.csv")), "--time-col", "time", "--target", "temp",
                                "--horizon", "-1"], "horizon"),
    ("missing csv file", lambda p: ["--csv", str(p / "missing.csv"), "--time-col", "time", "--target", "temp"],
     "missing.csv"),
    ("csv without target", lambda p: ["--csv", str(_csv(p / "i.csv")), "--time-col", "time"], "--target"),
]


@pytest.mark.parametrize("label,argv,word", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_one_clear_paragraph(label, argv, word, tmp_path, good_run, capsys):
    _, out = good_run
    before = _snapshot(out)
    args = argv(tmp_path)
    if "--lookback" not in args:
        args = [*args, *[a for a in TINY if a not in ("--lookback", "12")]]
        if "--step" in args:
            args += ["--lookback", "12"]
    code = main(["forecast", *args, "--out", str(tmp_path / "new")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("rnnkit: error: ") and "Traceback" not in err
    assert word in err
    assert not (tmp_path / "new").exists() or not any((tmp_path / "new").iterdir())
    assert _snapshot(out) == before


def test_empty_csv(tmp_path, capsys):
    (tmp_path / "empty.csv").write_text("")
    assert main(["forecast", "--csv", str(tmp_path / "empty.csv"), "--time-col", "time", "--target", "temp",
                 *TINY]) == 2
    assert "empty" in capsys.readouterr().err.lower()


def test_unparseable_time(tmp_path, capsys):
    csv = _csv(tmp_path / "t.csv")
    df = pd.read_csv(csv)
    df.loc[5, "time"] = "not a time"
    df.to_csv(csv, index=False)
    assert main(["forecast", "--csv", str(csv), "--time-col", "time", "--target", "temp", *TINY]) == 2
    err = capsys.readouterr().err
    assert "time" in err and "not a time" in err


def test_duplicate_timestamps_refused_unless_merged(tmp_path, capsys):
    csv = _csv(tmp_path / "dup.csv")
    df = pd.read_csv(csv)
    df = pd.concat([df.iloc[:50], df.iloc[49:50], df.iloc[50:]])
    df.to_csv(csv, index=False)
    base = ["forecast", "--csv", str(csv), "--time-col", "time", "--target", "temp", *TINY]
    assert main(base + ["--out", str(tmp_path / "r1")]) == 2
    assert "duplicates" in capsys.readouterr().err
    assert main(base + ["--duplicates", "mean", "--out", str(tmp_path / "r2")]) == 0


def test_existing_run_is_refused_and_untouched(good_run, capsys):
    csv, out = good_run
    before = _snapshot(out)
    assert main(["forecast", "--csv", str(csv), "--time-col", "time", "--target", "temp",
                 "--out", str(out), *TINY]) == 2
    assert "--resume" in capsys.readouterr().err
    assert _snapshot(out) == before


def test_resume_with_a_different_config_is_refused(good_run, capsys):
    csv, out = good_run
    before = _snapshot(out)
    code = main(["forecast", "--csv", str(csv), "--time-col", "time", "--target", "temp",
                 "--out", str(out), "--resume", *TINY[:-2], "--patience", "1", "--units", "8"])
    err = capsys.readouterr().err
    assert code == 2 and "units" in err
    assert _snapshot(out) == before


def test_corrupt_checkpoint_is_reported(good_run, tmp_path, capsys):
    import shutil
    csv, out = good_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    ckpt = next(p for p in (copy / "checkpoints").iterdir() if p.name.startswith("last"))
    ckpt.write_bytes(ckpt.read_bytes()[:100])
    code = main(["forecast", "--csv", str(csv), "--time-col", "time", "--target", "temp",
                 "--out", str(copy), "--resume", *TINY])
    err = capsys.readouterr().err
    assert code == 2 and "checkpoint" in err.lower() and "Traceback" not in err


def test_forecast_on_the_jena_fixture(tmp_path, capsys):
    """--jena reads the real Jena header and date format (the seed 001 data), here a small fixture."""
    fixture = Path(__file__).parents[1] / "data" / "fixtures" / "jena_climate_small.csv"
    out = tmp_path / "jena"
    assert main(["forecast", "--jena", str(fixture), "--lookback", "4", "--delay", "2", "--split", "0.5,0.25,0.25",
                 "--units", "4", "--epochs", "1", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "T (degC)" in text and "°C" in text and "no seasonal-naive baseline" in text
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["test"]) == {"model", "common_sense", "mean"}


def test_unreachable_seasonal_period_is_refused_before_training(tmp_path, capsys):
    csv = _csv(tmp_path / "s.csv")
    code = main(["forecast", "--csv", str(csv), "--time-col", "time", "--target", "temp", *TINY,
                 "--seasonal-period", "500", "--out", str(tmp_path / "r")])
    assert code == 2 and "--seasonal-period" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_seq2seq_and_resampling_with_aggregation(tmp_path, capsys):
    """--seq2seq trains on every step; --resample 3h with --agg sums one column per bin."""
    csv = _csv(tmp_path / "s.csv", n=600, rain=1.0)
    out = tmp_path / "r"
    assert main(["forecast", "--csv", str(csv), "--time-col", "time", "--target", "temp", "--resample", "3h",
                 "--agg", "rain=sum", "--seq2seq", "--units", "4", "--epochs", "1", "--lookback", "8",
                 "--delay", "1", "--quiet", "--out", str(out)]) == 0
    data = json.loads((out / "config.json").read_text())
    assert data["model"]["seq2seq"] is True and data["job"]["agg"] == {"rain": "sum"}
    from rnnkit.tasks.forecast_predict import load_forecaster
    model, job, _ = load_forecaster(out)
    import torch
    assert model(torch.zeros(2, 8, model.config.n_features)).shape == (2, 8, 1)
    # the 3h bins of a constant 1.0 hourly rain sum to 3.0: the scaler saw a constant column of 3
    scaler = data["data"]["scaler"]
    i = data["data"]["feature_names"].index("rain")
    assert scaler["mean"][i] == pytest.approx(3.0)
    with pytest.raises(SystemExit) as exit_info:  # argparse's own one-line usage error
        main(["forecast", "--csv", str(csv), "--time-col", "time", "--target", "temp", "--agg", "rain"])
    assert exit_info.value.code == 2
    assert "COLUMN=FUNCTION" in capsys.readouterr().err
