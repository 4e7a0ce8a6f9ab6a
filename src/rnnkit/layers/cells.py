"""The step math of every recurrent cell, written once.

Each ``*_step`` function computes one time step from the input projection
``gi = x_t @ W_ih^T + b_ih`` (precomputed for all steps at once by the driver) and the
previous state. The recurrent layers drive these functions over time
(:mod:`rnnkit.layers.scan`); the cell modules below wrap them for one-step use, with the
same parameter names and shapes as ``torch.nn.RNNCell`` / ``LSTMCell`` / ``GRUCell``.

Equations (torch gate order; ``m`` is the variational recurrent-dropout mask, 1 when off):

- SimpleRNN: ``h' = act(gi + (h*m) W_hh^T + b_hh)``, ``act`` is tanh or relu.
- LSTM (gates i, f, g, o): ``[i f g o] = gi + (h*m) W_hh^T + b_hh``;
  ``c' = sigmoid(f)*c + sigmoid(i)*tanh(g)``; ``h' = sigmoid(o)*tanh(c')``.
- GRU (gates r, z, n), ``reset_after=True`` (torch/cuDNN form):
  ``n = tanh(gi_n + r * ((h*m) W_hn^T + b_hn))``;
  ``reset_after=False`` (the seed 001 form ``h~ = tanh(W.[r*h, x])``):
  ``n = tanh(gi_n + (r*(h*m)) W_hn^T + b_hn)``; both: ``h' = (1-z)*n + z*h``.

Example:
    >>> import torch
    >>> cell = LSTMCell(3, 4)
    >>> h, c = cell(torch.randn(2, 3))
    >>> tuple(h.shape), tuple(c.shape)
    ((2, 4), (2, 4))
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.errors import InvalidArgumentError

GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def _linear(h: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
    return F.linear(h, w, b)


def rnn_step(gi: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None, m: Tensor | None = None,
             nonlinearity: str = "tanh") -> Tensor:
    """One SimpleRNN step; returns the new hidden state."""
    hm = h if m is None else h * m
    pre = gi + _linear(hm, w_hh, b_hh)
    return torch.tanh(pre) if nonlinearity == "tanh" else torch.relu(pre)


def lstm_step(gi: Tensor, h: Tensor, c: Tensor, w_hh: Tensor, b_hh: Tensor | None,
              m: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """One LSTM step; returns ``(h', c')``."""
    hm = h if m is None else h * m
    i, f, g, o = (gi + _linear(hm, w_hh, b_hh)).chunk(4, dim=-1)
    c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h_new = torch.sigmoid(o) * torch.tanh(c_new)
    return h_new, c_new


def gru_step(gi: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None, m: Tensor | None = None,
             reset_after: bool = True) -> Tensor:
    """One GRU step; returns the new hidden state."""
    hm = h if m is None else h * m
    gi_r, gi_z, gi_n = gi.chunk(3, dim=-1)
    H = h.shape[-1]
    b_r = b_z = b_n = None
    if b_hh is not None:
        b_r, b_z, b_n = b_hh.split(H)
    if reset_after:
        gh_r, gh_z, gh_n = _linear(hm, w_hh, b_hh).chunk(3, dim=-1)
        r = torch.sigmoid(gi_r + gh_r)
        z = torch.sigmoid(gi_z + gh_z)
        n = torch.tanh(gi_n + r * gh_n)
    else:
        w_r, w_z, w_n = w_hh.split(H)
        r = torch.sigmoid(gi_r + _linear(hm, w_r, b_r))
        z = torch.sigmoid(gi_z + _linear(hm, w_z, b_z))
        n = torch.tanh(gi_n + _linear(r * hm, w_n, b_n))
    return (1 - z) * n + z * h


def check_size(name: str, value) -> int:
    """Validate a positive integer size argument."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidArgumentError.for_argument(name, value, "a positive integer")
    return value


class _Cell(nn.Module):
    """Shared parameters of the one-step cells (torch names and shapes)."""

    mode = "rnn"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        self.input_size = check_size("input_size", input_size)
        self.hidden_size = check_size("hidden_size", hidden_size)
        G = GATES[self.mode]
        self.weight_ih = nn.Parameter(torch.empty(G * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(G * hidden_size, hidden_size))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(G * hidden_size))
            self.bias_hh = nn.Parameter(torch.empty(G * hidden_size))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        bound = 1.0 / math.sqrt(hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def _check(self, x: Tensor) -> Tensor:
        if x.dim() not in (1, 2) or x.shape[-1] != self.input_size:
            raise InvalidArgumentError.for_argument(
                "input", tuple(x.shape), f"shape (batch, {self.input_size}) or ({self.input_size},)")
        return x

    def _zeros(self, x: Tensor) -> Tensor:
        return x.new_zeros(x.shape[:-1] + (self.hidden_size,))

    def _gi(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight_ih, self.bias_ih)


class SimpleRNNCell(_Cell):
    """One step of ``h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh)``, like ``torch.nn.RNNCell``.

    Args:
        input_size: features of ``x``. hidden_size: units. bias: default True.
        nonlinearity: ``"tanh"`` (default) or ``"relu"``.

    Example:
        >>> import torch
        >>> tuple(SimpleRNNCell(3, 5)(torch.randn(2, 3)).shape)
        (2, 5)
    """

    mode = "rnn"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh"):
        super().__init__(input_size, hidden_size, bias)
        if nonlinearity not in ("tanh", "relu"):
            raise InvalidArgumentError.for_argument("nonlinearity", nonlinearity, "'tanh' or 'relu'")
        self.nonlinearity = nonlinearity

    def forward(self, x: Tensor, h: Tensor | None = None) -> Tensor:
        x = self._check(x)
        h = self._zeros(x) if h is None else h
        return rnn_step(self._gi(x), h, self.weight_hh, self.bias_hh, nonlinearity=self.nonlinearity)


class LSTMCell(_Cell):
    """One LSTM step, like ``torch.nn.LSTMCell``; returns ``(h', c')``.

    Example:
        >>> import torch
        >>> h, c = LSTMCell(3, 5)(torch.randn(2, 3))
        >>> tuple(h.shape)
        (2, 5)
    """

    mode = "lstm"

    def forward(self, x: Tensor, state: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        x = self._check(x)
        h, c = (self._zeros(x), self._zeros(x)) if state is None else state
        return lstm_step(self._gi(x), h, c, self.weight_hh, self.bias_hh)


class GRUCell(_Cell):
    """One GRU step, like ``torch.nn.GRUCell`` (``reset_after=True``) or the seed 001 form.

    Example:
        >>> import torch
        >>> tuple(GRUCell(3, 5, reset_after=False)(torch.randn(2, 3)).shape)
        (2, 5)
    """

    mode = "gru"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, reset_after: bool = True):
        super().__init__(input_size, hidden_size, bias)
        self.reset_after = bool(reset_after)

    def forward(self, x: Tensor, h: Tensor | None = None) -> Tensor:
        x = self._check(x)
        h = self._zeros(x) if h is None else h
        return gru_step(self._gi(x), h, self.weight_hh, self.bias_hh, reset_after=self.reset_after)
