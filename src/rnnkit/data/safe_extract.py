"""Extract a downloaded tar or zip archive safely and atomically.

Every member is checked **before anything is written**; an archive with any of these is refused
whole with a :class:`~rnnkit.errors.DataError` naming the member:

- an absolute path (``/etc/passwd``, ``C:\\x``) or a ``..`` component (``../../x``);
- a symbolic link whose target is absolute or resolves outside the destination;
- a hard link to a path outside the destination (or to no member of the archive);
- a device, FIFO or other special file;
- a member written through a symbolic link of the archive (``link/x`` where ``link`` is one).

The archive is extracted into a temporary folder beside ``dest`` which is renamed to ``dest``
only once complete, so an interrupted extraction never leaves a half-filled ``dest``. ``dest``
must not exist yet (or be an empty folder): nothing is ever extracted over existing files.
Tar extraction also uses Python's ``filter="data"`` as a second line of defence.

>>> import io, pathlib, tarfile, tempfile
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> with tarfile.open(d / "bad.tar", "w") as t:
...     info = tarfile.TarInfo("../evil.txt"); info.size = 1
...     t.addfile(info, io.BytesIO(b"x"))
>>> safe_extract_tar(d / "bad.tar", d / "out")
Traceback (most recent call last):
...
rnnkit.errors.DataError: Refusing to extract bad.tar: member '../evil.txt' has a '..' component (it would be written outside the destination). Nothing was extracted; the archive is not safe to use: delete it and download it again from its official source.
"""
from __future__ import annotations

import errno
import os
import posixpath
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from pathlib import Path

from rnnkit.errors import DataError

__all__ = ["safe_extract_tar", "safe_extract_zip", "safe_extract", "check_member_path"]


def _refuse(archive: Path, member: str, why: str) -> DataError:
    shown = repr(member) if len(member) <= 100 else repr(member[:97]) + "..."   # names can be 64 kB long
    why = why if len(why) <= 300 else why[:297] + "..."
    return DataError(f"Refusing to extract {archive.name}: member {shown} {why}. Nothing was extracted; the "
                     f"archive is not safe to use: delete it and download it again from its official source.")


def check_member_path(name: str) -> str | None:
    """Why a member name is unsafe (a reason to print), or None when it is a safe relative path.

    >>> check_member_path("a/b.txt") is None, check_member_path("/etc/passwd")
    (True, 'has an absolute path')
    """
    n = name.replace("\\", "/")
    if n.startswith("/") or (len(n) > 1 and n[1] == ":") or n.startswith("//"):
        return "has an absolute path"
    if ".." in n.split("/"):
        return "has a '..' component (it would be written outside the destination)"
    if "\x00" in n:
        return "has a NUL byte in its name"
    return None


def _inside(target: str) -> bool:
    """Whether a relative POSIX path stays inside the root once normalised."""
    norm = posixpath.normpath(target)
    return not (norm == ".." or norm.startswith("../") or norm.startswith("/"))


def _through_link(name: str, links: set) -> str | None:
    """The symbolic-link member that ``name`` would be written through, if any."""
    parts = posixpath.normpath(name.replace("\\", "/")).split("/")
    for i in range(1, len(parts)):
        prefix = "/".join(parts[:i])
        if prefix in links:
            return prefix
    return None


def _prepare(dest: Path) -> Path:
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise DataError(f"Will not extract into {dest}: it already exists and is not an empty folder (rnnkit never "
                        f"extracts over existing files). Delete it or choose another destination.")
    dest.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent))


def _finish(tmp: Path, dest: Path) -> Path:
    if dest.is_dir():
        dest.rmdir()  # empty (checked in _prepare)
    os.replace(tmp, dest)
    return dest


def safe_extract_tar(path, dest) -> Path:
    """Extract the tar archive ``path`` (``.tar``, ``.tar.gz``, ...) into the new folder ``dest``."""
    path, dest = Path(path), Path(dest)
    try:
        with tarfile.open(path) as t:
            members = t.getmembers()
            names = {posixpath.normpath(m.name.replace("\\", "/")) for m in members}
            for m in members:
                why = check_member_path(m.name)
                if why:
                    raise _refuse(path, m.name, why)
                if m.issym():
                    target = m.linkname.replace("\\", "/")
                    if check_member_path(target) == "has an absolute path":
                        raise _refuse(path, m.name, f"is a symbolic link to the absolute path {m.linkname!r}")
                    if not _inside(posixpath.join(posixpath.dirname(m.name), target)):
                        raise _refuse(path, m.name, f"is a symbolic link pointing outside the destination "
                                                    f"({m.linkname!r})")
                elif m.islnk():
                    target = m.linkname.replace("\\", "/")
                    if check_member_path(target) or not _inside(target):
                        raise _refuse(path, m.name, f"is a hard link pointing outside the destination "
                                                    f"({m.linkname!r})")
                    if posixpath.normpath(target) not in names:
                        raise _refuse(path, m.name, f"is a hard link to {m.linkname!r}, which is not in the archive")
                elif not (m.isfile() or m.isdir()):
                    raise _refuse(path, m.name, "is a device, FIFO or other special file")
            links = {posixpath.normpath(m.name.replace("\\", "/")) for m in members if m.issym()}
            for m in members:
                via = _through_link(m.name, links)
                if via:
                    raise _refuse(path, m.name, f"would be written through the symbolic link {via!r}")
            tmp = _prepare(dest)
            try:
                t.extractall(tmp, members=members, filter="data")
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
    except (tarfile.TarError, EOFError, zlib.error, OSError) as e:
        raise _damaged(path, dest, e, "tar") from None
    return _finish(tmp, dest)


def safe_extract_zip(path, dest) -> Path:
    """Extract the zip archive ``path`` into the new folder ``dest``."""
    path, dest = Path(path), Path(dest)
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            links = {}
            for info in infos:
                why = check_member_path(info.filename)
                if why:
                    raise _refuse(path, info.filename, why)
                mode = info.external_attr >> 16
                if stat.S_ISLNK(mode):
                    target = z.read(info).decode("utf-8", "replace").replace("\\", "/")
                    if (check_member_path(target) == "has an absolute path"
                            or not _inside(posixpath.join(posixpath.dirname(info.filename), target))):
                        raise _refuse(path, info.filename, f"is a symbolic link pointing outside the destination "
                                                           f"({target!r})")
                    links[info.filename] = target
                elif stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                    raise _refuse(path, info.filename, "is a device, FIFO or other special file")
            for info in infos:
                via = _through_link(info.filename, set(map(posixpath.normpath, links)))
                if via:
                    raise _refuse(path, info.filename, f"would be written through the symbolic link {via!r}")
            tmp = _prepare(dest)
            try:
                for info in infos:
                    if info.filename in links:
                        out = tmp / info.filename
                        out.parent.mkdir(parents=True, exist_ok=True)
                        os.symlink(links[info.filename], out)
                    else:
                        z.extract(info, tmp)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
    except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError, OSError) as e:
        raise _damaged(path, dest, e, "zip") from None
    return _finish(tmp, dest)


def _damaged(path: Path, dest: Path, e: Exception, kind: str) -> Exception:
    """The error for an archive that could not be read (or, for a full disk, written out)."""
    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM):
        from rnnkit.errors import StorageError
        return StorageError.for_write(dest, e)
    return DataError(f"{path.name} is not a valid {kind} archive ({type(e).__name__}: {str(e)[:200]}): delete it and "
                     "download it again.")


def safe_extract(path, dest) -> Path:
    """:func:`safe_extract_zip` for a zip file, else :func:`safe_extract_tar`."""
    return safe_extract_zip(path, dest) if zipfile.is_zipfile(path) else safe_extract_tar(path, dest)
