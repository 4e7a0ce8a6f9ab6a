r"""Text <-> token ids for the language models at three levels, saved in the run directory.

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

**Pre-tokenised corpora** (``tokenized=True``, word level; :func:`looks_tokenized` detects one by
its own ``<unk>`` token): the text is taken as it is, as in the literature's word-level
benchmarks: each line is split on white space and ends with an ``<eos>`` token, nothing is
lower-cased or re-split, and the corpus's own ``<unk>`` is the unknown id (``[UNK]`` when the
corpus has none). The vocabulary is every token of the training text plus ``[PAD]`` (id 0,
never a target, never sampled), so perplexities are those of the corpus.

    >>> t = TextCodec.fit("word", "the cat 's <unk>\nthe dog\n", tokenized=True)
    >>> t.table.tokens
    ['[PAD]', '<unk>', 'the', '<eos>', 'cat', "'s", 'dog']
    >>> t.encode("the bird\n"), t.decode(t.encode("the cat\nthe dog\n"))
    ([2, 1, 3], 'the cat\nthe dog\n')

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
from rnnkit.data.vocabulary import PAD, UNK, Vocabulary
from rnnkit.errors import CheckpointError, DataError, InvalidArgumentError
from rnnkit.training.checkpoint import atomic_write_text

__all__ = ["TextCodec", "LEVELS", "read_text", "looks_tokenized", "EOS", "CORPUS_UNK"]

EOS, CORPUS_UNK = "<eos>", "<unk>"

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


def looks_tokenized(text: str) -> bool:
    r"""True when ``text`` is a pre-tokenised corpus: one of its white-space tokens is ``<unk>``.

        >>> looks_tokenized("a <unk> b\n"), looks_tokenized("a <unk>, b")
        (True, False)
    """
    return CORPUS_UNK in set(text.split())


def _split_lines(text: str) -> list[str]:
    """Every line's white-space tokens and ``<eos>`` (a blank line too, as the corpus reader of
    PyTorch's word-language-model example counts it)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    out: list[str] = []
    for line in lines:
        out.extend(line.split())
        out.append(EOS)
    return out


class TextCodec:
    """Encode and decode text at one level; build with :meth:`fit`, store with :meth:`save`."""

    def __init__(self, level: str, table, lower: bool = True, tokenized: bool = False):
        self.level, self.table, self.lower = level, table, lower
        self.tokenized = bool(tokenized) and level == "word"
        if level == "bpe":
            self._pieces = [bpe.decode(table, [i]) for i in range(bpe.vocab_size(table))]

    @classmethod
    def fit(cls, level: str, text: str, *, max_tokens: int | None = None, min_freq: int = 1,
            vocab_size: int = 2000, lower: bool = True, tokenized: bool = False) -> "TextCodec":
        if level not in LEVELS:
            raise InvalidArgumentError.for_argument("level", level, f"one of {LEVELS}")
        if level == "bpe":
            return cls(level, bpe.train_bpe([text], vocab_size=vocab_size), lower)
        if tokenized and level == "word":
            tokens = _split_lines(text)
            if not tokens:
                raise DataError("The training text has no tokens. Pass a longer text.")
            unk = CORPUS_UNK if CORPUS_UNK in set(tokens) else UNK
            return cls(level, Vocabulary.build([tokens], max_tokens=max_tokens, min_freq=min_freq,
                                               specials=(PAD, unk)), lower, tokenized=True)
        tokens = list(text) if level == "char" else word_tokens(text, lower=lower, punctuation="keep")
        if not tokens:
            raise DataError("The training text has no tokens at this level. Pass a longer text.")
        return cls(level, Vocabulary.build([tokens], max_tokens=max_tokens, min_freq=min_freq), lower)

    def __len__(self) -> int:
        return bpe.vocab_size(self.table) if self.level == "bpe" else len(self.table)

    def tokens(self, text: str) -> list[str]:
        if self.tokenized:
            return _split_lines(text)
        return list(text) if self.level == "char" else word_tokens(text, lower=self.lower, punctuation="keep")

    def encode(self, text: str) -> list[int]:
        """Ids of ``text``; unknown characters/words become ``[UNK]`` (see the module doc)."""
        if self.level == "bpe":
            return bpe.encode(self.table, text)
        return self.table.ids(self.tokens(text))

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

    def banned(self) -> list[int]:
        """Ids never to sample: ``[PAD]``, and ``[UNK]`` where training never shows it (char level;
        a tokenised corpus's unknown id is its own ``<unk>``, which it shows)."""
        if self.level == "bpe":
            return []
        out = [i for i in (0,) if self.table.id_to_token(i) == PAD]
        if self.level == "char" or (self.tokenized and self.table.id_to_token(1) == UNK):
            out.append(1)
        return out

    def piece(self, i: int) -> str:
        """The text of one id, for printing as it is generated (words get a leading space; a
        BPE byte that is part of a multi-byte character shows as U+FFFD alone)."""
        if self.level == "bpe":
            return self._pieces[i]
        tok = self.table.id_to_token(i)
        if self.tokenized and tok == EOS:
            return "\n"
        return tok if self.level == "char" else " " + tok

    def decode(self, ids) -> str:
        if self.level == "bpe":
            return bpe.decode(self.table, list(ids))
        text = "".join(self.piece(int(i)) for i in ids)
        if self.tokenized:
            return "\n".join(line[1:] if line.startswith(" ") else line for line in text.split("\n"))
        return text[1:] if self.level == "word" and text else text

    def chars_per_token(self) -> list[int] | None:
        """Characters per id (bits per character of a subword model), None for words."""
        if self.level == "word":
            return None
        return [len(self.piece(i)) for i in range(len(self))]

    @staticmethod
    def file_name(level: str) -> str:
        return FILES[level]

    def file_text(self) -> str:
        """The text of the vocabulary file (:meth:`file_name`) as :meth:`save` writes it."""
        return self.table.to_str() if self.level == "bpe" else self.table.to_json()

    def save(self, run_dir) -> Path:
        path = Path(run_dir) / FILES[self.level]
        atomic_write_text(path, self.file_text())
        return path

    @classmethod
    def load(cls, run_dir, level: str, lower: bool = True, expected_size: int | None = None,
             tokenized: bool = False) -> "TextCodec":
        """The codec a run saved; CheckpointError when the file is missing or does not match
        the model's ``expected_size`` ids."""
        if level not in LEVELS:
            raise CheckpointError(f"The run's level {level!r} is not one of {LEVELS}.")
        path = Path(run_dir) / FILES[level]
        if not path.is_file():
            raise CheckpointError(f"{path} is missing: the run has no vocabulary to read its weights with.")
        table = bpe.load_bpe(path) if level == "bpe" else Vocabulary.load(path)
        codec = cls(level, table, lower, tokenized)
        if expected_size is not None and len(codec) != expected_size:
            raise CheckpointError(
                f"The vocabulary file {path} has {len(codec)} tokens but the model's weights are for "
                f"{expected_size}: they come from different runs. Use the run directory as training wrote it.")
        return codec
