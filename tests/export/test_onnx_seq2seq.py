"""ONNX export of language models (per-step decoder with its state) and translators (encoder +
per-step decoder) checked by onnxruntime: logits and states against the PyTorch model; greedy
generation and greedy translation looped in numpy over onnxruntime give the tokens of
LanguageModel.sample and greedy_decode; a translate run through the CLI writes both files."""
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from rnnkit.cli import main
from rnnkit.export.onnx_lm import export_language_model, names as lm_names
from rnnkit.export.onnx_seq2seq import export_seq2seq, names as s2s_names
from rnnkit.layers import fused
from rnnkit.models.decoding import greedy_decode
from rnnkit.models.language_model import LanguageModel
from rnnkit.models.seq2seq import EOS_ID, GO_ID, Seq2Seq, Seq2SeqConfig

pytestmark = pytest.mark.skipif(not fused.available(), reason="ONNX export needs the fused kernels")
FRA = Path(__file__).parents[1] / "tasks" / "fixtures" / "translate" / "fra.txt"


def _session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("cell,tie", [("lstm", True), ("gru", False)])
def test_language_model_step_parity_and_greedy_generation(cell, tie, tmp_path):
    torch.manual_seed(0)
    lm = LanguageModel(25, embedding_dim=8, hidden_size=8, num_layers=2, cell=cell, tie_weights=tie).eval()
    sess = _session(export_language_model(lm, tmp_path / "lm.onnx"))
    ins, outs = lm_names(lm)
    assert [i.name for i in sess.get_inputs()] == ins and [o.name for o in sess.get_outputs()] == outs
    gen = torch.Generator().manual_seed(1)
    for B, T in ((1, 1), (4, 9), (2, 17)):
        x = torch.randint(0, 25, (B, T), generator=gen)
        h = torch.randn(2, B, 8, generator=gen)
        c = torch.randn(2, B, 8, generator=gen)
        with torch.no_grad():
            y, state = lm.forward_state(x, (h, c) if cell == "lstm" else h)
        want = [y, *state] if cell == "lstm" else [y, state]
        got = sess.run(outs, {"x": x.numpy(), "h": h.numpy(), **({"c": c.numpy()} if cell == "lstm" else {})})
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w.numpy(), atol=1e-4, rtol=0)
    # greedy generation: the prompt in one call, then one id per step with the state fed back
    prompt, n = [3, 7, 1, 12], 12
    feed = {"x": np.array([prompt], np.int64), "h": np.zeros((2, 1, 8), np.float32)}
    if cell == "lstm":
        feed["c"] = np.zeros((2, 1, 8), np.float32)
    tokens = []
    for _ in range(n):
        r = dict(zip(outs, sess.run(outs, feed)))
        tokens.append(int(r["y"][0, -1].argmax()))
        feed = {"x": np.array([[tokens[-1]]], np.int64), "h": r["h_out"], **({"c": r["c_out"]} if cell == "lstm" else {})}
    assert tokens == list(lm.sample(prompt, n, temperature=0))


def _greedy_with_onnxruntime(enc, dec, model, src, lengths, max_len):
    io = s2s_names(model)
    e = dict(zip(io["encoder"][1], enc.run(io["encoder"][1], {"x": src, "lengths": lengths})))
    feed = {n: (e["y"] if n == "memory" else e[n]) for n in io["decoder"][0][1:]}
    tokens = np.full(len(src), GO_ID, np.int64)
    out, done = [[] for _ in src], [False] * len(src)
    for _ in range(max_len):
        r = dict(zip(io["decoder"][1], dec.run(io["decoder"][1], {"x": tokens, **feed})))
        tokens = r["y"].argmax(-1)
        feed.update({n: r[f"{n}_out"] for n in ("h", "c", "feed") if n in feed})
        for b, t in enumerate(tokens.tolist()):
            if not done[b]:
                done[b] = t == EOS_ID
                if not done[b]:
                    out[b].append(t)
        if all(done):
            break
    return out


@pytest.mark.parametrize("config", [
    dict(cell="lstm"), dict(cell="gru", bidirectional=True, layers=2),
    dict(cell="lstm", attention="dot", reverse_source=True),
    dict(cell="gru", attention="additive", bidirectional=True, layers=2),
    dict(cell="lstm", attention="general", bidirectional=True)])
def test_greedy_translation_looped_in_numpy_over_onnxruntime_gives_greedy_decode(config, tmp_path):
    torch.manual_seed(0)
    model = Seq2Seq(Seq2SeqConfig(src_vocab=20, tgt_vocab=25, embed=6, units=8, **config)).eval()
    with torch.no_grad():          # larger output weights: tokens that differ by source and step
        model.out.weight.normal_(0, 2.0)
        model.out.bias.zero_()
        model.out.bias[EOS_ID] = -1.0
    enc_path, dec_path = export_seq2seq(model, tmp_path / "m.encoder.onnx", tmp_path / "m.decoder.onnx")
    enc, dec = _session(enc_path), _session(dec_path)
    gen = torch.Generator().manual_seed(3)
    src = torch.randint(4, 20, (6, 9), generator=gen)
    lengths = torch.tensor([9, 3, 7, 1, 5, 9])
    src[torch.arange(9) >= lengths.unsqueeze(1)] = 0
    want = greedy_decode(model, src, lengths, max_len=10)
    assert sum(map(len, want)) >= 12 and len({tuple(w) for w in want}) >= 2    # not one output for every row
    assert _greedy_with_onnxruntime(enc, dec, model, src.numpy(), lengths.numpy(), 10) == want
    # one step's logits and state against decode_step, from the encoder's state
    io = s2s_names(model)
    e = dict(zip(io["encoder"][1], enc.run(io["encoder"][1], {"x": src.numpy(), "lengths": lengths.numpy()})))
    with torch.no_grad():
        state, memory = model.encode(src, lengths)
        logits, _ = model.decode_step(torch.full((6,), GO_ID), state, memory)
    feed = {n: (e["y"] if n == "memory" else e[n]) for n in io["decoder"][0][1:]}
    y = dec.run(["y"], {"x": np.full(6, GO_ID, np.int64), **feed})[0]
    np.testing.assert_allclose(y, logits.numpy(), atol=1e-4, rtol=0)


def test_translate_run_exports_encoder_and_decoder_through_the_cli(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["translate", "train", "--pairs", str(FRA), "--attention", "dot", "--out", str(run), "--embed", "8",
                 "--units", "16", "--epochs", "1", "--batch-size", "8", "--quiet"]) == 0
    capsys.readouterr()
    (tmp_path / "fr.decoder.onnx").write_bytes(b"mine")
    assert main(["export", "--run", str(run), "--onnx", str(tmp_path / "fr.onnx")]) == 2
    err = capsys.readouterr().err
    assert "fr.decoder.onnx" in err and "--force" in err and "Traceback" not in err
    assert not (tmp_path / "fr.encoder.onnx").exists() and (tmp_path / "fr.decoder.onnx").read_bytes() == b"mine"
    assert main(["export", "--run", str(run), "--onnx", str(tmp_path / "fr.onnx"), "--force"]) == 0
    printed = capsys.readouterr().out
    assert "fr.encoder.onnx" in printed and "fr.decoder.onnx" in printed
    enc, dec = _session(tmp_path / "fr.encoder.onnx"), _session(tmp_path / "fr.decoder.onnx")
    meta = {k: json.loads(v) for k, v in enc.get_modelmeta().custom_metadata_map.items() if k.startswith("rnnkit.")}
    assert meta["rnnkit.graph"] == "encoder" and meta["rnnkit.ids"]["go"] == GO_ID
    from rnnkit.tasks.translate import load_translator
    model, _, source, _ = load_translator(run)
    assert meta["rnnkit.source"]["tokens"] == source.vocab.tokens
    index = {t: i for i, t in enumerate(meta["rnnkit.source"]["tokens"])}
    import re
    ids = [[index.get(t, 1) for t in re.findall(meta["rnnkit.tokenizer"]["pattern"], s.lower())]
           for s in ("The dog is big.", "I like the cat!")]
    assert ids == source.encode(["The dog is big.", "I like the cat!"])
    lengths = np.array([len(i) for i in ids], np.int64)
    src = np.zeros((2, lengths.max()), np.int64)
    for b, i in enumerate(ids):
        src[b, :len(i)] = i
    want = greedy_decode(model, torch.from_numpy(src), torch.from_numpy(lengths), max_len=12)
    assert _greedy_with_onnxruntime(enc, dec, model, src, lengths, 12) == want


def test_lm_run_through_the_cli_generates_what_rnnkit_generates(tmp_path, capsys):
    from rnnkit.tasks.lm import LMConfig, load_lm, run_lm
    text = Path(__file__).parents[1] / "tasks" / "fixtures" / "lm" / "tiny.txt"
    run = tmp_path / "lm"
    run_lm(LMConfig(text=str(text), bptt=20, batch_size=4, windows_per_epoch=3, embedding_dim=8, hidden_size=16,
                    num_layers=1, sample_length=5, quiet=True, epochs=1, out=str(run), cell="lstm"),   # h and c
           log=lambda *a: None)
    assert main(["export", "--run", str(run), "--onnx", str(tmp_path / "lm.onnx")]) == 0
    assert "inputs x, h, c; outputs y, h_out, c_out" in capsys.readouterr().out
    sess = _session(tmp_path / "lm.onnx")
    meta = {k: json.loads(v) for k, v in sess.get_modelmeta().custom_metadata_map.items() if k.startswith("rnnkit.")}
    assert meta["rnnkit.level"] == "char" and meta["rnnkit.state"]["units"] == 16
    tokens = meta["rnnkit.codec"]["tokens"]
    prompt = [tokens.index(ch) for ch in "the "]
    feed = {"x": np.array([prompt], np.int64), "h": np.zeros((1, 1, 16), np.float32),
            "c": np.zeros((1, 1, 16), np.float32)}
    got = []
    for _ in range(8):
        y, h, c = sess.run(["y", "h_out", "c_out"], feed)
        got.append(int(y[0, -1].argmax()))
        feed = {"x": np.array([[got[-1]]], np.int64), "h": h, "c": c}
    model = load_lm(run)[0]
    assert got == list(model.sample(prompt, 8, temperature=0))
