"""The files a notebook call writes for the command to read, in the command's own formats: IDX
images and labels (``rnnkit classify --idx``), UEA/UCR ``.ts`` series (``--ts``), CoNLL sentences
(``rnnkit tag --conll``), ``source<TAB>target`` pairs (``rnnkit translate train --pairs``) and token lines (``rnnkit predict`` on a tag run). Each checks what the
format cannot hold and says so in one paragraph.

    >>> import tempfile, numpy as np
    >>> from rnnkit.data.ucr import read_ts
    >>> path = tempfile.mkdtemp() + "/series.ts"
    >>> write_ts(path, [np.array([[0.1, 2.0], [np.nan, -3.5]], np.float32)], ["up"])
    >>> series, labels, _ = read_ts(path)           # float32 values read back exactly
    >>> np.array_equal(series[0], np.array([[0.1, 2.0], [np.nan, -3.5]], np.float32), equal_nan=True), labels
    (True, ['up'])
"""
from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np

from rnnkit.data.mnist_idx import IMAGES_MAGIC, LABELS_MAGIC, MNIST_FILES
from rnnkit.errors import InvalidArgumentError

__all__ = ["image_array", "write_idx_folder", "write_idx_images", "write_ts", "write_conll", "write_token_lines",
           "write_pairs"]


def image_array(images, argument: str = "images") -> np.ndarray:
    """``images`` as uint8 ``[N, rows, cols]``: integers 0-255 (the pixels of ``--idx`` files)."""
    x = np.asarray(images)
    if x.ndim != 3 or x.size == 0:
        raise InvalidArgumentError.for_argument(argument, f"an array of shape {x.shape}", "images N x rows x columns",
                                                "Stack the images into one numpy array first.")
    if not np.issubdtype(x.dtype, np.number) or not np.isfinite(x).all() or (x != np.round(x)).any() \
            or x.min() < 0 or x.max() > 255:
        raise InvalidArgumentError.for_argument(
            argument, f"{x.dtype} values in [{x.min()}, {x.max()}]", "whole pixel values 0-255 (as MNIST's IDX files)",
            "Scale images in [0, 1] with (x * 255).round().astype('uint8').")
    return x.astype(np.uint8)


def _idx(magic: int, array: np.ndarray) -> bytes:
    return struct.pack(f">I{array.ndim}I", magic, *array.shape) + array.astype(">u1").tobytes()


def write_idx_images(path, images: np.ndarray) -> None:
    Path(path).write_bytes(_idx(IMAGES_MAGIC, images))


def write_idx_folder(folder, images, labels, test_images=None, test_labels=None) -> None:
    """The MNIST-layout IDX files of ``--idx`` (the ``t10k`` pair only with a test set); labels are
    whole numbers 0-255, one per image."""
    sets = [(images, labels, "images", "labels")]
    if test_images is not None or test_labels is not None:
        sets.append((test_images, test_labels, "test_images", "test_labels"))
    for k, (x, y, xname, yname) in enumerate(sets):
        x = image_array(x, xname)
        y = np.asarray(y) if y is not None else np.zeros(0)
        if y.shape != (len(x),) or not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() > 255:
            raise InvalidArgumentError.for_argument(
                yname, f"{y.dtype} array of shape {y.shape}", f"{len(x)} whole-number labels 0-255, one per image",
                "Map class names to numbers first (e.g. with pandas.factorize).")
        Path(folder, MNIST_FILES[2 * k][:-3]).write_bytes(_idx(IMAGES_MAGIC, x))
        Path(folder, MNIST_FILES[2 * k + 1][:-3]).write_bytes(_idx(LABELS_MAGIC, y.astype(np.uint8)))


def _labels_text(labels, n: int, argument: str) -> list[str]:
    out = [str(v) for v in (labels if labels is not None else [])]
    if len(out) != n:
        raise InvalidArgumentError.for_argument(argument, f"{len(out)} labels", f"one label per series ({n})")
    bad = next((v for v in out if not v or any(c.isspace() or c in ":," for c in v)), None)
    if bad is not None:
        raise InvalidArgumentError.for_argument(argument, repr(bad), "labels without spaces, ':' or ','",
                                                "(a .ts file separates fields with them). Rename the classes.")
    return out


def write_ts(path, series, labels, argument: str = "series") -> None:
    """A ``.ts`` file of ``series`` (an array ``N x T x F`` or a list of ``[T_i, F]`` arrays;
    NaN written as ``?``) and their class labels (None: a file without labels, to classify); float32 values written so they read back exactly."""
    items = [np.asarray(s, np.float32) for s in series]
    if not items or any(s.ndim != 2 or s.shape[0] == 0 for s in items) or len({s.shape[1] for s in items}) != 1:
        raise InvalidArgumentError.for_argument(
            argument, f"{len(items)} series of shapes {sorted({s.shape for s in items})[:3]}",
            "series as an array N x steps x features (or a list of steps x features arrays, one feature count)")
    names = _labels_text(labels, len(items), "labels") if labels is not None else None
    header = "@classLabel true " + " ".join(sorted(set(names))) if names else "@classLabel false"
    lines = ["@problemName rnnkit", "@timeStamps false", "@missing " + str(any(np.isnan(s).any() for s in items)).lower(),
             f"@univariate {str(items[0].shape[1] == 1).lower()}", f"@dimensions {items[0].shape[1]}",
             f"@equalLength {str(len({len(s) for s in items}) == 1).lower()}",
             header, "@data"]
    for s, label in zip(items, names or [None] * len(items)):
        channels = [",".join("?" if math.isnan(v) else repr(v) for v in col.astype(np.float64).tolist()) for col in s.T]
        lines.append(":".join(channels) + ("" if label is None else ":" + label))
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def _tokens(sentence, where: str) -> list[str]:
    if isinstance(sentence, str) or not hasattr(sentence, "__iter__"):
        raise InvalidArgumentError.for_argument(where, type(sentence).__name__, "a list of tokens (strings)",
                                                "Split a sentence into tokens first: text.split().")
    toks = list(sentence)
    bad = next((t for t in toks if not isinstance(t, str) or not t or any(c.isspace() for c in t)), None)
    if bad is not None or not toks:
        raise InvalidArgumentError.for_argument(where, repr(bad) if toks else "no tokens",
                                                "tokens: non-empty strings without white space")
    return toks


def write_conll(path, sentences, tags) -> None:
    """A CoNLL file (token TAB tag per line, a blank line after each sentence) of ``rnnkit tag``."""
    sentences = list(sentences)
    tags = list(tags) if tags is not None else []
    if len(tags) != len(sentences):
        raise InvalidArgumentError.for_argument("tags", f"{len(tags)} tag lists", f"one per sentence ({len(sentences)})")
    blocks = []
    for i, (sent, tag) in enumerate(zip(sentences, tags)):
        toks, tg = _tokens(sent, f"sentences[{i}]"), _tokens(tag, f"tags[{i}]")
        if len(toks) != len(tg):
            raise InvalidArgumentError.for_argument(f"tags[{i}]", f"{len(tg)} tags", f"one per token ({len(toks)})")
        blocks.append("\n".join(f"{a}\t{b}" for a, b in zip(toks, tg)))
    Path(path).write_text("\n\n".join(blocks) + "\n", encoding="utf-8")


def write_token_lines(path, sentences) -> list[list[str]]:
    """One sentence per line, tokens separated by a space (what ``rnnkit predict`` reads for a tag run)."""
    rows = [_tokens(s, f"sentences[{i}]") for i, s in enumerate(sentences)]
    Path(path).write_text("".join(" ".join(r) + "\n" for r in rows), encoding="utf-8")
    return rows


def write_pairs(path, pairs, argument: str = "pairs") -> None:
    """A ``source<TAB>target`` file (``--pairs``) of ``(source, target)`` string pairs."""
    if isinstance(pairs, str) or not hasattr(pairs, "__iter__"):
        raise InvalidArgumentError.for_argument(argument, type(pairs).__name__, "a list of (source, target) pairs")
    lines = []
    for i, pair in enumerate(pairs):
        ok = isinstance(pair, (tuple, list)) and len(pair) == 2 and all(isinstance(t, str) for t in pair)
        if not ok or any(not t.strip() or "\t" in t or "\n" in t or "\r" in t for t in pair):
            raise InvalidArgumentError.for_argument(
                f"{argument}[{i}]", repr(pair)[:80], "a (source, target) pair of non-empty strings without tabs "
                "or line breaks")
        lines.append(f"{pair[0]}\t{pair[1]}\n")
    Path(path).write_text("".join(lines), encoding="utf-8")
