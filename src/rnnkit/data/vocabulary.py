"""A token vocabulary: ids for tokens, built on the training part only, saved as JSON.

Ids: the ``specials`` come first, ``[PAD]`` = 0 and ``[UNK]`` = 1 by default, then ``[NUM]``
and/or ``[URL]`` when ``replace_numbers``/``replace_urls`` are set, then the kept tokens by
**descending frequency, ties broken by first appearance** in the token lists given to
:meth:`Vocabulary.build` (deterministic for a given input order).

:meth:`Vocabulary.encode` pads and truncates like Keras ``pad_sequences`` (``padding`` and
``truncating`` ``"pre"`` or ``"post"``), except that the defaults are ``"post"`` (rnnkit's
recurrent layers take right-padded batches with their ``lengths``) and that the width is the
longest sequence capped at ``maxlen`` (at least 1), never ``maxlen`` itself: a cap larger than
every text costs nothing.

>>> v = Vocabulary.build([["the", "cat", "sat"], ["the", "dog"], ["a", "cat"]])
>>> v.tokens
['[PAD]', '[UNK]', 'the', 'cat', 'sat', 'dog', 'a']
>>> ids, lengths = v.encode([["the", "cat"], ["a", "bird", "sat", "down"], []], maxlen=3)
>>> ids.tolist(), lengths.tolist()
([[2, 3, 0], [6, 1, 4], [0, 0, 0]], [2, 3, 0])
>>> v.decode(ids[1])
['a', '[UNK]', 'sat']
"""
from __future__ import annotations

import itertools
import json
import os
from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from rnnkit.data._checks import check_choice, check_int, listing, shown
from rnnkit._io import atomic_write_text
from rnnkit.data.tokenize import is_number, is_url
from rnnkit.errors import CheckpointError, InvalidArgumentError
from rnnkit.memory import check_fits

__all__ = ["Vocabulary", "PAD", "UNK", "NUM", "URL", "FORMAT"]

PAD, UNK, NUM, URL = "[PAD]", "[UNK]", "[NUM]", "[URL]"
FORMAT = "rnnkit.vocabulary"
VERSION = 1
SIDES = ("pre", "post")


class _Lookup(dict):
    """token -> id; a token not in the dict is resolved once (number, URL or unknown) and cached."""

    __slots__ = ("vocab",)

    def __missing__(self, token):
        v = self.vocab
        if v.replace_numbers and is_number(token):
            i = v._index[NUM]
        elif v.replace_urls and is_url(token):
            i = v._index[URL]
        else:
            i = 1
        self[token] = i
        return i


class Vocabulary:
    """Token <-> id mapping. Build it with :meth:`build` (from the training texts only).

    Attributes: ``tokens`` (id -> token, a list), ``specials``, ``replace_numbers``,
    ``replace_urls``, ``counts`` (training count per id; 0 for ``[PAD]``/``[UNK]``... unless
    counted), ``pad_id`` (0), ``unk_id`` (1).
    """

    def __init__(self, tokens: Sequence[str], specials: Sequence[str] = (PAD, UNK), *,
                 replace_numbers: bool = False, replace_urls: bool = False,
                 counts: Sequence[int] | None = None):
        tokens, specials = list(tokens), list(specials)
        _check_specials(specials)
        if tokens[:len(specials)] != specials:
            raise InvalidArgumentError.for_argument(
                "tokens", tokens[:len(specials)], f"a list starting with the specials {listing(specials, 5)}")
        for flag, tok in ((replace_numbers, NUM), (replace_urls, URL)):
            if flag and tok not in tokens:
                raise InvalidArgumentError.for_argument("tokens", tokens[:len(specials) + 2],
                                                        f"a list holding {tok} (replacement is on)")
        if len(set(tokens)) != len(tokens):
            dup = next(t for t, c in Counter(tokens).items() if c > 1)
            raise InvalidArgumentError.for_argument("tokens", dup, "unique tokens (this one repeats)")
        if counts is not None and len(counts) != len(tokens):
            raise InvalidArgumentError.for_argument("counts", len(counts), f"one count per token ({len(tokens)})")
        self.tokens: list[str] = tokens
        self.specials: list[str] = specials
        self.replace_numbers = bool(replace_numbers)
        self.replace_urls = bool(replace_urls)
        self.counts: list[int] = [int(c) for c in counts] if counts is not None else [0] * len(tokens)
        self._index = {t: i for i, t in enumerate(tokens)}

    # -- building ---------------------------------------------------------------------------

    @classmethod
    def build(cls, token_lists: Iterable[Sequence[str]], max_tokens: int | None = None, min_freq: int = 1,
              specials: Sequence[str] = (PAD, UNK), replace_numbers: bool = False,
              replace_urls: bool = False) -> "Vocabulary":
        """A vocabulary of the most frequent tokens of ``token_lists``.

        Pass the **training part only** (the validation and test texts must not choose the
        vocabulary, or the evaluation sees words picked using it); encode the other parts
        with the vocabulary built here, their unseen words become ``[UNK]``.

        Arguments:
            token_lists: token lists, e.g. from :func:`rnnkit.data.tokenize.tokenize`.
            max_tokens: the vocabulary size **including** the specials (and ``[NUM]``/``[URL]``),
                as Keras's ``TextVectorization``; None keeps every token seen ``min_freq`` times.
            min_freq: keep tokens seen at least this many times.
            specials: reserved tokens first; the first is padding (id 0), the second unknown (id 1).
            replace_numbers: count and encode every number token (``42``, ``3.5``) as ``[NUM]``.
            replace_urls: count and encode every URL token as ``[URL]``.

        Ties in frequency keep the order of first appearance in ``token_lists``.
        """
        specials = list(specials)
        _check_specials(specials)
        min_freq = check_int("min_freq", min_freq, 1)
        extra = ([NUM] if replace_numbers else []) + ([URL] if replace_urls else [])
        extra = [t for t in extra if t not in specials]
        reserved = specials + extra
        if max_tokens is not None:
            max_tokens = check_int("max_tokens", max_tokens, len(reserved) + 1,
                                   f"It counts the {len(reserved)} reserved tokens {reserved!r} too.")
        counts = Counter(itertools.chain.from_iterable(token_lists))
        special_counts = {}
        for tok in reserved:
            special_counts[tok] = counts.pop(tok, 0)
        if replace_numbers or replace_urls:
            for tok in [t for t in counts if (replace_numbers and is_number(t)) or (replace_urls and is_url(t))]:
                special_counts[NUM if replace_numbers and is_number(tok) else URL] += counts.pop(tok)
        ranked = [t for t, c in counts.most_common() if c >= min_freq]  # stable: ties by first seen
        if max_tokens is not None:
            ranked = ranked[:max_tokens - len(reserved)]
        return cls(reserved + ranked, specials, replace_numbers=replace_numbers, replace_urls=replace_urls,
                   counts=[special_counts[t] for t in reserved] + [counts[t] for t in ranked])

    # -- lookups ----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token) -> bool:
        return token in self._index

    def __eq__(self, other) -> bool:
        return isinstance(other, Vocabulary) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} tokens, specials={self.specials!r})"

    @property
    def pad_id(self) -> int:
        return 0

    @property
    def unk_id(self) -> int:
        return 1

    def token_to_id(self, token: str) -> int:
        """The id of ``token``: ``[NUM]``/``[URL]`` when replaced, ``unk_id`` when unknown."""
        i = self._index.get(token)
        return i if i is not None else self._lookup()[token]

    def ids(self, tokens: Iterable[str]) -> list[int]:
        """The ids of ``tokens``, as :meth:`token_to_id` of each (one lookup table for them all).

        >>> Vocabulary.build([["a", "b", "a"]]).ids(["a", "c", "b"])
        [2, 1, 3]
        """
        return list(map(self._lookup().__getitem__, tokens))

    def id_to_token(self, i: int) -> str:
        """The token of id ``i``; an id out of range is an error."""
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < len(self.tokens):
            raise InvalidArgumentError.for_argument("id", i, f"an integer id in [0, {len(self.tokens)})")
        return self.tokens[int(i)]

    def _lookup(self) -> _Lookup:
        d = _Lookup(self._index)
        d.vocab = self
        return d

    # -- encoding ---------------------------------------------------------------------------

    def encode(self, token_lists: Iterable[Sequence[str]], maxlen: int | None = None, padding: str = "post",
               truncating: str = "post") -> tuple[np.ndarray, np.ndarray]:
        """Token lists -> ``(ids, lengths)``, int64 arrays of shapes ``[N, L]`` and ``[N]``.

        ``L`` is the longest list (at least 1), capped at ``maxlen`` when given: a cap above the
        longest list costs nothing. Memory is checked first (:mod:`rnnkit.memory`). A longer list loses
        tokens at its start (``truncating="pre"``, it keeps its last ``maxlen`` tokens) or at its
        end (``"post"``, the default); a shorter one is padded with ``pad_id`` (0) after
        (``padding="post"``, the default) or before (``"pre"``) its tokens, as Keras's
        ``pad_sequences``. ``lengths[i]`` is the number of real tokens of row ``i`` after
        truncation: ``min(len(tokens), L)``.

        rnnkit's recurrent layers take ``lengths`` with right padding (``padding="post"``); left
        padding (``"pre"``) is for models that read the last step without lengths, as in Keras.

        **Length 0** (an empty or missing text): the row is all ``[PAD]``. rnnkit's layers refuse a
        length of 0 (there is no step to take a state from): a consumer must either drop those
        rows or give them length 1 (``np.maximum(lengths, 1)``: one ``[PAD]`` step, whose
        embedding row is zero, so the model sees "no words"); never pass 0 to a layer.
        """
        check_choice("padding", padding, SIDES)
        check_choice("truncating", truncating, SIDES)
        if maxlen is not None:
            maxlen = check_int("maxlen", maxlen, 1, "Pass a positive number of tokens, or None for the longest text.")
        if isinstance(token_lists, (str, bytes)):
            raise InvalidArgumentError.for_argument("token_lists", token_lists[:40], "a list of token lists",
                                                    "Tokenize the texts first (rnnkit.data.tokenize.tokenize).")
        if not isinstance(token_lists, list):
            token_lists = list(token_lists)
        n = len(token_lists)
        lengths = np.fromiter(map(len, token_lists), dtype=np.int64, count=n)
        longest = max(1, int(lengths.max()) if n else 1)
        width = longest if maxlen is None else min(maxlen, longest)     # a cap above the longest costs nothing
        check_fits(n * width * 8, f"padding {n:,} texts to {width:,} tokens (the longest kept)",
                   f"Pass a smaller maxlen (--max-len), e.g. {_suggest(lengths)}, the length 99% of the texts fit in.")
        ids = np.zeros((n, width), dtype=np.int64)
        if n == 0:
            return ids, lengths
        np.minimum(lengths, width, out=lengths)
        total = int(lengths.sum())
        kept = (t if len(t) <= width else t[:width] if truncating == "post" else t[len(t) - width:]
                for t in token_lists)
        flat = np.fromiter(map(self._lookup().__getitem__, itertools.chain.from_iterable(kept)),
                           dtype=np.int64, count=total)
        rows = np.repeat(np.arange(n), lengths)
        starts = np.cumsum(lengths) - lengths
        within = np.arange(total) - np.repeat(starts, lengths)
        cols = within if padding == "post" else within + np.repeat(width - lengths, lengths)
        ids[rows, cols] = flat
        return ids, lengths

    def decode(self, ids, skip_padding: bool = True) -> list:
        """Ids -> tokens. A 1-D sequence gives a token list, a 2-D array a list of lists.
        ``[PAD]`` ids are left out unless ``skip_padding=False``."""
        arr = np.asarray(ids)
        if arr.ndim == 2:
            return [self.decode(row, skip_padding) for row in arr]
        if arr.ndim != 1:
            raise InvalidArgumentError.for_argument("ids", arr.shape, "a 1-D or 2-D array of ids")
        if arr.size and (not np.issubdtype(arr.dtype, np.integer) or arr.min() < 0 or arr.max() >= len(self)):
            raise InvalidArgumentError.for_argument("ids", arr.tolist()[:10], f"integer ids in [0, {len(self)})")
        toks = self.tokens
        return [toks[i] for i in arr.tolist() if not (skip_padding and i == 0)]

    # -- files ------------------------------------------------------------------------------

    def to_dict(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "specials": list(self.specials),
                "replace_numbers": self.replace_numbers, "replace_urls": self.replace_urls,
                "tokens": list(self.tokens), "counts": list(self.counts)}

    @classmethod
    def from_dict(cls, d, source: str = "the vocabulary") -> "Vocabulary":
        """The vocabulary of :meth:`to_dict`'s dict; a malformed one raises ``CheckpointError``."""
        def bad(why):
            return CheckpointError(f"{source} is not a valid rnnkit vocabulary: {why}. Rebuild it by training "
                                   f"again, or pass the vocabulary.json that the run wrote.")
        if not isinstance(d, dict):
            raise bad(f"expected a JSON object, got {type(d).__name__}")
        if d.get("format") != FORMAT:
            raise bad(f"\"format\" is {shown(d.get('format'))}, expected {FORMAT!r}")
        if d.get("version") != VERSION:
            raise bad(f"\"version\" is {shown(d.get('version'))}, this rnnkit reads version {VERSION}")
        tokens, specials, counts = d.get("tokens"), d.get("specials"), d.get("counts")
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise bad("\"tokens\" must be a list of strings")
        if not isinstance(specials, list) or not all(isinstance(t, str) for t in specials):
            raise bad("\"specials\" must be a list of strings")
        if counts is not None and (not isinstance(counts, list) or not all(
                isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts)):
            raise bad("\"counts\" must be a list of non-negative integers")
        flags = {k: d.get(k, False) for k in ("replace_numbers", "replace_urls")}
        if not all(isinstance(v, bool) for v in flags.values()):
            raise bad("\"replace_numbers\" and \"replace_urls\" must be true or false")
        try:
            return cls(tokens, specials, counts=counts, **flags)
        except InvalidArgumentError as e:
            raise bad(str(e)) from None

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str, source: str = "the vocabulary") -> "Vocabulary":
        try:
            d = json.loads(text)
        except (ValueError, TypeError, RecursionError) as e:  # not JSON, nested too deep, a huge number
            raise CheckpointError(f"{source} is not valid JSON ({str(e)[:200]}). Rebuild it by training again, or pass "
                                  f"the vocabulary.json that the run wrote.") from None
        return cls.from_dict(d, source)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the vocabulary as JSON, atomically (temp file + rename)."""
        atomic_write_text(path, self.to_json() + "\n")
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Vocabulary":
        """Read a file written by :meth:`save`; a missing or malformed file raises
        :class:`~rnnkit.errors.CheckpointError` naming it."""
        return cls.from_json(_read_text(path), source=f"The vocabulary file {os.fspath(path)}")


def _read_text(path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CheckpointError(f"The vocabulary file {os.fspath(path)} does not exist. Pass the run directory's "
                              f"vocabulary.json.") from None
    except UnicodeDecodeError:
        raise CheckpointError(f"The vocabulary file {os.fspath(path)} is not UTF-8 JSON. Pass the vocabulary.json "
                              f"that the run wrote.") from None
    except OSError as e:
        raise CheckpointError(f"The vocabulary file {os.fspath(path)} cannot be read: {e.strerror or e}.") from None


def _check_specials(specials: list) -> None:
    if len(specials) < 2 or not all(isinstance(s, str) and s for s in specials) or len(set(specials)) != len(specials):
        raise InvalidArgumentError.for_argument(
            "specials", specials, "at least two distinct non-empty strings (padding first, unknown second)",
            "Keep the default ('[PAD]', '[UNK]') and add any others after them.")


def _suggest(lengths: np.ndarray) -> int:
    """A --max-len to propose: the 99th percentile of the lengths (at least 1)."""
    return max(1, int(np.percentile(lengths, 99))) if len(lengths) else 1
