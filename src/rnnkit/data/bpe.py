"""Subword vocabularies: byte-level BPE trained with the Hugging Face ``tokenizers`` library.

Byte-level BPE (as GPT-2) starts from the 256 bytes, so every text encodes (nothing is out of
the vocabulary) and decoding gives the text back exactly, spaces and newlines included.
Train it on the training text only; it is saved as the library's own ``tokenizer.json``.

    >>> tok = train_bpe(["the cat sat on the mat", "the dog sat"], vocab_size=270)
    >>> ids = encode(tok, "the cat sat")
    >>> decode(tok, ids)
    'the cat sat'
    >>> vocab_size(tok) <= 270
    True
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable, Sequence

from rnnkit._io import atomic_write_text
from rnnkit.errors import CheckpointError, InvalidArgumentError

__all__ = ["train_bpe", "save_bpe", "load_bpe", "encode", "decode", "vocab_size", "SPECIALS", "MIN_VOCAB"]

SPECIALS = ("[PAD]", "[UNK]")
MIN_VOCAB = 256 + len(SPECIALS) + 1
LONG_WORD = 1000         # training reads longer runs without white space in pieces of this many characters
_LONG = re.compile(r"\S{%d,}" % LONG_WORD)


def _pieces(texts: Iterable[str]):
    """``texts`` with each run of more than :data:`LONG_WORD` non-space characters cut into
    pieces: the trainer's time grows with the square of a word's length (a 100 kB word took 19 s,
    1 MB would take half an hour). Encoding is not affected; it reads any word."""
    for text in texts:
        if len(text) <= LONG_WORD or not _LONG.search(text):
            yield text
            continue
        start = 0
        for m in _LONG.finditer(text):
            yield text[start:m.start()]
            yield from (m.group()[i:i + LONG_WORD] for i in range(0, len(m.group()), LONG_WORD))
            start = m.end()
        yield text[start:]


def _check_vocab_size(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < MIN_VOCAB:
        raise InvalidArgumentError.for_argument(
            "vocab_size", value, f"an integer >= {MIN_VOCAB}",
            "Byte-level BPE holds the 256 bytes and the specials before any merge; e.g. 2000.")
    return value


def train_bpe(texts: Iterable[str], vocab_size: int = 2000, min_frequency: int = 2,
              specials: Sequence[str] = SPECIALS):
    """A byte-level BPE ``tokenizers.Tokenizer`` trained on ``texts`` (the training part only)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    _check_vocab_size(vocab_size)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=list(specials),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(list(_pieces(texts)), trainer=trainer)
    return tok


def encode(tok, text: str) -> list[int]:
    """The ids of ``text`` (one string)."""
    return tok.encode(text).ids


def decode(tok, ids: Sequence[int]) -> str:
    """The text of ``ids`` (specials left out)."""
    return tok.decode([int(i) for i in ids])


def vocab_size(tok) -> int:
    """Number of ids (specials included)."""
    return tok.get_vocab_size(with_added_tokens=True)


def save_bpe(tok, path: str | os.PathLike) -> Path:
    """Write the tokenizer as ``tokenizer.json`` (the library's format), atomically; a file of
    a run directory is written by the task (``tok.to_str()``), so the run's manifest records it."""
    path = Path(path)
    atomic_write_text(path, tok.to_str())
    return path


def load_bpe(path: str | os.PathLike):
    """Read a tokenizer saved by :func:`save_bpe`; CheckpointError when it is not one."""
    from tokenizers import Tokenizer

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise CheckpointError(f"The BPE tokenizer file {path} cannot be read ({type(e).__name__}: {e}). "
                              "Pass the tokenizer.json the run wrote.") from None
    try:
        return Tokenizer.from_str(text)
    except Exception as e:  # the library raises its own exception type
        raise CheckpointError(f"{path} is not a tokenizers BPE file ({str(e)[:200]}). "
                              "Pass the tokenizer.json the run wrote.") from None
