"""The options of a translation run: :class:`TranslateConfig` (``rnnkit translate train --help``
lists them), every one checked when the config is made, before any data is read.

    >>> TranslateConfig(pairs="fra.txt", embedding_dim=64).model_config(100, 120).embed
    64
    >>> TranslateConfig(pairs="fra.txt", beam=0)
    Traceback (most recent call last):
    ...
    rnnkit.errors.InvalidArgumentError: ...
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from rnnkit.data.bpe import MIN_VOCAB
from rnnkit.errors import InvalidArgumentError
from rnnkit.models.decoding import check_decoding
from rnnkit.models.seq2seq import SPECIALS, Seq2SeqConfig
from rnnkit.tasks.classify_data import check_split
from rnnkit.tasks.config_check import without
from rnnkit.tasks.options import check_minutes, device_option, float_list, option, optional_int, zero_is_none
from rnnkit.training import TrainConfig

__all__ = ["TranslateConfig"]


@dataclass
class TranslateConfig:
    """Every choice of a translation run (``rnnkit translate train --help`` lists them)."""

    pairs: str | None = option(None, "source<TAB>target file (Tatoeba's fra.txt layout reads too)", metavar="FILE")
    libreoffice_help: str | None = option(None, "extracted libreoffice-help-en-us + -fr packages (or "
                                          "/usr/share/libreoffice/help): English-French paragraphs", metavar="DIR")
    max_pairs: int | None = option(None, "use a random subset of this many pairs ('none': all)", parse=optional_int)
    split: tuple = option((0.8, 0.1, 0.1), "train,val,test fractions (shuffled by --seed)", parse=float_list)
    level: str = option("word", "tokens: words (punctuation kept) or byte-level BPE", choices=("word", "bpe"))
    lower: bool = option(True, "lower-case the texts")
    vocab_size: int = option(8000, "tokens per language, specials included (words: the most frequent; bpe: merges)")
    max_len: int = option(30, "leave out pairs with more tokens than this on either side")
    cell: str = option("lstm", "recurrent cell", choices=("lstm", "gru"))
    embedding_dim: int = option(128, "embedding width", old=("embed",))
    units: int = option(256, "recurrent units (per direction)")
    layers: int = option(1, "stacked encoder and decoder layers")
    bidirectional: bool = option(False, "bidirectional encoder (bridged to the decoder)")
    attention: str = option("dot", "attention of the decoder (default dot: Luong's, the best on validation, "
                            "docs/defaults.md; none: seed 004's model)", choices=("none", "additive", "dot", "general"))
    reverse_source: bool = option(False, "feed the source reversed (Sutskever et al.)")
    dropout: float = option(0.1, "dropout of the embeddings, between layers and before the output")
    teacher_forcing: float = option(1.0, "probability of feeding the reference token while training (<1: "
                                    "scheduled sampling)")
    epochs: int = option(10, "maximum training epochs")
    max_minutes: float | None = option(None, "stop training after the first epoch that ends past this many minutes of training (resumes included)", metavar="MIN")
    device: str = device_option()
    batch_size: int = option(128, "pairs per batch")
    lr: float = option(2e-3, "Adam learning rate")
    clip_norm: float = option(1.0, "clip the gradient norm (0: off)")
    patience: int | None = option(3, "early stopping patience in epochs, best weights restored (0: off)",
                                  parse=optional_int)
    beam: int = option(4, "beam size for the test translations (1: greedy; greedy is scored beside any beam)")
    length_penalty: float = option(1.0, "GNMT length penalty alpha of beam search (0: none)")
    max_output: int = option(60, "longest translation in tokens")
    seed: int = option(0, "seed of the split, the initial weights, dropout and shuffling")
    quiet: bool = option(False, "print only the results")
    out: str | None = option(None, "run directory, new or empty (default runs/translate-<time>)", metavar="DIR")
    name: str = option("translate", "run name", cli=False)
    resume: bool = option(False, "continue the run in --out", cli=False)

    def __post_init__(self):
        zero_is_none(self, "max_pairs", "patience")     # their 0 means none (all pairs, no early stopping)
        self.split = check_split(self.split)
        for name, low in (("vocab_size", len(SPECIALS) + 1), ("max_len", 1), ("epochs", 1), ("batch_size", 1),
                          ("max_pairs", 10), ("patience", 0)):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < low):
                raise InvalidArgumentError.for_argument("--" + name.replace("_", "-"), v, f"an integer >= {low}")
        check_minutes(self.max_minutes)
        if self.level == "bpe":
            if self.vocab_size < MIN_VOCAB + 2:
                raise InvalidArgumentError.for_argument("--vocab-size", self.vocab_size, f"at least {MIN_VOCAB + 2} "
                                                        "for --level bpe (256 bytes and 4 specials first)")
        self._check_decoding()
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise InvalidArgumentError.for_argument("--lr", self.lr, "a positive number")
        if not (math.isfinite(self.clip_norm) and self.clip_norm >= 0):
            raise InvalidArgumentError.for_argument("--clip-norm", self.clip_norm, "a number >= 0 (0: off)")
        if self.pairs and self.libreoffice_help:
            raise InvalidArgumentError.for_argument("--libreoffice-help", self.libreoffice_help, "one data source",
                                                    "--pairs is given too: pass only one of them.")
        self.model_config(10, 10)                  # every model option checked before data is read

    def _check_decoding(self) -> None:
        try:
            check_decoding(self.beam, self.max_output, self.length_penalty)
        except InvalidArgumentError as e:
            raise InvalidArgumentError(str(e).replace("`beam_size`", "`--beam`").replace("`max_len`", "`--max-output`")
                                       .replace("`length_penalty`", "`--length-penalty`")) from None

    def to_dict(self) -> dict:
        return without(self)

    def model_config(self, src_vocab: int, tgt_vocab: int) -> Seq2SeqConfig:
        return Seq2SeqConfig(src_vocab=src_vocab, tgt_vocab=tgt_vocab, embed=self.embedding_dim, units=self.units,
                             layers=self.layers, cell=self.cell, bidirectional=self.bidirectional,
                             attention=self.attention, dropout=self.dropout, reverse_source=self.reverse_source,
                             teacher_forcing=self.teacher_forcing)

    def train_config(self) -> TrainConfig:
        """The trainer's settings: Adam, cross-entropy that ignores ``<pad>``, early stopping."""
        return TrainConfig(epochs=self.epochs, optimizer="adam", lr=self.lr, loss="cross_entropy", ignore_index=0,
                           clip_norm=self.clip_norm or None, patience=self.patience or None, seed=self.seed,
                           quiet=self.quiet, max_minutes=self.max_minutes, device=self.device)
