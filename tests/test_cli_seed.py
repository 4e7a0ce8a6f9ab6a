"""Every command's --seed is checked before anything runs and named as the option (issue 19 item D's
pattern): a seed outside [0, 2**32) ended in a scikit-learn or torch traceback (classify, tag,
translate train, lm generate) or named the field `seed` (forecast, lm train)."""
from pathlib import Path

import pytest

from rnnkit.cli import main

FIX = Path(__file__).resolve().parent / "tasks" / "fixtures"
REVIEWS = ["--csv", str(FIX / "tiny_reviews.csv"), "--text-col", "review", "--label-col", "sentiment"]
TEXT = str(FIX / "lm" / "tiny.txt")
PAIRS = str(FIX / "translate" / "fra.txt")


@pytest.mark.parametrize("argv", [
    ["classify", *REVIEWS], ["tag", "--conll", str(FIX / "tiny_ner.txt")], ["lm", "train", "--text", TEXT],
    ["translate", "train", "--pairs", PAIRS], ["forecast"], ["tune", "forecast"], ["recipe", "seed000"],
    ["lm", "generate", "--run", "R", "--prompt", "the"],
])
@pytest.mark.parametrize("seed", ["100000000000000000000000", "-1", "4294967296"])
def test_a_seed_out_of_range_is_named_as_the_option_of_every_command(argv, seed, tmp_path, capsys):
    assert main([*argv, "--seed", seed, "--out" if argv[0] != "lm" or argv[1] != "generate" else "--length",
                 str(tmp_path / "out") if argv[:2] != ["lm", "generate"] else "3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rnnkit: error: ") and "argument `--seed`" in err and "Traceback" not in err, err
    assert not (tmp_path / "out").exists()
