"""The recurrent layer driver shared by :class:`SimpleRNN`, :class:`LSTM` and :class:`GRU`.

It owns the parameters (torch's names and shapes), Keras-style initialisation, stacking,
bidirectional merging, lengths/mask handling, input and recurrent dropout, weight drop,
stateful state, L1/L2 penalties and the Keras-style return switches. The time loop of one
layer and direction is :func:`rnnkit.layers.scan.scan`; the step math is in
:mod:`rnnkit.layers.cells`. When nothing but what torch's fused kernel computes is asked
(no lengths, no active recurrent/input dropout or weight drop, torch's GRU form) and it is
the faster path (see ``_uses_fused_torch``), the whole stack runs in that kernel.

Example:
    >>> import torch, rnnkit
    >>> layer = rnnkit.LSTM(3, 8, num_layers=2, bidirectional=True, merge_mode="sum")
    >>> out, (h, c) = layer(torch.randn(5, 7, 3), lengths=torch.tensor([7, 1, 3, 7, 2]))
    >>> tuple(out.shape), tuple(h.shape)
    ((5, 7, 8), (4, 5, 8))
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, _VF, nn
from torch.nn import functional as F

from rnnkit.errors import InvalidArgumentError
from rnnkit.layers.cells import GATES, check_size
from rnnkit.layers.dropout import drop_connect, variational_mask
from rnnkit.layers.fused.op import traced_lengths, tracing
from rnnkit.layers import native
from rnnkit.layers.lengths import resolve_lengths
from rnnkit.layers.merge import MERGE_MODES, merge_directions
from rnnkit.layers.scan import scan
from rnnkit.layers import fused



def _check_rate(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise InvalidArgumentError.for_argument(name, value, "a float in [0, 1)")
    return float(value)


def _check_penalty(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise InvalidArgumentError.for_argument(name, value, "a non-negative float")
    return float(value)


class RecurrentLayer(nn.Module):
    """Base of the recurrent layers; see :class:`rnnkit.LSTM` for the arguments."""

    mode = "rnn"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = True, dropout: float = 0.0, bidirectional: bool = False, *,
                 input_dropout: float = 0.0, recurrent_dropout: float = 0.0, weight_drop: float = 0.0,
                 merge_mode: str = "concat", stateful: bool = False, return_sequences: bool = True,
                 return_state: bool = True, kernel_l1: float = 0.0, kernel_l2: float = 0.0,
                 recurrent_l1: float = 0.0, recurrent_l2: float = 0.0, init: str = "keras",
                 nonlinearity: str = "tanh", reset_after: bool = True):
        super().__init__()
        self.input_size = check_size("input_size", input_size)
        self.hidden_size = check_size("hidden_size", hidden_size)
        self.num_layers = check_size("num_layers", num_layers)
        if batch_first is not True:
            raise InvalidArgumentError.for_argument(
                "batch_first", batch_first, "True", "rnnkit layers are always batch-first: "
                "pass x as (batch, time, features), e.g. x.transpose(0, 1).")
        if merge_mode not in MERGE_MODES:
            raise InvalidArgumentError.for_argument("merge_mode", merge_mode, f"one of {MERGE_MODES}")
        if init not in ("keras", "torch"):
            raise InvalidArgumentError.for_argument("init", init, "'keras' or 'torch'")
        if nonlinearity not in ("tanh", "relu"):
            raise InvalidArgumentError.for_argument("nonlinearity", nonlinearity, "'tanh' or 'relu'")
        self.bias = bool(bias)
        self.batch_first = True
        self.bidirectional = bool(bidirectional)
        self.dropout = _check_rate("dropout", dropout)
        self.input_dropout = _check_rate("input_dropout", input_dropout)
        self.recurrent_dropout = _check_rate("recurrent_dropout", recurrent_dropout)
        self.weight_drop = _check_rate("weight_drop", weight_drop)
        self.kernel_l1 = _check_penalty("kernel_l1", kernel_l1)
        self.kernel_l2 = _check_penalty("kernel_l2", kernel_l2)
        self.recurrent_l1 = _check_penalty("recurrent_l1", recurrent_l1)
        self.recurrent_l2 = _check_penalty("recurrent_l2", recurrent_l2)
        self.merge_mode = merge_mode
        self.stateful = bool(stateful)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.nonlinearity = nonlinearity
        self.reset_after = bool(reset_after)
        self._state = None
        G = GATES[self.mode]
        H = hidden_size
        self._weight_names: list[list[tuple[str, str, str, str]]] = []
        for layer in range(self.num_layers):
            layer_in = input_size if layer == 0 else H * self.num_directions
            names = []
            for sfx in self._suffixes():
                n = (f"weight_ih_l{layer}{sfx}", f"weight_hh_l{layer}{sfx}",
                     f"bias_ih_l{layer}{sfx}", f"bias_hh_l{layer}{sfx}")
                self.register_parameter(n[0], nn.Parameter(torch.empty(G * H, layer_in)))
                self.register_parameter(n[1], nn.Parameter(torch.empty(G * H, H)))
                if self.bias:
                    self.register_parameter(n[2], nn.Parameter(torch.empty(G * H)))
                    self.register_parameter(n[3], nn.Parameter(torch.empty(G * H)))
                names.append(n)
            self._weight_names.append(names)
        self.reset_parameters(init)

    # ----------------------------------------------------------------- parameters
    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def _suffixes(self):
        return ("", "_reverse") if self.bidirectional else ("",)

    def _weights(self, layer: int, direction: int):
        w_ih, w_hh, b_ih, b_hh = self._weight_names[layer][direction]
        return (getattr(self, w_ih), getattr(self, w_hh),
                getattr(self, b_ih) if self.bias else None, getattr(self, b_hh) if self.bias else None)

    def _flat_weights(self) -> list[Tensor]:
        return [w for layer in range(self.num_layers) for d in range(self.num_directions)
                for w in self._weights(layer, d) if w is not None]

    def reset_parameters(self, init: str = "keras") -> None:
        """Keras init (Glorot-uniform input weights, orthogonal recurrent weights, zero biases,
        LSTM forget-gate bias 1) or torch's uniform(-1/sqrt(H), 1/sqrt(H))."""
        H = self.hidden_size
        with torch.no_grad():
            for layer in range(self.num_layers):
                for d in range(self.num_directions):
                    w_ih, w_hh, b_ih, b_hh = self._weights(layer, d)
                    if init == "torch":
                        bound = 1.0 / math.sqrt(H)
                        for p in (w_ih, w_hh, b_ih, b_hh):
                            if p is not None:
                                nn.init.uniform_(p, -bound, bound)
                        continue
                    nn.init.xavier_uniform_(w_ih)
                    nn.init.orthogonal_(w_hh)
                    for b in (b_ih, b_hh):
                        if b is not None:
                            b.zero_()
                    if self.mode == "lstm" and b_ih is not None:
                        b_ih[H:2 * H] = 1.0

    def penalty(self) -> Tensor:
        """L1/L2 penalties on kernel (input) and recurrent weights, for the trainer to add to
        the loss: ``l1 * sum|W| + l2 * sum W^2`` over every layer and direction."""
        total = self.weight_ih_l0.new_zeros(())
        for layer in range(self.num_layers):
            for d in range(self.num_directions):
                w_ih, w_hh, _, _ = self._weights(layer, d)
                for w, l1, l2 in ((w_ih, self.kernel_l1, self.kernel_l2),
                                  (w_hh, self.recurrent_l1, self.recurrent_l2)):
                    if l1:
                        total = total + l1 * w.abs().sum()
                    if l2:
                        total = total + l2 * w.pow(2).sum()
        return total

    # ----------------------------------------------------------------- state
    def reset_state(self) -> None:
        """Forget the state carried between calls of a ``stateful`` layer."""
        self._state = None

    def _initial_state(self, x: Tensor, state):
        B = x.shape[0]
        L = self.num_layers * self.num_directions
        if state is None and self.stateful and self._state is not None:
            state = self._state
            got = (state[0] if isinstance(state, tuple) else state).shape[1]
            if got != B:
                raise InvalidArgumentError(
                    f"Received a batch of {B} sequences but this stateful layer carries state for "
                    f"{got}. A stateful layer needs the same batch size every call; call "
                    "`reset_state()` before changing it (e.g. at the start of each epoch).")
        if state is None:
            z = x.new_zeros(L, B, self.hidden_size)
            return (z, z.clone()) if self.mode == "lstm" else z
        parts = state if isinstance(state, (tuple, list)) else (state,)
        if len(parts) != (2 if self.mode == "lstm" else 1):
            raise InvalidArgumentError.for_argument(
                "state", f"{len(parts)} tensor(s)", "(h0, c0) for LSTM" if self.mode == "lstm"
                else "a single tensor h0")
        for p in parts:
            if tuple(p.shape) != (L, B, self.hidden_size):
                raise InvalidArgumentError.for_argument(
                    "state", tuple(p.shape),
                    f"shape (num_layers * num_directions, batch, hidden_size) = ({L}, {B}, {self.hidden_size})")
        return tuple(parts) if self.mode == "lstm" else parts[0]

    # ----------------------------------------------------------------- forward
    def _uses_fused_torch(self, lengths, x: Tensor | None = None) -> bool:
        """Whether torch's own whole-stack kernel computes exactly what is asked and is the
        faster choice. rnnkit's fused kernels (bench/layers.py) beat it on CPU everywhere
        measured except large LSTMs with several threads, where oneDNN's LSTM is strong."""
        if lengths is not None or (self.mode == "gru" and not self.reset_after):
            return False
        if self.training and (self.input_dropout or self.recurrent_dropout or self.weight_drop):
            return False
        if x is not None and x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64):
            if fused.available():
                return self.mode == "lstm" and self.hidden_size >= 256 and torch.get_num_threads() > 1
        return True

    def _torch_stack(self, x: Tensor, hx):
        args = (self._flat_weights(), self.bias, self.num_layers, self.dropout, self.training,
                self.bidirectional, True)
        if self.mode == "lstm":
            out, h, c = _VF.lstm(x, hx, *args)
            return out, (h, c)
        fn = _VF.gru if self.mode == "gru" else (_VF.rnn_tanh if self.nonlinearity == "tanh" else _VF.rnn_relu)
        out, h = fn(x, hx, *args)
        return out, h

    def _scan_stack(self, x: Tensor, hx, lengths):
        lstm = self.mode == "lstm"
        h0 = hx[0] if lstm else hx
        c0 = hx[1] if lstm else None
        train = self.training
        hs, cs = [], []
        inp = x
        for layer in range(self.num_layers):
            outs = []
            for d in range(self.num_directions):
                k = layer * self.num_directions + d
                w_ih, w_hh, b_ih, b_hh = self._weights(layer, d)
                xin = inp
                if train and self.input_dropout:
                    xin = inp * variational_mask(inp[:, 0], self.input_dropout).unsqueeze(1)
                if train and self.weight_drop:
                    w_hh = drop_connect(w_hh, self.weight_drop)
                m = variational_mask(h0[k], self.recurrent_dropout) if train and self.recurrent_dropout else None
                out, h, c = scan(self.mode, xin, h0[k], c0[k] if lstm else None, w_ih, w_hh, b_ih, b_hh,
                                 lengths, m, reverse=d == 1, reset_after=self.reset_after,
                                 nonlinearity=self.nonlinearity)
                outs.append(out)
                hs.append(h)
                cs.append(c)
            inp = torch.cat(outs, -1) if len(outs) > 1 else outs[0]
            if train and self.dropout and layer < self.num_layers - 1:
                inp = F.dropout(inp, self.dropout, True)
        h_n = torch.stack(hs, 0)
        return inp, ((h_n, torch.stack(cs, 0)) if lstm else h_n)

    def _check_input(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor):
            raise InvalidArgumentError.for_argument("x", type(x).__name__, "a torch.Tensor")
        if x.dim() != 3 or x.shape[-1] != self.input_size:
            raise InvalidArgumentError.for_argument(
                "x", tuple(x.shape), f"a tensor of shape (batch, time, {self.input_size})",
                "rnnkit layers are batch-first; add a batch dimension with x.unsqueeze(0) "
                "or check input_size.")
        if x.shape[1] == 0 or x.shape[0] == 0:
            raise InvalidArgumentError.for_argument("x", tuple(x.shape), "at least one sequence and one time step")
        if not x.is_floating_point():
            raise InvalidArgumentError.for_argument("x", x.dtype, "a floating-point tensor",
                                                    "Token ids go through an embedding first.")
        w = self.weight_ih_l0
        if x.dtype != w.dtype:
            raise InvalidArgumentError.for_argument(
                "x", f"{x.dtype} input", f"the dtype of the layer's weights ({w.dtype})",
                f"Cast the input (x.to({w.dtype})) or the layer (layer.to({x.dtype})); float16 "
                "and bfloat16 layers run on the pure PyTorch path.")
        return x

    def forward(self, x: Tensor, lengths=None, state=None, mask=None):
        """Run the layer over ``x`` (batch, time, features).

        Args:
            x: input, (batch, time, input_size).
            lengths: optional int tensor (batch,) of valid lengths (right padding).
            state: optional initial state, (num_layers * num_directions, batch, hidden_size);
                a tuple ``(h0, c0)`` for LSTM.
            mask: optional right-padded bool (batch, time), instead of ``lengths``.
        Returns:
            ``(output, state)`` by default; ``output`` is (batch, time, D * hidden_size) with
            ``merge_mode='concat'`` (D = 2 if bidirectional), else (batch, time, hidden_size),
            exactly zero at and past each length. With ``return_sequences=False`` the output
            is the last valid step (batch, features); with ``return_state=False`` only the
            output is returned.
        """
        x = self._check_input(x)
        lengths = (traced_lengths if tracing() else resolve_lengths)(lengths, mask, x.shape[0], x.shape[1])
        hx = self._initial_state(x, state)
        if not tracing() and native.wanted(x) and native.possible(self, lengths, x):   # cuDNN on a GPU
            out, new_state = native.native_stack(self, x, hx, lengths)
        elif self._uses_fused_torch(lengths, x):
            out, new_state = self._torch_stack(x, hx)
        else:
            out, new_state = self._scan_stack(x, hx, lengths)
        if self.stateful:
            self._state = tuple(s.detach() for s in new_state) if isinstance(new_state, tuple) \
                else new_state.detach()
        return self._package(out, new_state)

    def _merge(self, fwd: Tensor, bwd: Tensor) -> Tensor:
        return merge_directions(self.merge_mode, fwd, bwd)

    def _package(self, out: Tensor, new_state):
        H = self.hidden_size
        if self.bidirectional and self.merge_mode != "concat":
            out = self._merge(out[..., :H], out[..., H:])
        if self.return_sequences:
            result = out
        else:
            h_n = new_state[0] if isinstance(new_state, tuple) else new_state
            top = h_n[-self.num_directions:]
            result = self._merge(top[0], top[1]) if self.bidirectional else top[0]
        return (result, new_state) if self.return_state else result

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        for name, default in (("num_layers", 1), ("bias", True), ("dropout", 0.0), ("bidirectional", False),
                              ("input_dropout", 0.0), ("recurrent_dropout", 0.0), ("weight_drop", 0.0),
                              ("merge_mode", "concat"), ("stateful", False), ("return_sequences", True),
                              ("return_state", True)):
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)!r}"
        return s
