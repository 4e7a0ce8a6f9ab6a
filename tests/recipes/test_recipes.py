"""The recipe registry and the seed 001 recipe, end to end through ``rnnkit.cli.main``.

References are independent of the code under test: the common-sense MAE is recomputed with
numpy from the prepared test windows (last observed temperature vs the target, inverse-scaled
by hand with the scaler's mean and std), and parameter counts are worked out by hand from the
seed's layer shapes.
"""
from __future__ import annotations

import csv

import numpy as np
import pytest

from rnnkit.cli import main
from rnnkit.data import prepare_weather
from rnnkit.errors import InvalidArgumentError
from rnnkit.recipes.registry import RECIPES, get_recipe, list_recipes
from rnnkit.recipes.seed001 import DEFAULT_JOB, MODEL_NAMES, check_models, seed001_jobs

NAME = "seed001-jena-sequence"


def test_registry_lists_the_recipe(capsys):
    assert NAME in RECIPES and get_recipe("seed001") is RECIPES[NAME]
    assert main(["recipes"]) == 0
    out = capsys.readouterr().out
    assert NAME in out and "GRU" in out and out == list_recipes() + "\n"


def test_unknown_recipe_is_a_clear_error(capsys):
    with pytest.raises(InvalidArgumentError, match=NAME):
        get_recipe("seed999")
    assert main(["recipe", "seed999"]) == 2
    err = capsys.readouterr().err
    assert "seed999" in err and NAME in err and "rnnkit recipes" in err


def test_unknown_model_is_a_clear_error(capsys):
    assert main(["recipe", "seed001", "--models", "gru,lstm9", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "lstm9" in err and all(m in err for m in MODEL_NAMES)
    with pytest.raises(ValueError):
        check_models("")


def test_jobs_follow_the_seed():
    jobs = seed001_jobs(DEFAULT_JOB)
    assert list(jobs) == [m for m in MODEL_NAMES if m != "common-sense"]
    assert (jobs["gru-dropout"].dropout, jobs["gru-dropout"].recurrent_dropout) == (0.2, 0.2)
    assert jobs["stacked-gru"].layers == 2 and jobs["stacked-gru"].recurrent_dropout == 0.5
    assert jobs["bidirectional-gru"].bidirectional and jobs["conv1d"].cell == "conv"
    # the seed halves the step for the conv + GRU model (sequences twice as long)
    assert jobs["conv-gru"].step * 2 == DEFAULT_JOB.step and jobs["conv-gru"].conv_filters > 0
    assert all(j.lookback == DEFAULT_JOB.lookback for n, j in jobs.items() if n != "conv-gru")


def _common_sense_by_hand(part: str) -> float:
    p = prepare_weather("temp", stations=["JFK"])
    w = p.windows(part, lookback=DEFAULT_JOB.lookback, step=DEFAULT_JOB.step, delay=DEFAULT_JOB.delay)
    i = p.feature_names.index("temp")
    mean, std = p.scaler.mean[i], p.scaler.std[i]
    last, target = [], []
    for x, y in w.batches(batch_size=512):
        last.append(x[:, -1, i].numpy().astype(np.float64))
        target.append(y[:, 0].numpy().astype(np.float64))
    last, target = np.concatenate(last) * std + mean, np.concatenate(target) * std + mean
    return float(np.mean(np.abs(last - target)))


def test_quick_subset_end_to_end(tmp_path, capsys):
    out = tmp_path / "seq"
    argv = ["recipe", "seed001", "--quick", "--models", "gru,common-sense,dense", "--stations", "JFK",
            "--out", str(out), "--quiet"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    with open(out / "comparison.csv", newline="") as f:
        rows = {r["model"]: r for r in csv.DictReader(f)}
    assert list(rows) == ["common-sense", "dense", "gru"]            # the seed's order
    assert all(name in printed for name in rows) and "0.29 (2.57 C)" in printed

    cs = rows["common-sense"]
    assert float(cs["test_mae"]) == pytest.approx(_common_sense_by_hand("test"), rel=1e-5)
    assert float(cs["val_mae"]) == pytest.approx(_common_sense_by_hand("val"), rel=1e-5)
    # every model is compared with persistence on the same windows as the baseline row
    for name in ("dense", "gru"):
        r = rows[name]
        assert float(r["common_sense_test_mae"]) == pytest.approx(float(cs["test_mae"]), rel=1e-9)
        gain = (1 - float(r["test_mae"]) / float(cs["test_mae"])) * 100
        assert float(r["gain_vs_common_sense_pct"]) == pytest.approx(gain)
        assert np.isfinite(float(r["val_mae"])) and int(r["epochs"]) == 1
        assert (out / name / "model.safetensors").exists()

    # parameters by hand: 9 weather columns (wind as a vector) + time-of-day sin/cos + station
    # lat/lon/alt; 240 rows sampled every 2 -> 120 steps
    n_in, steps = 9 + 2 + 3, DEFAULT_JOB.lookback // DEFAULT_JOB.step
    assert int(rows["dense"]["params"]) == (steps * n_in * 32 + 32) + (32 + 1)
    assert int(rows["gru"]["params"]) == 3 * (32 * n_in + 32 * 32 + 2 * 32) + (32 + 1)

    md = (out / "comparison.md").read_text()
    assert "| common-sense |" in md and "[book]" in md
    assert (out / "test_mae.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_out_dir_must_be_new_or_empty(tmp_path, capsys):
    (tmp_path / "old.txt").write_text("x")
    assert main(["recipe", "seed001", "--quick", "--models", "common-sense", "--out", str(tmp_path)]) == 2
    assert "--out" in capsys.readouterr().err
