"""ONNX export of a classification run (``rnnkit export`` on a ``classify`` run): the
:class:`~rnnkit.models.classifier.SequenceClassifier` with inputs ``x`` (token ids (batch, time)
int64 for text; (batch, time, features) float32 for image rows and multivariate series) and
``lengths`` (batch,) int64, each in [1, time]; output ``y``: one logit per row for two classes
(``sigmoid(y)`` is the probability of ``classes[1]``), else ``(batch, n_classes)`` logits (softmax).
Batch and time are dynamic, a conv body or front-end included.

The graph is the model's own forward: while a graph is recorded it reads no length's value in
Python (they are checked when it runs eagerly), its conv blocks pad every input by ``kernel +
pool - 2`` zeros (the outputs they add lie past every valid length) instead of comparing the
time axis with the convolution's need, and its max-pooling over time is
:func:`rnnkit.models.window_pool.window_max`, whose pooled length ``torch.export`` keeps symbolic.

    >>> import os, tempfile, torch, rnnkit
    >>> from rnnkit.models.classifier import ClassifierConfig, SequenceClassifier
    >>> m = SequenceClassifier(ClassifierConfig(n_classes=3, vocab_size=20, embedding_dim=4, cell="conv",
    ...                                         units=4, layers=2, conv_kernel=3, pool_size=2)).eval()
    >>> path = os.path.join(tempfile.mkdtemp(), "c.onnx")
    >>> if rnnkit.layers.fused.available():
    ...     import onnxruntime as ort
    ...     sess = ort.InferenceSession(str(export_classifier(m, path)))
    ...     x, lengths = torch.randint(1, 20, (2, 31)), torch.tensor([31, 4])
    ...     y = sess.run(["y"], {"x": x.numpy(), "lengths": lengths.numpy()})[0]
    ...     print(bool(abs(torch.from_numpy(y) - m(x, lengths)).max() < 1e-5))
    ... else:
    ...     print(True)
    True
"""
from __future__ import annotations

from pathlib import Path

import torch
from rnnkit.export.onnx import export_graph
from rnnkit.export.onnx_text import tokenizer_metadata, vocabulary_metadata
from rnnkit.tasks.classify import load_classifier

__all__ = ["export_classifier", "classify_metadata", "export", "files"]


def export_classifier(model, path, *, opset: int | None = None, metadata: dict | None = None,
                      force: bool = False) -> Path:
    """Write ``model`` (a SequenceClassifier) to ``path`` with inputs ``x``, ``lengths`` and output ``y``."""
    from torch.export import Dim
    c = model.config
    B, T = 3, 12
    x = torch.randint(1, c.vocab_size, (B, T)) if c.vocab_size else torch.randn(B, T, c.n_features)
    batch, time = Dim("batch"), Dim("time")
    inputs = {"x": (x, {0: batch, 1: time}), "lengths": (torch.tensor([T, T - 1, 2]), {0: batch})}
    return export_graph(model, path, inputs, ["y"], opset=opset, metadata=metadata, force=force)


def classify_metadata(model, job, run_config: dict, encoder) -> dict:
    """The metadata_props of a classification run: task, classes, input kind and its preparation."""
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
    model, job, cfg, encoder = load_classifier(run_dir)
    return [export_classifier(model, paths[0], opset=opset, metadata=classify_metadata(model, job, cfg, encoder),
                              force=True)]


def files(path: Path) -> list[Path]:
    """The one file ``--onnx FILE`` writes for a classification run."""
    return [path]
