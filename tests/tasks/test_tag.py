"""rnnkit tag end to end on a tiny CoNLL file; seqeval numbers against a hand count; bad input."""
import json
from pathlib import Path

import pytest

from rnnkit.cli import main
from rnnkit.tasks.tag import entity_scores, most_frequent_tag, per_type

FIX = Path(__file__).parent / "fixtures"
TINY = ["--units", "4", "--embedding-dim", "4", "--epochs", "1", "--quiet", "--batch-size", "8"]


def test_entity_scores_agree_with_a_hand_count():
    true = [["B-PER", "I-PER", "O", "B-LOC"], ["B-LOC", "O"]]
    pred = [["B-PER", "I-PER", "O", "O"], ["B-PER", "O"]]
    # entities: true PER(0-1), LOC(3), LOC(0); predicted PER(0-1), PER(0); one exact match
    got = entity_scores(true, pred)
    assert got["precision"] == pytest.approx(1 / 2)
    assert got["recall"] == pytest.approx(1 / 3)
    assert got["f1"] == pytest.approx(2 * (1 / 2) * (1 / 3) / (1 / 2 + 1 / 3))
    assert got["token_accuracy"] == pytest.approx(4 / 6)       # 3 of 4, then 1 of 2
    table = per_type(true, pred)
    assert table["PER"]["precision"] == pytest.approx(1 / 2) and table["PER"]["recall"] == 1.0
    assert table["LOC"]["recall"] == 0.0 and table["LOC"]["support"] == 2


def test_most_frequent_tag_baseline():
    train = [(["Paris", "is", "Paris"], ["B-LOC", "O", "B-LOC"]), (["Paris"], ["B-PER"])]
    assert most_frequent_tag(train, [(["Paris", "Rome"], ["B-LOC", "B-LOC"])]) == [["B-LOC", "O"]]


def test_tag_cli_end_to_end_and_predict(tmp_path, capsys):
    pytest.importorskip("rnnkit.data.conll")
    out = tmp_path / "run"
    assert main(["tag", "--conll", str(FIX / "tiny_ner.txt"), "--out", str(out), *TINY]) == 0
    printed = capsys.readouterr().out
    assert "per entity type" in printed and "most frequent tag" in printed
    m = json.loads((out / "metrics.json").read_text())
    assert set(m["test"]["model"]) == {"precision", "recall", "f1", "token_accuracy"}
    assert m["training"]["stop_reason"] in ("patience", "epochs") and m["training"]["epochs_run"] >= 1
    assert json.loads((out / "config.json").read_text())["task"] == "tag"
    sentences = tmp_path / "s.txt"
    sentences.write_text("John visited Rome today\nI saw New York\n")
    assert main(["predict", "--run", str(out), "--csv", str(sentences)]) == 0
    lines = capsys.readouterr().out.strip().split("\n")
    assert lines[0].split("\t")[0] == "John" and len([x for x in lines if x]) == 8
    assert main(["predict", "--run", str(out), "--csv", str(sentences), "--output", str(out / "x.txt")]) == 2


def test_bad_tag_input_exit_2_and_out_untouched(tmp_path, capsys):
    pytest.importorskip("rnnkit.data.conll")
    out = tmp_path / "existing"
    out.mkdir()
    (out / "mine.txt").write_text("x")
    single = tmp_path / "single.txt"
    single.write_text("a\tO\nb\tO\n\nc\tO\n")
    unseen = tmp_path / "unseen.txt"
    unseen.write_text("Paris\tB-city\n")
    latin = tmp_path / "latin.txt"
    latin.write_bytes("Très\tO\nbon\tO\n".encode("latin-1"))
    cases = [["--conll", str(single)], ["--conll", str(FIX / "tiny_ner.txt"), "--test", str(unseen)],
             ["--conll", str(tmp_path / "missing.txt")], ["--conll", str(latin)],
             ["--conll", str(FIX / "tiny_ner.txt"), "--units", "0"]]
    for argv in cases:
        assert main(["tag", *argv, "--out", str(out), "--embedding-dim", "4", "--epochs", "1", "--quiet"]) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("rnnkit: error:") and "Traceback" not in err, err
        assert [p.name for p in out.iterdir()] == ["mine.txt"]


def test_crf_and_characters_by_default_old_model_one_option_away_and_old_runs_load(tmp_path, capsys):
    from rnnkit.tasks.tag import load_tagger
    from rnnkit.tasks.tag_cli import tag_text
    from rnnkit.training import RunDir

    new, old = tmp_path / "new", tmp_path / "old"
    assert main(["tag", "--conll", str(FIX / "tiny_ner.txt"), "--out", str(new), *TINY]) == 0
    assert main(["tag", "--conll", str(FIX / "tiny_ner.txt"), "--out", str(old), *TINY, "--no-crf",
                 "--no-char-features"]) == 0
    capsys.readouterr()
    cfg = json.loads((new / "config.json").read_text())
    tags = cfg["data"]["tags"]
    assert cfg["model"]["crf"] is True and cfg["model"]["tag_names"] == tags and len(cfg["model"]["chars"]) > 10
    assert cfg["job"]["crf"] is None and cfg["job"]["char_features"] is True
    model = load_tagger(new)[0]
    assert model.crf is not None and model.chars is not None
    # a run written before the CRF and the characters: config.json without their keys
    cfg = json.loads((old / "config.json").read_text())
    assert cfg["model"]["crf"] is False and cfg["model"]["chars"] is None
    sentences = tmp_path / "s.txt"
    sentences.write_text("John visited Rome today\nI saw New York\n")
    before = tag_text(old, sentences)
    for key in ("crf", "char_features"):
        del cfg["job"][key]
    for key in ("crf", "tag_names", "chars", "char_dim", "char_filters", "char_kernel"):
        del cfg["model"][key]
    RunDir.reopen(old).write_json("config.json", cfg)      # through rnnkit: the manifest agrees
    model, job, _, _ = load_tagger(old)
    assert model.crf is None and model.chars is None and job.crf is False and job.char_features is False
    assert tag_text(old, sentences) == before


def test_a_large_validation_part_and_epochs_chosen_by_entity_f1(tmp_path):
    # more than one validation batch (256 sentences) of different widths; the history's val_f1 is
    # seqeval's entity F1 of the Viterbi paths, and the best epoch is the one with the highest
    import random
    from rnnkit.tasks.tag import TagConfig, run_tag
    from rnnkit.training import read_history_csv
    rng = random.Random(0)
    sentences = []
    for i in range(700):
        toks = [rng.choice(["Paris", "Rome", "in", "a", "New", "York"]) for _ in range(rng.randint(1, 3 if i % 2 else 25))]
        tags = []
        for j, t in enumerate(toks):
            tags.append("B-LOC" if t in ("Paris", "Rome", "New") else
                        ("I-LOC" if t == "York" and j and toks[j - 1] == "New" else "O"))
        sentences.append((toks, tags))
    sentences.sort(key=lambda s: len(s[0]))
    job = TagConfig(epochs=3, units=4, embedding_dim=4, quiet=True, out=str(tmp_path / "run"), split=(0.3, 0.6, 0.1),
                    patience=2)
    result = run_tag(job, sentences=sentences, log=lambda *a: None)
    rows = read_history_csv(tmp_path / "run" / "history.csv")
    assert "val_f1" in rows[0] and 0 <= rows[-1]["val_f1"] <= 1
    best = max(rows, key=lambda r: r["val_f1"])
    assert result["val"]["model"]["f1"] == pytest.approx(best["val_f1"])
