"""What ``rnnkit tag`` reports: entity-level scores (``seqeval``), the per-type table, the
most-frequent-tag baseline, the trainer's validation F1 and the printed test table.

    >>> entity_scores([["B-loc", "O"]], [["B-loc", "O"]])["f1"]
    1.0
    >>> most_frequent_tag([(["Paris", "is"], ["B-loc", "O"])], [(["Paris", "Rome"], None)])
    [['B-loc', 'O']]
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from rnnkit.models.tagger import IGNORE, Tagger, TaggerConfig

__all__ = ["entity_scores", "f1_metric", "per_type", "most_frequent_tag", "describe", "format_table"]


def entity_scores(true_tags: list, pred_tags: list) -> dict:
    """Entity-level precision/recall/F1 (seqeval, exact span and type match) and token accuracy."""
    from seqeval.metrics import f1_score, precision_score, recall_score

    flat_t = [t for s in true_tags for t in s]
    flat_p = [t for s in pred_tags for t in s]
    return {"precision": float(precision_score(true_tags, pred_tags, zero_division=0)),
            "recall": float(recall_score(true_tags, pred_tags, zero_division=0)),
            "f1": float(f1_score(true_tags, pred_tags, zero_division=0)),
            "token_accuracy": float(np.mean([a == b for a, b in zip(flat_t, flat_p)])) if flat_t else 0.0}


def f1_metric(model: Tagger, tags: list):
    """``f1(scores, targets) -> float``, the trainer's ``val_f1``: entity F1 (seqeval) of the model's
    decoding (Viterbi with a CRF) of the validation scores, targets ``IGNORE`` past each length."""
    def f1(scores, target):
        n = (target != IGNORE).sum(1).clamp(min=1)
        best = model.decode(scores, n).tolist()
        n = n.tolist()
        truth = [[tags[j] for j in row[:k]] for row, k in zip(target.tolist(), n)]
        return entity_scores(truth, [[tags[j] for j in row[:k]] for row, k in zip(best, n)])["f1"]
    return f1


def per_type(true_tags: list, pred_tags: list) -> dict:
    """``{type: {"precision", "recall", "f1", "support"}}`` (seqeval's report)."""
    from seqeval.metrics import classification_report
    report = classification_report(true_tags, pred_tags, output_dict=True, zero_division=0)
    return {k: {"precision": float(v["precision"]), "recall": float(v["recall"]), "f1": float(v["f1-score"]),
                "support": int(v["support"])} for k, v in report.items() if "avg" not in k}


def most_frequent_tag(train, sentences) -> list:
    """Each token's most frequent training tag (``O`` for tokens never seen in training)."""
    counts: dict = {}
    for toks, tags in train:
        for tok, tag in zip(toks, tags):
            counts.setdefault(tok, Counter())[tag] += 1
    best = {tok: c.most_common(1)[0][0] for tok, c in counts.items()}
    return [[best.get(tok, "O") for tok in toks] for toks, _ in sentences]


def describe(cfg: TaggerConfig) -> str:
    """``'bidirectional LSTM 64 + char-CNN + CRF'``: the model in a few words, for the printed table."""
    parts = [f"{'bidirectional ' if cfg.bidirectional else ''}{cfg.cell.upper()} {cfg.units}"]
    return " + ".join(parts + (["char-CNN"] if cfg.chars is not None else []) + (["CRF"] if cfg.crf else []))


def format_table(test: dict, model: str = "bidirectional tagger") -> str:
    rows = [(f"model ({model})", test["model"]), ("most frequent tag", test["most_frequent_tag"])]
    w = max(36, max(len(label) for label, _ in rows) + 2)
    lines = [f"{'test set (entity level, seqeval)':{w}s}{'precision':>10s}{'recall':>10s}{'F1':>8s}{'token acc':>11s}"]
    for label, m in rows:
        lines.append(f"{label:{w}s}{m['precision']:>10.4f}{m['recall']:>10.4f}{m['f1']:>8.4f}{m['token_accuracy']:>11.4f}")
    lines.append("per entity type (model):")
    for kind, m in test["per_type"].items():
        lines.append(f"  {kind:{w - 2}s}{m['precision']:>10.4f}{m['recall']:>10.4f}{m['f1']:>8.4f}  support {m['support']}")
    return "\n".join(lines)
