"""ONNX export of the CRF + char-CNN tagger checked by onnxruntime: the emission scores equal the
PyTorch model's (random sentences, random lengths, character widths 1-30, unknown characters, empty
tokens), the numpy Viterbi over NAME.crf.json's scores equals the CRF's own decoding, and a run
exported through the CLI tags as ``rnnkit predict`` does when used with onnxruntime, numpy and the
metadata only."""
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from rnnkit.cli import main
from rnnkit.export.onnx_tag import crf_scores, export_tagger, viterbi
from rnnkit.layers import fused
from rnnkit.models.crf import valid_iob2
from rnnkit.models.tagger import Tagger, TaggerConfig

pytestmark = pytest.mark.skipif(not fused.available(), reason="ONNX export needs the fused kernels")
FIX = Path(__file__).parents[1] / "tasks" / "fixtures"
TAGS = ["B-LOC", "B-PER", "I-LOC", "I-PER", "O"]


def _session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("config", [dict(cell="lstm"), dict(cell="gru", bidirectional=False, char_kernel=5)])
def test_crf_char_tagger_parity_and_viterbi_with_onnxruntime(config, tmp_path):
    torch.manual_seed(0)
    model = Tagger(TaggerConfig(vocab_size=40, n_tags=5, embedding_dim=6, units=5, crf=True, tag_names=TAGS,
                                chars=list("abcdefghij"), char_dim=4, char_filters=3, **config)).eval()
    with torch.no_grad():                       # transitions that matter
        model.crf.transitions.normal_(0, 2)
    sess = _session(export_tagger(model, tmp_path / "t.onnx"))
    assert [i.name for i in sess.get_inputs()] == ["x", "lengths", "chars"]
    scores = crf_scores(model, TAGS)
    gen = torch.Generator().manual_seed(2)
    for B, T, C in ((1, 1, 1), (6, 11, 3), (4, 3, 30), (5, 20, 7)):
        x = torch.randint(1, 40, (B, T), generator=gen)
        lengths = torch.randint(1, T + 1, (B,), generator=gen)
        lengths[0] = T
        chars = torch.randint(0, 12, (B, T, C), generator=gen)    # 1: a character not in the alphabet
        chars[0, 0] = 0                                          # an empty token
        pad = torch.arange(T) >= lengths.unsqueeze(1)
        x[pad], chars[pad] = 0, 0
        with torch.no_grad():
            want = model(x, lengths, chars)
        got = sess.run(["y"], {"x": x.numpy(), "lengths": lengths.numpy(), "chars": chars.numpy()})[0]
        np.testing.assert_allclose(got, want.numpy(), atol=1e-4, rtol=0)
        paths = viterbi(got, lengths.numpy(), scores)
        best = model.decode(want, lengths)
        assert paths == [best[b, :n].tolist() for b, n in enumerate(lengths.tolist())]
        assert all(valid_iob2([TAGS[i] for i in p]) for p in paths)


def test_viterbi_without_crf_is_the_argmax():
    model = Tagger(TaggerConfig(vocab_size=10, n_tags=4, embedding_dim=3, units=2))
    y = np.random.default_rng(0).normal(size=(3, 5, 4))
    lengths = np.array([5, 2, 1])
    assert viterbi(y, lengths, crf_scores(model, list("abcd"))) == [y[b, :n].argmax(-1).tolist()
                                                                    for b, n in enumerate(lengths)]


def test_crf_tag_run_through_the_cli_tags_as_rnnkit_predict(tmp_path, capsys):
    run = tmp_path / "tag"
    assert main(["tag", "--conll", str(FIX / "tiny_ner.txt"), "--out", str(run), "--units", "4", "--embedding-dim",
                 "4", "--epochs", "2", "--quiet", "--batch-size", "8"]) == 0
    capsys.readouterr()
    onnx_path = tmp_path / "ner.onnx"
    assert main(["export", "--run", str(run), "--onnx", str(onnx_path)]) == 0
    assert "ner.crf.json" in capsys.readouterr().out
    crf = json.loads((tmp_path / "ner.crf.json").read_text())
    sess = _session(onnx_path)
    meta = {k: json.loads(v) for k, v in sess.get_modelmeta().custom_metadata_map.items() if k.startswith("rnnkit.")}
    assert meta["rnnkit.crf"] is True and crf["crf"] is True and crf["tags"] == meta["rnnkit.tags"]
    sentences = [["Alice", "lives", "in", "Paris", "."], ["Zorglub€"], ["New", "York", "is", "big"]]
    index = {t: i for i, t in enumerate(meta["rnnkit.vocabulary"]["tokens"])}
    chars = {c: i + 2 for i, c in enumerate(meta["rnnkit.chars"])}
    lengths = np.array([len(s) for s in sentences], np.int64)
    x = np.zeros((len(sentences), lengths.max()), np.int64)
    c = np.zeros((len(sentences), lengths.max(), 24), np.int64)
    for b, s in enumerate(sentences):
        x[b, :len(s)] = [index.get(t.lower() if meta["rnnkit.lower"] else t, 1) for t in s]
        for t, tok in enumerate(s):
            c[b, t, :len(tok)] = [chars.get(ch, 1) for ch in tok[:24]]
    y = sess.run(["y"], {"x": x, "lengths": lengths, "chars": c})[0]
    got = [[crf["tags"][i] for i in p] for p in viterbi(y, lengths, crf)]
    text = tmp_path / "s.txt"
    text.write_text("\n".join(" ".join(s) for s in sentences) + "\n")
    assert main(["predict", "--run", str(run), "--csv", str(text)]) == 0
    printed = [line.split("\t")[1] for line in capsys.readouterr().out.split("\n") if line.strip()]
    assert [t for s in got for t in s] == printed
    # the sidecar is not overwritten without --force
    assert main(["export", "--run", str(run), "--onnx", str(tmp_path / "other.onnx")]) == 0
    (tmp_path / "third.crf.json").write_text("mine")
    assert main(["export", "--run", str(run), "--onnx", str(tmp_path / "third.onnx")]) == 2
    assert (tmp_path / "third.crf.json").read_text() == "mine" and not (tmp_path / "third.onnx").exists()
