"""The data of ``rnnkit classify``: texts from a CSV, MNIST images read row by row, UEA/UCR series.

Every source ends as :class:`ClassifyData`: train/val/test :class:`Part` s of inputs (token ids, or
numbers per step), lengths (>= 1; padding after them) and integer labels, the class names (from the
training part only) and what predict needs to encode new input the same way (the text encoder,
the feature scaling). Everything is checked before a run directory is touched.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"text": ["good film", "bad film", "great", "awful"] * 5, "label": ["pos", "neg"] * 10})
    >>> data = text_data(df, None, "text", "label", split=(0.6, 0.2, 0.2), seed=0, maxlen=10, max_tokens=100)
    >>> data.classes, [len(data.parts[p].y) for p in ("train", "val", "test")]
    (['neg', 'pos'], [12, 4, 4])
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from rnnkit.data._checks import listing, shown
from rnnkit.errors import DataError, InvalidArgumentError
from rnnkit.data.text_encoder import TextEncoder
from rnnkit.data.ucr import pad_series
from rnnkit.memory import check_fits

__all__ = ["Part", "ClassifyData", "text_data", "image_data", "series_data", "split_indices", "label_ids",
           "scale_series"]

PARTS = ("train", "val", "test")


@dataclass
class Part:
    """One part: ``x`` ids ``[N, L]`` (int64) or numbers ``[N, T, C]`` (float32), ``lengths`` [N]
    (>= 1), ``y`` [N] class ids, ``texts`` the raw texts (text data) and ``rows`` the row numbers
    in the source (for the misclassified-examples CSV)."""

    x: np.ndarray
    lengths: np.ndarray
    y: np.ndarray
    rows: np.ndarray
    texts: list | None = None

    def take(self, index) -> "Part":
        return Part(self.x[index], self.lengths[index], self.y[index], self.rows[index],
                    None if self.texts is None else [self.texts[i] for i in index])


@dataclass
class ClassifyData:
    kind: str                       # "text", "image" or "series"
    parts: dict
    classes: list
    encoder: object = None          # TextEncoder for text
    n_features: int = 0             # numbers per step (0 for text)
    scaling: dict = field(default_factory=dict)   # {"mean": [...], "std": [...]} or {"divide": 255}
    source: dict = field(default_factory=dict)    # the files read (path, sha256): the run's "source"
    chosen: dict = field(default_factory=dict)    # the defaults the data chose (classify_defaults.resolve)

    def summary(self) -> str:
        sizes = ", ".join(f"{p} {len(self.parts[p].y)}" for p in PARTS)
        what = (f"vocabulary {len(self.encoder.vocabulary)} tokens" if self.encoder is not None
                else f"{self.n_features} features per step")
        return f"{self.kind} data: {sizes}; {len(self.classes)} classes; {what}"


def _sort_key(values):
    try:
        return sorted(values, key=float)
    except ValueError:
        return sorted(values)


def label_ids(labels, classes: list | None, argument: str, where: str) -> tuple[np.ndarray, list]:
    """Labels -> (ids, classes). ``classes`` None: the sorted distinct labels (at least 2); else
    a label outside ``classes`` is an error naming it."""
    s = pd.Series(labels)
    missing = s.isna().to_numpy()
    if missing.any():
        raise DataError(f"{where}: {int(missing.sum())} row(s) have no label in `{argument}` (first at row "
                        f"{int(np.argmax(missing))}). Give every row a label, or drop those rows.")
    s = s.astype(str)
    if classes is None:
        classes = _sort_key(s.unique().tolist())
        if not classes:
            raise DataError(f"{where}: the training part has no rows, so no class to learn. Give more rows (at least "
                            "a few per class), or a larger first --split fraction.")
        if len(classes) < 2:
            raise DataError(f"{where}: `{argument}` has a single class ({shown(classes[0])} for all {len(s)} rows) in the "
                            "training data: there is nothing to tell apart. Give data with at least two classes "
                            "(check --label-col).")
    index = {c: i for i, c in enumerate(classes)}
    unseen = sorted(set(s) - set(index))
    if unseen:
        raise DataError(f"{where}: label(s) {listing(unseen, 5)} in `{argument}` never occur in the training data "
                        f"(whose classes are {listing(classes, 10)}). A model cannot predict a class it never saw: move "
                        "such rows into the training data, or drop them.")
    return s.map(index).to_numpy(np.int64), classes


def split_indices(y: np.ndarray, fractions, seed: int) -> list[np.ndarray]:
    """Shuffled, stratified (when every class has 2+ rows) index arrays, one per fraction."""
    from sklearn.model_selection import train_test_split

    fractions = [float(f) for f in fractions]
    idx, out, rest = np.arange(len(y)), [], 1.0
    for k, f in enumerate(fractions[:-1]):
        share = f / rest if rest > 0 else 0.0
        if share <= 0 or len(idx) < 2:
            out.append(idx[:0])
            continue
        if share >= 1:
            take, idx = idx, idx[:0]
        else:
            try:        # stratified when every class can be represented in both pieces
                take, idx = train_test_split(idx, train_size=share, random_state=seed + k, stratify=y[idx])
            except ValueError:
                take, idx = train_test_split(idx, train_size=share, random_state=seed + k)
        out.append(np.sort(take))
        rest -= f
    out.append(np.sort(idx))
    return out


def _parts_from(y, fractions, seed, make) -> dict:
    names = PARTS if len(fractions) == 3 else ("train", "val")
    return dict(zip(names, (make(i) for i in split_indices(y, fractions, seed))))


def _texts(df: pd.DataFrame, col: str, where: str, argument: str) -> list:
    if col not in df.columns:
        raise DataError(f"{where}: the column {col!r} given as `{argument}` is not in the table. Available columns: "
                        f"{listing(df.columns)}. Fix the name (it is case-sensitive).")
    s = df[col]
    present = s.notna() & (s.astype(str).str.strip() != "")
    if not present.any():
        raise DataError(f"{where}: the text column {col!r} (`{argument}`) is empty: all {len(s)} rows are missing or "
                        "blank. Pass the column that holds the texts with --text-col.")
    return s.where(s.notna(), "").astype(str).tolist()


def text_data(df: pd.DataFrame, test_df: pd.DataFrame | None, text_col: str, label_col: str, *, split, seed: int,
              maxlen: int | None, max_tokens: int | None, min_freq: int = 1, level: str = "word",
              lower: bool = True, truncating: str = "post", where: str = "--csv",
              test_where: str = "--test-csv") -> ClassifyData:
    """Texts and labels of a table (and an optional test table) -> :class:`ClassifyData`; the
    encoder is fitted on the training part only."""

    texts = _texts(df, text_col, where, "--text-col")
    if label_col not in df.columns:
        raise DataError(f"{where}: the column {label_col!r} given as `--label-col` is not in the table. Available "
                        f"columns: {listing(df.columns)}.")
    fractions = tuple(split) if test_df is None else _train_val(split)
    y_all = pd.Series(df[label_col].to_numpy())
    if y_all.isna().any():
        label_ids(y_all, None, "--label-col", where)          # raises, naming the first row
    y_str = y_all.astype(str).to_numpy()
    order = {c: i for i, c in enumerate(_sort_key(pd.unique(y_str).tolist()))}
    pieces = split_indices(np.array([order[v] for v in y_str], np.int64), fractions, seed)
    train_idx = pieces[0]
    y_train, classes = label_ids(y_str[train_idx], None, "--label-col", where)
    encoder = TextEncoder(level=level, lower=lower, max_tokens=max_tokens, min_freq=min_freq, maxlen=maxlen,
                          truncating=truncating)
    encoder.fit([texts[i] for i in train_idx])
    if len(encoder.vocabulary) <= 2:
        raise DataError(f"{where}: the training texts of column {text_col!r} hold no tokens at all. Check --text-col.")

    def part(idx, part_texts, labels, name, w):
        ids, lengths = encoder.transform(part_texts)
        y, _ = label_ids(labels, classes, "--label-col", f"{w} ({name} part)")
        return Part(ids, np.maximum(lengths, 1), y, np.asarray(idx), part_texts)

    parts = {"train": part(train_idx, [texts[i] for i in train_idx], y_str[train_idx], "train", where)}
    parts["val"] = part(pieces[1], [texts[i] for i in pieces[1]], y_str[pieces[1]], "val", where)
    if test_df is None:
        parts["test"] = part(pieces[2], [texts[i] for i in pieces[2]], y_str[pieces[2]], "test", where)
    else:
        t_texts = _texts(test_df, text_col, test_where, "--text-col")
        if label_col not in test_df.columns:
            raise DataError(f"{test_where}: the column {label_col!r} given as `--label-col` is not in the test table.")
        parts["test"] = part(np.arange(len(t_texts)), t_texts, test_df[label_col].to_numpy(), "test", test_where)
    _check_nonempty(parts, where)
    return ClassifyData("text", parts, classes, encoder=encoder)


def _train_val(split) -> tuple:
    train, val = float(split[0]), float(split[1])
    return (train / (train + val), val / (train + val))


def _check_nonempty(parts: dict, where: str) -> None:
    for name in PARTS:
        if len(parts[name].y) == 0:
            raise DataError(f"{where}: the {name} part is empty (too few rows for --split). Give more rows or "
                            "larger --split fractions for it.")


def image_data(x_train, y_train, x_test=None, y_test=None, *, split, seed: int, where: str = "--idx") -> ClassifyData:
    """Images ``[N, rows, cols]`` (uint8, 0-255) read row by row: ``rows`` steps of ``cols``
    pixels scaled to [0, 1]. Without a test set, it is carved from the images by ``split``."""
    x_train = np.asarray(x_train)
    if x_train.ndim != 3 or len(x_train) != len(y_train):
        raise DataError(f"{where}: expected images [N, rows, cols] and N labels, got {x_train.shape} and "
                        f"{len(y_train)} labels.")
    y_tr, classes = label_ids(np.asarray(y_train), None, "labels", where)
    n_pixels = x_train.size + (0 if x_test is None else np.asarray(x_test).size)
    check_fits(n_pixels * 4 * 2, f"{n_pixels:,} pixels as float32 (with the split's copies)",
               f"Use fewer images ({where}).")

    def part(x, y, rows):
        x = (np.asarray(x, np.float32) / 255.0).astype(np.float32)
        return Part(x, np.full(len(x), x.shape[1], np.int64), y, rows)

    if x_test is None:
        tr, va, te = split_indices(y_tr, tuple(split), seed)
        parts = {"train": part(x_train[tr], y_tr[tr], tr), "val": part(x_train[va], y_tr[va], va),
                 "test": part(x_train[te], y_tr[te], te)}
    else:
        tr, va = split_indices(y_tr, _train_val(split), seed)
        y_te, _ = label_ids(np.asarray(y_test), classes, "labels", f"{where} (test part)")
        parts = {"train": part(x_train[tr], y_tr[tr], tr), "val": part(x_train[va], y_tr[va], va),
                 "test": part(x_test, y_te, np.arange(len(y_te)))}
    _check_nonempty(parts, where)
    return ClassifyData("image", parts, classes, n_features=int(x_train.shape[2]), scaling={"divide": 255.0})


def scale_series(x: np.ndarray, lengths: np.ndarray, scaling: dict) -> np.ndarray:
    """Standardise the valid steps with the training mean/std; padding stays exactly 0."""
    mean, std = np.asarray(scaling["mean"], np.float32), np.asarray(scaling["std"], np.float32)
    out = ((x - mean) / std).astype(np.float32)
    out[np.arange(x.shape[1])[None, :] >= lengths[:, None]] = 0.0
    return out


def series_data(train, test=None, *, split, seed: int, where: str = "--ts", test_where: str = "--test-ts") -> ClassifyData:
    """UEA/UCR series: ``train`` / ``test`` are ``(series list of [T_i, C], labels)``; padded after
    each series' length and standardised per channel with the training part's valid steps."""

    series, labels = train
    y_all, classes = label_ids(np.asarray(labels, dtype=object), None, "class label", where)
    x_all, len_all = pad_series(series)
    if test is None:
        tr, va, te = split_indices(y_all, tuple(split), seed)
    else:
        tr, va = split_indices(y_all, _train_val(split), seed)
    valid = np.concatenate([np.asarray(series[i], np.float64) for i in tr])
    if not np.isfinite(valid).all():
        raise DataError(f"{where}: the series hold NaN or inf values inside their lengths; rnnkit needs finite values "
                        "(missing steps only at the end of a series).")
    std = valid.std(0)
    scaling = {"mean": valid.mean(0).tolist(), "std": np.where(std > 0, std, 1.0).tolist()}

    def part(x, lengths, y, rows):
        return Part(scale_series(np.asarray(x, np.float32), lengths, scaling), np.maximum(lengths, 1), y, rows)

    parts = {"train": part(x_all[tr], len_all[tr], y_all[tr], tr), "val": part(x_all[va], len_all[va], y_all[va], va)}
    if test is None:
        parts["test"] = part(x_all[te], len_all[te], y_all[te], te)
    else:
        t_series, t_labels = test
        y_te, _ = label_ids(np.asarray(t_labels, dtype=object), classes, "class label", test_where)
        x_te, len_te = pad_series(t_series)
        if x_te.shape[2] != x_all.shape[2]:
            raise DataError(f"{test_where}: the test series have {x_te.shape[2]} channels, the training series "
                            f"{x_all.shape[2]}. Pass the test file of the same data set.")
        parts["test"] = part(x_te, len_te, y_te, np.arange(len(y_te)))
    _check_nonempty(parts, where)
    return ClassifyData("series", parts, classes, n_features=int(x_all.shape[2]), scaling=scaling)


def check_split(split) -> tuple:
    """Three fractions (train, val, test), each > 0, summing to at most 1."""
    fr = tuple(split)
    ok = len(fr) == 3 and all(isinstance(f, (int, float)) and not isinstance(f, bool) and np.isfinite(f) and f > 0
                              for f in fr) and sum(fr) <= 1 + 1e-9
    if not ok:
        raise InvalidArgumentError.for_argument("--split", ",".join(map(str, fr)), "three fractions train,val,test "
                                                "> 0 summing to at most 1", "For example --split 0.8,0.1,0.1.")
    return tuple(float(f) for f in fr)
