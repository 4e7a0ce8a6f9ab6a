"""``SequenceClassifier``: one label per sequence (seed 001's IMDB models, seed 004's MNIST rows).

Input: token ids ``(batch, time)`` through ``torch.nn.Embedding`` (``padding_idx=0``, optionally
set from a pre-trained matrix, frozen or fine-tuned), or numeric features ``(batch, time,
n_features)``; ``lengths`` ``(batch,)`` counts the valid steps of right-padded rows. Body: a
SimpleRNN/LSTM/GRU stack (bidirectional, variational input and recurrent dropout; lengths go to
the layers, so padding never enters the state), a Conv1D + max-pooling stack (``cell="conv"``),
or a Conv1D front-end then the recurrent stack (``conv_filters > 0``; lengths are mapped through
the convolution and the pooling). Pooling over time: the last valid state (for a bidirectional
layer: the forward state after the last valid step and the backward state after step 0), or the
mean or maximum over the valid steps. Head: an optional hidden ReLU layer, then one logit
(``n_classes=2``: binary, for ``bce_logits``) or ``n_classes`` logits (``cross_entropy``).

    >>> import torch
    >>> cfg = ClassifierConfig(n_classes=2, vocab_size=100, embedding_dim=8, cell="lstm", units=4)
    >>> model = SequenceClassifier(cfg)
    >>> ids = torch.tensor([[5, 7, 9, 0], [3, 0, 0, 0]])
    >>> tuple(model(ids, torch.tensor([3, 1])).shape)
    (2,)
    >>> tuple(model.predict_proba(ids, torch.tensor([3, 1])).shape)
    (2, 2)
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.errors import InvalidArgumentError
from rnnkit.layers import GRU, LSTM, SimpleRNN
from rnnkit.layers.fused.op import traced_lengths, tracing
from rnnkit.layers.lengths import resolve_lengths, zero_padding
from rnnkit.models.config_io import check_training_memory, config_from_dict
from rnnkit.models.ngram_bag import NgramBag
from rnnkit.models.pooling import POOLINGS, pool
from rnnkit.models.window_pool import window_max

__all__ = ["ClassifierConfig", "SequenceClassifier", "CELLS", "conv_lengths"]

RECURRENT = {"rnn": SimpleRNN, "lstm": LSTM, "gru": GRU}
CELLS = (*RECURRENT, "conv")
GATES = {"rnn": 1, "lstm": 4, "gru": 3}


@dataclass
class ClassifierConfig:
    """Everything that defines a :class:`SequenceClassifier` (saved in a run's ``config.json``).

    Args:
        n_classes: number of labels (>= 2); 2 gives one logit (binary).
        vocab_size: > 0 for token-id input (the embedding's rows, ``[PAD]`` = 0 included).
        n_features: > 0 for numeric input with this many features per step (vocab_size 0).
        embedding_dim: embedding width (default 32).
        freeze_embedding: keep the embedding fixed (a pre-trained matrix, e.g. GloVe). Default False.
        cell: 'lstm' (default), 'gru', 'rnn' or 'conv'.
        units: recurrent units, or conv filters for ``cell="conv"`` (default 32).
        layers: stacked recurrent (or conv) layers (default 1).
        bidirectional: read both ways (recurrent cells; default False).
        dropout: variational input dropout of the recurrent layers (default 0).
        recurrent_dropout: variational recurrent dropout (default 0).
        conv_filters: 0 (default) or the filters of a Conv1D front-end before the recurrent stack.
        conv_kernel: Conv1D kernel size (default 7).
        pool_size: max-pooling size after a conv layer (default 5; 1 = none); with ``cell="conv"``
            after every conv layer but the last, which the global pooling follows.
        pooling: 'last' (default for recurrent cells), 'mean' or 'max' over the valid steps.
        dense_units: 0 (default) or the width of a hidden ReLU layer before the output.
        head_dropout: dropout before the output layer (default 0).
        wide_buckets: 0 (default) or, for token-id input, the hashed-bigram rows of a linear
            bag-of-n-grams part (:class:`~rnnkit.models.ngram_bag.NgramBag`) whose logits are
            added to the recurrent part's ("wide and deep").
    """

    n_classes: int
    vocab_size: int = 0
    n_features: int = 0
    embedding_dim: int = 32
    freeze_embedding: bool = False
    cell: str = "lstm"
    units: int = 32
    layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0
    recurrent_dropout: float = 0.0
    conv_filters: int = 0
    conv_kernel: int = 7
    pool_size: int = 5
    pooling: str = "last"
    dense_units: int = 0
    head_dropout: float = 0.0
    wide_buckets: int = 0

    def __post_init__(self):
        if self.cell not in CELLS:
            raise InvalidArgumentError.for_argument("cell", self.cell, f"one of {CELLS}")
        if self.pooling not in POOLINGS:
            raise InvalidArgumentError.for_argument("pooling", self.pooling, f"one of {POOLINGS}")
        for name, low in (("n_classes", 2), ("embedding_dim", 1), ("units", 1), ("layers", 1),
                          ("conv_kernel", 1), ("pool_size", 1), ("vocab_size", 0), ("n_features", 0),
                          ("conv_filters", 0), ("dense_units", 0), ("wide_buckets", 0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise InvalidArgumentError.for_argument(name, v, f"an integer >= {low}")
        if (self.vocab_size > 0) == (self.n_features > 0):
            raise InvalidArgumentError.for_argument(
                "vocab_size", self.vocab_size, "exactly one of vocab_size (token ids) or n_features (numbers) > 0",
                f"n_features is {self.n_features}.")
        if self.wide_buckets and not self.vocab_size:
            raise InvalidArgumentError.for_argument("wide_buckets", self.wide_buckets, "0 for numeric input",
                                                    "The bag of n-grams reads token ids: use it with texts.")
        for name in ("dropout", "recurrent_dropout", "head_dropout"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < 1:
                raise InvalidArgumentError.for_argument(name, v, "a number in [0, 1)")
        for name in ("freeze_embedding", "bidirectional"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidArgumentError.for_argument(name, getattr(self, name), "true or false")
        if self.cell == "conv" and (self.conv_filters or self.bidirectional):
            raise InvalidArgumentError.for_argument(
                "cell", "conv", "a recurrent cell with conv_filters or bidirectional",
                "A conv body has no direction and is already convolutional: use units/layers for it.")

    @property
    def binary(self) -> bool:
        return self.n_classes == 2

    def estimated_parameters(self) -> int:
        """The parameters the model allocates, computed without allocating them."""
        n, feat = 0, self.n_features
        if self.vocab_size:
            n, feat = self.vocab_size * self.embedding_dim, self.embedding_dim
        if self.cell == "conv":
            for i in range(self.layers):
                n += self.units * (self.conv_kernel * (feat if i == 0 else self.units) + 1)
            out = self.units
        else:
            if self.conv_filters:
                n += self.conv_filters * (self.conv_kernel * feat + 1)
                feat = self.conv_filters
            dirs, g, h = 2 if self.bidirectional else 1, GATES[self.cell], self.units
            for i in range(self.layers):
                n += dirs * g * h * ((feat if i == 0 else dirs * h) + h + 2)
            out = dirs * h
        if self.dense_units:
            n, out = n + self.dense_units * (out + 1), self.dense_units
        n_out = 1 if self.binary else self.n_classes
        return n + (out + 1) * n_out + ((self.vocab_size + self.wide_buckets + 1) * n_out if self.wide_buckets else 0)

    def check_memory(self, budget_bytes: int | None = None) -> None:
        """Refuse a model whose training state (16 bytes per parameter: weights, gradients, two
        optimizer moments) would not fit in ``budget_bytes`` (default: half the RAM)."""
        check_training_memory(
            self.estimated_parameters(), self.units,
            f"vocabulary {self.vocab_size}, embedding {self.embedding_dim}, units {self.units}, layers {self.layers}",
            "Use a smaller --max-tokens, --embedding-dim, --units or --layers.", budget_bytes)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ClassifierConfig":
        return config_from_dict(cls, d)


def conv_lengths(lengths: Tensor | None, kernel: int, pool_size: int = 1) -> Tensor | None:
    """Valid steps after a 'valid' Conv1D of ``kernel`` and a max-pooling of ``pool_size``: the
    outputs that saw only valid inputs, at least 1.

        >>> conv_lengths(torch.tensor([10, 3, 7]), kernel=3, pool_size=2).tolist()
        [4, 1, 2]
    """
    if lengths is None:
        return None
    return ((lengths - kernel + 1).clamp(min=1) // pool_size).clamp(min=1)


class _ConvBlock(nn.Module):
    """Conv1D ('valid') + ReLU + max-pooling over ``(batch, time, channels)`` with lengths: the
    outputs past the valid ones are zeroed before pooling, so padding never changes a result.
    With lengths the input is always extended by ``kernel + pool - 2`` zeros (enough for one
    output from one step; the extra outputs lie past every valid length), so no branch reads the
    time axis and ``torch.export`` keeps it symbolic; the pooling is :func:`window_max`."""

    def __init__(self, channels: int, filters: int, kernel: int, pool_size: int):
        super().__init__()
        self.conv = nn.Conv1d(channels, filters, kernel)
        self.kernel, self.pool_size = kernel, pool_size

    def forward(self, x: Tensor, lengths: Tensor | None):
        need = self.kernel + self.pool_size - 1
        if lengths is None and x.shape[1] < need:
            lengths = torch.full((x.shape[0],), x.shape[1], dtype=torch.long)
        if lengths is not None:
            x = F.pad(x, (0, 0, 0, need - 1))
        y = F.relu(self.conv(x.transpose(1, 2))).transpose(1, 2)
        valid = conv_lengths(lengths, self.kernel)
        y = zero_padding(y, valid)
        if self.pool_size > 1:
            y = window_max(y.transpose(1, 2), self.pool_size).transpose(1, 2)
            valid = None if valid is None else (valid // self.pool_size).clamp(min=1)
        return y, valid


class SequenceClassifier(nn.Module):
    """Sequence -> class logits; see :class:`ClassifierConfig` and the module docstring.

    ``forward(x, lengths=None)``: ``x`` token ids ``(batch, time)`` (int) or features ``(batch,
    time, n_features)``; returns logits ``(batch,)`` when binary, else ``(batch, n_classes)``.
    """

    def __init__(self, config: ClassifierConfig):
        super().__init__()
        self.config = c = config
        feat = c.n_features
        self.embedding = None
        if c.vocab_size:
            self.embedding = nn.Embedding(c.vocab_size, c.embedding_dim, padding_idx=0)
            with torch.no_grad():     # Keras's default: uniform(-0.05, 0.05); [PAD] stays zero
                self.embedding.weight.uniform_(-0.05, 0.05)
                self.embedding.weight[0].zero_()
            self.embedding.weight.requires_grad_(not c.freeze_embedding)
            feat = c.embedding_dim
        self.convs = nn.ModuleList()
        self.rnn = None
        if c.cell == "conv":
            for i in range(c.layers):
                last = i == c.layers - 1
                self.convs.append(_ConvBlock(feat if i == 0 else c.units, c.units, c.conv_kernel,
                                             1 if last else c.pool_size))
            out = c.units
        else:
            if c.conv_filters:
                self.convs.append(_ConvBlock(feat, c.conv_filters, c.conv_kernel, c.pool_size))
                feat = c.conv_filters
            self.rnn = RECURRENT[c.cell](feat, c.units, num_layers=c.layers, bidirectional=c.bidirectional,
                                         input_dropout=c.dropout, recurrent_dropout=c.recurrent_dropout)
            out = c.units * (2 if c.bidirectional else 1)
        self.hidden = nn.Linear(out, c.dense_units) if c.dense_units else None
        self.head_dropout = nn.Dropout(c.head_dropout)
        self.output = nn.Linear(c.dense_units or out, 1 if c.binary else c.n_classes)
        self.wide = NgramBag(c.vocab_size, c.wide_buckets, 1 if c.binary else c.n_classes) if c.wide_buckets else None

    def load_embedding(self, matrix) -> None:
        """Set the embedding from a pre-trained ``(vocab_size, embedding_dim)`` matrix (row 0,
        ``[PAD]``, is zeroed); it stays frozen or trainable as the config says."""
        c = self.config
        m = torch.as_tensor(matrix, dtype=torch.float32)
        if self.embedding is None or tuple(m.shape) != (c.vocab_size, c.embedding_dim):
            raise InvalidArgumentError.for_argument(
                "embedding matrix", tuple(m.shape), f"shape (vocab_size, embedding_dim) = ({c.vocab_size}, "
                f"{c.embedding_dim})", "Build it from the run's vocabulary with vectors of that dimension "
                "(pass --embedding-dim equal to the vectors' width).")
        with torch.no_grad():
            self.embedding.weight.copy_(m)
            self.embedding.weight[0].zero_()

    def features(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """The pooled representation ``(batch, features)`` before the head."""
        c = self.config
        if self.embedding is not None:
            if x.dim() != 2 or x.is_floating_point():
                raise InvalidArgumentError.for_argument("x", f"a {x.dtype} tensor of shape {tuple(x.shape)}",
                                                        "token ids (batch, time) as integers")
        elif x.dim() != 3 or x.shape[-1] != c.n_features:
            raise InvalidArgumentError.for_argument("x", tuple(x.shape), f"(batch, time, {c.n_features}) features")
        # lengths checked here (each in [1, time]; None when all are full), before the conv blocks
        # pad the time axis; while a graph is recorded only their shape is (no Python reads a value)
        if tracing():
            lengths = traced_lengths(lengths, None, x.shape[0], x.shape[1])
        elif lengths is not None:
            lengths = resolve_lengths(lengths, None, x.shape[0], x.shape[1]) if x.shape[0] else None
        x = self.embedding(x) if self.embedding is not None else zero_padding(x, lengths)
        for block in self.convs:
            x, lengths = block(x, lengths)
        if self.rnn is None:
            return pool(x, lengths, c.pooling)
        seq, state = self.rnn(x, lengths=lengths)
        if c.pooling != "last":
            return pool(seq, lengths, c.pooling)
        h = state[0] if isinstance(state, tuple) else state
        top = h[-self.rnn.num_directions:]            # the last layer: forward (and backward) final states
        return torch.cat(list(top), -1)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        z = self.features(x, lengths)
        if self.hidden is not None:
            z = F.relu(self.hidden(z))
        logits = self.output(self.head_dropout(z))
        if self.wide is not None:
            logits = logits + self.wide(x, lengths)
        return logits.squeeze(-1) if self.config.binary else logits

    @torch.no_grad()
    def predict_proba(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Class probabilities ``(batch, n_classes)`` (eval mode is the caller's choice)."""
        logits = self(x, lengths)
        if self.config.binary:
            p = torch.sigmoid(logits)
            return torch.stack([1 - p, p], -1)
        return torch.softmax(logits, -1)
