"""``Tagger``: one label per step (named entities, parts of speech), seed 003's many-to-many model.

Token ids ``(batch, time)`` go through an embedding (``padding_idx=0``), joined by character
features of each token when the config holds an alphabet ``chars`` (a char-CNN with max-pooling,
:class:`~rnnkit.models.char_features.CharCNN`, fed ``chars`` ``(batch, time, chars)`` from
:meth:`Tagger.encode_chars`), a (by
default bidirectional) recurrent stack that takes ``lengths`` (so padding never enters a state, and
the backward direction starts at each sentence's last real token), dropout and a linear layer to
one score per tag at every step: ``(batch, time, n_tags)``. Without ``crf`` these are logits
trained with cross-entropy (targets ``ignore_index`` -100 at the padded steps, :func:`pad_tags`)
and decoded by argmax; with ``crf`` they are the emission scores of a linear-chain
:class:`~rnnkit.models.crf.CRF` (IOB2 moves constrained when ``tag_names`` are IOB2), trained by
its negative log-likelihood and decoded by Viterbi. :meth:`Tagger.loss` and :meth:`Tagger.decode`
do the right one.

    >>> import torch
    >>> model = Tagger(TaggerConfig(vocab_size=50, n_tags=5, embedding_dim=8, units=4))
    >>> tuple(model(torch.tensor([[4, 9, 2], [7, 0, 0]]), torch.tensor([3, 1])).shape)
    (2, 3, 5)
    >>> pad_tags([[1, 2, 3], [4]]).tolist()
    [[1, 2, 3], [4, -100, -100]]
    >>> crf = Tagger(TaggerConfig(vocab_size=50, n_tags=3, embedding_dim=8, units=4, crf=True,
    ...                           tag_names=["B-X", "I-X", "O"], chars=list("abcdefgh")))
    >>> ids, lengths, chars = torch.tensor([[4, 9]]), torch.tensor([2]), crf.encode_chars([["ab", "c"]])
    >>> crf.decode(crf(ids, lengths, chars), lengths).shape
    torch.Size([1, 2])
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import Tensor, nn

from rnnkit.errors import InvalidArgumentError
from rnnkit.models.char_features import CharAlphabet, CharCNN
from rnnkit.models.config_io import config_from_dict
from rnnkit.models.crf import CRF
from rnnkit.layers import GRU, LSTM, SimpleRNN

__all__ = ["TaggerConfig", "Tagger", "pad_tags", "IGNORE"]

RECURRENT = {"rnn": SimpleRNN, "lstm": LSTM, "gru": GRU}
IGNORE = -100


@dataclass
class TaggerConfig:
    """Everything that defines a :class:`Tagger`.

    Args:
        vocab_size: embedding rows (``[PAD]`` = 0 included).
        n_tags: number of tags.
        embedding_dim: default 64.
        freeze_embedding: keep a pre-trained embedding fixed (default False).
        cell: 'lstm' (default), 'gru' or 'rnn'.
        units: recurrent units per direction (default 64).
        layers: stacked layers (default 1).
        bidirectional: default True.
        dropout, recurrent_dropout: variational input / recurrent dropout (default 0).
        output_dropout: dropout before the output layer (default 0.0).
        crf: a linear-chain CRF output layer (default False: per-step softmax).
        tag_names: the tags in index order; IOB2 names constrain the CRF's moves (default None).
        chars: the character alphabet of the char-CNN features (the training tokens' characters,
            :class:`~rnnkit.models.char_features.CharAlphabet`); None (default): no character features.
        char_dim, char_filters, char_kernel: the char-CNN's embedding width (30), filters (30)
            and window (3).
    """

    vocab_size: int
    n_tags: int
    embedding_dim: int = 64
    freeze_embedding: bool = False
    cell: str = "lstm"
    units: int = 64
    layers: int = 1
    bidirectional: bool = True
    dropout: float = 0.0
    recurrent_dropout: float = 0.0
    output_dropout: float = 0.0
    crf: bool = False
    tag_names: list | None = None
    chars: list | None = None
    char_dim: int = 30
    char_filters: int = 30
    char_kernel: int = 3

    def __post_init__(self):
        if self.cell not in RECURRENT:
            raise InvalidArgumentError.for_argument("cell", self.cell, f"one of {tuple(RECURRENT)}")
        for name, low in (("vocab_size", 2), ("n_tags", 2), ("embedding_dim", 1), ("units", 1), ("layers", 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise InvalidArgumentError.for_argument(name, v, f"an integer >= {low}")
        for name in ("dropout", "recurrent_dropout", "output_dropout"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < 1:
                raise InvalidArgumentError.for_argument(name, v, "a number in [0, 1)")
        for name in ("freeze_embedding", "bidirectional", "crf"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidArgumentError.for_argument(name, getattr(self, name), "true or false")
        for name, low in (("char_dim", 1), ("char_filters", 1), ("char_kernel", 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise InvalidArgumentError.for_argument(name, v, f"an integer >= {low}")
        if self.tag_names is not None:
            if not (isinstance(self.tag_names, (list, tuple)) and len(self.tag_names) == self.n_tags
                    and all(isinstance(t, str) for t in self.tag_names)):
                raise InvalidArgumentError.for_argument("tag_names", self.tag_names, f"{self.n_tags} tag names")
            self.tag_names = list(self.tag_names)
        if self.chars is not None:
            if not (isinstance(self.chars, (list, tuple)) and all(isinstance(c, str) and len(c) == 1 for c in self.chars)
                    and len(set(self.chars)) == len(self.chars)):
                raise InvalidArgumentError.for_argument("chars", str(self.chars)[:80], "a list of distinct characters")
            self.chars = list(self.chars)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TaggerConfig":
        return config_from_dict(cls, d)


class Tagger(nn.Module):
    """Token ids -> per-step tag logits; ``forward(ids, lengths=None) -> (batch, time, n_tags)``."""

    def __init__(self, config: TaggerConfig):
        super().__init__()
        self.config = c = config
        self.embedding = nn.Embedding(c.vocab_size, c.embedding_dim, padding_idx=0)
        with torch.no_grad():     # Keras's default: uniform(-0.05, 0.05); [PAD] stays zero
            self.embedding.weight.uniform_(-0.05, 0.05)
            self.embedding.weight[0].zero_()
        self.embedding.weight.requires_grad_(not c.freeze_embedding)
        self.alphabet = CharAlphabet(c.chars) if c.chars is not None else None
        self.chars = (CharCNN(len(self.alphabet), c.char_dim, c.char_filters, c.char_kernel)
                      if self.alphabet is not None else None)
        width = c.embedding_dim + (c.char_filters if self.chars is not None else 0)
        self.rnn = RECURRENT[c.cell](width, c.units, num_layers=c.layers, bidirectional=c.bidirectional,
                                     input_dropout=c.dropout, recurrent_dropout=c.recurrent_dropout,
                                     return_state=False)
        self.output_dropout = nn.Dropout(c.output_dropout)
        self.output = nn.Linear(c.units * (2 if c.bidirectional else 1), c.n_tags)
        self.crf = CRF(c.n_tags, tags=c.tag_names) if c.crf else None

    def load_embedding(self, matrix) -> None:
        """Set the embedding from a ``(vocab_size, embedding_dim)`` matrix (row 0 zeroed)."""
        m = torch.as_tensor(matrix, dtype=torch.float32)
        if tuple(m.shape) != tuple(self.embedding.weight.shape):
            raise InvalidArgumentError.for_argument(
                "embedding matrix", tuple(m.shape), f"shape {tuple(self.embedding.weight.shape)}",
                "Pass --embedding-dim equal to the vectors' width.")
        with torch.no_grad():
            self.embedding.weight.copy_(m)
            self.embedding.weight[0].zero_()

    def forward(self, ids: Tensor, lengths: Tensor | None = None, chars: Tensor | None = None) -> Tensor:
        """Per-step tag scores ``(batch, time, n_tags)``; ``chars`` ``(batch, time, chars)`` char ids
        when the model has character features."""
        if ids.dim() != 2 or ids.is_floating_point():
            raise InvalidArgumentError.for_argument("ids", f"a {ids.dtype} tensor of shape {tuple(ids.shape)}",
                                                    "token ids (batch, time) as integers")
        if lengths is not None:
            lengths = torch.as_tensor(lengths).to("cpu", torch.long)
        x = self.embedding(ids)
        if self.chars is not None:
            if chars is None or chars.dim() != 3 or tuple(chars.shape[:2]) != tuple(ids.shape):
                raise InvalidArgumentError.for_argument(
                    "chars", None if chars is None else tuple(chars.shape),
                    f"character ids (batch, time, chars) with batch and time {tuple(ids.shape)}")
            x = torch.cat([x, self.chars(chars)], -1)
        seq = self.rnn(x, lengths=lengths)
        return self.output(self.output_dropout(seq))

    def encode_chars(self, sentences, width: int | None = None) -> Tensor:
        """``chars`` for :meth:`forward`: the character ids of token lists (as written, not
        lower-cased), ``(n, width, chars)`` int64; None without character features."""
        if self.alphabet is None:
            return None
        return torch.from_numpy(self.alphabet.encode(sentences, width))

    def loss(self, scores: Tensor, tags: Tensor) -> Tensor:
        """Training loss of ``forward``'s scores against ``tags`` (``IGNORE`` past each length):
        the CRF's negative log-likelihood, or cross-entropy, each averaged over the real tokens."""
        real = tags != IGNORE
        n = real.sum().clamp(min=1)
        if self.crf is None:
            return nn.functional.cross_entropy(scores.reshape(-1, scores.shape[-1]), tags.reshape(-1),
                                               ignore_index=IGNORE, reduction="sum") / n
        return self.crf.nll(scores, tags, real.sum(1).clamp(min=1)) / n
    loss.mean_over_tokens = True        # the trainer weighs batch parts by their tokens (torchrun)

    @torch.no_grad()
    def decode(self, scores: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Best tag ids ``(batch, time)`` of ``forward``'s scores: Viterbi with a CRF, else argmax."""
        if self.crf is None:
            return scores.argmax(-1)
        return self.crf.decode(scores, lengths)


def pad_tags(tag_ids, width: int | None = None, fill: int = IGNORE) -> Tensor:
    """Tag-id lists -> ``(n, width)`` int64 tensor, ``fill`` (the ignored index) past each list."""
    width = width if width is not None else max([len(t) for t in tag_ids] + [1])
    out = np.full((len(tag_ids), width), fill, dtype=np.int64)
    for i, tags in enumerate(tag_ids):
        tags = list(tags)[:width]
        out[i, :len(tags)] = tags
    return torch.from_numpy(out)
