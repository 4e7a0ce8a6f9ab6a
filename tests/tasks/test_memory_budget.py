"""Issue 19 item 3: memory estimated before allocating, for every task.

A request that cannot fit ends in one paragraph (exit 2) with the figure it would need and the
option to change, before any run directory is made; ``--maxlen`` above the longest text costs
nothing (the batch is as wide as the longest text), and such a run predicts and exports.
"""
import re

import numpy as np
import pytest

from rnnkit import memory
from rnnkit.cli import main

from pathlib import Path

FIX = Path(__file__).resolve().parent / "fixtures"

REVIEWS = ["--csv", str(FIX / "tiny_reviews.csv"), "--text-col", "review", "--label-col", "sentiment"]
TEXT = str(FIX / "lm" / "tiny.txt")
PAIRS = str(FIX / "translate" / "fra.txt")
HUGE = str(10**6)
LM = ["--batch-size", "4", "--bptt", "16"]


def _refused(capsys, *words):
    err = capsys.readouterr().err
    assert err.startswith("rnnkit: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert re.search(r"needs about [\d,.]+ [kMGT]B of memory; [\d,.]+ [kMGT]B is available", err), err
    for w in words:
        assert w in err, (w, err)
    return err


def test_a_maxlen_far_above_the_longest_text_costs_nothing(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["classify", *REVIEWS, "--maxlen", "2000000000", "--epochs", "1", "--units", "4", "--quiet",
                 "--no-baselines", "--out", str(out)]) == 0
    from rnnkit.tasks.classify import load_classifier
    encoder = load_classifier(out)[3]
    assert encoder.maxlen == 2_000_000_000
    ids, lengths = encoder.transform(["a good film", "a film"])
    assert ids.shape == (2, 3) and lengths.tolist() == [3, 2]          # as wide as the longest text
    capsys.readouterr()
    assert main(["predict", "--run", str(out), "--csv", str(FIX / "tiny_reviews.csv")]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 61
    pytest.importorskip("onnxruntime")
    assert main(["export", "--run", str(out), "--onnx", str(tmp_path / "m.onnx")]) == 0


@pytest.mark.parametrize("argv, words", [
    (["lm", "train", "--text", TEXT, *LM, "--hidden-size", HUGE, "--epochs", "1"], ["--hidden-size", "TB"]),
    (["lm", "train", "--text", TEXT, *LM, "--embedding-dim", "100000000", "--hidden-size", "8"], ["--embedding-dim"]),
    (["tag", "--conll", str(FIX / "tiny_ner.txt"), "--units", HUGE, "--epochs", "1"], ["--units", "TB"]),
    (["tag", "--conll", str(FIX / "tiny_ner.txt"), "--embedding-dim", "1000000000"], ["--embedding-dim"]),
    (["translate", "train", "--pairs", PAIRS, "--units", HUGE, "--epochs", "1"], ["--units", "TB"]),
    (["translate", "train", "--pairs", PAIRS, "--units", "8", "--embed", "4", "--beam", "1000000000"], ["--beam"]),
    (["classify", *REVIEWS, "--units", HUGE], ["--units"]),
])
def test_a_model_or_a_beam_that_cannot_fit_is_refused_before_the_run_exists(argv, words, tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*argv, "--out", str(out)]) == 2
    _refused(capsys, *words)
    assert not out.exists()


def test_a_translation_beam_that_cannot_fit_is_refused(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["translate", "train", "--pairs", PAIRS, "--epochs", "1", "--units", "8", "--embed", "4", "--quiet",
                 "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["translate", "run", "--run", str(out), "--text", "hello", "--beam", "1000000000"]) == 2
    _refused(capsys, "--beam", "--max-output")
    assert main(["translate", "run", "--run", str(out), "--text", "hello", "--beam", "3"]) == 0


def test_the_estimates_count_what_is_then_allocated():
    from rnnkit.models.language_model import LanguageModel
    from rnnkit.models.seq2seq import Seq2Seq, Seq2SeqConfig
    from rnnkit.models.tagger import Tagger, TaggerConfig
    for build in (lambda: LanguageModel(50, embedding_dim=6, hidden_size=7, num_layers=2),
                  lambda: Tagger(TaggerConfig(vocab_size=40, n_tags=5, embedding_dim=6, units=7, layers=2)),
                  lambda: Seq2Seq(Seq2SeqConfig(src_vocab=30, tgt_vocab=20, embed=5, units=6, attention="dot",
                                                bidirectional=True))):
        assert memory.parameters_of(build) == sum(p.numel() for p in build().parameters())


def test_padded_series_and_images_are_checked(monkeypatch):
    from rnnkit.data.ucr import pad_series
    from rnnkit.tasks.classify_data import image_data
    monkeypatch.setattr(memory, "budget_bytes", lambda: 100_000)
    series = [np.zeros((5000, 2))] + [np.zeros((3, 2))] * 9    # 10 x 5,000 x 2 float32 = 400 kB
    with pytest.raises(memory.MemoryBudgetError, match=r"10 series of 2 channel\(s\) to 5,000 steps.*400.0 kB"):
        pad_series(series)
    x, lengths = pad_series(series[1:])
    assert x.shape == (9, 3, 2) and lengths.tolist() == [3] * 9
    assert pad_series(series[1:], maxlen=1000)[0].shape == (9, 3, 2)    # a cap above the longest costs nothing
    with pytest.raises(memory.MemoryBudgetError, match="--idx"):
        image_data(np.zeros((100, 28, 28), np.uint8), np.arange(100) % 2, split=(0.6, 0.2, 0.2), seed=0)

