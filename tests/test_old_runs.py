"""Run directories written by rnnkit before the one-driver refactor (issue 20) still load and
predict, with the same output to the last digit.

The fixtures under ``tests/fixtures/old_runs/`` are tiny runs of every task trained by the
rnnkit of that time (checkpoints, plots and TensorBoard files left out; the manifest lists the
files kept, and the absolute data paths in ``config.json`` were made relative). ``expected/``
holds what ``rnnkit predict`` printed for each with that rnnkit: the reference here.
Except ``expected/lm.txt``: the old generation drew ``[UNK]`` (a special token never seen in
training) at its 69th character; special tokens are no longer sampled, so the text is the old
one up to there and differs after it (same weights, same seed).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

import rnnkit
from rnnkit.cli import main

ROOT = Path(__file__).resolve().parent
OLD = ROOT / "fixtures" / "old_runs"
TASKS = ROOT / "tasks" / "fixtures"
# run -> the predict input (None: the run's own data or a generation)
INPUTS = {
    "forecast": None,
    "classify": TASKS / "tiny_reviews.csv",
    "classify_ts": TASKS / "tiny_TEST.ts",
    "tag": OLD / "tag_sentences.txt",
    "lm": None,
    "translate": OLD / "translate_sources.csv",
}


def _copy(name: str, tmp_path: Path) -> Path:
    run = tmp_path / name
    shutil.copytree(OLD / name, run)
    return run


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_old_run_predicts_what_it_predicted(name, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT.parent)          # the runs' config.json name their data relative to the repository
    run = _copy(name, tmp_path)
    argv = ["predict", "--run", str(run)] + (["--csv", str(INPUTS[name])] if INPUTS[name] else [])
    assert main(argv) == 0
    assert capsys.readouterr().out == (OLD / "expected" / f"{name}.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_old_run_loads_as_an_eval_module(name, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT.parent)
    run = _copy(name, tmp_path)
    model = rnnkit.load_model(run)
    assert isinstance(model, torch.nn.Module) and not model.training
    from safetensors.torch import load_file
    saved = load_file(str(run / "model.safetensors"))
    for key, value in model.state_dict().items():
        if key in saved:
            assert torch.equal(value, saved[key]), key
