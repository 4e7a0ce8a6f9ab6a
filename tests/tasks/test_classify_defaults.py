"""classify's defaults: chosen by the data's kind and size (--preset auto), the seed's one option away."""
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from rnnkit.cli import main
from rnnkit.tasks.classify import ClassifyConfig
from rnnkit.tasks.classify_defaults import CHOSEN, SEED, auto_choices, resolve

FIX = Path(__file__).parent / "fixtures"
TEXT = ["classify", "--csv", str(FIX / "tiny_reviews.csv"), "--text-col", "review", "--label-col", "sentiment",
        "--epochs", "1", "--quiet"]


def _data(kind, n, length=20):
    train = SimpleNamespace(y=np.zeros(n, int), lengths=np.full(n, length))
    return SimpleNamespace(kind=kind, parts={"train": train}, classes=["a", "b"])


def test_auto_text_run_is_wide_and_deep_and_records_its_choice(tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*TEXT, "--out", str(out)]) == 0
    cfg = json.loads((out / "config.json").read_text())
    chosen = cfg["defaults"]["chosen"]
    assert cfg["defaults"]["preset"] == "auto" and "epochs" not in chosen        # --epochs 1 was given: kept
    model = cfg["model"]
    assert (model["cell"], model["bidirectional"], model["pooling"]) == ("gru", True, "max")
    assert model["wide_buckets"] == chosen["wide_buckets"] > 0 and cfg["job"]["epochs"] == 1
    assert cfg["train"]["optimizer"] == "adam"
    # the job in config.json is the resolved one: predict rebuilds exactly this model
    from rnnkit.load import load_model
    assert load_model(out).wide is not None


def test_preset_seed_is_the_seeds_small_model(tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*TEXT, "--preset", "seed", "--out", str(out)]) == 0
    cfg = json.loads((out / "config.json").read_text())
    model, train = cfg["model"], cfg["train"]
    assert (model["cell"], model["units"], model["bidirectional"], model["pooling"], model["wide_buckets"],
            model["embedding_dim"], model["dropout"]) == ("lstm", 32, False, "last", 0, 32, 0.0)
    assert (train["optimizer"], train["lr"], train["patience"], train["lr_patience"]) == ("rmsprop", 1e-3, 3, None)
    assert cfg["job"]["batch_size"] == 128


def test_given_options_are_kept_and_a_conv_body_reads_one_way():
    data = _data("text", 100)
    job, chosen = resolve(ClassifyConfig(csv="x.csv", cell="lstm", units=8, bidirectional=False), data)
    assert (job.cell, job.units, job.bidirectional) == ("lstm", 8, False)
    assert not {"cell", "units", "bidirectional"} & set(chosen) and job.wide_buckets > 0
    job, _ = resolve(ClassifyConfig(csv="x.csv", cell="conv"), data)
    assert job.bidirectional is False and job.pooling is None
    job.model_config(2, vocab_size=10)                  # a valid conv model
    job, chosen = resolve(ClassifyConfig(csv="x.csv", glove="vectors.txt"), data)
    assert job.embedding_dim is None and "embedding_dim" not in chosen    # the vectors' width


def test_rules_follow_the_data_kind_and_size():
    small, large = auto_choices(_data("text", 1000)), auto_choices(_data("text", 20000, 230))
    assert small["head_dropout"] > large["head_dropout"] and small["batch_size"] < large["batch_size"]
    # about one bigram row per training token, a power of two within [2**14, 2**20]
    assert small["wide_buckets"] == 2 ** 15 and large["wide_buckets"] == 2 ** 20
    image, series = auto_choices(_data("image", 4000, 28)), auto_choices(_data("series", 240, 15))
    assert image["wide_buckets"] == series["wide_buckets"] == 0 and image["units"] > series["units"]
    assert series["patience"] == 0            # 30 validation series are too few to stop on
    for c in (small, large, image, series):
        assert set(c) == set(CHOSEN)
    assert set(SEED) == set(CHOSEN)
    # without data (options checked before it is read) the seed's values fill in
    assert resolve(ClassifyConfig(csv="x.csv"))[0].cell == "lstm"
