"""Text <-> token ids for the language models at three levels, saved in the run directory.

=========  ============================================================================  ====================
level      tokens                                                                        vocabulary file
=========  ============================================================================  ====================
``char``   every character (case and white space kept)                                   ``vocabulary.json``
``word``   :func:`rnnkit.data.tokenize.word_tokens` with punctuation                      ``vocabulary.json``
           kept as tokens (lower-cased unless ``lower=False``)
``bpe``    byte-level BPE trained with ``tokenizers`` (:mod:`~rnnkit.data.bpe`)          ``tokenizer.json``
=========  ============================================================================  ====================

The vocabulary comes from the training text only (:class:`rnnkit.data.vocabulary.Vocabulary`,
``[PAD]`` 0 and ``[UNK]`` 1 first). Out-of-vocabulary input: a character never seen in
training is **refused** in a prompt (the model has never read ``[UNK]`` at character level; the
error names the characters) and becomes ``[UNK]`` in a validation or test text (counted, and
its loss counted); an unknown word becomes ``[UNK]`` everywhere, with a warning for a prompt;
byte-level BPE has no unknown input.

    >>> c = TextCodec.fit("char", "to be or not to be")
    >>> c.encode("to be"), c.decode(c.encode("to be"))
    ([4, 3, 2, 5, 6], 'to be')
    >>> w = TextCodec.fit("word", "To be, or not to be.")
    >>> w.decode(w.encode("not to be"))
    'not to be'
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

from rnnkit.data import bpe
from rnnkit.data.tokenize import word_tokens
from rnnkit.data.vocabulary import Vocabulary
from rnnkit.errors import CheckpointError, DataError, InvalidArgumentError
from rnnkit.training.checkpoint import atomic_write_text

__all__ = ["TextCodec", "LEVELS", "read_text"]

LEVELS = ("char", "word", "bpe")
FILES = {"char": "vocabulary.json", "word": "vocabulary.json", "bpe": "tokenizer.json"}


def read_text(path: str | os.PathLike, argument: str) -> str:
    """A UTF-8 text file as ``str`` (line ends normalised); a clear error naming ``argument``
    when it is missing, a directory, not UTF-8, or empty."""
    p = Path(path)
    if not p.exists():
        raise InvalidArgumentError.for_argument(argument, str(path), "an existing text file", "Check the path.")
    if p.is_dir():
        raise InvalidArgumentError.for_argument(argument, str(path), "a text file, not a directory")
    try:
        text = p.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataError(f"{argument} {path} is not UTF-8 text (byte {e.start}). Convert it to UTF-8, "
                        "e.g. iconv -f latin1 -t utf-8.") from None
    except OSError as e:
        raise InvalidArgumentError.for_argument(argument, str(path), "a readable file", e.strerror) from None
    text = text.replace("\r\n", "\n")
    if not text.strip():
        raise DataError(f"{argument} {path} is empty: a language model needs text to read. Pass a non-empty file.")
    return text


class TextCodec:
    """Encode and decode text at one level; build with :meth:`fit`, store with :meth:`save`."""

    def __init__(self, level: str, table, lower: bool = True):
        self.level, self.table, self.lower = level, table, lower
        if level == "bpe":
            self._pieces = [bpe.decode(table, [i]) for i in range(bpe.vocab_size(table))]

    @classmethod
    def fit(cls, level: str, text: str, *, max_tokens: int | None = None, min_freq: int = 1,
            vocab_size: int = 2000, lower: bool = True) -> "TextCodec":
        if level not in LEVELS:
            raise InvalidArgumentError.for_argument("level", level, f"one of {LEVELS}")
        if level == "bpe":
            return cls(level, bpe.train_bpe([text], vocab_size=vocab_size), lower)
        tokens = list(text) if level == "char" else word_tokens(text, lower=lower, punctuation="keep")
        if not tokens:
            raise DataError("The training text has no tokens at this level. Pass a longer text.")
        return cls(level, Vocabulary.build([tokens], max_tokens=max_tokens, min_freq=min_freq), lower)

    def __len__(self) -> int:
        return bpe.vocab_size(self.table) if self.level == "bpe" else len(self.table)

    def tokens(self, text: str) -> list[str]:
        return list(text) if self.level == "char" else word_tokens(text, lower=self.lower, punctuation="keep")

    def encode(self, text: str) -> list[int]:
        """Ids of ``text``; unknown characters/words become ``[UNK]`` (see the module doc)."""
        if self.level == "bpe":
            return bpe.encode(self.table, text)
        look = self.table.token_to_id
        return [look(t) for t in self.tokens(text)]

    def unknown(self, text: str) -> list[str]:
        """The distinct tokens of ``text`` outside the vocabulary, in order of appearance."""
        if self.level == "bpe":
            return []
        seen = dict.fromkeys(t for t in self.tokens(text) if t not in self.table)
        return list(seen)

    def encode_prompt(self, text: str) -> list[int]:
        """Ids of a generation prompt: unseen characters refused, unseen words -> [UNK] with a warning."""
        bad = self.unknown(text)
        if bad and self.level == "char":
            raise InvalidArgumentError.for_argument(
                "--prompt", text if len(text) <= 60 else text[:57] + "...",
                "characters seen in the training text",
                f"These never occur there: {', '.join(map(repr, bad[:10]))}. Remove or replace them.")
        if bad:
            warnings.warn(f"prompt words outside the vocabulary, read as [UNK]: {', '.join(bad[:10])}", stacklevel=2)
        return self.encode(text)

    def piece(self, i: int) -> str:
        """The text of one id, for printing as it is generated (words get a leading space; a
        BPE byte that is part of a multi-byte character shows as U+FFFD alone)."""
        if self.level == "bpe":
            return self._pieces[i]
        tok = self.table.id_to_token(i)
        return tok if self.level == "char" else " " + tok

    def decode(self, ids) -> str:
        if self.level == "bpe":
            return bpe.decode(self.table, list(ids))
        text = "".join(self.piece(int(i)) for i in ids)
        return text[1:] if self.level == "word" and text else text

    def chars_per_token(self) -> list[int] | None:
        """Characters per id (bits per character of a subword model), None for words."""
        if self.level == "word":
            return None
        return [len(self.piece(i)) for i in range(len(self))]

    @staticmethod
    def file_name(level: str) -> str:
        return FILES[level]

    def save(self, run_dir) -> Path:
        path = Path(run_dir) / FILES[self.level]
        atomic_write_text(path, self.table.to_str() if self.level == "bpe" else self.table.to_json())
        return path

    @classmethod
    def load(cls, run_dir, level: str, lower: bool = True, expected_size: int | None = None) -> "TextCodec":
        """The codec a run saved; CheckpointError when the file is missing or does not match
        the model's ``expected_size`` ids."""
        if level not in LEVELS:
            raise CheckpointError(f"The run's level {level!r} is not one of {LEVELS}.")
        path = Path(run_dir) / FILES[level]
        if not path.is_file():
            raise CheckpointError(f"{path} is missing: the run has no vocabulary to read its weights with.")
        table = bpe.load_bpe(path) if level == "bpe" else Vocabulary.load(path)
        codec = cls(level, table, lower)
        if expected_size is not None and len(codec) != expected_size:
            raise CheckpointError(
                f"The vocabulary file {path} has {len(codec)} tokens but the model's weights are for "
                f"{expected_size}: they come from different runs. Use the run directory as training wrote it.")
        return codec
