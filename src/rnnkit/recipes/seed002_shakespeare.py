"""``rnnkit recipe seed002-shakespeare``: seed 002's character model writing Shakespeare.

Karpathy's char-rnn shape (2 layers of 256 units) on the embedded ~1 MB Shakespeare slice, as
the character defaults of ``rnnkit lm`` have it: a GRU trained with stateful truncated BPTT (32
streams x windows of 50 characters, the state carried across windows), Adam at 3e-3 on a cosine
schedule to the time budget (warmup, then down to a tenth when ``--max-minutes`` ends;
:mod:`rnnkit.training.schedules`), evaluated every 160 windows; it stops after the epoch that ends
past ``--max-minutes`` (default 5) of wall time and prints when validation passed 1.88 and
1.60 nats per character (nanoGPT's CPU anchor and the 20-minute goal), the validation and test
numbers, a sample, and writes the curve (validation loss against wall time) to
``val_loss_time.png`` in the run directory. Every ``rnnkit lm train`` option is accepted
(``--cell lstm --batch-size 64 --lr-schedule plateau --lr-patience 2`` is the recipe before 2026-12-05).

    >>> p = __import__("argparse").ArgumentParser(); _arguments(p)
    >>> a = p.parse_args([]); (a.level, a.cell, a.layers, a.units, a.batch_size, a.lr_schedule, a.max_minutes)
    ('char', 'gru', 2, 256, 32, 'cosine', 5.0)
"""
from __future__ import annotations

import argparse

from rnnkit.recipes.recipe import Recipe
from rnnkit.tasks.options import config_from_args
from rnnkit.tasks.lm import LMConfig, run_lm
from rnnkit.tasks.lm_cli import add_train_options

__all__ = ["RECIPES", "DEFAULTS", "minutes_to"]

DEFAULTS = dict(level="char", cell="gru", layers=2, units=256, embedding_dim=64, bptt=50,
                batch_size=32, windows_per_epoch=160, dropout=0.1, lr=3e-3, clip_norm=1.0, lr_schedule="cosine",
                epochs=1000,
                max_minutes=5.0, sample_length=600, prompt="HAMLET.\n", temperature=0.8)
THRESHOLDS = (1.88, 1.60)


def _arguments(p: argparse.ArgumentParser) -> None:
    add_train_options(p, defaults=DEFAULTS)


def minutes_to(rows: list[dict], threshold: float) -> float | None:
    """Wall minutes (cumulative epoch times) when ``val_loss`` first reached ``threshold``."""
    t = 0.0
    for r in rows:
        t += r.get("time", 0.0)
        if r.get("val_loss", float("inf")) <= threshold:
            return t / 60
    return None


def _run(args) -> int:
    cfg = config_from_args(LMConfig, args, resume=bool(args.resume))
    result = run_lm(cfg)
    for th in THRESHOLDS:
        m = minutes_to(result["history"], th)
        print(f"validation <= {th:.2f} nats/char: " + (f"after {m:.1f} min" if m is not None else "not reached"))
    best = min(r["val_loss"] for r in result["history"])
    print(f"best validation (per epoch, full windows) {best:.4f} nats/char; curve: {result['run_dir']}/val_loss_time.png")
    return 0


RECIPES = (
    Recipe("seed002-shakespeare",
           "seed 002: 2-layer char-LSTM on the embedded Shakespeare with stateful truncated BPTT; "
           "minutes to 1.88 and 1.60 nats/char, bits/char, a sample, the loss-vs-time PNG",
           _arguments, _run, aliases=("seed002",)),
)
