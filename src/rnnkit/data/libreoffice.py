"""English-French paragraph pairs from the LibreOffice help (Debian ``libreoffice-help-*``, MPL-2.0).

The help is one HTML file per page under ``usr/share/libreoffice/help/<lang>/text/`` (e.g.
``en-US/text/shared/find_toolbar.html`` and ``fr/text/shared/find_toolbar.html``). Both languages
are generated from the same sources, so every paragraph and heading (``<p>``, ``<h1>``..``<h6>``)
carries the same ``id`` in both (``par_id3147762``, ``hd_id701641581066778``). A pair is the text
of the element with one ``id`` in the English file and in the French file with the same path:
tags removed, entities decoded, white space collapsed. Pairs with an empty side are dropped, so
are pairs whose two sides are the same text (untranslated names such as ``OnFocus`` or code:
5,705 of them in 4:7.4.7), and identical pairs are kept once (the help repeats many sentences),
in the order first met (files sorted by path, elements in document order).

Get the data (Debian 12 packages, 4:7.4.7)::

    apt-get download libreoffice-help-en-us libreoffice-help-fr
    dpkg -x libreoffice-help-en-us_*.deb tree && dpkg -x libreoffice-help-fr_*.deb tree

then pass ``tree`` (or the installed ``/usr/share/libreoffice/help``) to
:func:`read_libreoffice_pairs`; 4:7.4.7 gives 2,560 pages per language and 34,136
unique pairs (mean 13.6 English words; 39,841 with the untranslated ones).

    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for lang, text in (("en-US", "The <b>Find</b> bar"), ("fr", "La barre <b>Rechercher</b>")):
    ...     page = root / lang / "text" / "shared" / "find.html"
    ...     page.parent.mkdir(parents=True)
    ...     _ = page.write_text(f'<html><body><p id="par_id1">{text}</p></body></html>', encoding="utf-8")
    >>> read_libreoffice_pairs(root)
    [('The Find bar', 'La barre Rechercher')]
"""
from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from pathlib import Path

from rnnkit.errors import DataError

__all__ = ["read_libreoffice_pairs", "help_root", "page_paragraphs"]

HELP_SUBDIR = Path("usr/share/libreoffice/help")
_BLOCKS = {"p", "h1", "h2", "h3", "h4", "h5", "h6"}
_SPACES = re.compile(r"\s+")


class _Paragraphs(HTMLParser):
    """Collects ``id -> text`` of the block elements that carry an ``id``."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: dict[str, str] = {}
        self._open: list[tuple[str, str, list[str]]] = []   # (tag, id, text parts)

    def handle_starttag(self, tag, attrs):
        if tag in _BLOCKS:
            ident = dict(attrs).get("id")
            self._open.append((tag, ident or "", []))

    def handle_endtag(self, tag):
        if tag in _BLOCKS and self._open and self._open[-1][0] == tag:
            _, ident, parts = self._open.pop()
            text = _SPACES.sub(" ", "".join(parts)).strip()
            if ident and ident not in self.found:
                self.found[ident] = text
            if self._open:                      # nested block: its text belongs to the outer one too
                self._open[-1][2].append(" " + text + " ")

    def handle_data(self, data):
        if self._open:
            self._open[-1][2].append(data)


def page_paragraphs(path: str | os.PathLike) -> dict[str, str]:
    """``id -> text`` of the paragraphs and headings of one help page."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise DataError(f"The help page {path} is not UTF-8 (byte {e.start}). Pass the tree that "
                        "`dpkg -x` extracted from the libreoffice-help packages.") from None
    parser = _Paragraphs()
    parser.feed(text)
    parser.close()
    return parser.found


def help_root(directory: str | os.PathLike, source: str = "en-US", target: str = "fr") -> Path:
    """The ``help`` directory holding ``<source>/text`` and ``<target>/text`` under ``directory``
    (the directory itself, or ``usr/share/libreoffice/help`` below an extracted package tree)."""
    directory = Path(directory)
    for cand in (directory, directory / HELP_SUBDIR, directory / "help"):
        if (cand / source / "text").is_dir() and (cand / target / "text").is_dir():
            return cand
    if not directory.exists():
        raise DataError(f"The LibreOffice help directory {directory} does not exist. Extract the packages "
                        "(apt-get download libreoffice-help-en-us libreoffice-help-fr; dpkg -x each .deb DIR) "
                        "and pass DIR to --libreoffice-help.")
    raise DataError(f"{directory} holds no {source}/text and {target}/text help folders (looked in it and in "
                    f"{HELP_SUBDIR} below it). Pass the folder `dpkg -x` extracted both libreoffice-help "
                    "packages into, or /usr/share/libreoffice/help when they are installed.")


def read_libreoffice_pairs(directory: str | os.PathLike, source: str = "en-US", target: str = "fr",
                           limit: int | None = None, keep_identical: bool = False) -> list[tuple[str, str]]:
    """Unique ``(source text, target text)`` pairs aligned by page path and element ``id``.

    Args:
        directory: an extracted package tree or a help directory (see :func:`help_root`).
        source, target: language folders, default ``"en-US"`` and ``"fr"``.
        limit: stop after this many pairs (None = all).
        keep_identical: keep pairs whose two sides are the same text (default False).
    Raises:
        DataError: no help tree there, or no pair found in it.
    """
    root = help_root(directory, source, target)
    src_dir, tgt_dir = root / source / "text", root / target / "text"
    seen: set[tuple[str, str]] = set()
    pairs: list[tuple[str, str]] = []
    for page in sorted(src_dir.rglob("*.html")):
        other = tgt_dir / page.relative_to(src_dir)
        if not other.is_file():
            continue
        theirs = page_paragraphs(other)
        for ident, text in page_paragraphs(page).items():
            pair = (text, theirs.get(ident, ""))
            if not pair[0] or not pair[1] or pair in seen or (pair[0] == pair[1] and not keep_identical):
                continue
            seen.add(pair)
            pairs.append(pair)
            if limit is not None and len(pairs) >= limit:
                return pairs
    if not pairs:
        raise DataError(f"No {source}-{target} paragraph pairs were found under {root}: the pages of the two "
                        "languages share no paragraph id. Pass the tree of the libreoffice-help packages.")
    return pairs
