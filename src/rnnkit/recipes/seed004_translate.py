"""``rnnkit recipe seed004-translate``: seed 004's English-to-French encoder-decoder, side by side.

The seed's model (an LSTM encoder whose final state starts an LSTM decoder fed ``<go> y1 ..
yn`` and trained to emit ``y1 .. yn <eos>``), the same with the source reversed (as in the seed
and Sutskever et al.), and with attention (Luong dot attention by default; ``additive`` is
Bahdanau's score), all trained on one split of the same pairs and scored on the same held-out
test pairs with BLEU and chrF (sacrebleu), beside the copy baseline (the English source given
as the French translation: technical text shares many names with its translation). One
sub-directory per model, plus ``comparison.csv`` and ``comparison.md``.

    $ rnnkit recipe seed004-translate --libreoffice-help tree/      # dpkg -x of the two help packages
    $ rnnkit recipe seed004-translate --pairs fra.txt --models plain,attention --epochs 4

    >>> sorted(MODELS)
    ['additive', 'attention', 'plain', 'reversed']
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import io
from pathlib import Path

from rnnkit.errors import InvalidArgumentError
from rnnkit.recipes.recipe import Recipe
from rnnkit.training import atomic_write_text, create_run_dir
from rnnkit.tasks.translate import prepare_translate, run_translate, TranslateConfig
from rnnkit.training.manifest import has_content
from rnnkit.tasks.options import add_options, config_from_args

__all__ = ["MODELS", "DEFAULTS", "run_seed004_translate", "format_comparison", "RECIPES"]

MODELS = {"plain": ("encoder-decoder (seed 004)", {"attention": "none", "reverse_source": False}),
          "reversed": ("encoder-decoder, reversed source", {"attention": "none", "reverse_source": True}),
          "attention": ("encoder-decoder + dot attention", {"attention": "dot", "reverse_source": False}),
          "additive": ("encoder-decoder + additive attention", {"attention": "additive", "reverse_source": False})}
DEFAULT_MODELS = ("plain", "reversed", "attention")
# a short run on a random subset (about 10 minutes for the three models on 2 shared cores)
DEFAULTS = dict(max_pairs=12000, max_len=20, vocab_size=6000, embedding_dim=96, units=192, epochs=6, batch_size=64,
                lr=2e-3, dropout=0.1, patience=2, beam=1, length_penalty=0.0)   # the seed decodes greedily


def check_models(text: str | None) -> list[str]:
    names = list(DEFAULT_MODELS) if not text else [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if n not in MODELS]
    if bad or not names:
        raise InvalidArgumentError.for_argument("--models", text, "a comma-separated subset of " + ", ".join(MODELS))
    return names


def format_comparison(rows: list[dict]) -> str:
    """The comparison as an aligned text table.

    >>> print(format_comparison([{"model": "copy", "label": "copy baseline", "bleu": 7.8, "chrf": 27.6,
    ...                           "train_s": None, "epochs": None}]))
    model                                  BLEU   chrF  train s  epochs
    -------------------------------------------------------------------
    copy baseline                          7.80  27.60        -       -
    """
    head = f"{'model':36s} {'BLEU':>6s} {'chrF':>6s} {'train s':>8s} {'epochs':>7s}"
    lines = [head, "-" * len(head)]
    for r in rows:
        t = "-" if r["train_s"] is None else f"{r['train_s']:.0f}"
        e = "-" if r["epochs"] is None else str(r["epochs"])
        lines.append(f"{r['label']:36s} {r['bleu']:6.2f} {r['chrf']:6.2f} {t:>8s} {e:>7s}")
    return "\n".join(lines)


def _write(out: Path, rows: list[dict], base, data) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    atomic_write_text(out / "comparison.csv", buf.getvalue())
    src = "the LibreOffice help (en-US -> fr)" if base.libreoffice_help else Path(base.pairs).name
    md = ["# Seed 004: encoder-decoder translation, side by side", "",
          f"Data: {src}, {'a random ' + str(base.max_pairs) if base.max_pairs else 'all the'} pairs split "
          f"{','.join(map(str, base.split))} (seed {base.seed}), those with at most {base.max_len} tokens a side "
          f"kept: {', '.join(f'{p} {len(data.texts[p])}' for p in ('train', 'val', 'test'))}. {base.level} tokens, "
          f"vocabulary {base.vocab_size} per language. Model: {base.cell.upper()} {base.units} units, embeddings "
          f"{base.embedding_dim}, up to {base.epochs} epochs (Adam lr {base.lr}, early stopping on validation loss). "
          f"Decoding: {'greedy' if base.beam == 1 else f'beam {base.beam}'}. BLEU and chrF by sacrebleu on "
          "lower-cased word tokens.", "",
          "| model | BLEU | chrF | train s | epochs |", "|---|---|---|---|---|"]
    md += [f"| {r['label']} | {r['bleu']:.2f} | {r['chrf']:.2f} | {'-' if r['train_s'] is None else round(r['train_s'])}"
           f" | {'-' if r['epochs'] is None else r['epochs']} |" for r in rows]
    atomic_write_text(out / "comparison.md", "\n".join(md) + "\n")


def run_seed004_translate(base, models=None, out=None, log=print) -> list[dict]:
    """Train and score each model on the same prepared pairs; returns the comparison rows."""

    names = check_models(",".join(models) if models else None)
    say = (lambda *a: None) if base.quiet else log
    if out is not None and Path(out).is_dir() and has_content(out):
        raise InvalidArgumentError.for_argument("--out", str(out), "a new or empty directory",
                                                "Pass a new --out DIR; the recipe writes one sub-directory per model.")
    data = prepare_translate(base)               # read, split and tokenised once, before anything is written
    out = create_run_dir("seed004-translate", out)
    say(data.summary())
    rows = []
    for i, name in enumerate(names, 1):
        label, fields = MODELS[name]
        say(f"[{i}/{len(names)}] {label} ...")
        job = dataclasses.replace(base, **fields, out=str(out / name), name=name, quiet=True, resume=False)
        res = run_translate(job, data=data, log=say)
        if not rows:
            rows.append({"model": "copy", "label": "copy baseline (source as is)", **res["test"]["copy"],
                         "train_s": None, "epochs": None, "run_dir": None})
        rows.append({"model": name, "label": label, **res["test"]["model"], "train_s": res["train_seconds"],
                     "epochs": res["epochs"], "run_dir": name})
    _write(out, rows, base, data)
    return rows


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--models", help="comma-separated subset of: " + ", ".join(MODELS) +
                   f" (default {','.join(DEFAULT_MODELS)})")
    p.add_argument("--quick", action="store_true", help="smoke test: 1 epoch on 600 pairs, tiny models")
    add_options(p, TranslateConfig, skip=("attention", "reverse_source", "resume"), defaults=DEFAULTS)


def _run(args) -> int:
    quick = dict(max_pairs=600, epochs=1, units=32, embedding_dim=16, vocab_size=1000) if args.quick else {}
    base = config_from_args(TranslateConfig, args, **quick)
    if not base.pairs and not base.libreoffice_help:
        raise InvalidArgumentError.for_argument("--libreoffice-help", None, "the extracted LibreOffice help packages "
                                                "or --pairs FILE", "apt-get download libreoffice-help-en-us "
                                                "libreoffice-help-fr, dpkg -x each .deb into one DIR, pass DIR.")
    rows = run_seed004_translate(base, check_models(args.models), base.out)
    print(format_comparison(rows))
    return 0


RECIPES = (Recipe("seed004-translate", "seed 004: English-French encoder-decoder without attention, with reversed "
                   "source and with attention on the LibreOffice help; BLEU, chrF, copy baseline, training time",
                   _arguments, _run),)
