"""``LanguageModel``: embedding, stacked LSTM/GRU, softmax over the vocabulary (seeds 002, 004).

Regularisation as in AWD-LSTM (Merity et al. 2017) on rnnkit's layers: embedding dropout
(whole rows of the embedding matrix, i.e. every occurrence of a token, dropped per call),
variational input and recurrent dropout, DropConnect on the recurrent weights
(``weight_drop``), dropout of each layer's outputs, and optional weight tying (the softmax
weights are the embedding matrix; needs ``embedding_dim == hidden_size``).

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

__all__ = ["LanguageModel", "CELLS"]

CELLS = ("lstm", "gru")


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
    """

    def __init__(self, vocab_size: int, embedding_dim: int = 128, hidden_size: int = 256,
                 num_layers: int = 2, cell: str = "lstm", *, dropout: float = 0.0,
                 embedding_dropout: float = 0.0, input_dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, weight_drop: float = 0.0, tie_weights: bool = False):
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
        self.decoder = nn.Linear(hidden_size, vocab_size)
        nn.init.uniform_(self.embedding.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)
        self.tie_weights = bool(tie_weights)
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

    def forward_state(self, tokens: Tensor, state=None):
        """``(logits, state)`` for ``tokens`` (B, T) int64 from ``state`` (None = zeros):
        logits (B, T, vocab_size), the state as the rnnkit layer returns it (not detached)."""
        if not isinstance(tokens, Tensor) or tokens.dim() != 2 or tokens.dtype not in (torch.int64, torch.int32):
            raise InvalidArgumentError.for_argument(
                "tokens", getattr(tokens, "shape", type(tokens).__name__), "an int64 tensor (batch, time) of token ids")
        out, state = self.rnn(self.embed(tokens.long()), state=state)
        if self.training and self.dropout:
            out = F.dropout(out, self.dropout, True)
        return self.decoder(out), state

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
        logits, new = self.forward_state(tokens, state)
        new = tuple(s.detach() for s in new) if isinstance(new, tuple) else new.detach()
        if self.training:
            self._train_state = new
        else:
            self._eval_state = new
        return logits

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
        w = self.decoder.weight
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
        The model is put in eval mode.
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
        device = self.decoder.weight.device
        gen = torch.Generator(device=device)
        if seed is not None:
            gen.manual_seed(int(seed))
        else:
            gen.seed()
        logits, state = self.forward_state(torch.tensor([ids], device=device))
        last = logits[0, -1]
        for k in range(length):
            probs = next_token_probs(last, temperature, top_k, top_p)
            nxt = int(torch.multinomial(probs, 1, generator=gen)) if temperature > 0 else int(probs.argmax())
            yield nxt
            if k + 1 < length:
                logits, state = self.forward_state(torch.tensor([[nxt]], device=device), state)
                last = logits[0, -1]
