"""Texts -> padded token ids and lengths: a tokeniser and a :class:`Vocabulary` in one object.

Fit it on the training texts only; transform every part (and, later, predict's input) with the
same encoder, read back from the run directory's ``vocabulary.json`` (:meth:`TextEncoder.save`).

>>> enc = TextEncoder(maxlen=4)
>>> ids, lengths = enc.fit_transform(["A good film.", "A bad, bad film!"])
>>> enc.vocabulary.tokens
['[PAD]', '[UNK]', 'a', 'film', 'bad', 'good']
>>> ids.tolist(), lengths.tolist()
([[2, 5, 3, 0], [2, 4, 4, 3]], [3, 4])
>>> enc.transform(["An awful film"])[0].tolist()       # padded to the longest text, at most maxlen
[[1, 1, 3]]
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from rnnkit.data._checks import check_choice, check_int, shown
from rnnkit._io import atomic_write_text
from rnnkit.data.tokenize import LEVELS, PUNCTUATION, tokenize
from rnnkit.data.vocabulary import SIDES, Vocabulary, _read_text
from rnnkit.errors import CheckpointError, DataError, InvalidArgumentError

__all__ = ["TextEncoder", "FORMAT"]

FORMAT = "rnnkit.text_encoder"
VERSION = 1


class TextEncoder:
    """Tokenise, build a vocabulary and encode, with one set of options.

    Arguments:
        level: ``"word"`` or ``"char"`` tokens (:mod:`rnnkit.data.tokenize`).
        lower: lower-case the texts (default True; for ``level="char"`` too, when given).
        max_tokens: vocabulary size including ``[PAD]``/``[UNK]`` (None: every token).
        min_freq: keep tokens seen at least this often in the training texts.
        maxlen: tokens kept per text, at most (the width of each :meth:`transform` call is its
            longest text, capped at ``maxlen``).
        padding, truncating: ``"post"`` (default) or ``"pre"``, as in
            :meth:`Vocabulary.encode` (read it for how to treat a length of 0).
        replace_numbers, replace_urls: map numbers / URLs to ``[NUM]`` / ``[URL]``.
        punctuation: ``"drop"`` (default) or ``"keep"`` punctuation marks as word tokens.
    """

    def __init__(self, level: str = "word", lower: bool = True, max_tokens: int | None = 20000, min_freq: int = 1,
                 maxlen: int | None = None, padding: str = "post", truncating: str = "post", *,
                 replace_numbers: bool = False, replace_urls: bool = False, punctuation: str = "drop"):
        self.level = check_choice("level", level, LEVELS)
        if not isinstance(lower, bool):
            raise InvalidArgumentError.for_argument("lower", lower, "True or False")
        self.lower = lower
        self.max_tokens = None if max_tokens is None else check_int(
            "max_tokens", max_tokens, 3, "It counts [PAD] and [UNK] too; use e.g. 20000, or None for every token.")
        self.min_freq = check_int("min_freq", min_freq, 1)
        self.maxlen = None if maxlen is None else check_int(
            "maxlen", maxlen, 1, "Pass a positive number of tokens per text (e.g. 500), or leave it unset.")
        self.padding = check_choice("padding", padding, SIDES)
        self.truncating = check_choice("truncating", truncating, SIDES)
        self.replace_numbers = bool(replace_numbers)
        self.replace_urls = bool(replace_urls)
        self.punctuation = check_choice("punctuation", punctuation, PUNCTUATION)
        self.vocabulary: Vocabulary | None = None

    def __repr__(self) -> str:
        size = "unfitted" if self.vocabulary is None else f"{len(self.vocabulary)} tokens"
        return f"TextEncoder(level={self.level!r}, maxlen={self.maxlen}, {size})"

    def tokenize(self, texts) -> list[list[str]]:
        return tokenize(_texts(texts), level=self.level, lower=self.lower, punctuation=self.punctuation)

    def fit(self, texts) -> "TextEncoder":
        """Build the vocabulary from ``texts`` (the **training** texts only). An empty text column,
        or one whose texts are all missing or hold no token, is a :class:`DataError`."""
        texts = _texts(texts)
        if len(texts) == 0:
            raise DataError("The text column is empty: there are no texts to build a vocabulary from. Check "
                            "--text-col and the CSV (a header-only file has no rows).")
        missing = sum(1 for t in texts if t is None or (isinstance(t, float) and math.isnan(t)))
        if missing == len(texts):
            raise DataError(f"The text column has {len(texts)} rows but every text is missing (NaN or empty cell). "
                            f"Check --text-col names the column with the texts.")
        tokens = self.tokenize(texts)
        if not any(tokens):
            raise DataError(f"None of the {len(texts)} texts has a {self.level} token (all are empty or blank "
                            f"after removing HTML{' and punctuation' if self.level == 'word' else ''}). Check "
                            f"--text-col names the column with the texts.")
        self.vocabulary = Vocabulary.build(tokens, max_tokens=self.max_tokens, min_freq=self.min_freq,
                                           replace_numbers=self.replace_numbers, replace_urls=self.replace_urls)
        return self

    def transform(self, texts, maxlen: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(ids int64 [N, L], lengths int64 [N])`` (``maxlen`` overrides the encoder's)."""
        if self.vocabulary is None:
            raise InvalidArgumentError("This TextEncoder is not fitted: call fit(training_texts) first, or load a "
                                       "saved one with TextEncoder.load(path).")
        return self.vocabulary.encode(self.tokenize(texts), maxlen=self.maxlen if maxlen is None else maxlen,
                                      padding=self.padding, truncating=self.truncating)

    def fit_transform(self, texts) -> tuple[np.ndarray, np.ndarray]:
        texts = _texts(texts)
        self.fit(texts)
        return self.transform(texts)

    # -- files ------------------------------------------------------------------------------

    def options(self) -> dict:
        return {"level": self.level, "lower": self.lower, "max_tokens": self.max_tokens, "min_freq": self.min_freq,
                "maxlen": self.maxlen, "padding": self.padding, "truncating": self.truncating,
                "replace_numbers": self.replace_numbers, "replace_urls": self.replace_urls,
                "punctuation": self.punctuation}

    def to_dict(self) -> dict:
        if self.vocabulary is None:
            raise InvalidArgumentError("This TextEncoder is not fitted: there is no vocabulary to save yet.")
        return {"format": FORMAT, "version": VERSION, "options": self.options(),
                "vocabulary": self.vocabulary.to_dict()}

    @classmethod
    def from_dict(cls, d, source: str = "the text encoder") -> "TextEncoder":
        def bad(why):
            return CheckpointError(f"{source} is not a valid rnnkit text encoder: {why}. Pass the vocabulary.json "
                                   f"that the training run wrote, or train again.")
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise bad(f"\"format\" is {shown(d.get('format') if isinstance(d, dict) else None)}, expected {FORMAT!r}")
        if d.get("version") != VERSION:
            raise bad(f"\"version\" is {shown(d.get('version'))}, this rnnkit reads version {VERSION}")
        opts = d.get("options")
        known = set(cls(max_tokens=None).options())
        if not isinstance(opts, dict) or set(opts) - known:
            raise bad(f"\"options\" must be an object with keys among {sorted(known)}")
        try:
            enc = cls(**opts)
        except (InvalidArgumentError, TypeError) as e:
            raise bad(str(e)) from None
        enc.vocabulary = Vocabulary.from_dict(d.get("vocabulary"), source)
        if (enc.vocabulary.replace_numbers, enc.vocabulary.replace_urls) != (enc.replace_numbers, enc.replace_urls):
            raise bad("the options and the vocabulary disagree on replace_numbers/replace_urls")
        return enc

    def to_json(self) -> str:
        """The JSON text of :meth:`save`'s file (a task writes it into its run directory)."""
        return json.dumps(self.to_dict(), ensure_ascii=False) + "\n"

    def save(self, path: str | os.PathLike) -> Path:
        """One JSON file (options + vocabulary), written atomically."""
        atomic_write_text(path, self.to_json())
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "TextEncoder":
        """Read :meth:`save`'s file; a missing or malformed file raises ``CheckpointError`` naming it."""
        source = f"The vocabulary file {os.fspath(path)}"
        try:
            d = json.loads(_read_text(path))
        except (ValueError, RecursionError) as e:     # not JSON, nested too deep, a huge number
            raise CheckpointError(f"{source} is not valid JSON ({str(e)[:200]}). Pass the vocabulary.json that the training "
                                  f"run wrote, or train again.") from None
        return cls.from_dict(d, source)


def _texts(texts) -> list:
    if isinstance(texts, (str, bytes)):
        raise InvalidArgumentError.for_argument("texts", texts[:40], "a list of texts, not one string",
                                                "Wrap it in a list: [text].")
    if texts is None:
        raise InvalidArgumentError.for_argument("texts", None, "a list (or pandas Series) of texts")
    if hasattr(texts, "tolist") and not isinstance(texts, list):
        texts = texts.tolist()
    return texts if isinstance(texts, list) else list(texts)
