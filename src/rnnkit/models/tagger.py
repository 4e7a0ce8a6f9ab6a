"""``Tagger``: one label per step (named entities, parts of speech), seed 003's many-to-many model.

Token ids ``(batch, time)`` go through an embedding (``padding_idx=0``), a (by default
bidirectional) recurrent stack that takes ``lengths`` (so padding never enters a state, and the
backward direction starts at each sentence's last real token), dropout and a linear layer to one
logit per tag at every step: ``(batch, time, n_tags)``. Train it with the trainer's
``cross_entropy`` loss and targets set to ``ignore_index`` (-100) at the padded steps, so the loss
and the accuracy ignore padding (:func:`pad_tags` builds such targets).

    >>> import torch
    >>> model = Tagger(TaggerConfig(vocab_size=50, n_tags=5, embedding_dim=8, units=4))
    >>> tuple(model(torch.tensor([[4, 9, 2], [7, 0, 0]]), torch.tensor([3, 1])).shape)
    (2, 3, 5)
    >>> pad_tags([[1, 2, 3], [4]]).tolist()
    [[1, 2, 3], [4, -100, -100]]
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import Tensor, nn

from rnnkit.errors import InvalidArgumentError
from rnnkit.models.config_io import config_from_dict
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
        for name in ("freeze_embedding", "bidirectional"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidArgumentError.for_argument(name, getattr(self, name), "true or false")

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
        self.rnn = RECURRENT[c.cell](c.embedding_dim, c.units, num_layers=c.layers, bidirectional=c.bidirectional,
                                     input_dropout=c.dropout, recurrent_dropout=c.recurrent_dropout,
                                     return_state=False)
        self.output_dropout = nn.Dropout(c.output_dropout)
        self.output = nn.Linear(c.units * (2 if c.bidirectional else 1), c.n_tags)

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

    def forward(self, ids: Tensor, lengths: Tensor | None = None) -> Tensor:
        if ids.dim() != 2 or ids.is_floating_point():
            raise InvalidArgumentError.for_argument("ids", f"a {ids.dtype} tensor of shape {tuple(ids.shape)}",
                                                    "token ids (batch, time) as integers")
        if lengths is not None:
            lengths = torch.as_tensor(lengths).to("cpu", torch.long)
        seq = self.rnn(self.embedding(ids), lengths=lengths)
        return self.output(self.output_dropout(seq))


def pad_tags(tag_ids, width: int | None = None, fill: int = IGNORE) -> Tensor:
    """Tag-id lists -> ``(n, width)`` int64 tensor, ``fill`` (the ignored index) past each list."""
    width = width if width is not None else max([len(t) for t in tag_ids] + [1])
    out = np.full((len(tag_ids), width), fill, dtype=np.int64)
    for i, tags in enumerate(tag_ids):
        tags = list(tags)[:width]
        out[i, :len(tags)] = tags
    return torch.from_numpy(out)
