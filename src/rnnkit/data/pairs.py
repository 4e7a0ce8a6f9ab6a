"""Sentence pairs for translation: one ``source<TAB>target`` pair per line.

The Tatoeba/manythings.org layout (``fra.txt``: ``English<TAB>French<TAB>attribution``) reads
too: columns after the second are ignored. Lines that are empty (or only white space) are
skipped; a line without a tab, or with an empty source or target, is a :class:`DataError` that
names the file and the line number. The file is UTF-8 (a byte-order mark is allowed).

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "fra.txt")
    >>> _ = open(path, "w", encoding="utf-8").write("Go.\\tVa !\\tCC-BY 2.0 (France) #2877272\\nHi.\\tSalut !\\n")
    >>> read_pairs(path)
    [('Go.', 'Va !'), ('Hi.', 'Salut !')]
"""
from __future__ import annotations

import os
from pathlib import Path

from rnnkit.errors import DataError

__all__ = ["read_pairs", "parse_pairs"]


def parse_pairs(lines, source: str = "the pairs file") -> list[tuple[str, str]]:
    """Pairs from an iterable of lines (see the module docstring); ``source`` names the file in errors."""
    pairs = []
    for number, line in enumerate(lines, 1):
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        if "\t" not in line:
            shown = line if len(line) <= 60 else line[:57] + "..."
            raise DataError(f"Line {number} of {source} has no tab: {shown!r}. Each line must be "
                            "`source<TAB>target` (a third column, as in Tatoeba's fra.txt, is ignored); "
                            "fix or remove that line.")
        src, tgt = (part.strip() for part in line.split("\t")[:2])
        if not src or not tgt:
            side = "source (first column)" if not src else "target (second column)"
            raise DataError(f"Line {number} of {source} has an empty {side}. Every pair needs a non-empty "
                            "source and target; fix or remove that line.")
        pairs.append((src, tgt))
    if not pairs:
        raise DataError(f"{source} holds no pairs. Pass a file with one `source<TAB>target` pair per line.")
    return pairs


def read_pairs(path: str | os.PathLike) -> list[tuple[str, str]]:
    """The ``(source, target)`` pairs of a tab-separated file, in file order.

    Raises:
        DataError: the file is missing, not UTF-8, empty, or has a line without a tab or with
            an empty side (the message names the line).
    """
    path = Path(path)
    if path.is_dir():
        raise DataError(f"--pairs {path} is a directory; pass a `source<TAB>target` text file.")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError(f"The pairs file {path} does not exist. Pass a `source<TAB>target` text file "
                        "(--pairs FILE).") from None
    except UnicodeDecodeError as e:
        line = _text_line(path, e.start)
        raise DataError(f"The pairs file {path} is not UTF-8 (line {line}, byte {e.start}). Convert it "
                        "to UTF-8 (e.g. iconv -f latin1 -t utf-8).") from None
    except OSError as e:
        raise DataError(f"The pairs file {path} cannot be read: {e.strerror or e}.") from None
    return parse_pairs(text.splitlines(), source=str(path))


def _text_line(path: Path, offset: int) -> int:
    """The 1-based line of byte ``offset`` in ``path``."""
    with open(path, "rb") as f:
        return f.read(offset).count(b"\n") + 1
