"""ONNX export of a tagging run (``rnnkit export`` on a ``tag`` run): the emission network of the
:class:`~rnnkit.models.tagger.Tagger` in ``NAME.onnx``, the CRF's scores beside it in
``NAME.crf.json``; Viterbi runs outside the graph (:func:`viterbi`, numpy).

The graph's inputs: ``x`` (batch, time) int64 token ids, ``lengths`` (batch,) int64, each in [1,
time], and, when the model reads characters (``rnnkit.chars`` in the metadata is a list),
``chars`` (batch, time, chars) int64: the characters of each token as written, each
``rnnkit.chars.index(c) + 2`` (1 for a character not in the list, 0 past the token's last
character and on padding steps), at most 24 per token. Output ``y`` (batch, time, n_tags): the
tag scores of every step (steps past a length are padding). Batch, time and chars are dynamic.

How a consumer decodes: read ``NAME.crf.json`` (``tags``, ``start`` [K], ``transitions`` [K][K]
from the row's tag to the column's, ``end`` [K], the IOB2 constraints already in them as
-10,000) and, for each sentence ``b`` of length ``n``, take the best path of
``start[y0] + sum_t y[b, t, yt] + sum_t transitions[y(t-1), yt] + end[y(n-1)]``
(:func:`viterbi` does this in numpy; it is what ``rnnkit predict`` returns). A model without a CRF
has all-zero scores there (``"crf": false``), and Viterbi then equals the argmax of each step.

    >>> import numpy as np
    >>> y = np.array([[[0.0, 2.0, 1.0], [0.0, 2.0, 1.0]]])      # tags B-X, I-X, O; I-X scores best
    >>> crf = {"start": [0, -1e4, 0], "end": [0, 0, 0],
    ...        "transitions": [[0, 0, 0], [0, 0, 0], [0, -1e4, 0]]}
    >>> viterbi(y, np.array([2]), crf)      # I-X cannot start; B-X I-X beats O I-X's forbidden move
    [[0, 1]]
    >>> files(Path("ner.onnx"))
    [PosixPath('ner.onnx'), PosixPath('ner.crf.json')]
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from rnnkit.export.onnx import export_graph
from rnnkit.export.onnx_text import vocabulary_metadata
from rnnkit.tasks.tag import load_tagger
from rnnkit.training import atomic_write_text

__all__ = ["export_tagger", "tag_metadata", "export", "files", "viterbi", "crf_scores"]

USAGE = ("Split each sentence into its tokens (the CoNLL file's first column: one token per word and mark), "
         "lower-case them if rnnkit.lower, map each to its id in rnnkit.vocabulary (unknown: unk_id) and feed x "
         "(batch, time) int64 padded after each sentence with 0 and lengths (batch,) int64, the tokens of each "
         "(at least 1). If rnnkit.chars is a list, also feed chars (batch, time, chars) int64: each token's "
         "characters as written (at most 24), rnnkit.chars.index(c) + 2, 1 for other characters, 0 for padding. "
         "y (batch, time, tags) holds the scores of rnnkit.tags at every step. Decode each sentence with Viterbi "
         "over the scores in NAME.crf.json beside this file (start, transitions [from][to], end): the best path of "
         "start[t0] + sum y[b, i, ti] + sum transitions[t(i-1)][ti] + end[t(n-1)] over i < lengths[b]; "
         "rnnkit.export.onnx_tag.viterbi does it. Without a CRF those scores are 0 and the argmax of y is the tag.")


def export_tagger(model, path, *, opset: int | None = None, metadata: dict | None = None,
                  force: bool = False) -> Path:
    """Write ``model`` (a Tagger) to ``path`` with inputs ``x``, ``lengths`` (and ``chars`` when the
    model reads characters) and output ``y`` (the emission scores)."""
    from torch.export import Dim
    B, T, C = 3, 8, 5
    batch, time = Dim("batch"), Dim("time")
    inputs = {"x": (torch.randint(1, model.config.vocab_size, (B, T)), {0: batch, 1: time}),
              "lengths": (torch.tensor([T, T - 1, 2]), {0: batch})}
    if model.chars is not None:
        chars = torch.randint(1, len(model.alphabet), (B, T, C))
        chars[:, :, -1] = 0
        inputs["chars"] = (chars, {0: batch, 1: time, 2: Dim("chars")})
    graph = _CharGraph(model) if model.chars is not None else _Graph(model)
    return export_graph(graph, path, inputs, ["y"], opset=opset, metadata=metadata, force=force)


class _Graph(torch.nn.Module):
    """``model(ids, lengths)`` with its inputs named as the ONNX graph names them."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x, lengths):
        return self.model(x, lengths)


class _CharGraph(_Graph):
    def forward(self, x, lengths, chars):
        return self.model(x, lengths, chars)


def crf_scores(model, tags: list) -> dict:
    """What ``NAME.crf.json`` holds: the tags and the CRF's start, transition and end scores with
    the constraint penalties added (all zero for a model without a CRF)."""
    k = len(tags)
    if model.crf is None:
        trans, start, end = np.zeros((k, k)), np.zeros(k), np.zeros(k)
    else:
        trans, start, end = (t.detach().double().numpy() for t in model.crf.scores())
    return {"format": "rnnkit-crf-1", "crf": model.crf is not None, "tags": list(tags),
            "start": start.tolist(), "transitions": trans.tolist(), "end": end.tolist()}


def viterbi(y, lengths, crf: dict) -> list[list[int]]:
    """The best tag ids of each sentence (cut to its length) from the graph's ``y`` (batch, time,
    tags) and the scores of ``NAME.crf.json`` (a dict as :func:`crf_scores` returns, or a path)."""
    if not isinstance(crf, dict):
        crf = json.loads(Path(crf).read_text(encoding="utf-8"))
    trans, start, end = (np.asarray(crf[k], np.float64) for k in ("transitions", "start", "end"))
    out = []
    for b, n in enumerate(np.asarray(lengths).tolist()):
        em = np.asarray(y[b, :n], np.float64)
        score, back = start + em[0], []
        for t in range(1, n):
            cand = score[:, None] + trans            # [from, to]
            back.append(cand.argmax(0))
            score = cand.max(0) + em[t]
        path = [int((score + end).argmax())]
        for idx in reversed(back):
            path.append(int(idx[path[-1]]))
        out.append(path[::-1])
    return out


def tag_metadata(model, job, tags: list, vocab) -> dict:
    """The metadata_props of a tagging run: the tags, the vocabulary, lower-casing, the characters."""
    return {"rnnkit.task": "tag", "rnnkit.tags": list(tags), "rnnkit.lower": bool(job.lower),
            "rnnkit.vocabulary": vocabulary_metadata(vocab), "rnnkit.model": model.config.to_dict(),
            "rnnkit.chars": model.config.chars, "rnnkit.crf": model.crf is not None, "rnnkit.usage": USAGE}


def export(run_dir, paths: list[Path], opset: int) -> list[Path]:
    """Write the run's tagger to ``paths[0]`` and its CRF scores to ``paths[1]`` (checked by
    :func:`rnnkit.export.onnx.export_run`)."""
    model, job, tags, vocab = load_tagger(run_dir)
    onnx_path = export_tagger(model, paths[0], opset=opset, metadata=tag_metadata(model, job, tags, vocab), force=True)
    atomic_write_text(paths[1], json.dumps(crf_scores(model, tags)) + "\n")
    return [onnx_path, paths[1]]


def files(path: Path) -> list[Path]:
    """``NAME.onnx`` and ``NAME.crf.json`` beside it."""
    stem = path.name[:-len(".onnx")] if path.name.endswith(".onnx") else path.name
    return [path, path.with_name(f"{stem}.crf.json")]
