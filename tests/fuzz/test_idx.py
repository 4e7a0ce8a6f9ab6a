"""IDX files (rnnkit.data.mnist_idx, ``rnnkit classify --idx``) fuzzed: random bytes, damaged
headers (any type, 0-300 dimensions, sizes up to 2**32 - 1), truncations, gzip, a folder of four."""
import gzip
import math
import struct

import numpy as np
import pytest
from hypothesis import given, strategies as st

from fuzz_helpers import cli_fails_cleanly, file_bytes, fuzz_settings, mutated, outcome
from rnnkit.data.mnist_idx import IMAGES_MAGIC, LABELS_MAGIC, MNIST_FILES, load_mnist_idx, read_idx
from rnnkit.errors import DataError

TYPES = (0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E)


def idx_bytes(kind: int, shape, data: bytes | None = None) -> bytes:
    size = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}.get(kind, 1)
    if data is None:
        data = bytes(int(np.prod(shape, dtype=object)) * size)
    return struct.pack(">I", (kind << 8) | len(shape)) + struct.pack(f">{len(shape)}I", *shape) + data


@st.composite
def headers(draw) -> bytes:
    """An IDX header of any type and rank (up to 255), sizes from 0 to 2**32 - 1, with no data,
    random bytes, or exactly the data the header asks for when that is small."""
    kind = draw(st.one_of(st.sampled_from(TYPES), st.integers(0, 255)))
    ndim = draw(st.one_of(st.integers(1, 4), st.integers(0, 255)))
    dim = st.one_of(st.integers(0, 3), st.just(1), st.sampled_from((2**16, 2**22, 2**31, 2**32 - 1, 28)))
    shape = draw(st.lists(dim, min_size=ndim, max_size=ndim))
    head = struct.pack(">I", (kind << 8) | ndim) + struct.pack(f">{ndim}I", *shape)
    need = math.prod(shape) * {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}.get(kind, 1)
    if need <= 64 and draw(st.booleans()):
        return head + bytes(need)
    return head + draw(st.binary(max_size=64))


@st.composite
def small_valid(draw) -> bytes:
    kind = draw(st.sampled_from(TYPES))
    shape = draw(st.lists(st.integers(0, 4), min_size=1, max_size=3))
    size = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}[kind]
    data = draw(st.binary(min_size=int(np.prod(shape)) * size, max_size=int(np.prod(shape)) * size))
    return idx_bytes(kind, shape, data)


IDX_BYTES = st.one_of(headers(), small_valid(), small_valid().flatmap(mutated), headers().map(gzip.compress),
                      small_valid().map(gzip.compress).flatmap(mutated), file_bytes(st.text(max_size=40), gz=True))


@fuzz_settings(3)
@given(IDX_BYTES, st.sampled_from((None, IMAGES_MAGIC, LABELS_MAGIC)))
def test_read_idx_gives_an_array_or_a_data_error(tmp_path, data, magic):
    path = tmp_path / "f-idx3-ubyte"
    path.write_bytes(data)
    out = outcome(read_idx, path, expect_magic=magic)
    if not isinstance(out, DataError):
        assert isinstance(out, np.ndarray) and out.dtype.isnative
        raw = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
        ndim = raw[3]
        assert out.shape == struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])   # the header's shape, exactly


@fuzz_settings(1)
@given(st.lists(IDX_BYTES, min_size=4, max_size=4), st.lists(st.booleans(), min_size=4, max_size=4))
def test_a_folder_of_four_gives_the_arrays_or_a_data_error(tmp_path, files, real):
    images = idx_bytes(0x08, (2, 3, 3))
    labels = idx_bytes(0x08, (2,), bytes([1, 2]))
    for name, data, use_real, good in zip(MNIST_FILES, files, real, (images, labels, images, labels)):
        (tmp_path / name).write_bytes(gzip.compress(good) if use_real else data)
    out = outcome(load_mnist_idx, tmp_path)
    if not isinstance(out, DataError):
        x_tr, y_tr, x_te, y_te = out
        assert x_tr.ndim == 3 and len(x_tr) == len(y_tr) and len(x_te) == len(y_te)


@pytest.mark.parametrize("name, data", [
    ("random bytes", bytes(range(256)) * 3),
    ("truncated", idx_bytes(0x08, (2, 3, 3))[:-1]),
    ("labels as images", idx_bytes(0x08, (2,), b"\x01\x02")),
    ("2**66 elements", idx_bytes(0x08, (2**22, 2**22, 2**22), b"")),
    ("damaged gzip", gzip.compress(idx_bytes(0x08, (2, 3, 3)))[:-6]),
])
def test_cli_classify_idx_exits_2(tmp_path, capsys, name, data):
    good = {n: gzip.compress(idx_bytes(0x08, (2, 3, 3)) if "images" in n else idx_bytes(0x08, (2,), b"\x01\x02"))
            for n in MNIST_FILES}
    good[MNIST_FILES[0]] = data
    for n, b in good.items():
        (tmp_path / n).write_bytes(b)
    err = cli_fails_cleanly(["classify", "--idx", tmp_path, "--out", tmp_path / "run", "--epochs", "1"], capsys)
    assert MNIST_FILES[0] in err or str(tmp_path) in err
    assert not (tmp_path / "run").exists()
