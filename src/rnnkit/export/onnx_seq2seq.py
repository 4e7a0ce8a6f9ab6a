"""ONNX export of a translation run (``rnnkit export`` on a ``translate`` run): the
:class:`~rnnkit.models.seq2seq.Seq2Seq` as two graphs, ``NAME.encoder.onnx`` and
``NAME.decoder.onnx`` for ``--onnx NAME.onnx``, that a consumer loops like
:func:`rnnkit.models.decoding.greedy_decode` (or a beam search).

Encoder: inputs ``x`` (batch, source) int64 source ids right-padded with 0 and ``lengths``
(batch,) int64; outputs ``y`` (the encoder outputs as the decoder reads them, zero past each
length: ``(batch, source, units)`` for an attention model, the top layer's ``(batch, source,
directions * units)`` otherwise), ``h`` (layers, batch, units), for an LSTM ``c``, and with
attention ``feed`` (batch, units) zeros, ``mask`` (batch, source) bool (True at the valid
tokens) and ``keys`` (the attention's projection of ``y``, computed once per source).

Decoder, one step: inputs ``x`` (batch,) int64, the previous token (``<go>`` = 2 first), ``h``
(``c``), and with attention ``feed``, ``memory`` (the encoder's ``y``), ``mask`` and ``keys``;
outputs ``y`` (batch, target vocabulary) logits of the next token, ``h_out`` (``c_out``,
``feed_out``): the state to feed back. Batch and source length are dynamic.

    >>> from pathlib import Path
    >>> [p.name for p in files(Path("out/en-fr.onnx"))]
    ['en-fr.encoder.onnx', 'en-fr.decoder.onnx']
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn
from rnnkit.export.onnx import export_graph
from rnnkit.export.onnx_text import bpe_metadata, tokenizer_metadata, vocabulary_metadata
from rnnkit.models.seq2seq import EOS_ID, GO_ID, PAD_ID, UNK_ID
from rnnkit.tasks.translate import load_translator

__all__ = ["EncoderGraph", "DecoderStep", "names", "export_seq2seq", "translate_metadata", "export", "files"]

USAGE = ("Turn the source text into ids with rnnkit.source (level 'word': rnnkit.tokenizer's tokens, unknown ones "
         "unk_id; 'bpe': the tokenizers library's Tokenizer.from_str(json.dumps(rnnkit.source)).encode(text).ids), "
         "run the encoder on x (batch, source) int64 padded after with 0 and lengths (batch,) int64. Then loop the "
         "decoder: x = <go> (rnnkit.ids.go) for every row first, the state inputs h, c, feed taken from the "
         "encoder's outputs of those names, memory = the encoder's y, mask and keys as the encoder gave them; the "
         "next token is argmax(y) (greedy; or keep the best log_softmax(y) sums for a beam), fed back as x with "
         "h_out, c_out, feed_out as h, c, feed, until it is <eos> (rnnkit.ids.eos). rnnkit.target turns the ids "
         "back into text.")


class EncoderGraph(nn.Module):
    """``forward(x, lengths)``: :meth:`Seq2Seq.encode` with its state and memory as flat tensors."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x: Tensor, lengths: Tensor):
        m, lstm = self.model, self.model.config.cell == "lstm"
        seen = {}

        def keep(module, args, out):          # the encoder's outputs (returns None: the output stays)
            seen["y"] = out[0]

        hook = m.encoder.register_forward_hook(keep)
        try:
            state, memory = m.encode(x, lengths)
        finally:
            hook.remove()
        if memory is None:
            return (seen["y"], *state) if lstm else (seen["y"], state)
        layers, feed = state
        h = torch.stack([s[0] if lstm else s for s in layers])
        c = (torch.stack([s[1] for s in layers]),) if lstm else ()
        return (memory[0], h, *c, feed, memory[1], memory[2])


class DecoderStep(nn.Module):
    """``forward(x, h, c=None, feed=None, memory=None, mask=None, keys=None)``: one
    :meth:`Seq2Seq.decode_step` with its state and memory as flat tensors."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x: Tensor, h: Tensor, c: Tensor | None = None, feed: Tensor | None = None,
                memory: Tensor | None = None, mask: Tensor | None = None, keys: Tensor | None = None):
        m, lstm = self.model, self.model.config.cell == "lstm"
        if not m.attends:
            y, state = m.decode_step(x, (h, c) if lstm else h, None)
            return (y, *state) if lstm else (y, state)
        layers = tuple((h[k], c[k]) if lstm else h[k] for k in range(m.config.layers))
        y, (layers, feed) = m.decode_step(x, (layers, feed), (memory, mask, keys))
        h = torch.stack([s[0] if lstm else s for s in layers])
        c = (torch.stack([s[1] for s in layers]),) if lstm else ()
        return (y, h, *c, feed)


def names(model) -> dict:
    """The ONNX input and output names of both graphs: ``{"encoder": (inputs, outputs), "decoder": ...}``."""
    lstm, att = model.config.cell == "lstm", model.attends
    state = ["h"] + (["c"] if lstm else []) + (["feed"] if att else [])
    return {"encoder": (["x", "lengths"], ["y", *state] + (["mask", "keys"] if att else [])),
            "decoder": (["x", *state] + (["memory", "mask", "keys"] if att else []),
                        ["y"] + [f"{s}_out" for s in state])}


def export_seq2seq(model, encoder_path, decoder_path, *, opset: int | None = None, metadata: dict | None = None,
                   force: bool = False) -> list[Path]:
    """Write ``model``'s encoder and decoder-step graphs (module docstring)."""
    from torch.export import Dim
    batch, source = Dim("batch"), Dim("source")
    src, lengths = torch.randint(4, model.config.src_vocab, (3, 6)), torch.tensor([6, 5, 2])
    io = names(model)
    meta = dict(metadata or {})
    enc = export_graph(EncoderGraph(model), encoder_path, {"x": (src, {0: batch, 1: source}),
                                                           "lengths": (lengths, {0: batch})},
                       io["encoder"][1], opset=opset, metadata=meta | {"rnnkit.graph": "encoder"}, force=force)
    try:
        with torch.no_grad():
            example = dict(zip(io["encoder"][1], EncoderGraph(model.eval())(src, lengths)))
        axes = {"h": {1: batch}, "c": {1: batch}, "feed": {0: batch}, "memory": {0: batch, 1: source},
                "mask": {0: batch, 1: source}, "keys": {0: batch, 1: source}}
        inputs = {"x": (torch.full((3,), model.go_id), {0: batch})}
        for name in io["decoder"][0][1:]:
            inputs[name] = (example["y" if name == "memory" else name], axes[name])
        dec = export_graph(DecoderStep(model), decoder_path, inputs, io["decoder"][1], opset=opset,
                           metadata=meta | {"rnnkit.graph": "decoder"}, force=force)
    except BaseException:
        enc.unlink(missing_ok=True)          # no encoder without its decoder
        raise
    return [enc, dec]


def translate_metadata(model, job, source, target) -> dict:
    """The metadata_props of a translation run: both codecs, the special ids, the state."""
    codec = (lambda c: bpe_metadata(c.bpe)) if job.level == "bpe" else (lambda c: vocabulary_metadata(c.vocab))
    c = model.config
    meta = {"rnnkit.task": "translate", "rnnkit.level": job.level, "rnnkit.source": codec(source),
            "rnnkit.target": codec(target), "rnnkit.ids": {"pad": PAD_ID, "unk": UNK_ID, "go": GO_ID, "eos": EOS_ID},
            "rnnkit.state": {"cell": c.cell, "layers": c.layers, "units": c.units, "attention": c.attention},
            "rnnkit.model": c.to_dict(), "rnnkit.usage": USAGE}
    if job.level == "word":
        meta["rnnkit.tokenizer"] = tokenizer_metadata("word", job.lower, "keep", html=False)
    return meta


def export(run_dir, paths: list[Path], opset: int) -> list[Path]:
    """Write the run's encoder and decoder to ``paths`` (checked by :func:`rnnkit.export.onnx.export_run`)."""
    model, job, source, target = load_translator(run_dir)
    return export_seq2seq(model, *paths, opset=opset, metadata=translate_metadata(model, job, source, target),
                          force=True)


def files(path: Path) -> list[Path]:
    """``NAME.encoder.onnx`` and ``NAME.decoder.onnx`` beside ``--onnx NAME.onnx``."""
    stem = path.name[:-len(".onnx")] if path.name.endswith(".onnx") else path.name
    return [path.with_name(f"{stem}.encoder.onnx"), path.with_name(f"{stem}.decoder.onnx")]
