"""How ``rnnkit classify`` chooses the options a user leaves out: by the kind and size of the data.

Every option listed in :data:`CHOSEN` defaults to None ("not given"); :func:`resolve` fills the
ones left None and keeps every one given. Two presets:

- ``seed``: the seed's small model, as rnnkit shipped it first (LSTM 32 on the last state,
  RMSprop 1e-3, batch 128, at most 10 epochs, patience 3). The recipes use it.
- ``auto`` (the default): the best model measured for the kind of input, sized by the data
  (see :func:`auto_choices`; the measured results are on the docs' Default results page,
  docs/defaults.md). Texts: a bidirectional GRU with the maximum over the valid steps, dropout, and a linear bag of unigrams and hashed bigrams
  trained jointly ("wide and deep", :class:`~rnnkit.models.ngram_bag.NgramBag`), so the model
  starts where a TF-IDF logistic regression ends; images read row by row: a Conv1D over 3
  neighbouring rows, then a bidirectional GRU 128 with the mean over the steps; series: a
  bidirectional GRU 64 with the mean over the steps. Adam, learning rate x0.1 on a validation
  plateau, early stopping with the best weights restored under a generous epoch cap.

The choice is recorded in ``config.json`` (``"defaults"``) and printed.

    >>> from types import SimpleNamespace
    >>> import numpy as np
    >>> train = SimpleNamespace(y=np.zeros(20000, int), lengths=np.full(20000, 230))
    >>> data = SimpleNamespace(kind="text", parts={"train": train}, classes=["neg", "pos"])
    >>> c = auto_choices(data)
    >>> c["cell"], c["bidirectional"], c["pooling"], c["wide_buckets"]
    ('gru', True, 'max', 1048576)
"""
from __future__ import annotations

import copy

import numpy as np

__all__ = ["CHOSEN", "SEED", "PRESETS", "auto_choices", "resolve", "describe"]

PRESETS = ("auto", "seed")
# the seed's defaults of every option a preset chooses
SEED = {"cell": "lstm", "units": 32, "bidirectional": False, "dropout": 0.0, "head_dropout": 0.0, "pooling": None,
        "embedding_dim": None, "wide_buckets": 0, "conv_filters": 0, "conv_kernel": 7, "pool_size": 5, "epochs": 10, "batch_size": 128, "optimizer": "rmsprop",
        "lr": 1e-3, "patience": 3, "lr_patience": 0}
CHOSEN = tuple(SEED)


def _pow2(n: float, low: int, high: int) -> int:
    """The power of two at or above ``n``, within ``[low, high]``."""
    return int(min(high, max(low, 2 ** int(np.ceil(np.log2(max(n, 1)))))))


def auto_choices(data) -> dict:
    """The ``auto`` preset's value of every option in :data:`CHOSEN` for ``data`` (a
    :class:`~rnnkit.tasks.classify_data.ClassifyData`): rules on the kind of input, the number
    of training examples and their lengths, never on validation or test results."""
    train = data.parts["train"]
    n = len(train.y)
    common = {"cell": "gru", "bidirectional": True, "optimizer": "adam", "lr_patience": 1, "epochs": 60,
              "conv_filters": 0, "conv_kernel": 7, "pool_size": 5}
    if data.kind == "text":
        tokens = float(np.sum(train.lengths))
        return {**common, "units": 64, "pooling": "max", "embedding_dim": 64,
                "dropout": 0.2, "head_dropout": 0.5 if n < 5000 else 0.3,
                # about one bigram row per training token: few collisions, small for short corpora
                "wide_buckets": _pow2(tokens, 2 ** 14, 2 ** 20),
                # the bag fits the training texts within 2-3 epochs: stop 2 epochs after the best
                "batch_size": 64 if n < 10000 else 128, "lr": 1e-3, "patience": 2}
    if data.kind == "image":
        # a Conv1D over 3 neighbouring rows first; the learning rate x0.1 after 4 epochs without progress,
        # stop after 10 (chosen on the MNIST 5k validation part, 3 seeds); half that on large sets
        return {**common, "units": 128, "pooling": "mean", "embedding_dim": None, "dropout": 0.1,
                "head_dropout": 0.2, "wide_buckets": 0, "batch_size": 64 if n < 10000 else 128, "lr": 2e-3,
                "conv_filters": 64, "conv_kernel": 3, "pool_size": 1,
                "lr_patience": 3 if n < 20000 else 2, "patience": 10 if n < 20000 else 5}
    # series: few and short (JapaneseVowels: 240 training series of 7-29 steps)
    return {**common, "units": 64, "pooling": "mean", "embedding_dim": None, "dropout": 0.1, "head_dropout": 0.2,
            "wide_buckets": 0, "batch_size": 16 if n < 2000 else 64, "lr": 2e-3, "lr_patience": 6,
            "patience": 0 if n < 2000 else 6}


def _fit_to_given(choices: dict, config) -> dict:
    """Adjust the choices to the options the user gave (a conv body reads one way, max-pools)."""
    if config.cell == "conv":
        choices = {**choices, "bidirectional": False, "pooling": None, "conv_filters": 0}
    if config.glove:                        # the vectors' width
        choices = {**choices, "embedding_dim": None}
    return choices


def resolve(config, data=None):
    """``(config with every option of CHOSEN set, {option: value} of those chosen here)``.
    Without ``data`` (checking options before any data is read) the seed's values fill in."""
    preset = getattr(config, "preset", "seed")
    base = SEED if preset == "seed" or data is None else auto_choices(data)
    base = _fit_to_given(base, config)
    chosen = {k: v for k, v in base.items() if getattr(config, k) is None and v is not None}
    resolved = copy.copy(config)            # no __post_init__ again: it resolves to check the options
    for k, v in chosen.items():
        setattr(resolved, k, v)
    return resolved, chosen


def describe(config, chosen: dict, data) -> str:
    """The printed line: the preset, what it read of the data, and the values it chose."""
    train = data.parts["train"]
    what = f"{len(train.y)} training examples"
    if data.kind == "text":
        p50, p95 = np.percentile(train.lengths, [50, 95]) if len(train.lengths) else (0, 0)
        what += f", median {p50:.0f} / 95th percentile {p95:.0f} tokens"
    if not chosen:
        return f"defaults (--preset {config.preset}): every option given"
    shown = ", ".join(f"{k.replace('_', '-')} {v}" for k, v in chosen.items())
    return f"defaults (--preset {config.preset}, {data.kind}, {what}): {shown}"
