"""rnnkit classify end to end on tiny fixtures; predict from the run; every bad input -> exit 2."""
import json
import shutil
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score

from rnnkit.cli import main

FIX = Path(__file__).parent / "fixtures"
TINY = ["--units", "4", "--epochs", "1", "--quiet", "--embedding-dim", "4", "--batch-size", "16"]


def _text_run(tmp_path, *extra):
    out = tmp_path / "run"
    argv = ["classify", "--csv", str(FIX / "tiny_reviews.csv"), "--text-col", "review", "--label-col", "sentiment",
            "--out", str(out), *TINY, *extra]
    assert main(argv) == 0
    return out


def test_text_run_writes_everything_and_metrics_agree_with_sklearn(tmp_path, capsys):
    out = _text_run(tmp_path, "--split", "0.6,0.2,0.2")
    printed = capsys.readouterr().out
    assert "TF-IDF logistic regression" in printed and "majority class" in printed
    for name in ("config.json", "model.safetensors", "metrics.json", "vocabulary.json", "confusion_test.png",
                 "misclassified_test.csv", "manifest.json", "history.csv"):
        assert (out / name).is_file(), name
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["task"] == "classify" and cfg["data"]["classes"] == ["neg", "pos"]
    m = json.loads((out / "metrics.json").read_text())
    assert set(m) == {"val", "test", "training"} and set(m["test"]) == {"model", "majority", "tfidf_logreg"}
    assert m["training"]["stop_reason"] == "epochs" and m["training"]["epochs_run"] == 1
    assert set(m["test"]["model"]) == {"accuracy", "macro_f1"}
    # the test part holds 12 of the 60 rows, stratified: 6 per class, so majority accuracy is 0.5
    assert m["test"]["majority"]["accuracy"] == 0.5
    # predict on the test rows reproduces the model's test accuracy, computed independently here
    wrong = pd.read_csv(out / "misclassified_test.csv")
    assert {"row", "true", "predicted", "probability", "text"} <= set(wrong.columns)
    df = pd.read_csv(FIX / "tiny_reviews.csv")
    test_rows = df.iloc[sorted(set(range(60)) - _train_val_rows(out))]
    assert len(test_rows) == 12
    test_rows.to_csv(tmp_path / "test.csv", index=False)
    assert main(["predict", "--run", str(out), "--csv", str(tmp_path / "test.csv"), "--output",
                 str(tmp_path / "pred.csv")]) == 0
    pred = pd.read_csv(tmp_path / "pred.csv")
    assert list(pred.columns) == ["row", "label", "probability"] and pred["probability"].between(0.5, 1).all()
    acc = accuracy_score(test_rows["sentiment"], pred["label"])
    assert abs(acc - m["test"]["model"]["accuracy"]) < 1e-9
    assert abs(f1_score(test_rows["sentiment"], pred["label"], average="macro") - m["test"]["model"]["macro_f1"]) < 1e-9
    assert len(wrong) == round((1 - acc) * 12)
    from rnnkit.load import load_model
    from rnnkit.models.classifier import SequenceClassifier
    assert isinstance(load_model(out), SequenceClassifier)


def _train_val_rows(out):
    # rows not in the misclassified file cannot tell the split; recompute it the way the task does
    from rnnkit.tasks.classify_data import split_indices
    y = (pd.read_csv(FIX / "tiny_reviews.csv")["sentiment"] == "pos").astype(int).to_numpy()
    tr, va, _ = split_indices(y, (0.6, 0.2, 0.2), 0)
    return set(tr) | set(va)


def test_predict_never_writes_into_the_run_and_needs_force(tmp_path, capsys):
    out = _text_run(tmp_path, "--cell", "conv", "--conv-kernel", "3", "--pool-size", "2", "--test-csv",
                    str(FIX / "tiny_reviews.csv"))
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert main(["predict", "--run", str(out), "--csv", str(FIX / "tiny_reviews.csv"), "--output",
                 str(out / "p.csv")]) == 2
    existing = tmp_path / "exists.csv"
    existing.write_text("keep")
    assert main(["predict", "--run", str(out), "--csv", str(FIX / "tiny_reviews.csv"), "--output", str(existing)]) == 2
    assert existing.read_text() == "keep"
    assert main(["predict", "--run", str(out), "--csv", str(FIX / "tiny_reviews.csv"), "--output", str(existing),
                 "--force"]) == 0
    assert len(pd.read_csv(existing)) == 60
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


def test_predict_refuses_an_edited_run(tmp_path, capsys):
    out = _text_run(tmp_path)
    cfg = json.loads((out / "config.json").read_text())
    cfg["job"]["units"] = "4; rm -rf ~"
    (out / "config.json").write_text(json.dumps(cfg))
    capsys.readouterr()
    assert main(["predict", "--run", str(out), "--csv", str(FIX / "tiny_reviews.csv")]) == 2
    assert "config.json" in capsys.readouterr().err


def _bad_inputs(tmp_path):
    base = pd.read_csv(FIX / "tiny_reviews.csv")
    cases = {}

    def csv(name, df, **kw):
        p = tmp_path / f"{name}.csv"
        df.to_csv(p, index=False, **kw)
        return p

    cases["empty text column"] = ["--csv", csv("empty", base.assign(review=""))]
    cases["all-NaN text column"] = ["--csv", csv("nan", base.assign(review=np.nan))]
    cases["single class"] = ["--csv", csv("single", base.assign(sentiment="pos"))]
    cases["missing label"] = ["--csv", csv("nolabel", base.assign(sentiment=base.sentiment.where(base.index != 3)))]
    test = base.copy()
    test.loc[0, "sentiment"] = "neutral"
    cases["test label unseen in training"] = ["--csv", FIX / "tiny_reviews.csv", "--test-csv", csv("unseen", test)]
    latin = tmp_path / "latin.csv"
    latin.write_bytes("review,sentiment\n".encode() + "Très bon film,pos\nNul,neg\n".encode("latin-1") * 10)
    cases["non-UTF-8 file"] = ["--csv", latin]
    cases["maxlen 0"] = ["--csv", FIX / "tiny_reviews.csv", "--maxlen", "0"]
    cases["maxlen -3"] = ["--csv", FIX / "tiny_reviews.csv", "--maxlen", "-3"]
    cases["unknown text column"] = ["--csv", FIX / "tiny_reviews.csv", "--text-col", "body"]
    cases["missing file"] = ["--csv", tmp_path / "nope.csv"]
    cases["bad split"] = ["--csv", FIX / "tiny_reviews.csv", "--split", "0.9,0.2,0.1"]
    cases["max-minutes 0"] = ["--csv", FIX / "tiny_reviews.csv", "--max-minutes", "0"]
    cases["two sources"] = ["--csv", FIX / "tiny_reviews.csv", "--ts", "x.ts"]
    ragged = tmp_path / "glove.txt"
    ragged.write_text("film 0.1 0.2 0.3\ngood 0.1 0.2\n")
    cases["embedding rows of different dimensions"] = ["--csv", FIX / "tiny_reviews.csv", "--glove", ragged]
    cases["embedding dimension mismatch"] = ["--csv", FIX / "tiny_reviews.csv", "--glove", _glove(tmp_path),
                                             "--embedding-dim", "7"]
    return cases


def _glove(tmp_path):
    p = tmp_path / "vectors.txt"
    p.write_text("film 0.1 0.2 0.3\ngood 0.3 0.2 0.1\nbad -0.3 0.2 0.1\n")
    return p


def test_every_bad_input_exits_2_with_one_paragraph_and_leaves_out_untouched(tmp_path, capsys):
    out = tmp_path / "existing"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    for what, argv in _bad_inputs(tmp_path).items():
        argv = [str(a) for a in argv]
        if "--text-col" not in argv:
            argv += ["--text-col", "review"]
        code = main(["classify", *argv, "--label-col", "sentiment", "--out", str(out), *TINY])
        err = capsys.readouterr().err
        assert code == 2, what
        assert err.startswith("rnnkit: error: ") and "Traceback" not in err and err.strip().count("\n") == 0, (what, err)
        assert sorted(p.name for p in out.iterdir()) == ["notes.txt"], what
    # a fresh out dir that would be fine is also left uncreated by a data error
    assert main(["classify", "--csv", str(tmp_path / "single.csv"), "--text-col", "review", "--label-col",
                 "sentiment", "--out", str(tmp_path / "new"), *TINY]) == 2
    assert not (tmp_path / "new").exists()


def test_glove_vectors_frozen(tmp_path, capsys):
    out = _text_run(tmp_path, "--glove", str(_glove(tmp_path)), "--embedding-dim", "3")
    assert "found 3 of" in capsys.readouterr().out
    import torch
    from rnnkit.tasks.classify import load_model
    from rnnkit.data.text_encoder import TextEncoder
    model = load_model(out)
    vocab = TextEncoder.load(out / "vocabulary.json").vocabulary
    row = model.embedding.weight[vocab.token_to_id("good")]
    assert torch.allclose(row, torch.tensor([0.3, 0.2, 0.1])) and not model.embedding.weight.requires_grad


def _write_idx(folder, n_train=60, n_test=20, magic=2051):
    import gzip
    import struct
    rng = np.random.default_rng(0)
    folder.mkdir()

    def images(n):
        y = np.arange(n) % 3
        x = np.zeros((n, 28, 28), np.uint8)
        for i, c in enumerate(y):            # class c: a bright band in rows 9c..9c+8
            x[i, 9 * c:9 * c + 9] = 200 + rng.integers(0, 50, (9, 28))
        return x, y.astype(np.uint8)

    for prefix, n in (("train", n_train), ("t10k", n_test)):
        x, y = images(n)
        with gzip.open(folder / f"{prefix}-images-idx3-ubyte.gz", "wb") as f:
            f.write(struct.pack(">IIII", magic, n, 28, 28) + x.tobytes())
        with gzip.open(folder / f"{prefix}-labels-idx1-ubyte.gz", "wb") as f:
            f.write(struct.pack(">II", 2049, n) + y.tobytes())
    return folder


def test_idx_rows_end_to_end_and_predict(tmp_path, capsys):
    pytest.importorskip("rnnkit.data.mnist_idx")
    idx = _write_idx(tmp_path / "mnist")
    out = tmp_path / "run"
    assert main(["classify", "--idx", str(idx), "--cell", "rnn", "--units", "8", "--epochs", "1", "--quiet",
                 "--out", str(out)]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert set(m["test"]) == {"model", "majority"} and m["test"]["majority"]["accuracy"] == pytest.approx(7 / 20)
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["model"]["n_features"] == 28 and cfg["data"]["classes"] == ["0", "1", "2"]
    pixels = pd.DataFrame(np.full((2, 784), 255))
    pixels.to_csv(tmp_path / "img.csv", index=False)
    assert main(["predict", "--run", str(out), "--csv", str(tmp_path / "img.csv")]) == 0
    # the IDX test images straight: the same labels and probabilities as the same pixels written as a CSV
    import gzip
    raw = gzip.decompress((idx / "t10k-images-idx3-ubyte.gz").read_bytes())
    pixels = np.frombuffer(raw[16:], np.uint8).reshape(20, 784)
    pd.DataFrame(pixels).to_csv(tmp_path / "t10k.csv", index=False)
    (tmp_path / "plain-idx3-ubyte").write_bytes(raw)                # not gzipped: also told by its magic
    capsys.readouterr()
    tables = []
    for f in (tmp_path / "t10k.csv", idx / "t10k-images-idx3-ubyte.gz", tmp_path / "plain-idx3-ubyte"):
        assert main(["predict", "--run", str(out), "--csv", str(f)]) == 0
        tables.append(capsys.readouterr().out)
    assert tables[0] == tables[1] == tables[2] and len(tables[0].strip().splitlines()) == 1 + 20
    small = tmp_path / "small-idx3-ubyte"                          # 14 x 14 images for a 28 x 28 run: exit 2
    small.write_bytes(struct.pack(">IIII", 2051, 1, 14, 14) + bytes(196))
    assert main(["predict", "--run", str(out), "--csv", str(small)]) == 2
    err = capsys.readouterr().err
    assert "28 rows of 28" in err and "14 x 14" in err and "Traceback" not in err
    bad = _write_idx(tmp_path / "bad", magic=1234)
    capsys.readouterr()
    assert main(["classify", "--idx", str(bad), "--epochs", "1", "--quiet", "--out", str(tmp_path / "r2")]) == 2
    assert "magic" in capsys.readouterr().err.lower() and not (tmp_path / "r2").exists()


def test_ts_series_end_to_end(tmp_path, capsys):
    pytest.importorskip("rnnkit.data.ucr")
    out = tmp_path / "run"
    assert main(["classify", "--ts", str(FIX / "tiny_TRAIN.ts"), "--test-ts", str(FIX / "tiny_TEST.ts"), "--cell",
                 "gru", "--units", "4", "--epochs", "1", "--quiet", "--split", "0.7,0.2,0.1", "--out", str(out)]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["test"]["majority"]["accuracy"] == 0.5
    capsys.readouterr()
    assert main(["predict", "--run", str(out), "--csv", str(FIX / "tiny_TEST.ts")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 + 10              # the table's header and 10 series
    # a test file whose series have another number of channels than training: exit 2, nothing written
    text = (FIX / "tiny_TEST.ts").read_text().splitlines()
    odd = tmp_path / "odd.ts"
    odd.write_text("\n".join(text[:8] + [text[8] + "", text[9].split(":", 1)[1]]) + "\n")
    assert main(["classify", "--ts", str(FIX / "tiny_TRAIN.ts"), "--test-ts", str(odd), "--epochs", "1", "--quiet",
                 "--out", str(tmp_path / "r2")]) == 2
    assert "Traceback" not in capsys.readouterr().err and not (tmp_path / "r2").exists()


def test_seed001_imdb_recipe_quick_on_a_tiny_reviews_csv(tmp_path, capsys):
    df = pd.read_csv(FIX / "tiny_reviews.csv").rename(columns={"review": "text", "sentiment": "label"})
    df["label"] = (df["label"] == "pos").astype(int)
    df["source"] = "imdb"
    df.to_csv(tmp_path / "combined_movie_reviews.csv", index=False)
    out = tmp_path / "cmp"
    assert main(["recipe", "seed001-imdb", "--data", str(tmp_path / "combined_movie_reviews.csv"), "--quick",
                 "--models", "lstm,conv1d-gru", "--quiet", "--out", str(out)]) == 0
    table = pd.read_csv(out / "comparison.csv")
    assert list(table["model"]) == ["lstm", "conv1d-gru", "majority class (baseline)",
                                    "TF-IDF logistic regression (baseline)"]
    assert table["published (not measured here)"].fillna("").str.contains("Chollet").tolist() == [True, False, False,
                                                                                                  False]
    assert (out / "lstm" / "metrics.json").is_file() and (out / "conv1d-gru" / "confusion_test.png").is_file()
    assert main(["recipe", "seed001-imdb", "--data", str(tmp_path / "combined_movie_reviews.csv"), "--models",
                 "transformer", "--out", str(tmp_path / "x")]) == 2


def test_max_minutes_stops_a_run_and_metrics_say_why(tmp_path, capsys):
    # a budget far below one epoch: exactly one epoch runs, then the run stops by time
    out = tmp_path / "run"
    assert main(["classify", "--csv", str(FIX / "tiny_reviews.csv"), "--text-col", "review", "--label-col",
                 "sentiment", "--out", str(out), "--units", "4", "--embedding-dim", "4", "--epochs", "20",
                 "--max-minutes", "1e-9"]) == 0
    printed = capsys.readouterr().out
    assert "stopped after epoch 1 by the time budget" in printed
    m = json.loads((out / "metrics.json").read_text())
    assert m["training"]["stop_reason"] == "time" and m["training"]["epochs_run"] == 1
    assert m["training"]["max_minutes"] == 1e-9
    history = pd.read_csv(out / "history.csv")
    assert history["stop"].tolist() == ["time"]
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["train"]["max_minutes"] == 1e-9 and "max_minutes" not in cfg["job"]
