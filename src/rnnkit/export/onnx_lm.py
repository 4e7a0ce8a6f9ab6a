"""ONNX export of a language-model run (``rnnkit export`` on an ``lm`` run): the per-step decoder
of the :class:`~rnnkit.models.language_model.LanguageModel`, ``forward_state`` with its state as
inputs and outputs. Inputs: ``x`` (batch, time) int64 token ids (one id per row for a step of
generation, or a whole prompt), ``h`` (layers, batch, units) float32 and, for an LSTM, ``c`` (the
same shape; zeros to start). Outputs: ``y`` (batch, time, vocabulary) the next-token logits after
each input token, ``h_out`` (and ``c_out``), the state after the last one, to feed back as ``h``
(``c``). Batch and time are dynamic; the model takes no lengths (every id is read).

    >>> import torch
    >>> from rnnkit.models.language_model import LanguageModel
    >>> lm = LanguageModel(10, embedding_dim=4, hidden_size=4, num_layers=1).eval()
    >>> names(lm)
    (['x', 'h', 'c'], ['y', 'h_out', 'c_out'])
    >>> y, h, c = LanguageModelStep(lm)(torch.tensor([[3, 4]]), torch.zeros(1, 1, 4), torch.zeros(1, 1, 4))
    >>> tuple(y.shape), tuple(h.shape)
    ((1, 2, 10), (1, 1, 4))
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn
from rnnkit.export.onnx import export_graph
from rnnkit.export.onnx_text import bpe_metadata, tokenizer_metadata, vocabulary_metadata
from rnnkit.tasks.lm import load_lm

__all__ = ["LanguageModelStep", "names", "export_language_model", "lm_metadata", "export", "files"]

USAGE = ("Turn the text into ids with rnnkit.codec (level 'char': each character's index in its tokens; 'word': "
         "rnnkit.tokenizer's tokens, unknown ones unk_id; 'bpe': the tokenizers library's Tokenizer.from_str("
         "json.dumps(rnnkit.codec)).encode(text).ids). Start from h (and c) = zeros (layers, batch, units) of "
         "rnnkit.state; feed x (batch, time) int64; y[:, -1] (batch, vocabulary) are the next token's logits "
         "(softmax, divided by a temperature first, to sample); feed h_out (c_out) back as h (c) with the new "
         "token as x (batch, 1) for the next step.")


class LanguageModelStep(nn.Module):
    """``forward(x, h[, c]) -> (y, h_out[, c_out])``: :meth:`LanguageModel.forward_state` with a flat state."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x: Tensor, h: Tensor, c: Tensor | None = None):
        y, state = self.model.forward_state(x, (h, c) if self.model.cell == "lstm" else h)
        return (y, *state) if isinstance(state, tuple) else (y, state)


def names(model) -> tuple[list[str], list[str]]:
    """The ONNX input and output names of ``model``'s step graph."""
    lstm = model.cell == "lstm"
    return ["x", "h"] + (["c"] if lstm else []), ["y", "h_out"] + (["c_out"] if lstm else [])


def export_language_model(model, path, *, opset: int | None = None, metadata: dict | None = None,
                          force: bool = False) -> Path:
    """Write ``model``'s step graph (module docstring) to ``path``."""
    from torch.export import Dim
    B, T = 3, 5
    batch, time = Dim("batch"), Dim("time")
    state = torch.zeros(model.num_layers, B, model.hidden_size)
    inputs = {"x": (torch.randint(0, model.vocab_size, (B, T)), {0: batch, 1: time}), "h": (state, {1: batch})}
    if model.cell == "lstm":
        inputs["c"] = (state.clone(), {1: batch})
    return export_graph(LanguageModelStep(model), path, inputs, names(model)[1], opset=opset, metadata=metadata,
                        force=force)


def lm_metadata(model, codec, job) -> dict:
    """The metadata_props of a language-model run: the codec (vocabulary or BPE), the state's shape."""
    level = codec.level
    meta = {"rnnkit.task": "lm", "rnnkit.level": level,
            "rnnkit.codec": bpe_metadata(codec.table) if level == "bpe" else vocabulary_metadata(codec.table),
            "rnnkit.state": {"cell": model.cell, "layers": model.num_layers, "units": model.hidden_size},
            "rnnkit.usage": USAGE}
    if level == "word":
        meta["rnnkit.tokenizer"] = tokenizer_metadata("word", codec.lower, "keep", html=False)
    return meta


def export(run_dir, paths: list[Path], opset: int) -> list[Path]:
    """Write the run's step graph to ``paths[0]`` (checked by :func:`rnnkit.export.onnx.export_run`)."""
    model, codec, job, _ = load_lm(run_dir)
    return [export_language_model(model, paths[0], opset=opset, metadata=lm_metadata(model, codec, job), force=True)]


def files(path: Path) -> list[Path]:
    """The one file ``--onnx FILE`` writes for a language-model run."""
    return [path]
