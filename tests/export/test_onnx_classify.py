"""ONNX export of classifiers and taggers checked by onnxruntime: parity with the PyTorch model on
random inputs with random lengths at time lengths other than the exported example's (text,
numeric rows, conv bodies and front-ends with a dynamic time axis: the model's own forward is
the graph), a text run exported through the CLI and used with onnxruntime, numpy and the
metadata only (tokenised with the stored pattern), and a run whose weights fail their checksum."""
import json
import re
import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest
import torch

from rnnkit.cli import main
from rnnkit.export.onnx_classify import export_classifier
from rnnkit.export.onnx_tag import export_tagger
from rnnkit.layers import fused
from rnnkit.models.classifier import ClassifierConfig, SequenceClassifier
from rnnkit.models.tagger import Tagger, TaggerConfig

pytestmark = pytest.mark.skipif(not fused.available(), reason="ONNX export needs the fused kernels")
FIX = Path(__file__).parents[1] / "tasks" / "fixtures"


def _session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _batches(gen, model_input, sizes=((1, 1), (6, 11), (4, 3), (3, 30), (5, 57))):   # exported at 12
    for B, T in sizes:
        x = model_input(B, T)
        lengths = torch.randint(1, T + 1, (B,), generator=gen)
        lengths[0] = T
        yield x, lengths


@pytest.mark.parametrize("config", [
    dict(n_classes=2, vocab_size=30, cell="lstm", bidirectional=True),
    dict(n_classes=3, vocab_size=30, cell="gru", pooling="mean", dense_units=5),
    dict(n_classes=3, vocab_size=30, cell="conv", layers=2, conv_kernel=3, pool_size=2, pooling="max"),
    dict(n_classes=4, n_features=3, cell="gru", conv_filters=4, conv_kernel=3, pool_size=2, layers=2),
    dict(n_classes=2, vocab_size=30, cell="lstm", conv_filters=4, conv_kernel=5, pool_size=3, bidirectional=True),
    dict(n_classes=3, n_features=3, cell="conv", layers=3, conv_kernel=2, pool_size=3, pooling="mean"),
    dict(n_classes=2, n_features=3, cell="rnn", pooling="max"),
    dict(n_classes=2, vocab_size=30, cell="gru", bidirectional=True, pooling="max", wide_buckets=64),
    dict(n_classes=3, vocab_size=30, cell="gru", wide_buckets=16)])
def test_classifier_parity_with_onnxruntime(config, tmp_path):
    torch.manual_seed(0)
    model = SequenceClassifier(ClassifierConfig(embedding_dim=6, units=5, **config)).eval()
    if model.wide is not None:          # the n-gram bag starts at zero: give it weights to export
        with torch.no_grad():
            model.wide.weight.weight.normal_(0, 0.1)
    sess = _session(export_classifier(model, tmp_path / "c.onnx"))
    assert [(i.name, i.type) for i in sess.get_inputs()] == [
        ("x", "tensor(int64)" if model.embedding is not None else "tensor(float)"), ("lengths", "tensor(int64)")]
    assert sess.get_inputs()[0].shape[:2] == ["batch", "time"]
    gen = torch.Generator().manual_seed(1)
    text = model.embedding is not None
    worst = 0.0
    for x, lengths in _batches(gen, lambda B, T: torch.randint(1, 30, (B, T), generator=gen) if text
                               else torch.randn(B, T, 3, generator=gen)):
        with torch.no_grad():
            want = model(x, lengths).numpy()
        got = sess.run(["y"], {"x": x.numpy(), "lengths": lengths.numpy()})[0]
        assert got.shape == want.shape
        worst = max(worst, float(np.abs(got - want).max()))
    assert worst <= 1e-4


@pytest.mark.parametrize("config", [dict(cell="lstm"), dict(cell="gru", layers=2, bidirectional=False)])
def test_tagger_parity_and_padding_with_onnxruntime(config, tmp_path):
    torch.manual_seed(0)
    model = Tagger(TaggerConfig(vocab_size=40, n_tags=5, embedding_dim=6, units=5, **config)).eval()
    sess = _session(export_tagger(model, tmp_path / "t.onnx"))
    gen = torch.Generator().manual_seed(2)
    for x, lengths in _batches(gen, lambda B, T: torch.randint(1, 40, (B, T), generator=gen)):
        x[torch.arange(x.shape[1]) >= lengths.unsqueeze(1)] = 0        # padded as the task pads
        with torch.no_grad():
            want = model(x, lengths).numpy()
        np.testing.assert_allclose(sess.run(["y"], {"x": x.numpy(), "lengths": lengths.numpy()})[0], want,
                                   atol=1e-4, rtol=0)


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("classify") / "run"
    assert main(["classify", "--csv", str(FIX / "tiny_reviews.csv"), "--text-col", "review", "--label-col",
                 "sentiment", "--out", str(out), "--units", "4", "--epochs", "1", "--quiet", "--embedding-dim", "4",
                 "--batch-size", "16", "--bidirectional", "--maxlen", "6", "--no-baselines"]) == 0
    return out


def test_text_run_through_the_cli_consumed_with_onnxruntime_and_numpy_only(text_run, tmp_path, capsys):
    out = tmp_path / "reviews.onnx"
    assert main(["export", "--run", str(text_run), "--onnx", str(out)]) == 0
    assert "inputs x, lengths; outputs y" in capsys.readouterr().out
    sess = _session(out)
    meta = {k: json.loads(v) for k, v in sess.get_modelmeta().custom_metadata_map.items() if k.startswith("rnnkit.")}
    assert meta["rnnkit.task"] == "classify" and "tokenizer" in meta["rnnkit.usage"]
    # the consumer: the stored pattern, vocabulary and maxlen; no rnnkit
    tok, vocab, maxlen = meta["rnnkit.tokenizer"], meta["rnnkit.vocabulary"], meta["rnnkit.encoder"]["maxlen"]
    index = {t: i for i, t in enumerate(vocab["tokens"])}
    texts = pd.read_csv(FIX / "tiny_reviews.csv")["review"].tolist()[:20] + ["Zorglub!", "Good good good good film "
                                                                             "and a very good plot, really."]
    rows = [[index.get(t, vocab["unk_id"]) for t in re.findall(tok["pattern"], s.lower())][:maxlen] for s in texts]
    lengths = np.array([max(len(r), 1) for r in rows], np.int64)
    x = np.zeros((len(rows), lengths.max()), np.int64)
    for i, r in enumerate(rows):
        x[i, :len(r)] = r
    assert 1 in x[len(texts) - 2] and lengths[-1] == maxlen      # an unknown word and a truncated text
    p1 = 1 / (1 + np.exp(-sess.run(["y"], {"x": x, "lengths": lengths})[0]))
    classes = np.array(meta["rnnkit.classes"])
    label, prob = classes[(p1 > 0.5).astype(int)], np.maximum(p1, 1 - p1)
    pd.DataFrame({"review": texts}).to_csv(tmp_path / "in.csv", index=False)
    assert main(["predict", "--run", str(text_run), "--csv", str(tmp_path / "in.csv"), "--output",
                 str(tmp_path / "pred.csv")]) == 0
    ref = pd.read_csv(tmp_path / "pred.csv")
    assert list(ref["label"]) == list(label)
    np.testing.assert_allclose(prob, ref["probability"].to_numpy(), atol=1e-4, rtol=0)


def test_a_classify_run_whose_weights_fail_their_checksum_is_refused(text_run, tmp_path, capsys):
    d = tmp_path / "run"
    shutil.copytree(text_run, d)
    w = d / "model.safetensors"
    b = bytearray(w.read_bytes())
    b[len(b) // 2] ^= 0x40
    w.write_bytes(bytes(b))
    out = tmp_path / "m.onnx"
    assert main(["export", "--run", str(d), "--onnx", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rnnkit: error:") and "model.safetensors" in err and "Traceback" not in err
    assert not out.exists()


def test_tag_run_through_the_cli_tags_as_rnnkit_tags(tmp_path, capsys):
    run = tmp_path / "tag"
    assert main(["tag", "--conll", str(FIX / "tiny_ner.txt"), "--out", str(run), "--units", "4", "--embedding-dim",
                 "4", "--epochs", "1", "--quiet", "--batch-size", "8", "--no-crf", "--no-char-features"]) == 0
    capsys.readouterr()
    assert main(["export", "--run", str(run), "--onnx", str(tmp_path / "ner.onnx")]) == 0
    sess = _session(tmp_path / "ner.onnx")
    meta = {k: json.loads(v) for k, v in sess.get_modelmeta().custom_metadata_map.items() if k.startswith("rnnkit.")}
    from rnnkit.tasks.tag import load_tagger, predict_tags
    model, job, tags, vocab = load_tagger(run)
    assert meta["rnnkit.tags"] == tags and meta["rnnkit.vocabulary"]["tokens"] == vocab.tokens
    sentences = [["Alice", "lives", "in", "Paris", "."], ["Zorglub"], ["New", "York", "is", "big"]]
    index = {t: i for i, t in enumerate(meta["rnnkit.vocabulary"]["tokens"])}
    lengths = np.array([len(s) for s in sentences], np.int64)
    x = np.zeros((len(sentences), lengths.max()), np.int64)
    for b, s in enumerate(sentences):
        x[b, :len(s)] = [index.get(t.lower() if meta["rnnkit.lower"] else t, 1) for t in s]
    y = sess.run(["y"], {"x": x, "lengths": lengths})[0]
    got = [[tags[int(i)] for i in y[b, :n].argmax(-1)] for b, n in enumerate(lengths)]
    ids, ref_lengths = vocab.encode([[t.lower() if job.lower else t for t in s] for s in sentences])
    assert got == predict_tags(model, ids, ref_lengths, tags)
