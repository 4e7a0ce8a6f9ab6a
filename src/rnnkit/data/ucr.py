"""UEA/UCR ``.ts`` files: variable-length multivariate series with a class label each.

The ``.ts`` format (sktime/aeon): ``#`` comment lines, a header of ``@key value`` lines
(``@problemName``, ``@timeStamps``, ``@missing``, ``@univariate``, ``@dimensions``,
``@equalLength``, ``@seriesLength``, ``@classLabel true <labels...>`` or ``false``), then
``@data`` and one series per line: the channels separated by ``:``, the values of a channel by
``,``, ``?`` a missing value (NaN), and, with ``@classLabel true``, the label after the last ``:``.
Time-stamped series (``@timeStamps true``) are not supported (a clear error).

:func:`read_ts` returns ``(series, labels, meta)``: one float32 array ``[T_i, C]`` per series,
the labels as strings, and the header as a dict (keys lower-cased: ``problemname``,
``dimensions``, ``classlabel`` ...; plus ``n_series``, ``channels``, ``min_length``,
``max_length``). :func:`pad_series` pads them to ``(x [N, T_max, C], lengths)`` (zeros after each
series: padding ``"post"``, as rnnkit's layers take with ``lengths``).

Offline data: JapaneseVowels (Kudo et al. 1999; 9 speakers saying "a e", 12 LPC cepstrum
channels) in the ``aeon`` wheel, ``aeon/datasets/data/JapaneseVowels/JapaneseVowels_TRAIN.ts``
and ``_TEST.ts`` (also in ``sktime``'s): counted, 270 train / 370 test series, 12 channels,
7-29 steps (train 7-26, test 7-29), 9 classes ``1``-``9`` (30 train series each; 24-88 test
series each), no missing value. Read them with
:func:`japanese_vowels` straight out of the downloaded wheel (``pip download --no-deps aeon==1.6.0
-d DIR``), without installing aeon (it pulls numba).

>>> text = '''@problemName Toy
... @univariate false
... @dimensions 2
... @equalLength false
... @classLabel true a b
... @data
... 1,2,3:4,5,6:a
... 7,?:8,9:b
... '''
>>> series, labels, meta = parse_ts(text)
>>> [s.shape for s in series], labels, meta["classlabel"]
([(3, 2), (2, 2)], ['a', 'b'], ['a', 'b'])
>>> x, lengths = pad_series(series)
>>> x[1].tolist(), lengths.tolist()
([[7.0, 8.0], [nan, 9.0], [0.0, 0.0]], [3, 2])
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnkit.data._checks import listing, shown
from rnnkit.data.package_data import PackageData, PackageFile, decode_text, find_package_file
from rnnkit.errors import DataError, InvalidArgumentError
from rnnkit.memory import check_fits

__all__ = ["read_ts", "parse_ts", "pad_series", "japanese_vowels", "uea_dataset"]

_BOOL_KEYS = ("timestamps", "missing", "univariate", "equallength", "targetlabel")


def _bool(value: str, key: str, where: str) -> bool:
    v = value.strip().lower()
    if v not in ("true", "false"):
        raise DataError(f"{where}: @{key} must be true or false, got {shown(value)}.")
    return v == "true"


def _header_value(key: str, value: str, where: str):
    """The value of the header line ``@key value`` (``key`` lower-cased; not ``@data``)."""
    if key == "classlabel":
        parts = value.split()
        if not parts:
            raise DataError(f"{where}: @classLabel needs true (followed by the labels) or false.")
        return parts[1:] if _bool(parts[0], key, where) else None
    if key in _BOOL_KEYS:
        return _bool(value, key, where)
    if key in ("dimensions", "serieslength"):
        try:
            number = int(value)
            if number < 1:
                raise ValueError
        except ValueError:
            raise DataError(f"{where}: @{key} must be a positive integer, got {shown(value)}.") from None
        return number
    return value.strip()


def parse_ts(text: str, source: str = "the .ts text") -> tuple[list[np.ndarray], list[str], dict]:
    """Parse the contents of a ``.ts`` file (see the module docstring)."""
    meta: dict = {}
    series, labels = [], []
    in_data = False
    channels = None
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{source}, line {lineno}"
        if not in_data:
            if not line.startswith("@"):
                raise DataError(f"{where}: expected a header line starting with '@' before @data, got {line[:40]!r}.")
            key, _, value = line[1:].partition(" ")
            key = key.lower()
            if key == "data":
                in_data = True
                if meta.get("timestamps"):
                    raise DataError(f"{source}: time-stamped series (@timeStamps true) are not supported; convert "
                                    f"the file to plain values first.")
                if "dimensions" in meta:
                    channels = meta["dimensions"]
                elif meta.get("univariate"):
                    channels = 1
            else:
                meta[key] = _header_value(key, value, where)
            continue
        fields = line.split(":")
        has_label = meta.get("classlabel") is not None or meta.get("targetlabel")
        if has_label:
            label, fields = fields[-1].strip(), fields[:-1]
        if channels is None:
            channels = len(fields)
        if len(fields) != channels:
            raise DataError(f"{where}: series {len(series) + 1} has {len(fields)} channels (separated by ':'), but "
                            f"{'@dimensions says' if 'dimensions' in meta else 'the first series has'} {channels}. "
                            f"The file is damaged or mixes two data sets.")
        try:
            cols = [np.array(f.replace("?", "nan").split(","), dtype=np.float32) for f in fields]
        except ValueError:
            raise DataError(f"{where}: series {len(series) + 1} has a value that is not a number (nor '?').") from None
        if len({len(c) for c in cols}) != 1:
            raise DataError(f"{where}: the channels of series {len(series) + 1} have different lengths "
                            f"{[len(c) for c in cols]}; each channel of a series must have one value per step.")
        if has_label:
            declared = meta.get("classlabel")
            if declared is not None and label not in declared:
                raise DataError(f"{where}: the label {shown(label)} is not among the declared @classLabel "
                                f"{listing(declared)}.")
            labels.append(label)
        series.append(np.stack(cols, axis=1))
    if not in_data:
        raise DataError(f"{source} has no @data line: it is not a .ts file.")
    if not series:
        raise DataError(f"{source} has no series after @data.")
    lengths = [len(s) for s in series]
    meta.update(n_series=len(series), channels=channels, min_length=min(lengths), max_length=max(lengths))
    return series, labels, meta


def read_ts(path, encoding: str = "utf-8") -> tuple[list[np.ndarray], list[str], dict]:
    """``(series: list of float32 [T_i, C], labels: list of str, meta: dict)`` of a ``.ts`` file
    (a path or a :class:`~rnnkit.data.package_data.PackageFile`)."""
    if isinstance(path, PackageFile):
        data, source = path.read_bytes(), path.name
    else:
        p = Path(path)
        if not p.is_file():
            raise DataError(f"The .ts file {p} does not exist (or is a folder).")
        data, source = p.read_bytes(), p.name
    text = decode_text(data, source, encoding)
    return parse_ts(text, source)


def pad_series(series, maxlen: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(x float32 [N, T, C], lengths int64 [N])``: zeros after each series; ``T`` is the longest
    series, capped at ``maxlen`` (longer series keep their first ``maxlen`` steps); the memory
    is checked first (:mod:`rnnkit.memory`). Missing values
    (NaN) inside a series stay NaN: fill them before training."""
    if not series:
        raise InvalidArgumentError.for_argument("series", series, "at least one series")
    channels = {s.shape[1] if np.ndim(s) == 2 else 1 for s in series}
    if len(channels) != 1:
        raise DataError(f"The series have different numbers of channels {sorted(channels)}; they cannot be batched.")
    arrays = [np.asarray(s, dtype=np.float32).reshape(len(s), -1) for s in series]
    lengths = np.array([len(a) for a in arrays], dtype=np.int64)
    if maxlen is not None:
        if isinstance(maxlen, bool) or not isinstance(maxlen, int) or maxlen < 1:
            raise InvalidArgumentError.for_argument("maxlen", maxlen, "a positive integer")
        np.minimum(lengths, maxlen, out=lengths)
    width = max(1, int(lengths.max()))                     # the longest series, capped at maxlen
    check_fits(len(arrays) * width * arrays[0].shape[1] * 4,
               f"padding {len(arrays):,} series of {arrays[0].shape[1]} channel(s) to {width:,} steps (the longest)",
               "Drop or cut the longest series (rnnkit pads every series to the longest).")
    x = np.zeros((len(arrays), width, arrays[0].shape[1]), dtype=np.float32)
    for i, (a, n) in enumerate(zip(arrays, lengths)):
        x[i, :n] = a[:n]
    return x, lengths


def uea_dataset(name: str, source=None, *, packages=(("aeon", "1.6.0"), ("sktime", None))):
    """``((train series, labels, meta), (test series, labels, meta))`` of the UEA/UCR data set
    ``name`` shipped in the ``aeon`` (or ``sktime``) wheel: installed, the wheel itself, or a folder
    holding it (or the two ``.ts`` files)."""
    out, errors = [], []
    for split in ("TRAIN", "TEST"):
        found = None
        for dist, version in packages:
            spec = PackageData(dist, version, f"{dist}/datasets/data/{name}/{name}_{split}.ts")
            try:
                found = find_package_file(spec, source, what=f"{name}_{split}.ts")
                break
            except DataError as e:
                errors.append(str(e))
        if found is None:
            raise DataError(errors[0])
        out.append(read_ts(found))
    return tuple(out)


def japanese_vowels(wheel_or_dir=None):
    """JapaneseVowels, ``((train_series, train_labels, meta), (test_series, test_labels, meta))``:
    270 + 370 series of 12 channels, 7-29 steps, labels ``"1"``-``"9"``."""
    return uea_dataset("JapaneseVowels", wheel_or_dir)
