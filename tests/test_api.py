"""The notebook API (rnnkit.api): rnnkit.forecast(df, ...) and rnnkit.classify(texts, labels, ...)
give the run the CLI gives on the same data (same printed table, same metrics and weights), and
Run.predict returns what `rnnkit predict` writes to its CSV; unknown options and bad data are one
clear error; Run reads any run directory back."""
import hashlib
import json
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

import rnnkit
from rnnkit.cli import main
from rnnkit.errors import InvalidArgumentError
from tests.recipes.cli_helpers import _csv

FIX = Path(__file__).resolve().parent / "tasks" / "fixtures"
FORECAST = dict(lookback=12, delay=2, units=4, epochs=2, steps_per_epoch=3, seed=5)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _without_time(metrics: dict) -> dict:
    metrics = dict(metrics)
    metrics.pop("training", None)
    return metrics


def _table(printed: str) -> str:
    return printed[printed.index("test set"):printed.index("run directory")]


def test_forecast_from_a_dataframe_is_the_cli_run_on_that_file(tmp_path, capsys):
    csv = _csv(tmp_path / "series.csv")
    df = pd.read_csv(csv)
    argv = ["forecast", "--csv", str(csv), "--time-col", "time", "--target", "temp", "--out", str(tmp_path / "cli")]
    for k, v in FORECAST.items():
        argv += [f"--{k.replace('_', '-')}", str(v)]
    assert main(argv) == 0
    cli_printed = capsys.readouterr().out
    run = rnnkit.forecast(df, target="temp", time_col="time", out=str(tmp_path / "api"), **FORECAST)
    api_printed = capsys.readouterr().out
    assert _table(api_printed) == _table(cli_printed)                      # the same table, to the last digit
    cli = rnnkit.open_run(tmp_path / "cli")
    assert _without_time(run.metrics) == _without_time(cli.metrics)
    assert _sha(run.path / "model.safetensors") == _sha(cli.path / "model.safetensors")
    assert list(run.history["loss"]) == list(cli.history["loss"]) and len(run.history) == 2
    assert main(["predict", "--run", str(tmp_path / "cli"), "--csv", str(csv), "--output", str(tmp_path / "p.csv")]) == 0
    assert run.predict(df).to_csv(index=False) == (tmp_path / "p.csv").read_text()
    assert run.predict().equals(run.predict(df))                         # the training data by default
    assert isinstance(run.plot(), matplotlib.figure.Figure) and run.path / "loss.png" in run.images
    assert type(run.model).__name__ == "Forecaster" and not run.model.training


def test_classify_from_lists_is_the_cli_run_on_that_file(tmp_path, capsys):
    table = pd.read_csv(FIX / "tiny_reviews.csv")
    texts, labels = list(table["review"]), list(table["sentiment"])
    opts = dict(units=4, embedding_dim=4, epochs=2, seed=3)
    frame = pd.DataFrame({"text": texts, "label": labels})
    frame.to_csv(tmp_path / "reviews.csv", index=False)
    assert main(["classify", "--csv", str(tmp_path / "reviews.csv"), "--units", "4", "--embedding-dim", "4",
                 "--epochs", "2", "--seed", "3", "--out", str(tmp_path / "cli")]) == 0
    cli_printed = capsys.readouterr().out
    run = rnnkit.classify(texts, labels, out=str(tmp_path / "api"), **opts)
    assert _table(capsys.readouterr().out) == _table(cli_printed)
    cli = rnnkit.open_run(tmp_path / "cli")
    assert _without_time(run.metrics) == _without_time(cli.metrics)
    assert _sha(run.path / "model.safetensors") == _sha(cli.path / "model.safetensors")
    new = ["a wonderful film", "dull and far too long"]
    pd.DataFrame({"text": new}).to_csv(tmp_path / "new.csv", index=False)
    assert main(["predict", "--run", str(cli.path), "--csv", str(tmp_path / "new.csv"), "--output",
                 str(tmp_path / "p.csv")]) == 0
    assert run.predict(new).to_csv(index=False) == (tmp_path / "p.csv").read_text()
    by_frame = rnnkit.classify(table, text_col="review", label_col="sentiment", out=str(tmp_path / "frame"), **opts)
    assert _without_time(by_frame.metrics) == _without_time(run.metrics)
    assert json.loads((by_frame.path / "config.json").read_text())["job"]["text_col"] == "review"


def test_unknown_options_and_bad_data_are_one_clear_error(tmp_path):
    with pytest.raises(InvalidArgumentError, match="'lookbak'.*Did you mean lookback"):
        rnnkit.forecast(pd.DataFrame({"time": [], "temp": []}), target="temp", time_col="time", lookbak=3)
    with pytest.raises(InvalidArgumentError, match="a pandas DataFrame"):
        rnnkit.forecast([1, 2, 3], target="temp", time_col="time")
    with pytest.raises(InvalidArgumentError, match="one label per text"):
        rnnkit.classify(["good", "bad"], ["pos"])
    with pytest.raises(InvalidArgumentError, match="a list of strings"):
        rnnkit.classify("good", ["pos"])
    with pytest.raises(InvalidArgumentError, match="given by the data argument"):
        rnnkit.classify(["good", "bad"], ["pos", "neg"], csv="x.csv")
    with pytest.raises(InvalidArgumentError, match="a run directory"):
        rnnkit.open_run(tmp_path)
    assert not any(tmp_path.iterdir())
