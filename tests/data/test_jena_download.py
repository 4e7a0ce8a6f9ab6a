"""Download + checksum + cache + Jena loading, offline: file:// URLs and a small fixture."""
import hashlib
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from rnnkit.data.download import cache_dir, cache_path, download, extract_member, sha256_file
from rnnkit.data.jena import JENA_COLUMNS, jena_float_data, jena_path, load_jena, prepare_jena
from rnnkit.errors import DataError

FIXTURE = Path(__file__).parent / "fixtures" / "jena_climate_small.csv"


@pytest.fixture
def zipped(tmp_path):
    z = tmp_path / "src" / "jena_climate_2009_2016.csv.zip"
    z.parent.mkdir()
    with zipfile.ZipFile(z, "w") as f:
        f.write(FIXTURE, "jena_climate_2009_2016.csv")
    return z


def test_cache_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNKIT_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c" and (tmp_path / "c").is_dir()


def test_download_checks_sha256_and_caches(zipped, tmp_path):
    digest = hashlib.sha256(zipped.read_bytes()).hexdigest()
    cache = tmp_path / "cache"
    p = download(zipped.as_uri(), sha256=digest, cache_dir=cache)
    assert p == cache_path(zipped.as_uri(), digest, cache_dir=cache) and sha256_file(p) == digest
    mtime = p.stat().st_mtime_ns
    assert download(zipped.as_uri(), sha256=digest, cache_dir=cache).stat().st_mtime_ns == mtime  # cache hit
    assert sorted(f.name for f in p.parent.iterdir()) == [zipped.name, zipped.name + ".sha256"]  # no temp files


def test_checksum_mismatch_is_an_error_and_caches_nothing(zipped, tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match="Checksum mismatch.*expected sha256 0{64}"):
        download(zipped.as_uri(), sha256="0" * 64, cache_dir=cache)
    assert [f for f in cache.rglob("*") if f.is_file()] == []


def test_corrupt_cached_file_is_fetched_again(zipped, tmp_path):
    cache = tmp_path / "cache"
    digest = hashlib.sha256(zipped.read_bytes()).hexdigest()
    planted = cache_path(str(zipped), digest, cache_dir=cache)
    planted.parent.mkdir(parents=True)
    planted.write_bytes(b"truncated")
    p = download(str(zipped), sha256=digest, cache_dir=cache)
    assert p.read_bytes() == zipped.read_bytes()


@pytest.mark.parametrize("sha256", [None, "known"])
def test_a_planted_file_with_the_same_name_is_never_served(zipped, tmp_path, sha256):
    """Issue 10: the cache was keyed by file name only, so a file planted as
    ``<cache>/jena_climate_2009_2016.csv.zip`` was served for the Jena URL (unchecked, as the
    Jena sha256 is not pinned)."""
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / zipped.name).write_bytes(b"planted")
    digest = hashlib.sha256(zipped.read_bytes()).hexdigest() if sha256 else None
    p = download(zipped.as_uri(), sha256=digest, cache_dir=cache)
    assert p.read_bytes() == zipped.read_bytes()
    assert (cache / zipped.name).read_bytes() == b"planted"          # left alone, never read


def test_a_file_from_another_url_with_the_same_name_is_not_served(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    (a / "data.csv").write_text("x\n1\n")
    (b / "data.csv").write_text("x\n2\n")
    cache = tmp_path / "cache"
    assert download((a / "data.csv").as_uri(), cache_dir=cache).read_text() == "x\n1\n"
    assert download((b / "data.csv").as_uri(), cache_dir=cache).read_text() == "x\n2\n"


def test_a_cached_file_changed_after_download_is_fetched_again_without_a_pinned_sha256(zipped, tmp_path):
    cache = tmp_path / "cache"
    p = download(zipped.as_uri(), cache_dir=cache)
    p.write_bytes(b"swapped in the cache")
    assert download(zipped.as_uri(), cache_dir=cache).read_bytes() == zipped.read_bytes()


def test_the_same_url_with_another_checksum_is_another_entry(zipped, tmp_path):
    digest = hashlib.sha256(zipped.read_bytes()).hexdigest()
    assert cache_path(zipped.as_uri(), digest, cache_dir=tmp_path) != cache_path(zipped.as_uri(), None, cache_dir=tmp_path)


def test_missing_source_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="Could not download.*by hand"):
        download((tmp_path / "nope.zip").as_uri(), cache_dir=tmp_path / "c")


def test_jena_path_unzips_and_loads(zipped, tmp_path):
    csv = jena_path(zipped.as_uri(), sha256=None, cache_dir=tmp_path / "cache")
    assert csv.name == "jena_climate_2009_2016.csv" and csv.read_bytes() == FIXTURE.read_bytes()
    df = load_jena(csv)
    assert list(df.columns) == JENA_COLUMNS and len(df) == 61
    assert str(df["Date Time"].iloc[0]) == "2009-01-01 00:10:00"
    data = jena_float_data(csv)
    assert data.shape == (61, 14) and data[0, 1] == -7.80          # column 1 is T (degC), as in the seed


def test_extract_rejects_non_zip(tmp_path):
    bad = tmp_path / "x.zip"
    bad.write_bytes(b"not a zip")
    with pytest.raises(DataError, match="not a valid zip"):
        extract_member(bad, "a.csv")


def test_prepare_jena_handles_duplicates_and_wind_errors():
    p = prepare_jena(path=FIXTURE, split=(0.5, 0.25, 0.25))
    assert len(p.data) == 60                                         # duplicate merged
    assert "wd (deg)_x" in p.feature_names and not np.isnan(p.data).any()
    raw = p.scaler.inverse_transform(p.data)
    assert raw[:, p.feature_names.index("max. wv (m/s)")].min() > -1e-4   # -9999 set to 0
    w = p.windows("train", lookback=12, step=6, delay=6)
    assert w[0][0].shape == (2, len(p.feature_names))
