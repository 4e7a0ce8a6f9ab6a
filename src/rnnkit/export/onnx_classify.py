"""ONNX export of a classification run (``rnnkit export`` on a ``classify`` run): the
:class:`~rnnkit.models.classifier.SequenceClassifier` with inputs ``x`` (token ids (batch, time)
int64 for text; (batch, time, features) float32 for image rows and multivariate series) and
``lengths`` (batch,) int64, each in [1, time]; output ``y``: one logit per row for two classes
(``sigmoid(y)`` is the probability of ``classes[1]``), else ``(batch, n_classes)`` logits (softmax).
Batch and time are dynamic, a conv body or front-end included.

:class:`ClassifierGraph` is the classifier's forward in a form ``torch.export`` records with a
dynamic time axis: the same modules and arithmetic without the checks that read the lengths'
values in Python (``SequenceClassifier.features`` and :mod:`rnnkit.models.pooling` do), the
input zero-padded to the convolution's need rather than only when it is short, and max-pooling
over time as a reshape and a maximum (``torch.export`` specializes ``max_pool1d``'s length).
Outputs past the valid steps never reach a result, so these give the model's numbers.

    >>> import torch
    >>> from rnnkit.models.classifier import ClassifierConfig, SequenceClassifier
    >>> m = SequenceClassifier(ClassifierConfig(n_classes=3, vocab_size=20, embedding_dim=4, cell="conv",
    ...                                         units=4, layers=2, conv_kernel=3, pool_size=2)).eval()
    >>> x, lengths = torch.randint(1, 20, (2, 9)), torch.tensor([9, 4])
    >>> torch.allclose(ClassifierGraph(m)(x, lengths), m(x, lengths), atol=1e-6)
    True
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.layers.lengths import zero_padding
from rnnkit.models.classifier import conv_lengths

__all__ = ["ClassifierGraph", "export_classifier", "classify_metadata", "export", "files"]


def _pool(x: Tensor, lengths: Tensor, mode: str) -> Tensor:
    valid = (torch.arange(x.shape[1], device=x.device).unsqueeze(0) < lengths.unsqueeze(1)).unsqueeze(-1)
    if mode == "last":
        return x.gather(1, (lengths - 1).view(-1, 1, 1).expand(-1, 1, x.shape[2])).squeeze(1)
    if mode == "mean":
        return torch.where(valid, x, x.new_zeros(())).sum(1) / lengths.unsqueeze(1).to(x.dtype)
    return torch.where(valid, x, x.new_full((), float("-inf"))).amax(1)


def _conv_block(block, x: Tensor, lengths: Tensor):
    """``_ConvBlock.forward`` with the input always padded by ``kernel + pool - 2`` zeros (the
    extra outputs are past every length) and the pooling as reshape + amax."""
    k, p = block.kernel, block.pool_size
    x = F.pad(x, (0, 0, 0, k + p - 2))
    y = F.relu(block.conv(x.transpose(1, 2))).transpose(1, 2)
    valid = conv_lengths(lengths, k)
    y = zero_padding(y, valid)
    if p > 1:
        n = y.shape[1] // p
        y = y[:, :n * p].reshape(y.shape[0], n, p, y.shape[2]).amax(2)
        valid = (valid // p).clamp(min=1)
    return y, valid


class ClassifierGraph(nn.Module):
    """``model(x, lengths)`` of a :class:`SequenceClassifier` as an exportable graph (module docstring)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        m, c = self.model, self.model.config
        lengths = lengths.to(torch.long)
        x = m.embedding(x) if m.embedding is not None else zero_padding(x, lengths)
        for block in m.convs:
            x, lengths = _conv_block(block, x, lengths)
        if m.rnn is None:
            z = _pool(x, lengths, c.pooling)
        else:
            seq, state = m.rnn(x, lengths=lengths)
            if c.pooling != "last":
                z = _pool(seq, lengths, c.pooling)
            else:
                h = state[0] if isinstance(state, tuple) else state
                z = torch.cat(list(h[-m.rnn.num_directions:]), -1)
        if m.hidden is not None:
            z = F.relu(m.hidden(z))
        logits = m.output(z)
        return logits.squeeze(-1) if c.binary else logits


def export_classifier(model, path, *, opset: int | None = None, metadata: dict | None = None,
                      force: bool = False) -> Path:
    """Write ``model`` (a SequenceClassifier) to ``path`` with inputs ``x``, ``lengths`` and output ``y``."""
    from torch.export import Dim
    from rnnkit.export.onnx import export_graph
    c = model.config
    B, T = 3, 12
    x = torch.randint(1, c.vocab_size, (B, T)) if c.vocab_size else torch.randn(B, T, c.n_features)
    batch, time = Dim("batch"), Dim("time")
    inputs = {"x": (x, {0: batch, 1: time}), "lengths": (torch.tensor([T, T - 1, 2]), {0: batch})}
    return export_graph(ClassifierGraph(model), path, inputs, ["y"], opset=opset, metadata=metadata, force=force)


def classify_metadata(model, job, run_config: dict, encoder) -> dict:
    """The metadata_props of a classification run: task, classes, input kind and its preparation."""
    from rnnkit.export.onnx_text import tokenizer_metadata, vocabulary_metadata
    data, c = run_config["data"], model.config
    classes = list(data["classes"])
    out = ("y (batch,) is one logit per row: sigmoid(y) is the probability of rnnkit.classes[1]" if c.binary else
           f"y (batch, {len(classes)}) holds the logits of rnnkit.classes in order: softmax gives probabilities")
    meta = {"rnnkit.task": "classify", "rnnkit.kind": data["kind"], "rnnkit.classes": classes,
            "rnnkit.model": c.to_dict()}
    if data["kind"] == "text":
        meta["rnnkit.tokenizer"] = tokenizer_metadata(encoder.level, encoder.lower, encoder.punctuation)
        meta["rnnkit.vocabulary"] = vocabulary_metadata(encoder.vocabulary)
        meta["rnnkit.encoder"] = {"maxlen": encoder.maxlen, "truncating": encoder.truncating}
        prep = ("Tokenise each text as rnnkit.tokenizer says, map each token to its id in rnnkit.vocabulary (unknown "
                "tokens: unk_id), keep the first (truncating 'post') or last ('pre') rnnkit.encoder.maxlen ids when "
                "maxlen is set, and feed x (batch, time) int64 padded after each text with 0 and lengths (batch,) "
                "int64, the ids of each text (at least 1: an empty text is one 0)")
    elif data["kind"] == "image":
        meta["rnnkit.scaling"] = data["scaling"]
        prep = (f"Feed x (batch, rows, {c.n_features}) float32 = pixels / rnnkit.scaling.divide, one image row per "
                "step, and lengths (batch,) int64 = the number of rows")
    else:
        meta["rnnkit.scaling"] = data["scaling"]
        prep = (f"Feed x (batch, time, {c.n_features}) float32 = (value - mean) / std per channel with "
                "rnnkit.scaling, each series' steps first, zeros after, and lengths (batch,) int64 = its steps")
    meta["rnnkit.usage"] = f"{prep}. {out}."
    return meta


def export(run_dir, paths: list[Path], opset: int) -> list[Path]:
    """Write the run's classifier to ``paths[0]`` (checked by :func:`rnnkit.export.onnx.export_run`)."""
    from rnnkit.tasks.classify import load_classifier
    model, job, cfg, encoder = load_classifier(run_dir)
    return [export_classifier(model, paths[0], opset=opset, metadata=classify_metadata(model, job, cfg, encoder),
                              force=True)]


def files(path: Path) -> list[Path]:
    """The one file ``--onnx FILE`` writes for a classification run."""
    return [path]
