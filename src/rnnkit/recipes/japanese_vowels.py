"""JapaneseVowels: variable-length multivariate series (7-29 steps of 12 LPC cepstrum coefficients,
9 speakers), classified by recurrent models that take the lengths (padding never enters a state).

    $ rnnkit recipe japanese-vowels [--data DIR] [--models lstm,bigru] [--out DIR]

Data: the UEA archive's ``JapaneseVowels_TRAIN.ts`` / ``_TEST.ts`` (270 / 370 series) in the
``aeon`` wheel (``pip download --no-deps aeon==1.6.0 -d DIR`` and ``--data DIR``, or an installed
aeon or sktime); the official test split is the test set, 1/9 of the training series (stratified)
validate (the learning rate drops x0.1 after 6 epochs without a better
validation loss; 60 epochs, no early stopping: 30 validation series are too few to stop on). Channels are standardised with the training series' valid steps. Published (Fawaz et al.
2019, "Deep learning for time series classification: a review", mean test accuracy): FCN 99.3%,
ResNet 99.2%, InceptionTime 99.2%, MLP 97.6% - shown beside ours, marked as published.

    >>> [m.name for m in MODELS]
    ['lstm', 'bigru', 'conv1d-lstm']
"""
from __future__ import annotations

from rnnkit.recipes.classify_compare import ClassifyModel, add_common_arguments, check_models, run_models
from rnnkit.recipes.recipe import Recipe
from rnnkit.tasks.classify import ClassifyConfig
from rnnkit.data.ucr import japanese_vowels
from rnnkit.errors import InvalidArgumentError
from rnnkit.tasks.classify_data import series_data
from rnnkit.training.distributed import is_main

__all__ = ["MODELS", "RECIPES", "base_config", "PUBLISHED"]

PUBLISHED = "FCN 99.3%, ResNet 99.2%, InceptionTime 99.2%, MLP 97.6% (Fawaz et al. 2019)"
MODELS = (
    ClassifyModel("lstm", "LSTM 64, last valid state", {"cell": "lstm", "units": 64}, PUBLISHED),
    ClassifyModel("bigru", "bidirectional GRU 64, mean over valid steps",
                  {"cell": "gru", "units": 64, "bidirectional": True, "pooling": "mean"}, ""),
    ClassifyModel("conv1d-lstm", "Conv1D 64 (kernel 3) then LSTM 64",
                  {"cell": "lstm", "units": 64, "conv_filters": 64, "conv_kernel": 3, "pool_size": 1}, ""),
)


def base_config(**kw) -> ClassifyConfig:
    return ClassifyConfig(**(dict(preset="seed", split=(0.8, 0.1, 0.1), epochs=60, patience=0, lr_patience=6, batch_size=16,
                                optimizer="adam", lr=2e-3, dropout=0.1, head_dropout=0.2) | kw))


def _arguments(p) -> None:
    p.add_argument("--data", help="folder with the downloaded aeon wheel (default: the installed aeon or sktime)")
    add_common_arguments(p, MODELS, 60)


def _run(args) -> int:
    chosen = check_models(args.models, MODELS)
    if args.epochs < 1:
        raise InvalidArgumentError.for_argument("--epochs", args.epochs, "a positive integer")
    base = base_config(epochs=1 if args.quick else args.epochs, seed=args.seed, quiet=args.quiet, device=args.device)
    train, test = japanese_vowels(args.data)
    data = series_data(tuple(train[:2]), tuple(test[:2]), split=base.split, seed=base.seed,
                       where="JapaneseVowels_TRAIN.ts", test_where="JapaneseVowels_TEST.ts")
    if not args.quiet and is_main():          # one summary under torchrun
        print(data.summary())
    run_models("japanese-vowels", base, chosen, data, args.out, published_label="published (not measured here)")
    return 0


RECIPES = (
    Recipe("japanese-vowels", "UEA JapaneseVowels: variable-length 12-channel series, 9 classes, with lengths "
           "(LSTM, bi-GRU, Conv1D+LSTM) beside published FCN/ResNet/InceptionTime numbers", _arguments, _run),
)
