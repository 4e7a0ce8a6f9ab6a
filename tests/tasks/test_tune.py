"""rnnkit tune forecast: tiny trials on the embedded weather (one station, 1 epoch, 4 units)."""
from __future__ import annotations

import argparse
import json
import math

import pytest

from rnnkit.cli import main
from rnnkit.tasks.forecast_options import add_forecast_arguments, forecast_job
from rnnkit.tasks.forecast import ForecastJob
from rnnkit.tasks import tune
from rnnkit.tasks.tune_forecast import ForecastTune

TINY = ["--stations", "JFK", "--units", "4", "--epochs", "1", "--steps-per-epoch", "3", "--lookback", "24"]
SPACE = "lookback=24:48:24,units=4:8:log,resample=none|3h"


def _job(**kw):
    return ForecastJob(stations=["JFK"], units=4, epochs=1, steps_per_epoch=3, lookback=24, quiet=True, **kw)


@pytest.fixture
def parts(monkeypatch):
    """Every split whose windows are built, in order, with a marker when the final run starts."""
    from rnnkit.data.prepared import PreparedSeries
    seen = []
    original = PreparedSeries.windows

    def windows(self, part="train", **kw):
        seen.append(part)
        return original(self, part, **kw)
    monkeypatch.setattr(PreparedSeries, "windows", windows)
    final = ForecastTune.final

    def marked(self, job, out, **kw):
        seen.append("FINAL")
        return final(self, job, out, **kw)
    monkeypatch.setattr(ForecastTune, "final", marked)
    return seen


def test_cli_search_writes_table_png_best_config_and_touches_test_once(tmp_path, parts, capsys):
    out = tmp_path / "search"
    assert main(["tune", "forecast", "--trials", "3", "--space", SPACE, "--out", str(out), *TINY, "--quiet"]) == 0
    text = capsys.readouterr().out
    table = (out / "trials.txt").read_text()
    assert len(table.strip().splitlines()) == 1 + 3 and "lookback" in table and "resample" in table
    assert table in text + "\n"
    png = (out / "optimization_history.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    best = json.loads((out / "best_config.json").read_text())
    # the command line is ready to run: parsed by rnnkit forecast it gives back the best job
    p = argparse.ArgumentParser()
    add_forecast_arguments(p)
    argv = best["command"].split()[2:]
    job = forecast_job(p.parse_args(argv))
    assert {k: getattr(job, k) for k in best["params"]} == best["params"]
    assert job.units == best["job"]["units"] and job.stations == ["JFK"] and job.epochs == 1
    if best["params"]["resample"] == "3h":
        assert job.delay == 8          # 24 hourly rows ahead = 8 rows of 3 h
    # the test split: never during the trials, once (by the best configuration) at the end
    assert "FINAL" in parts and "test" not in parts[:parts.index("FINAL")]
    assert parts.count("test") == 1 and parts.count("val") >= 3
    final = json.loads((out / "final_metrics.json").read_text())
    assert math.isfinite(final["test"]["model"]["mae"]) and (out / "best" / "model.safetensors").exists()


def test_interrupted_study_resumes_with_the_interrupted_trial_first(tmp_path, monkeypatch):
    out = tmp_path / "s"
    log = []
    first = tune.run_tune(ForecastTune(), _job(), trials=2, space=SPACE, out=out, final=False, log=log.append)
    assert first["final"] is None
    calls = []
    train = ForecastTune.train

    def interrupted(self, job, trial):
        calls.append(dict(trial.params))
        raise KeyboardInterrupt
    monkeypatch.setattr(ForecastTune, "train", interrupted)
    with pytest.raises(KeyboardInterrupt):
        tune.run_tune(ForecastTune(), _job(), trials=3, space=SPACE, out=out, resume=True, final=False, log=log.append)
    monkeypatch.setattr(ForecastTune, "train", train)
    with pytest.raises(Exception, match="--resume"):       # not without --resume
        tune.run_tune(ForecastTune(), _job(), trials=3, space=SPACE, out=out, final=False, log=log.append)
    tune.run_tune(ForecastTune(), _job(), trials=3, space=SPACE, out=out, resume=True, final=False, log=log.append)
    import optuna
    study = optuna.load_study(study_name="rnnkit-tune", storage=f"sqlite:///{out / tune.STUDY_FILE}")
    states = [t.state.name for t in study.trials]
    assert states == ["COMPLETE", "COMPLETE", "FAIL", "COMPLETE"]
    assert study.trials[3].params == calls[0] and study.trials[3].user_attrs["retry_of"] == 2
    assert any("interrupted trial" in line for line in log)


def _counted_trials(out):
    import optuna
    study = optuna.load_study(study_name="rnnkit-tune", storage=f"sqlite:///{out / tune.STUDY_FILE}")
    requeued = set(study.user_attrs.get("requeued", []))
    return [(t.state.name, t.params, t.value) for t in study.trials if t.number not in requeued]


def test_a_study_interrupted_while_drawing_a_trial_resumes_as_the_uninterrupted_one(tmp_path, monkeypatch):
    """Interrupted between two draws of trial 1 (one parameter drawn): on resume the trial draws
    them all again, alike, and the study goes on as if never interrupted (each trial's sampler is
    seeded by the study's seed and the trial's index, not once per process)."""
    tune.run_tune(ForecastTune(), _job(), trials=3, space=SPACE, out=tmp_path / "full", final=False,
                  log=lambda *a: None)
    suggest = tune.Param.suggest

    def interrupted(self, trial):
        if trial.number == 1 and self.name == "units":
            raise KeyboardInterrupt
        return suggest(self, trial)
    monkeypatch.setattr(tune.Param, "suggest", interrupted)
    with pytest.raises(KeyboardInterrupt):
        tune.run_tune(ForecastTune(), _job(), trials=3, space=SPACE, out=tmp_path / "cut", final=False,
                      log=lambda *a: None)
    monkeypatch.setattr(tune.Param, "suggest", suggest)
    assert _counted_trials(tmp_path / "cut")[-1][:2] == ("FAIL", {"lookback": _counted_trials(tmp_path / "full")[1][1]["lookback"]})
    tune.run_tune(ForecastTune(), _job(), trials=3, space=SPACE, out=tmp_path / "cut", resume=True, final=False,
                  log=lambda *a: None)
    full = _counted_trials(tmp_path / "full")
    assert [state for state, *_ in full] == ["COMPLETE"] * 3
    assert _counted_trials(tmp_path / "cut") == full


def test_command_line_gives_back_the_job_for_every_kind_of_option():
    from rnnkit.tasks.tune_forecast import forecast_command
    job = ForecastJob(residual=False, seq2seq=True, bidirectional=True, agg={"precip": "sum"}, resample="3h",
                      delay=8, split=(0.6, 0.2, 0.2), stations=["JFK", "LGA"], clip_norm=0.5)
    line = forecast_command(job)
    p = argparse.ArgumentParser()
    add_forecast_arguments(p)
    back = forecast_job(p.parse_args(line.split()[2:]))
    assert "--no-residual" in line and "--seq2seq" in line
    assert (back.residual, back.seq2seq, back.bidirectional, back.agg, back.resample, back.delay, tuple(back.split),
            back.stations, back.clip_norm) == (False, True, True, {"precip": "sum"}, "3h", 8, (0.6, 0.2, 0.2),
                                               ["JFK", "LGA"], 0.5)


def test_pruning_callback_reports_in_units_and_prunes():
    import optuna
    study = optuna.create_study(pruner=optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0))
    t0 = study.ask()
    t0.report(1.0, 1)
    study.tell(t0, 1.0)
    trial = study.ask()
    cb = tune.ReportToTrial(trial, "val_mae", scale=10.0)
    with pytest.raises(optuna.TrialPruned):
        cb.on_epoch_end(None, 1, {"val_mae": 0.5, "val_loss": 0.1})     # 5.0 > median 1.0
    assert trial.storage.get_trial(trial._trial_id).intermediate_values == {1: 5.0}
    good = study.ask()
    tune.ReportToTrial(good, "val_mae", scale=1.0).on_epoch_end(None, 1, {"val_mae": 0.5})   # 0.5 < 1.0: kept


@pytest.mark.parametrize("space, needle", [
    ("lookback=240:48", "LOW < HIGH"), ("units=0:8:log", "LOW > 0"), ("colour=red|blue", "`colour` is not one"),
    ("lookback", "NAME=SPEC"), ("units=a:b", "numbers"), ("resample=5h", "divides the forecast distance")])
def test_bad_space_is_a_clear_error(tmp_path, capsys, space, needle):
    code = main(["tune", "forecast", "--trials", "1", "--space", space, "--out", str(tmp_path / "x"), *TINY])
    err = capsys.readouterr().err
    assert code == 2 and needle in err and "--space" in err and "Traceback" not in err


def test_space_parsing_against_optuna_distributions():
    p = {q.name: q for q in tune.parse_space("lookback=48:240:24,lr=1e-4:1e-2:log,dropout=0:0.5,cell=gru|lstm")}
    assert (p["lookback"].kind, p["lookback"].low, p["lookback"].high, p["lookback"].step) == ("int", 48, 240, 24)
    assert p["lr"].kind == "float" and p["lr"].log and p["dropout"].kind == "float" and p["dropout"].step is None
    assert p["cell"].choices == ["gru", "lstm"]
    import optuna
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
    values = [p["lookback"].suggest(trial)]
    assert values[0] in range(48, 241, 24)
    assert "resample" in tune.FORECAST_SPACE and "lookback" in tune.FORECAST_SPACE     # seed 000's choices


def test_tune_classify_on_a_tiny_text_csv_scores_trials_on_validation_only(tmp_path, monkeypatch, capsys):
    import pandas as pd
    from rnnkit.tasks import classify_report
    from rnnkit.tasks.tune_classify import ClassifyTune
    csv = tmp_path / "reviews.csv"
    pd.DataFrame({"text": ["good fun film", "bad dull film", "great", "awful mess"] * 15,
                  "label": ["pos", "neg"] * 30}).to_csv(csv, index=False)
    calls = []
    scores = classify_report.scores
    monkeypatch.setattr(classify_report, "scores", lambda y, p: (calls.append(len(y)), scores(y, p))[1])
    final = ClassifyTune.final
    monkeypatch.setattr(ClassifyTune, "final", lambda self, job, out, **kw: (calls.append("FINAL"), final(self, job, out, **kw))[1])
    out = tmp_path / "s"
    assert main(["tune", "classify", "--csv", str(csv), "--trials", "2", "--epochs", "1", "--units", "4",
                 "--space", "units=4:8,cell=lstm|gru", "--out", str(out), "--quiet"]) == 0
    assert calls[:3] == [6, 6, "FINAL"]           # one validation score per trial (6 of 60 rows), then the final run
    best = json.loads((out / "best_config.json").read_text())
    assert best["command"].startswith(f"rnnkit classify --csv {csv}") and 0 <= best["value"] <= 1 and best["value_name"] == "val error"
    assert (out / "best" / "metrics.json").exists() and "val error" in (out / "trials.txt").read_text()
