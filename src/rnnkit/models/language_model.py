"""``LanguageModel``: embedding, stacked LSTM/GRU, softmax over the vocabulary (seeds 002, 004).

Regularisation as in AWD-LSTM (Merity et al. 2017) on rnnkit's layers: embedding dropout
(whole rows of the embedding matrix, i.e. every occurrence of a token, dropped per call),
variational input and recurrent dropout, DropConnect on the recurrent weights
(``weight_drop``), dropout of each layer's outputs, and optional weight tying (the softmax
weights are the embedding matrix; needs ``embedding_dim == hidden_size``).

A large vocabulary can use an adaptive softmax instead of the full one (``cutoffs``, Grave et al.
2017, :class:`torch.nn.AdaptiveLogSoftmaxWithLoss`): the frequent ids (below the first cutoff) are
scored at full width, the rarer ones in clusters of smaller width, so the output layer no longer
dominates a training step. The stateful ``forward`` then returns the top layer's features and
:meth:`LanguageModel.loss` scores them; :meth:`forward_state` still returns full log-probabilities
(``log_prob``) for sampling and export, and :meth:`LanguageModel.nll` sums exact negative log-likelihoods.

Stateful truncated BPTT: ``model(x, reset)`` starts from the state the previous call left
(detached, so gradients stop at the window boundary) unless ``reset`` is true. Training and
evaluation carry separate states. The training state is part of ``state_dict()`` (the
``_extra_state`` tensor, via :meth:`get_extra_state`), so the trainer's checkpoints hold it
and a resumed run continues the streams exactly. :meth:`forward_state` is the stateless form,
and :meth:`sample` streams generated ids one at a time from the carried state.

    >>> import torch
    >>> lm = LanguageModel(10, embedding_dim=8, hidden_size=8, num_layers=2, tie_weights=True)
    >>> x = torch.randint(0, 10, (3, 5))
    >>> tuple(lm(x, torch.tensor(True)).shape)
    (3, 5, 10)
    >>> tuple(lm.get_extra_state().shape)      # (h, c) x layers x streams x units
    (2, 2, 3, 8)
    >>> ids = list(lm.sample([1, 2], length=4, temperature=0))
    >>> len(ids), all(0 <= i < 10 for i in ids)
    (4, True)
    >>> big = LanguageModel(50, embedding_dim=8, hidden_size=8, cutoffs=(10,))
    >>> feats = big(x, torch.tensor(True)); tuple(feats.shape)      # features, scored by big.loss
    (3, 5, 8)
    >>> float(big.loss(feats, x).detach()) > 0
    True
"""
from __future__ import annotations

from typing import Iterator, Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.errors import CheckpointError, InvalidArgumentError
from rnnkit.layers.gru import GRU
from rnnkit.layers.lstm import LSTM
from rnnkit.layers.recurrent import _check_rate
from rnnkit.models.sampling import check_sampling, next_token_probs
from rnnkit.models.softmax_loss import softmax_cross_entropy

__all__ = ["LanguageModel", "CELLS"]

CELLS = ("lstm", "gru")


def _check_cutoffs(cutoffs, vocab_size: int, tied: bool) -> tuple[int, ...]:
    if cutoffs is None or len(cutoffs) == 0:
        return ()
    c = tuple(cutoffs)
    ok = all(isinstance(i, int) and not isinstance(i, bool) for i in c) and list(c) == sorted(set(c)) \
        and c[0] >= 1 and c[-1] < vocab_size - 1
    if not ok:
        raise InvalidArgumentError.for_argument(
            "cutoffs", c, f"increasing ids in [1, {vocab_size - 1}) (the vocabulary has {vocab_size})",
            "Leave them out for the full softmax.")
    if tied:
        raise InvalidArgumentError.for_argument(
            "tie_weights", True, "the full softmax (no adaptive softmax cutoffs)",
            "The adaptive softmax has no matrix to share with the embedding: turn tying off or drop the cutoffs.")
    return c


def _size(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArgumentError.for_argument(name, value, "a positive integer")
    return value


class LanguageModel(nn.Module):
    """Next-token model over a vocabulary of ``vocab_size`` ids.

    Args:
        vocab_size: number of token ids.
        embedding_dim, hidden_size, num_layers: sizes (default 128, 256, 2).
        cell: ``"lstm"`` (default) or ``"gru"``.
        dropout: dropout of each recurrent layer's outputs (between layers and before the
            softmax), default 0.
        embedding_dropout: probability of dropping a token's whole embedding row, default 0.
        input_dropout, recurrent_dropout, weight_drop: of the rnnkit layers (variational, per
            sequence; DropConnect on ``weight_hh``), default 0.
        tie_weights: share the embedding matrix with the softmax weights, default False.
        cutoffs: ids where the adaptive softmax's clusters start (increasing, each in
            ``[1, vocab_size - 1)``), default None: the full softmax. Not with ``tie_weights``.
        banned: ids never sampled (e.g. ``[PAD]``), default none.
    """

    def __init__(self, vocab_size: int, embedding_dim: int = 128, hidden_size: int = 256,
                 num_layers: int = 2, cell: str = "lstm", *, dropout: float = 0.0,
                 embedding_dropout: float = 0.0, input_dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, weight_drop: float = 0.0, tie_weights: bool = False,
                 cutoffs: Sequence[int] | None = None, banned: Sequence[int] = ()):
        super().__init__()
        self.vocab_size = _size("vocab_size", vocab_size)
        _size("embedding_dim", embedding_dim), _size("hidden_size", hidden_size), _size("num_layers", num_layers)
        if cell not in CELLS:
            raise InvalidArgumentError.for_argument("cell", cell, f"one of {CELLS}")
        if tie_weights and embedding_dim != hidden_size:
            raise InvalidArgumentError.for_argument(
                "tie_weights", True, f"embedding_dim == hidden_size (got {embedding_dim} and {hidden_size})",
                "Tied weights share one matrix: set both sizes equal, or turn tying off.")
        self.cell, self.num_layers, self.hidden_size = cell, num_layers, hidden_size
        self.dropout = _check_rate("dropout", dropout)
        self.embedding_dropout = _check_rate("embedding_dropout", embedding_dropout)
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        layer = LSTM if cell == "lstm" else GRU
        self.rnn = layer(embedding_dim, hidden_size, num_layers, dropout=dropout, input_dropout=input_dropout,
                         recurrent_dropout=recurrent_dropout, weight_drop=weight_drop)
        nn.init.uniform_(self.embedding.weight, -0.1, 0.1)
        self.tie_weights = bool(tie_weights)
        self.cutoffs = _check_cutoffs(cutoffs, vocab_size, self.tie_weights)
        self.banned = sorted({int(i) for i in banned if 0 <= int(i) < vocab_size})
        if self.cutoffs:
            self.adaptive = nn.AdaptiveLogSoftmaxWithLoss(hidden_size, vocab_size, list(self.cutoffs), div_value=4.0)
        else:
            self.decoder = nn.Linear(hidden_size, vocab_size)
            nn.init.zeros_(self.decoder.bias)
            if self.tie_weights:
                self.decoder.weight = self.embedding.weight
        self._train_state = None     # carried between training windows, checkpointed
        self._eval_state = None      # carried between evaluation windows

    # ------------------------------------------------------------------ stateless form
    def embed(self, tokens: Tensor) -> Tensor:
        w = self.embedding.weight
        if self.training and self.embedding_dropout:
            keep = w.new_empty(w.shape[0], 1).bernoulli_(1 - self.embedding_dropout)
            w = w * keep / (1 - self.embedding_dropout)
        return F.embedding(tokens, w)

    def features(self, tokens: Tensor, state=None):
        """``(features, state)``: the top layer's outputs (B, T, hidden_size), dropout applied
        in training, for ``tokens`` (B, T) int64 from ``state`` (None = zeros; not detached)."""
        if not isinstance(tokens, Tensor) or tokens.dim() != 2 or tokens.dtype not in (torch.int64, torch.int32):
            raise InvalidArgumentError.for_argument(
                "tokens", getattr(tokens, "shape", type(tokens).__name__), "an int64 tensor (batch, time) of token ids")
        out, state = self.rnn(self.embed(tokens.long()), state=state)
        if self.training and self.dropout:
            out = F.dropout(out, self.dropout, True)
        return out, state

    def scores(self, feats: Tensor) -> Tensor:
        """Logits (B, T, vocab_size) of ``features`` (log-probabilities with the adaptive softmax)."""
        if self.cutoffs:
            return self.adaptive.log_prob(feats.reshape(-1, feats.shape[-1])).view(*feats.shape[:-1], -1)
        return self.decoder(feats)

    def forward_state(self, tokens: Tensor, state=None):
        """``(logits, state)`` for ``tokens`` (B, T) int64 from ``state`` (None = zeros):
        logits (B, T, vocab_size), the state as the rnnkit layer returns it (not detached)."""
        feats, state = self.features(tokens, state)
        return self.scores(feats), state

    def loss(self, out: Tensor, targets: Tensor) -> Tensor:
        """Mean cross-entropy of what the stateful ``forward`` returned (logits, or features with
        the adaptive softmax) against ``targets`` (B, T): the trainer's loss of this model."""
        if self.cutoffs:
            return self.adaptive(out.reshape(-1, out.shape[-1]), targets.reshape(-1)).loss
        return softmax_cross_entropy(out.reshape(-1, out.shape[-1]), targets.reshape(-1))

    def nll(self, tokens: Tensor, targets: Tensor, state=None):
        """``(sum of -log p(target), state)`` over a window: each token's term in float32 (the
        arithmetic of training), the sum in float64, for both softmaxes."""
        feats, state = self.features(tokens, state)
        if self.cutoffs:
            lp = self.adaptive(feats.reshape(-1, feats.shape[-1]), targets.reshape(-1)).output
            return -lp.double().sum(), state
        logits = self.decoder(feats)
        per_token = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none")
        return per_token.double().sum(), state

    # ------------------------------------------------------------------ stateful form
    def forward(self, tokens: Tensor, reset: Tensor | bool | None = None) -> Tensor:
        """Logits for one window, continuing the carried state (training and evaluation each
        have their own) unless ``reset``; the new state is kept detached."""
        state = None if (reset is not None and bool(reset)) else (
            self._train_state if self.training else self._eval_state)
        if state is not None:
            h = state[0] if isinstance(state, tuple) else state
            if h.shape[1] != tokens.shape[0]:
                raise InvalidArgumentError(
                    f"This window has {tokens.shape[0]} streams but the carried state has {h.shape[1]}: "
                    "every window of a pass needs the same batch size. Pass reset=True to start over.")
        feats, new = self.features(tokens, state)
        new = tuple(s.detach() for s in new) if isinstance(new, tuple) else new.detach()
        if self.training:
            self._train_state = new
        else:
            self._eval_state = new
        return feats if self.cutoffs else self.decoder(feats)

    def reset_state(self) -> None:
        """Forget both carried states."""
        self._train_state = self._eval_state = None

    def get_extra_state(self) -> Tensor:
        """The carried training state as one tensor: (2 for LSTM's (h, c) | 1, num_layers,
        streams, hidden_size); an empty tensor when there is none."""
        s = self._train_state
        if s is None:
            return torch.zeros(0)
        return torch.stack(s) if isinstance(s, tuple) else s.unsqueeze(0)

    def set_extra_state(self, state) -> None:
        if not isinstance(state, Tensor):
            raise CheckpointError(f"The carried state in this checkpoint is a {type(state).__name__}, "
                                  "not a tensor: it was not written by rnnkit's LanguageModel.")
        if state.numel() == 0:
            self._train_state = None
            return
        parts = 2 if self.cell == "lstm" else 1
        if state.dim() != 4 or state.shape[0] != parts or state.shape[1] != self.num_layers \
                or state.shape[3] != self.hidden_size:
            raise CheckpointError(
                f"The carried state in this checkpoint has shape {tuple(state.shape)}, expected "
                f"({parts}, {self.num_layers}, streams, {self.hidden_size}) for this {self.cell} model. "
                "Build the model with the run's configuration.")
        w = self.embedding.weight
        state = state.to(w.device, w.dtype)
        self._train_state = (state[0].clone(), state[1].clone()) if parts == 2 else state[0].clone()

    # ------------------------------------------------------------------ generation
    @torch.no_grad()
    def sample(self, prompt: Sequence[int], length: int, temperature: float = 1.0, top_k: int | None = None,
               top_p: float | None = None, seed: int | None = None) -> Iterator[int]:
        """Yield ``length`` generated ids, one at a time, after reading ``prompt`` (ids) once.

        Each new id costs one step of the network from the carried state (O(1) per token).
        ``temperature`` 0 is greedy (argmax); ``top_k``/``top_p`` (nucleus) restrict the
        candidates (see :mod:`rnnkit.models.sampling`); ``seed`` makes the draws reproducible.
        The ids in ``banned`` are never drawn. The model is put in eval mode.
        """
        check_sampling(temperature, top_k, top_p)
        if isinstance(length, bool) or not isinstance(length, int) or length < 0:
            raise InvalidArgumentError.for_argument("length", length, "a non-negative integer")
        ids = [int(i) for i in prompt]
        if not ids:
            raise InvalidArgumentError.for_argument("prompt", prompt, "at least one token",
                                                    "Start from a newline or any word of the vocabulary.")
        bad = [i for i in ids if not 0 <= i < self.vocab_size]
        if bad:
            raise InvalidArgumentError.for_argument("prompt", bad[:5], f"token ids in [0, {self.vocab_size})")
        self.eval()
        device = self.embedding.weight.device
        gen = torch.Generator(device=device)
        if seed is not None:
            gen.manual_seed(int(seed))
        else:
            gen.seed()
        logits, state = self.forward_state(torch.tensor([ids], device=device))
        last = logits[0, -1]
        ban = torch.tensor(self.banned, dtype=torch.long, device=device)
        for k in range(length):
            last = last.index_fill(0, ban, float("-inf")) if len(self.banned) < self.vocab_size else last
            probs = next_token_probs(last, temperature, top_k, top_p)
            nxt = int(torch.multinomial(probs, 1, generator=gen)) if temperature > 0 else int(probs.argmax())
            yield nxt
            if k + 1 < length:
                logits, state = self.forward_state(torch.tensor([[nxt]], device=device), state)
                last = logits[0, -1]
