"""A resume may change the time budget: ``--max-minutes`` is not part of the resume fingerprint
for any task (each task keeps a copy of it in its job; the trainer's own copy was already left
out), while a changed model option is still refused."""
from pathlib import Path

import pytest

from rnnkit.cli import main
from tests.recipes.cli_helpers import _csv

FIX = Path(__file__).resolve().parent / "fixtures"


def _argv(task: str, tmp: Path) -> list[str]:
    if task == "forecast":
        return ["forecast", "--csv", str(_csv(tmp / "s.csv")), "--time-col", "time", "--target", "temp",
                "--units", "4", "--lookback", "12", "--steps-per-epoch", "2", "--quiet"]
    if task == "classify":
        return ["classify", "--csv", str(FIX / "tiny_reviews.csv"), "--text-col", "review", "--label-col", "sentiment",
                "--units", "4", "--embedding-dim", "4", "--no-baselines", "--quiet"]
    return ["tag", "--conll", str(FIX / "tiny_ner.txt"), "--units", "4", "--embedding-dim", "4", "--quiet"]


@pytest.mark.parametrize("task", ["forecast", "classify", "tag"])
def test_a_resume_may_change_max_minutes_but_not_the_model(task, tmp_path, capsys):
    out = str(tmp_path / "run")
    argv = _argv(task, tmp_path) + ["--out", out]
    assert main(argv + ["--epochs", "1", "--max-minutes", "5"]) == 0
    assert main(argv + ["--epochs", "2", "--max-minutes", "10", "--resume"]) == 0
    capsys.readouterr()
    changed = [a if a != "4" else "6" for a in argv]                  # --units 6: another model
    assert main(changed + ["--epochs", "3", "--resume"]) == 2
    assert "units" in capsys.readouterr().err
