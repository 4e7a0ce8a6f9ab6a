"""Run several classifiers on one prepared data set and compare them in one table (the classification
recipes: seed 001 IMDB, seed 004 MNIST rows, JapaneseVowels).

Each model is a :class:`ClassifyModel`: a name, a description, the
:class:`~rnnkit.tasks.classify.ClassifyConfig` fields it changes and, when there is one, the
published number to show beside ours (marked as published, with its source). The data is
prepared once; each model trains in its own run directory ``<out>/<name>``; ``<out>`` gets
``comparison.csv`` and ``comparison.md``. Under ``torchrun`` every rank trains each model (its
part of every batch); rank 0 alone creates the directories, writes the comparison and prints it
(the other ranks return ``[]``).

    >>> m = ClassifyModel("lstm", "LSTM 32", {"cell": "lstm", "units": 32}, "~89% (val)")
    >>> m.config(ClassifyConfig(epochs=3)).cell
    'lstm'
"""
from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from rnnkit.errors import InvalidArgumentError
from rnnkit.tasks.classify import ClassifyConfig, run_classify
from rnnkit.tasks.options import add_options
from rnnkit.training import atomic_write_text, create_run_dir, distributed
from rnnkit.training.manifest import has_content

__all__ = ["ClassifyModel", "check_models", "run_models", "format_rows", "add_common_arguments"]


@dataclass(frozen=True)
class ClassifyModel:
    name: str
    description: str
    fields: dict = field(default_factory=dict)
    published: str = ""

    def config(self, base: ClassifyConfig, **more) -> ClassifyConfig:
        return dataclasses.replace(base, **(self.fields | more))


def check_models(text: str | None, models: tuple) -> list:
    """The models named in ``text`` (comma-separated; None: all), unknown names refused."""
    if not text:
        return list(models)
    by_name = {m.name: m for m in models}
    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if n not in by_name]
    if bad or not names:
        raise InvalidArgumentError.for_argument("--models", text, "comma-separated names among: " +
                                                ", ".join(by_name))
    return [by_name[n] for n in names]


def add_common_arguments(p: argparse.ArgumentParser, models: tuple, epochs: int) -> None:
    p.add_argument("--models", help="comma-separated subset of: " + ", ".join(m.name for m in models))
    p.add_argument("--epochs", type=int, default=epochs, help=f"maximum epochs per model (default {epochs})")
    p.add_argument("--quick", action="store_true", help="smoke test: 1 epoch per model on a small part of the data")
    p.add_argument("--seed", type=int, default=0)
    add_options(p, ClassifyConfig, only=("device",))     # --device, as every training command
    p.add_argument("--out", help="output directory, new or empty (default runs/<recipe>-<time>)")
    p.add_argument("--quiet", action="store_true", help="print only the comparison table")


def run_models(name: str, base: ClassifyConfig, models: list, data, out=None, log=print,
               published_label: str = "published") -> list[dict]:
    """Train every model on ``data``; returns one row per model (test accuracy, macro-F1, val
    accuracy, epochs, training seconds) plus the baselines of the first run, and writes the comparison
    (under ``torchrun``: rank 0 alone; the other ranks train their part and return ``[]``)."""

    def create():                                    # rank 0 only under torchrun; every rank gets the path
        if out is not None and Path(out).is_dir() and has_content(out):
            raise InvalidArgumentError.for_argument(
                "--out", str(out), "a new or empty directory",
                "Pass a new --out DIR; the recipe writes one sub-directory per model.")
        return create_run_dir(name, out)

    root = distributed.on_main(create)
    main = distributed.is_main()
    say = log if main and not base.quiet else (lambda *a: None)
    rows, baselines = [], {}
    for i, model in enumerate(models):
        cfg = model.config(base, out=str(root / model.name), quiet=True, baselines=i == 0 and base.baselines)
        say(f"[{i + 1}/{len(models)}] {model.name}: {model.description}")
        result = run_classify(cfg, data=data, log=(lambda *a: None))
        if not main:                                 # torchrun: only rank 0 has the test metrics
            continue
        hist = pd.read_csv(root / model.name / "history.csv")
        seconds = float(hist["time"].sum())              # training epochs only
        test, val = result["test"], result["val"]
        if i == 0:
            baselines = {k: (val[k], test[k]) for k in test if k != "model"}
        rows.append({"model": model.name, "description": model.description,
                     "test_accuracy": test["model"]["accuracy"], "test_macro_f1": test["model"]["macro_f1"],
                     "val_accuracy": val["model"]["accuracy"], "epochs": len(hist), "seconds": round(seconds, 1),
                     published_label: model.published})
        say(f"    test accuracy {test['model']['accuracy']:.4f}, {len(hist)} epochs, {seconds:.0f} s")
    if not main:
        return []
    for key, label in (("majority", "majority class (baseline)"), ("tfidf_logreg", "TF-IDF logistic regression (baseline)")):
        if key in baselines:
            v, t = baselines[key]
            rows.append({"model": label, "description": "", "test_accuracy": t["accuracy"],
                         "test_macro_f1": t["macro_f1"], "val_accuracy": v["accuracy"], "epochs": 0,
                         "seconds": 0.0, published_label: ""})
    table = pd.DataFrame(rows)
    atomic_write_text(root / "comparison.csv", table.to_csv(index=False))
    atomic_write_text(root / "comparison.md", table.to_markdown(index=False) if _has_tabulate() else
                      table.to_string(index=False))
    log(format_rows(rows, published_label))
    log(f"written: comparison.csv, comparison.md and one run per model in {root}")
    return rows


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
        return True
    except ImportError:
        return False


def format_rows(rows: list[dict], published_label: str = "published") -> str:
    """The comparison as an aligned text table."""
    width = max(len(r["model"]) for r in rows) + 2
    lines = [f"{'':{width}s}{'test acc':>9s}{'macro-F1':>10s}{'val acc':>9s}{'epochs':>8s}{'s':>7s}   "
             f"{published_label}"]
    for r in rows:
        lines.append(f"{r['model']:{width}s}{r['test_accuracy']:>9.4f}{r['test_macro_f1']:>10.4f}"
                     f"{r['val_accuracy']:>9.4f}{r['epochs']:>8d}{r['seconds']:>7.0f}   {r[published_label]}")
    return "\n".join(lines)
