"""Word-vector files (``--glove FILE`` of classify and tag: rnnkit.data.embeddings) fuzzed: GloVe
and word2vec text, gzipped or zipped, damaged, ragged, non-numbers, NaN/inf, odd encodings."""
import gzip
import io
import zipfile

import numpy as np
import pytest
from hypothesis import given, strategies as st

from fuzz_helpers import NUMBERS, cli_fails_cleanly, file_bytes, fuzz_settings, mutated, outcome
from rnnkit.data.embeddings import WordVectors, embedding_matrix, load_vectors
from rnnkit.data.vocabulary import Vocabulary

WORD = st.one_of(st.sampled_from(("the", "good", "film", "é", "💥", "x" * 3000, "", "3")), st.text(max_size=5))
VALUE = st.one_of(st.floats(-2, 2).map(lambda v: f"{v:.4f}"), NUMBERS)


@st.composite
def vectors_text(draw) -> str:
    dim = draw(st.integers(0, 4))
    lines = [f"{draw(st.integers(0, 9))} {dim}"] if draw(st.booleans()) else []
    for _ in range(draw(st.integers(0, 8))):
        n = dim if draw(st.integers(0, 6)) else draw(st.integers(0, 6))
        lines.append(" ".join([draw(WORD)] + draw(st.lists(VALUE, min_size=n, max_size=n))))
    return "\n".join(lines) + draw(st.sampled_from(("\n", "", "\r\n")))


def _zip(data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("glove.6B.3d.txt", data)
    return buf.getvalue()


TEXT = file_bytes(vectors_text())
VECTOR_FILES = st.one_of(TEXT.map(lambda b: ("vectors.txt", b)), TEXT.map(lambda b: ("vectors.txt.gz", gzip.compress(b))),
                         TEXT.map(gzip.compress).flatmap(mutated).map(lambda b: ("vectors.txt.gz", b)),
                         TEXT.map(_zip).flatmap(mutated).map(lambda b: ("glove.zip", b)),
                         TEXT.map(lambda b: ("glove.zip", _zip(b))))
VOCAB = Vocabulary(["[PAD]", "[UNK]", "the", "good", "film", "é"])


def _read_and_embed(path, dim):
    vectors = load_vectors(path, VOCAB, dim=dim)
    return vectors, embedding_matrix(VOCAB, vectors, dim)


@fuzz_settings(2)
@given(VECTOR_FILES, st.sampled_from((None, 3)))
def test_vectors_read_or_a_documented_error(tmp_path, case, dim):
    name, data = case
    path = tmp_path / name
    path.write_bytes(data)
    out = outcome(_read_and_embed, path, dim)
    if isinstance(out, tuple):
        vectors, matrix = out
        assert isinstance(vectors, WordVectors) and vectors.dim >= 1
        matrix = matrix[0] if isinstance(matrix, tuple) else matrix
        assert np.isfinite(np.asarray(matrix)).all()


@pytest.mark.parametrize("name, data", [
    ("vectors.txt", b"the 0.1 0.2\ngood 0.3\n"),
    ("vectors.txt", b"the 0.1 nope\n"),
    ("vectors.txt", "the 0.1 0.2\n".encode("utf-16")),
    ("vectors.txt.gz", gzip.compress(b"the 0.1 0.2\ngood 0.3 0.4\n")[:-5]),
    ("glove.zip", _zip(b"the 0.1 0.2\n")[:-30]),
    ("vectors.txt", b"the 1e999 0.2\ngood 0.3 0.4\n"),
])
def test_cli_classify_glove_exits_2(tmp_path, capsys, name, data):
    (tmp_path / name).write_bytes(data)
    texts = tmp_path / "texts.csv"
    texts.write_text("text,label\n" + "the good film,pos\nthe bad film,neg\n" * 10, encoding="utf-8")
    cli_fails_cleanly(["classify", "--csv", texts, "--glove", tmp_path / name, "--epochs", "1",
                       "--out", tmp_path / "run"], capsys)
    assert not (tmp_path / "run").exists()
