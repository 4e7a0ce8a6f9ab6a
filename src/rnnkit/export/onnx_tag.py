"""ONNX export of a tagging run (``rnnkit export`` on a ``tag`` run): the
:class:`~rnnkit.models.tagger.Tagger` with inputs ``x`` (batch, time) int64 token ids and
``lengths`` (batch,) int64, each in [1, time]; output ``y`` (batch, time, n_tags), the tag logits
of every step (``argmax`` over the last axis indexes ``rnnkit.tags``; steps past a length are
padding). Batch and time are dynamic.

    >>> from pathlib import Path
    >>> files(Path("ner.onnx"))
    [PosixPath('ner.onnx')]
"""
from __future__ import annotations

from pathlib import Path

import torch

__all__ = ["export_tagger", "tag_metadata", "export", "files"]

USAGE = ("Split each sentence into its tokens (the CoNLL file's first column: one token per word and mark), "
         "lower-case them if rnnkit.lower, map each to its id in rnnkit.vocabulary (unknown: unk_id) and feed x "
         "(batch, time) int64 padded after each sentence with 0 and lengths (batch,) int64, the tokens of each "
         "(at least 1). y (batch, time, tags) holds the logits of rnnkit.tags at every step: the tag of token t "
         "is rnnkit.tags[argmax(y[b, t])] for t < lengths[b].")


def export_tagger(model, path, *, opset: int | None = None, metadata: dict | None = None,
                  force: bool = False) -> Path:
    """Write ``model`` (a Tagger) to ``path`` with inputs ``x``, ``lengths`` and output ``y``."""
    from torch.export import Dim
    from rnnkit.export.onnx import export_graph
    B, T = 3, 8
    batch, time = Dim("batch"), Dim("time")
    inputs = {"x": (torch.randint(1, model.config.vocab_size, (B, T)), {0: batch, 1: time}),
              "lengths": (torch.tensor([T, T - 1, 2]), {0: batch})}
    return export_graph(_Graph(model), path, inputs, ["y"], opset=opset, metadata=metadata, force=force)


class _Graph(torch.nn.Module):
    """``model(ids, lengths)`` with its inputs named as the ONNX graph names them."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x, lengths):
        return self.model(x, lengths)


def tag_metadata(model, job, tags: list, vocab) -> dict:
    """The metadata_props of a tagging run: the tags, the vocabulary, lower-casing."""
    from rnnkit.export.onnx_text import vocabulary_metadata
    return {"rnnkit.task": "tag", "rnnkit.tags": list(tags), "rnnkit.lower": bool(job.lower),
            "rnnkit.vocabulary": vocabulary_metadata(vocab), "rnnkit.model": model.config.to_dict(),
            "rnnkit.usage": USAGE}


def export(run_dir, paths: list[Path], opset: int) -> list[Path]:
    """Write the run's tagger to ``paths[0]`` (checked by :func:`rnnkit.export.onnx.export_run`)."""
    from rnnkit.tasks.tag import load_tagger
    model, job, tags, vocab = load_tagger(run_dir)
    return [export_tagger(model, paths[0], opset=opset, metadata=tag_metadata(model, job, tags, vocab), force=True)]


def files(path: Path) -> list[Path]:
    """The one file ``--onnx FILE`` writes for a tagging run."""
    return [path]
