"""Translation data: pairs read, shuffled and split, tokenised by one :class:`Codec` per language
(words or byte-level BPE, trained on the training pairs), encoded, and batched for teacher forcing.

    >>> pairs = [(f"a {i}", f"b {i}") for i in range(20)]
    >>> data = prepare_translate(TranslateConfig(pairs="unused.tsv"), pairs)
    >>> [len(data.texts[p]) for p in PARTS]
    [16, 2, 2]
    >>> normalise("Click OK.")
    'click ok .'
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnkit.data.bpe import decode, load_bpe, train_bpe, vocab_size
from rnnkit.data.libreoffice import read_libreoffice_pairs
from rnnkit.data.pairs import read_pairs
from rnnkit.data.tokenize import word_tokens
from rnnkit.data.vocabulary import Vocabulary
from rnnkit.errors import CheckpointError, DataError, InvalidArgumentError
from rnnkit.models.seq2seq import SPECIALS, pad_batch
from rnnkit.tasks.translate_config import TranslateConfig

__all__ = ["PARTS", "Codec", "TranslateData", "batches", "codec_file", "normalise", "prepare_translate", "read_source"]

PARTS = ("train", "val", "test")


def normalise(text: str, lower: bool = True) -> str:
    """The text as scored: word tokens, punctuation kept, joined by single spaces."""
    return " ".join(word_tokens(text, lower=lower, punctuation="keep"))


def codec_file(side: str, level: str) -> str:
    """``source_vocabulary.json``, ``target_bpe.json``...: the file of one side's tokens in a run."""
    return f"{side}_{'bpe' if level == 'bpe' else 'vocabulary'}.json"


class Codec:
    """Text <-> ids of one language: a word :class:`Vocabulary` or a BPE tokenizer."""

    def __init__(self, level: str, lower: bool, vocab=None, bpe=None):
        self.level, self.lower, self.vocab, self.bpe = level, lower, vocab, bpe

    @classmethod
    def train(cls, level: str, texts: list[str], vocab_size: int, lower: bool) -> "Codec":
        if level == "bpe":
            return cls(level, lower, bpe=train_bpe([t.lower() if lower else t for t in texts], vocab_size,
                                                   specials=SPECIALS))
        toks = [word_tokens(t, lower=lower, punctuation="keep") for t in texts]
        return cls(level, lower, vocab=Vocabulary.build(toks, max_tokens=vocab_size, specials=SPECIALS))

    def __len__(self) -> int:
        if self.bpe is not None:
            return vocab_size(self.bpe)
        return len(self.vocab)

    def encode(self, texts: list[str]) -> list[list[int]]:
        if self.bpe is not None:
            return [e.ids for e in self.bpe.encode_batch([t.lower() if self.lower else t for t in texts])]
        ids, lengths = self.vocab.encode([word_tokens(t, lower=self.lower, punctuation="keep") for t in texts])
        return [row[:n].tolist() for row, n in zip(ids, lengths)]

    def decode(self, ids: list[int]) -> str:
        if self.bpe is not None:
            return decode(self.bpe, ids)
        return " ".join(self.vocab.tokens[i] for i in ids)

    def files(self, side: str) -> str:
        return codec_file(side, self.level)

    def file_text(self) -> str:
        """The text of its file in a run directory (:meth:`files` names it; :meth:`load` reads it)."""
        return self.bpe.to_str() if self.bpe is not None else self.vocab.to_json() + "\n"

    @classmethod
    def load(cls, run_dir: Path, side: str, level: str, lower: bool) -> "Codec":
        path = run_dir / codec_file(side, level)
        if level == "bpe":
            codec = cls(level, lower, bpe=load_bpe(path))
            specials = [codec.bpe.id_to_token(i) for i in range(len(SPECIALS))]
        else:
            codec = cls(level, lower, vocab=Vocabulary.load(path))
            specials = codec.vocab.tokens[:len(SPECIALS)]
        if list(specials) != list(SPECIALS):
            raise CheckpointError(f"{path} does not start with the specials {' '.join(SPECIALS)} (it has "
                                  f"{specials!r}): it is not the vocabulary of this translation run.")
        return codec


@dataclass
class TranslateData:
    """Texts and ids of each part, the two codecs, and the counts of what was left out."""

    texts: dict           # part -> list of (source, target)
    ids: dict             # part -> (source ids, target ids)
    source: Codec
    target: Codec
    dropped: dict

    def summary(self) -> str:
        n = ", ".join(f"{p} {len(self.texts[p])}" for p in PARTS)
        return (f"pairs: {n}; vocabulary: source {len(self.source)}, target {len(self.target)} ({self.source.level}); "
                f"left out: {self.dropped['too_long']} longer than max_len, {self.dropped['empty']} without tokens")


def read_source(config: TranslateConfig) -> list[tuple[str, str]]:
    if config.pairs:
        return read_pairs(config.pairs)
    if config.libreoffice_help:
        return read_libreoffice_pairs(config.libreoffice_help)
    raise InvalidArgumentError.for_argument("--pairs", None, "a data source",
                                            "Pass --pairs FILE.tsv or --libreoffice-help DIR.")


def prepare_translate(config: TranslateConfig, pairs: list[tuple[str, str]] | None = None) -> TranslateData:
    """Split, tokenise and encode (``pairs`` replaces reading the config's source)."""
    pairs = read_source(config) if pairs is None else list(pairs)
    order = np.random.default_rng(config.seed).permutation(len(pairs))
    if config.max_pairs is not None:
        order = order[:config.max_pairs]
    n = len(order)
    n_train, n_val, n_test = (int(round(n * f)) for f in config.split)
    cut = {"train": order[:n_train], "val": order[n_train:n_train + n_val],
           "test": order[n_train + n_val:n_train + n_val + n_test]}
    if min(len(v) for v in cut.values()) < 1:
        raise DataError(f"{n} pairs cannot be split {config.split} with a pair in each part; pass more pairs.")
    train = [pairs[i] for i in cut["train"]]
    src = Codec.train(config.level, [s for s, _ in train], config.vocab_size, config.lower)
    tgt = Codec.train(config.level, [t for _, t in train], config.vocab_size, config.lower)
    texts, ids, dropped = {}, {}, {"too_long": 0, "empty": 0}
    for part, idx in cut.items():
        chosen = [pairs[i] for i in idx]
        s_ids, t_ids = src.encode([s for s, _ in chosen]), tgt.encode([t for _, t in chosen])
        keep = []
        for k, (a, b) in enumerate(zip(s_ids, t_ids)):
            if not a or not b:
                dropped["empty"] += 1
            elif len(a) > config.max_len or len(b) > config.max_len:
                dropped["too_long"] += 1
            else:
                keep.append(k)
        if not keep:
            raise DataError(f"No {part} pair has at most --max-len {config.max_len} tokens on both sides; "
                            "raise --max-len.")
        texts[part] = [chosen[k] for k in keep]
        ids[part] = ([s_ids[k] for k in keep], [t_ids[k] for k in keep])
    return TranslateData(texts, ids, src, tgt, dropped)


def batches(src_ids, tgt_ids, batch_size: int, seed: int | None = None):
    """Teacher-forcing batches of similar source lengths; with ``seed`` a callable ``f(epoch)``
    shuffling by ``seed + epoch`` (an exact resume reshuffles alike)."""
    def make(order):
        out, window = [], batch_size * 20
        for w in range(0, len(order), window):
            chunk = sorted(order[w:w + window], key=lambda i: len(src_ids[i]))
            out += [pad_batch([src_ids[i] for i in chunk[j:j + batch_size]], [tgt_ids[i] for i in chunk[j:j + batch_size]])
                    for j in range(0, len(chunk), batch_size)]
        return out

    if seed is None:
        return make(list(range(len(src_ids))))

    def epoch_batches(epoch):
        rng = np.random.default_rng(seed + epoch)
        out = make(rng.permutation(len(src_ids)).tolist())
        return [out[i] for i in rng.permutation(len(out))]
    return epoch_batches
