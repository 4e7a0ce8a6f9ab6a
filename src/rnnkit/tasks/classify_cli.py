"""``rnnkit classify`` (options generated from :class:`~rnnkit.tasks.classify.ClassifyConfig`) and
``rnnkit predict --run DIR`` for classify runs.

    $ rnnkit classify --csv reviews.csv --text-col text --label-col label --max-len 500 --out runs/imdb
    $ rnnkit classify --idx mnist/ --cell rnn --units 150
    $ rnnkit classify --ts JapaneseVowels_TRAIN.ts --test-ts JapaneseVowels_TEST.ts
    $ rnnkit predict --run runs/imdb --csv new_reviews.csv [--output predictions.csv]

Predict input by kind of run: text runs read ``--csv`` with the run's text column; image runs an
IDX images file (``t10k-images-idx3-ubyte[.gz]``, magic 2051, told by its first bytes) or a CSV
whose first ``rows * cols`` numeric columns are the pixels (0-255, row by row; a column named
``label`` is ignored); series runs a ``.ts`` file. It prints one row per input: the predicted label
and its probability, and writes nothing into the run directory.

    >>> import argparse
    >>> sub = argparse.ArgumentParser().add_subparsers()
    >>> TASK.add_commands(sub)
    >>> sorted(sub.choices)
    ['classify']
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rnnkit.data._checks import listing
from rnnkit.errors import InvalidArgumentError
from rnnkit.tasks.classify import ClassifyConfig, ClassifyTask, load_classifier, predict_proba
from rnnkit.data.series import read_table
from rnnkit.data.ucr import pad_series, read_ts
from rnnkit.tasks.classify_data import scale_series
from rnnkit.data.mnist_idx import IMAGES_MAGIC, read_idx
from rnnkit.tasks.output import check_output
from rnnkit.training import atomic_write_text
from rnnkit.training.device import resolve_device

__all__ = ["predict_command", "predict_table"]


def _inputs(kind: str, job: ClassifyConfig, run_cfg: dict, encoder, path: str):
    if kind == "text":
        df = read_table(path, encoding=job.encoding)
        if job.text_col not in df.columns:
            raise InvalidArgumentError.for_argument(
                "--csv", path, f"a CSV with the run's text column {job.text_col!r}",
                f"Its columns are {listing(df.columns)}.")
        texts = df[job.text_col].where(df[job.text_col].notna(), "").astype(str).tolist()
        ids, lengths = encoder.transform(texts)
        return ids, np.maximum(lengths, 1)
    if kind == "image":
        if _is_idx_images(path):
            return _idx_images(path, run_cfg)
        df = read_table(path)
        df = df.drop(columns=[c for c in df.columns if str(c).lower() == "label"])
        n = int(run_cfg["data"]["n_features"])
        values = df.apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
        if values.shape[1] < n * n or not np.isfinite(values[:, :n * n]).all():
            raise InvalidArgumentError.for_argument(
                "--csv", path, f"{n * n} numeric pixel columns (0-255, one image of {n} rows of {n} per CSV row)",
                f"It has {values.shape[1]} columns, or missing/non-numeric values among the first {n * n}.")
        x = (values[:, :n * n].reshape(-1, n, n) / float(run_cfg["data"]["scaling"].get("divide", 255.0)))
        return x.astype(np.float32), np.full(len(x), n, np.int64)
    series = read_ts(path)[0]
    x, lengths = pad_series(series)
    if x.shape[2] != int(run_cfg["data"]["n_features"]):
        raise InvalidArgumentError.for_argument("--csv", path, f"series with {run_cfg['data']['n_features']} channels",
                                                f"They have {x.shape[2]}.")
    return scale_series(x.astype(np.float32), lengths, run_cfg["data"]["scaling"]), np.maximum(lengths, 1)


def _is_idx_images(path: str) -> bool:
    """True when ``path`` (gzipped or not) starts with the IDX images magic number 2051."""
    import gzip
    try:
        with open(path, "rb") as f:
            head = f.read(4)
        if head[:2] == b"\x1f\x8b":
            with gzip.open(path, "rb") as f:
                head = f.read(4)
    except (OSError, EOFError):
        return False            # read_table gives the error for a missing or unreadable file
    return head == IMAGES_MAGIC.to_bytes(4, "big")


def _idx_images(path: str, run_cfg: dict):
    x = read_idx(path, expect_magic=IMAGES_MAGIC)
    n = int(run_cfg["data"]["n_features"])
    if x.ndim != 3 or x.shape[1:] != (n, n):
        raise InvalidArgumentError.for_argument(
            "--csv", path, f"IDX images of {n} rows of {n} pixels, as the run was trained on",
            f"They are {' x '.join(map(str, x.shape[1:]))}.")
    divide = float(run_cfg["data"]["scaling"].get("divide", 255.0))
    return (x.astype(np.float32) / divide), np.full(len(x), n, np.int64)


def predict_table(run_dir, path: str, device: str = "cpu") -> pd.DataFrame:
    """``row, label, probability`` for every input of ``path`` (see the module docstring), the
    model run on ``device`` (a ``--device`` name)."""
    where = resolve_device(device)
    model, job, cfg, encoder = load_classifier(run_dir)
    model.to(where)
    if path is None:
        raise InvalidArgumentError.for_argument("--csv", None, "the file to classify",
                                                "Pass --csv FILE (a .ts file for a series run).")
    x, lengths = _inputs(cfg["data"]["kind"], job, cfg, encoder, path)
    if len(lengths) == 0:
        raise InvalidArgumentError.for_argument("--csv", path, "at least one row to classify")
    proba = predict_proba(model, x, lengths)
    classes = cfg["data"]["classes"]
    pred = proba.argmax(1)
    return pd.DataFrame({"row": np.arange(len(pred)), "label": [classes[i] for i in pred],
                         "probability": proba[np.arange(len(pred)), pred].round(4)})


def predict_command(args) -> int:
    """``rnnkit predict --run DIR --csv FILE [--output FILE [--force]]`` for a classify run."""

    if args.output:
        check_output(args.output, args.run, args.force)
    table = predict_table(args.run, args.csv, getattr(args, "device", "cpu"))
    if args.output:
        atomic_write_text(Path(args.output), table.to_csv(index=False))
    print(table.to_string(index=False))
    return 0


class ClassifyCommands(ClassifyTask):
    """The classify task with its commands: ``rnnkit classify`` and ``rnnkit predict`` for its runs."""

    help = "train a sequence classifier (texts, images row by row, series)"
    description = ("Train a sequence classifier on texts (--csv), MNIST-layout IDX images read row by row (--idx) "
                   "or UEA/UCR series (--ts); print test accuracy and macro-F1 beside the majority-class (and, for "
                   "text, TF-IDF logistic-regression) baseline; write a run directory.")

    def predict(self, args) -> int:
        return predict_command(args)


# the classify task, as the registry (rnnkit.tasks.registry) serves it
TASK = ClassifyCommands()
