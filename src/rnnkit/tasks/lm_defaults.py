"""The language model's defaults, chosen by the data: the level (characters or words) and the vocabulary.

An option left unset (None) in :class:`~rnnkit.tasks.lm.LMConfig` is filled here once the
training text is read; the values chosen are what ``config.json`` records and the summary prints.

==================  ======================  =================================================
option              char (and bpe)          word
==================  ======================  =================================================
cell                gru                     lstm
bptt, batch_size    50, 32                  35, 20
units               256                     200
embedding_dim       64                      = units (tied)
dropout             0.1                     0.2 up to 256 units, 0.5 up to 1024, 0.65 above
tie_weights         no                      yes with the full softmax and equal sizes
adaptive_softmax    no                      from ``ADAPTIVE_FROM`` (50k) ids on (cutoffs 2k, 10k, 50k)
optimizer, lr       adam 3e-3               sgd 20
clip_norm           1.0                     0.25
lr_schedule         cosine                  plateau
lr_patience/factor  off / 0.5               0 / 0.25 (lr / 4 after an epoch without progress)
patience            off                     3 (best weights restored)
==================  ======================  =================================================

The word column is PyTorch's word-language-model example (2 x 200 LSTM, SGD lr 20, clip 0.25,
bptt 35, batch 20, lr / 4 on a validation plateau) with tying and an adaptive softmax for large
vocabularies. The char column is seed 002's char-rnn (2 x 256) made a GRU of 32 streams with a
cosine schedule, measured on the embedded Shakespeare on one thread of a Sapphire Rapids (10-minute
budget, validation nats/char at 2 / 5 / 10 minutes): LSTM of 64 streams 2.04 / 1.80 / 1.71, of 32
1.93 / 1.72 / 1.65, GRU of 32 1.72 / 1.59 / 1.54 (the GRU's step is also ~20% cheaper). The
cosine schedule spends the whole budget (``--epochs``, or ``--max-minutes`` when that ends first: warmup over 2% of it, then
down to a tenth of ``lr``; :mod:`rnnkit.training.schedules`). An ``--lr-patience`` given without
``--lr-schedule`` picks the plateau schedule; ``--lr-schedule cosine`` turns the plateau drops off.

    >>> from rnnkit.tasks.lm import LMConfig
    >>> cfg, chosen = with_defaults(LMConfig(level="word"), vocab_size=10_001)
    >>> cfg.bptt, cfg.batch_size, cfg.units, cfg.embedding_dim, cfg.optimizer, cfg.lr, cfg.tie_weights
    (35, 20, 200, 200, 'sgd', 20.0, True)
    >>> with_defaults(LMConfig(level="word"), vocab_size=60_000)[0].adaptive_softmax
    True
    >>> default_cutoffs(10_001), default_cutoffs(60_000)
    ([2000], [2000, 10000, 50000])
    >>> with_defaults(LMConfig(), vocab_size=65)[0].cell, with_defaults(LMConfig(level="word"), vocab_size=65)[0].cell
    ('gru', 'lstm')
    >>> [with_defaults(LMConfig(**kw), vocab_size=65)[0].lr_schedule for kw in ({}, {"lr_patience": 2})]
    ['cosine', 'plateau']
"""
from __future__ import annotations

import dataclasses

from rnnkit.errors import InvalidArgumentError
from rnnkit.training.schedules import SCHEDULES

__all__ = ["with_defaults", "default_cutoffs", "check_chosen", "CHOSEN", "ADAPTIVE_FROM"]

# Up to this many ids the full softmax, tied to the embedding, costs less in perplexity than the
# adaptive one saves in time (a 10k-word corpus, 1 epoch, 2 x 200 LSTM: tied full 204 ppl in 115 s,
# untied adaptive 214 in ~85 s; tying alone is worth 110 vs 118 ppl in the PyTorch example's PTB
# numbers); from here on the output layer's cost (linear in the ids) dominates every step.
ADAPTIVE_FROM = 50_000
CHOSEN = ("tokenized", "cell", "bptt", "batch_size", "embedding_dim", "units", "dropout", "tie_weights",
          "adaptive_softmax", "optimizer", "lr", "clip_norm", "lr_schedule", "lr_patience", "lr_factor", "patience")
CHAR = {"cell": "gru", "bptt": 50, "batch_size": 32, "units": 256, "embedding_dim": 64, "dropout": 0.1,
        "tie_weights": False, "adaptive_softmax": False, "optimizer": "adam", "lr": 3e-3, "clip_norm": 1.0,
        "lr_schedule": "cosine", "lr_patience": -1, "lr_factor": 0.5, "patience": 0}
WORD = {"cell": "lstm", "bptt": 35, "batch_size": 20, "units": 200, "optimizer": "sgd", "lr": 20.0, "clip_norm": 0.25,
        "lr_schedule": "plateau", "lr_patience": 0, "lr_factor": 0.25, "patience": 3}


def default_cutoffs(vocab_size: int) -> list[int]:
    """The adaptive softmax's cluster starts for ``vocab_size`` ids: 2k, 10k, 50k below the end."""
    return [c for c in (2000, 10000, 50000) if c < vocab_size - 1000] or [max(1, vocab_size // 5)]


def word_dropout(hidden_size: int) -> float:
    """Dropout sized to the model (Zaremba et al.'s small, medium and large: 0, 0.5, 0.65; 0.2 for
    the PyTorch example's 200 units)."""
    return 0.2 if hidden_size <= 256 else 0.5 if hidden_size <= 1024 else 0.65


def with_defaults(cfg, vocab_size: int, tokenized: bool = False):
    """``(config with every unset option chosen, {option: value chosen})`` for a training text of
    ``vocab_size`` ids (``tokenized``: what :func:`~rnnkit.tasks.lm_text.looks_tokenized` found)."""
    given = {k: getattr(cfg, k) for k in CHOSEN if getattr(cfg, k) is not None}
    if cfg.level != "word":
        values = dict(CHAR, tokenized=False)
    else:
        hidden = given.get("units", WORD["units"])
        adaptive = given.get("adaptive_softmax", vocab_size >= ADAPTIVE_FROM)
        tie = given.get("tie_weights", not adaptive and given.get("embedding_dim", hidden) == hidden)
        values = dict(WORD, tokenized=tokenized, dropout=word_dropout(hidden), adaptive_softmax=adaptive,
                      tie_weights=tie, embedding_dim=hidden if tie else given.get("embedding_dim", hidden))
    if given.get("lr_patience", -1) != -1:          # a plateau asked for: that schedule
        values["lr_schedule"] = "plateau"
    if given.get("lr_schedule") == "cosine":        # the cosine alone sets the rate
        values["lr_patience"] = -1
    chosen = {k: v for k, v in values.items() if k not in given}
    return dataclasses.replace(cfg, **chosen), chosen


def _bad(name: str, value, expected: str):
    return InvalidArgumentError.for_argument("--" + name.replace("_", "-"), value, expected)


def check_chosen(cfg) -> None:
    """Refuse a given value of a data-chosen option that can never be right (None: chosen later)."""
    num = (int, float)
    checks = {"lr": lambda v: isinstance(v, num) and v > 0, "clip_norm": lambda v: isinstance(v, num) and v >= 0,
              "lr_factor": lambda v: isinstance(v, num) and 0 < v < 1,
              "dropout": lambda v: isinstance(v, num) and 0 <= v < 1,
              "lr_patience": lambda v: isinstance(v, int) and v >= -1, "patience": lambda v: isinstance(v, int) and v >= 0}
    expected = {"lr": "a positive number", "clip_norm": "a number >= 0 (0 = off)", "lr_factor": "a number in (0, 1)",
                "dropout": "a rate in [0, 1)", "lr_patience": "an integer >= -1 (-1 = off)",
                "patience": "an integer >= 0 (0 = off)"}
    for name, ok in checks.items():
        v = getattr(cfg, name)
        if v is not None and (isinstance(v, bool) or not ok(v)):
            raise _bad(name, v, expected[name])
    if cfg.lr_schedule not in (None,) + SCHEDULES:
        raise _bad("lr_schedule", cfg.lr_schedule, f"one of {SCHEDULES}")
    if cfg.lr_schedule == "cosine" and cfg.lr_patience not in (None, -1):
        raise InvalidArgumentError.for_argument(
            "--lr-patience", cfg.lr_patience, "-1 (off) with --lr-schedule cosine",
            "Both would set the learning rate: drop one of --lr-patience and --lr-schedule cosine.")
    if cfg.tokenized and cfg.level != "word":
        raise InvalidArgumentError.for_argument("--tokenized", True, "--level word",
                                                "A pre-tokenised corpus is read word by word: add --level word.")
