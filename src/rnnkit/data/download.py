"""Downloads into a cache, checked by sha256, written atomically.

The cache is ``$RNNKIT_CACHE`` if set, else ``~/.cache/rnnkit``. A file is first written to a
temporary name in the cache folder and renamed only once complete and verified, so an
interrupted download never leaves a truncated file behind. ``url`` may be ``https://``,
``http://``, ``file://`` or a local path.

The cache is keyed by URL and checksum, not by file name: a file is kept under
``<cache>/<key>/<name>`` with ``key`` a hash of the URL and the expected sha256
(:func:`cache_path`), and the sha256 it had when downloaded is kept beside it
(``<name>.sha256``) and checked on every hit. A file planted in the cache under the same name
(or fetched from another URL) is never served for a known URL.

>>> import hashlib, pathlib, tempfile
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> _ = (tmp / "a.txt").write_text("hello")
>>> digest = hashlib.sha256(b"hello").hexdigest()
>>> path = download(str(tmp / "a.txt"), sha256=digest, cache_dir=tmp / "cache")
>>> path.name, path.read_text(), path == cache_path(str(tmp / "a.txt"), digest, cache_dir=tmp / "cache")
('a.txt', 'hello', True)
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

from rnnkit.errors import DataError, InvalidArgumentError

__all__ = ["cache_dir", "cache_path", "sha256_file", "download", "extract_member"]

_CHUNK = 1 << 20


def cache_dir(path=None) -> Path:
    """The cache folder (created): ``path``, else ``$RNNKIT_CACHE``, else ``~/.cache/rnnkit``."""
    p = Path(path) if path is not None else Path(os.environ.get("RNNKIT_CACHE") or Path.home() / ".cache" / "rnnkit")
    p = p.expanduser()
    p.mkdir(parents=True, exist_ok=True)
    return p


def cache_path(url: str, sha256: str | None = None, filename: str | None = None, cache_dir=None) -> Path:
    """Where :func:`download` keeps ``url``: ``<cache>/<hash of url and sha256>/<filename>``."""
    name = filename or Path(urllib.parse.urlparse(url).path).name
    if not name or name in (".", "..") or "/" in name or "\\" in name:
        raise InvalidArgumentError.for_argument("filename", filename or name, "a plain file name (the URL has none)")
    key = hashlib.sha256(f"{url}\n{(sha256 or '').lower()}".encode()).hexdigest()[:24]
    return globals()["cache_dir"](cache_dir) / key / name


def sha256_file(path) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _open(url: str):
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme in ("http", "https", "file"):
        return urllib.request.urlopen(url, timeout=60)
    if parsed.scheme in ("", ) or (len(parsed.scheme) == 1 and os.name == "nt"):
        return open(url, "rb")
    raise InvalidArgumentError.for_argument("url", url, "an http(s):// or file:// URL or a local path")


def _atomic_copy(src, dest: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(src, out, _CHUNK)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def download(url: str, filename: str | None = None, *, sha256: str | None = None,
             cache_dir=None, force: bool = False) -> Path:
    """Fetch ``url`` into the cache and return the local path.

    Arguments:
        url: where to fetch from (``https://``, ``file://`` or a local path).
        filename: name in the cache; default the last part of the URL.
        sha256: expected hex digest; checked after download and on every cache hit. None
            skips the check after download (a cached file is then checked against the sha256
            recorded when rnnkit downloaded it, and fetched again when it differs).
        cache_dir: the folder; default :func:`cache_dir`.
        force: download again even if cached.

    A checksum mismatch raises :class:`~rnnkit.errors.DataError` and leaves nothing in the cache.
    """
    dest = cache_path(url, sha256, filename, cache_dir)
    folder, name = dest.parent, dest.name
    folder.mkdir(exist_ok=True)
    want = sha256.lower() if sha256 else None
    record = folder / (name + ".sha256")
    if dest.exists() and not force:
        have = sha256_file(dest)
        recorded = record.read_text().strip() if record.is_file() else None
        if have == (want or recorded):
            return dest
    fd, tmp = tempfile.mkstemp(prefix=name + ".", suffix=".part", dir=folder)
    os.close(fd)
    tmp = Path(tmp)
    try:
        try:
            with _open(url) as src, open(tmp, "wb") as out:
                shutil.copyfileobj(src, out, _CHUNK)
                out.flush()
                os.fsync(out.fileno())
        except (urllib.error.URLError, OSError) as e:
            raise DataError(
                f"Could not download {url!r}: {e}. Check the network (or a proxy), or download the file "
                f"by hand and pass its local path instead.") from None
        if want is not None:
            got = sha256_file(tmp)
            if got != want:
                raise DataError(
                    f"Checksum mismatch for {url!r}: expected sha256 {want}, got {got}. The file is "
                    f"corrupt or has changed upstream; it was not cached. Retry, or pass sha256=None if "
                    f"you trust this file.")
        record.write_text(sha256_file(tmp) + "\n")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def extract_member(archive, member: str, dest=None) -> Path:
    """Extract one file of a zip archive next to it (or to ``dest``), atomically; cached.

    Returns the extracted path; an existing extraction newer than the archive is reused.
    """
    archive = Path(archive)
    dest = Path(dest) if dest is not None else archive.parent / Path(member).name
    if dest.exists() and dest.stat().st_mtime >= archive.stat().st_mtime:
        return dest
    try:
        with zipfile.ZipFile(archive) as z:
            names = z.namelist()
            match = [n for n in names if n == member or n.endswith("/" + member)]
            if not match:
                raise DataError(f"{archive.name} has no file {member!r} (it has {names[:5]!r}).")
            with z.open(match[0]) as src:
                _atomic_copy(src, dest)
    except zipfile.BadZipFile:
        raise DataError(f"{archive.name} is not a valid zip file: delete it from the cache and retry.") from None
    return dest
