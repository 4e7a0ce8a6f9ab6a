"""Word and character tokenisers for text classification (one precompiled regex, fast).

Word tokens (:func:`word_tokens`), in this order:

1. HTML tags such as ``<br />`` or ``<i>`` are replaced by a space (IMDB reviews are full of
   ``<br /><br />``) and the common entities ``&amp; &lt; &gt; &quot; &#39; &nbsp;`` are decoded;
2. the text is lower-cased when ``lower=True`` (the default);
3. tokens are, by priority: URLs (``http://...``, ``https://...``, ``www....``; trailing
   ``.,;:!?)`` not included), numbers (``42``, ``3.5``, ``1,000``; a number glued to letters
   such as ``90s`` or ``mp3`` is a word), and words (letters, digits and ``_``, with inner
   apostrophes kept: ``don't``, ``o'clock`` are one token each);
4. punctuation is **dropped** by default (``punctuation="drop"``, like Keras's ``Tokenizer``);
   ``punctuation="keep"`` splits every other non-space character off as a token of its own.

Character tokens (:func:`char_tokens`) are every character after the same HTML removal, with
runs of white space collapsed to one space and the ends stripped; not lower-cased by default.

:func:`tokenize` does either over a list of texts. A missing text (``None`` or a float NaN, as
pandas gives for an empty CSV cell) becomes an empty token list. It tokenises IMDB's 25,000
reviews in a few seconds (``bench/text_prep.py`` measures it).

>>> word_tokens("A <b>great</b> film!<br /><br />I'd give it 9.5/10: see http://imdb.com/x.")
['a', 'great', 'film', "i'd", 'give', 'it', '9.5', '10', 'see', 'http://imdb.com/x']
>>> word_tokens("Wow!! 2 thumbs up.", punctuation="keep")
['wow', '!', '!', '2', 'thumbs', 'up', '.']
>>> char_tokens("Hi  <br />there")
['H', 'i', ' ', 't', 'h', 'e', 'r', 'e']
>>> tokenize(["One two", None, "Three"])
[['one', 'two'], [], ['three']]
"""
from __future__ import annotations

import math
import re
from typing import Iterable

from rnnkit.data._checks import check_choice
from rnnkit.errors import InvalidArgumentError

__all__ = ["word_tokens", "char_tokens", "tokenize", "is_number", "is_url", "LEVELS", "PUNCTUATION"]

LEVELS = ("word", "char")
PUNCTUATION = ("drop", "keep")

# A tag starts with a letter, "/" or "!" right after "<" (so "a < b" is not a tag) and is short.
_TAG = re.compile(r"<[/!]?[A-Za-z][^<>]{0,200}>")
_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'", "&apos;": "'",
             "&nbsp;": " "}
_ENTITY = re.compile("|".join(map(re.escape, _ENTITIES)))
_SPACES = re.compile(r"\s+")

_URL = r"(?:https?://|www\.)[^\s<>\"']*[^\s<>\"'.,;:!?)\]}]"
# Possessive quantifiers (Python 3.11+): no backtracking into a run of word characters (faster).
_NUMBER = r"\d++(?:[.,]\d++)*+(?!\w)"
_WORD = r"\w++(?:['\u2019]\w++)*+"
_WORD_RE = re.compile(f"{_URL}|{_NUMBER}|{_WORD}")
_WORD_PUNCT_RE = re.compile(f"{_URL}|{_NUMBER}|{_WORD}|[^\\w\\s]")
_NUMBER_FULL = re.compile(r"\d+(?:[.,]\d+)*")
_URL_FULL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)


def _clean(text: str) -> str:
    if "<" in text:
        text = _TAG.sub(" ", text)
    if "&" in text:
        text = _ENTITY.sub(lambda m: _ENTITIES[m.group(0)], text)
    return text


def _as_text(text) -> str:
    """A text cell as a string: ``None``/NaN -> ``""``, bytes refused, anything else ``str()``."""
    if isinstance(text, str):
        return text
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    if isinstance(text, (bytes, bytearray)):
        raise InvalidArgumentError.for_argument(
            "texts", text[:40], "str, not bytes", "Decode the bytes first (e.g. b.decode('utf-8')), or read "
            "the file with its encoding (--encoding).")
    try:
        import pandas as pd

        if pd.isna(text):
            return ""
    except (TypeError, ValueError, ImportError):
        pass
    return str(text)


def word_tokens(text, lower: bool = True, punctuation: str = "drop") -> list[str]:
    """The word tokens of one text (see the module docstring for the rules)."""
    check_choice("punctuation", punctuation, PUNCTUATION)
    text = _clean(_as_text(text))
    if lower:
        text = text.lower()
    return (_WORD_RE if punctuation == "drop" else _WORD_PUNCT_RE).findall(text)


def char_tokens(text, lower: bool = False) -> list[str]:
    """The characters of one text, HTML tags removed and white space collapsed to one space."""
    text = _SPACES.sub(" ", _clean(_as_text(text))).strip()
    return list(text.lower() if lower else text)


def tokenize(texts: Iterable, level: str = "word", lower: bool | None = None,
             punctuation: str = "drop") -> list[list[str]]:
    """Tokenise many texts: one token list per text.

    Arguments:
        texts: an iterable of strings (a list, a pandas Series); ``None``/NaN give ``[]``.
        level: ``"word"`` (:func:`word_tokens`) or ``"char"`` (:func:`char_tokens`).
        lower: lower-case first; default True for words and False for characters.
        punctuation: for words, ``"drop"`` (default) or ``"keep"`` (one token per mark).
    """
    check_choice("level", level, LEVELS)
    check_choice("punctuation", punctuation, PUNCTUATION)
    if isinstance(texts, (str, bytes)):
        raise InvalidArgumentError.for_argument(
            "texts", texts[:40], "a list of texts, not one string", "Wrap it in a list: tokenize([text]).")
    if lower is None:
        lower = level == "word"
    clean, as_text = _clean, _as_text
    if level == "word":
        findall = (_WORD_RE if punctuation == "drop" else _WORD_PUNCT_RE).findall
        if lower:
            return [findall(clean(t if type(t) is str else as_text(t)).lower()) for t in texts]
        return [findall(clean(t if type(t) is str else as_text(t))) for t in texts]
    spaces = _SPACES.sub
    out = []
    for t in texts:
        s = spaces(" ", clean(t if type(t) is str else as_text(t))).strip()
        out.append(list(s.lower() if lower else s))
    return out


def is_number(token: str) -> bool:
    """Whether a token is a number as :func:`word_tokens` makes them (``42``, ``3.5``, ``1,000``).

    >>> is_number("1,000"), is_number("90s")
    (True, False)
    """
    return _NUMBER_FULL.fullmatch(token) is not None


def is_url(token: str) -> bool:
    """Whether a token is a URL (starts with ``http://``, ``https://`` or ``www.``).

    >>> is_url("www.imdb.com"), is_url("imdb")
    (True, False)
    """
    return _URL_FULL.fullmatch(token) is not None
