"""Safe, atomic extraction: crafted malicious tar and zip archives are refused whole."""
import io
import stat
import tarfile
import zipfile

import pytest

from rnnkit.data.safe_extract import safe_extract, safe_extract_tar, safe_extract_zip
from rnnkit.errors import DataError


def make_tar(path, members, mode="w:gz"):
    """members: (name, kind, payload) with kind file|dir|sym|lnk|chr|fifo."""
    with tarfile.open(path, mode) as t:
        for name, kind, payload in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                data = payload.encode()
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE, "lnk": tarfile.LNKTYPE,
                         "chr": tarfile.CHRTYPE, "fifo": tarfile.FIFOTYPE}[kind]
            if kind in ("sym", "lnk"):
                info.linkname = payload
            t.addfile(info)
    return path


def make_zip(path, members):
    with zipfile.ZipFile(path, "w") as z:
        for name, kind, payload in members:
            info = zipfile.ZipInfo(name)
            mode = {"file": stat.S_IFREG | 0o644, "sym": stat.S_IFLNK | 0o777, "chr": stat.S_IFCHR | 0o644}[kind]
            info.external_attr = mode << 16
            z.writestr(info, payload)
    return path


GOOD = [("top", "dir", None), ("top/a.txt", "file", "alpha"), ("top/sub/b.txt", "file", "beta"),
        ("top/link", "sym", "a.txt"), ("top/hard", "lnk", "top/a.txt")]


def test_tar_good_archive_extracts(tmp_path):
    out = safe_extract_tar(make_tar(tmp_path / "ok.tar.gz", GOOD), tmp_path / "out")
    assert (out / "top/a.txt").read_text() == "alpha" and (out / "top/sub/b.txt").read_text() == "beta"
    assert (out / "top/link").is_symlink() and (out / "top/link").read_text() == "alpha"
    assert (out / "top/hard").read_text() == "alpha"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.tar.gz", "out"]      # no temp folder left


@pytest.mark.parametrize("member, why", [
    (("../evil.txt", "file", "x"), "'..'"),
    (("top/../../evil.txt", "file", "x"), "'..'"),
    (("/tmp/evil.txt", "file", "x"), "absolute path"),
    (("top/l", "sym", "/etc/passwd"), "absolute path"),
    (("top/l", "sym", "../../outside"), "symbolic link pointing outside"),
    (("top/h", "lnk", "../outside"), "hard link"),
    (("top/h", "lnk", "/etc/passwd"), "hard link"),
    (("top/h", "lnk", "top/missing"), "not in the archive"),
    (("top/dev", "chr", None), "device"),
    (("top/fifo", "fifo", None), "device, FIFO"),
])
def test_tar_malicious_members_refused(tmp_path, member, why):
    archive = make_tar(tmp_path / "bad.tar.gz", [("top", "dir", None), ("top/ok.txt", "file", "ok"), member])
    with pytest.raises(DataError, match=why) as e:
        safe_extract_tar(archive, tmp_path / "out")
    assert member[0] in str(e.value) and "Nothing was extracted" in str(e.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.tar.gz"]            # nothing written


def test_tar_write_through_symlink_refused(tmp_path):
    archive = make_tar(tmp_path / "bad.tar", [("d", "dir", None), ("d/l", "sym", "."), ("d/l/x.txt", "file", "x")],
                       mode="w")
    with pytest.raises(DataError, match="through the symbolic link 'd/l'"):
        safe_extract_tar(archive, tmp_path / "out")


def test_zip_good_and_symlink_inside(tmp_path):
    archive = make_zip(tmp_path / "ok.zip", [("g/a.txt", "file", "alpha"), ("g/l", "sym", "a.txt")])
    out = safe_extract(archive, tmp_path / "out")
    assert (out / "g/a.txt").read_text() == "alpha" and (out / "g/l").read_text() == "alpha"


@pytest.mark.parametrize("member, why", [
    (("../evil.txt", "file", "x"), "'..'"),
    (("/abs/evil.txt", "file", "x"), "absolute path"),
    (("C:/win/evil.txt", "file", "x"), "absolute path"),
    (("g/l", "sym", "../../etc"), "symbolic link pointing outside"),
    (("g/l", "sym", "/etc"), "symbolic link pointing outside"),
    (("g/dev", "chr", ""), "device"),
])
def test_zip_malicious_members_refused(tmp_path, member, why):
    archive = make_zip(tmp_path / "bad.zip", [("g/ok.txt", "file", "ok"), member])
    with pytest.raises(DataError, match=why):
        safe_extract_zip(archive, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.zip"]


def test_never_over_existing_files_and_empty_dest_ok(tmp_path):
    archive = make_tar(tmp_path / "ok.tar.gz", GOOD)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "mine.txt").write_text("keep")
    with pytest.raises(DataError, match="already exists"):
        safe_extract_tar(archive, tmp_path / "full")
    assert (tmp_path / "full" / "mine.txt").read_text() == "keep"
    (tmp_path / "empty").mkdir()
    assert (safe_extract_tar(archive, tmp_path / "empty") / "top/a.txt").read_text() == "alpha"


def test_corrupt_archives(tmp_path):
    (tmp_path / "x.tar.gz").write_bytes(b"not a tar at all" * 10)
    with pytest.raises(DataError, match="not a valid tar"):
        safe_extract_tar(tmp_path / "x.tar.gz", tmp_path / "out")
    (tmp_path / "x.zip").write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(DataError, match="not a valid zip"):
        safe_extract_zip(tmp_path / "x.zip", tmp_path / "out")
