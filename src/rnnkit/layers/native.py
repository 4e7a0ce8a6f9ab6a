"""torch's own RNN op (cuDNN on a CUDA GPU) for rnnkit's recurrent layers.

On a CUDA (or any non-CPU) device, or everywhere with ``RNNKIT_BACKEND=native``, a layer whose
work that op can do exactly runs it: ``torch._VF.lstm`` / ``gru`` / ``rnn_tanh`` / ``rnn_relu``,
the calls ``torch.nn.LSTM`` / ``GRU`` / ``RNN`` make, on the same weights in the same layout;
``lengths`` through :func:`torch.nn.utils.rnn.pack_padded_sequence` (outputs exactly zero past
each length, final states at each sequence's last valid step, as rnnkit's own paths give);
bidirectional and stacked; ``weight_drop`` as AWD-LSTM does it (DropConnect on each recurrent
weight matrix, then the op on the dropped matrices). Not possible there, so the reference scan
runs instead: variational input or recurrent dropout (one mask per sequence, which the op cannot
apply; on a GPU a warning says once what that costs) and the GRU with the reset gate before the
product (``reset_after=False``; torch's GRU is the other form).

    >>> import os, torch, rnnkit
    >>> layer = rnnkit.LSTM(3, 4, bidirectional=True)
    >>> x, n = torch.randn(2, 5, 3), torch.tensor([5, 2])
    >>> os.environ["RNNKIT_BACKEND"] = "native"
    >>> native_out = layer(x, lengths=n)[0]
    >>> del os.environ["RNNKIT_BACKEND"]
    >>> torch.allclose(native_out, layer(x, lengths=n)[0], atol=1e-6)
    True
"""
from __future__ import annotations

import os
import warnings

import torch
from torch import Tensor, _VF
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from rnnkit.layers.dropout import drop_connect

__all__ = ["wanted", "possible", "native_stack"]

_warned = set()


def forced() -> bool:
    """``RNNKIT_BACKEND=native``: the native op wherever it is possible, on the CPU too."""
    return os.environ.get("RNNKIT_BACKEND", "").strip().lower() == "native"


def wanted(x: Tensor) -> bool:
    """Whether the native op is the path for input ``x`` (forced, or not on the CPU)."""
    return forced() or x.device.type != "cpu"


def possible(layer, lengths, x: Tensor) -> bool:
    """Whether the op computes exactly what ``layer`` is asked; warns once per device kind when
    a layer off the CPU falls back to the reference scan for its variational dropout."""
    if layer.mode == "gru" and not layer.reset_after:
        return False
    if layer.training and (layer.input_dropout or layer.recurrent_dropout):
        if x.device.type != "cpu" and x.device.type not in _warned:
            _warned.add(x.device.type)
            warnings.warn(
                f"rnnkit: variational input/recurrent dropout (one mask per sequence) cannot run in torch's {x.device.type} "
                "RNN op, so these layers train with the reference scan (a loop over time steps, typically several "
                "times slower than cuDNN). For speed, use weight_drop (DropConnect on the recurrent weights, which "
                "runs in the op) or dropout between layers instead.", stacklevel=3)
        return False
    return lengths is None or bool((lengths >= 1).all())


def _weights(layer) -> list[Tensor]:
    weights = layer._flat_weights()
    if layer.training and layer.weight_drop:        # AWD-LSTM: the recurrent matrices dropped, then the op
        per = 4 if layer.bias else 2                 # w_ih, w_hh[, b_ih, b_hh] per layer and direction
        weights = [drop_connect(w, layer.weight_drop) if i % per == 1 else w for i, w in enumerate(weights)]
    return weights


def _op(layer):
    if layer.mode == "lstm":
        return _VF.lstm
    if layer.mode == "gru":
        return _VF.gru
    return _VF.rnn_tanh if layer.nonlinearity == "tanh" else _VF.rnn_relu


def native_stack(layer, x: Tensor, hx, lengths):
    """``(output, state)`` of the whole stack by torch's op (see the module docstring)."""
    args = (_weights(layer), layer.bias, layer.num_layers, layer.dropout, layer.training, layer.bidirectional)
    op, lstm = _op(layer), layer.mode == "lstm"
    if lengths is None:
        res = op(x, hx, *args, True)
        return res[0], ((res[1], res[2]) if lstm else res[1])
    packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    order, back = packed.sorted_indices, packed.unsorted_indices
    sort = lambda h: h.index_select(1, order)        # noqa: E731  (states are (layers*dirs, batch, H))
    res = op(packed.data, packed.batch_sizes, tuple(map(sort, hx)) if lstm else sort(hx), *args)
    out, _ = pad_packed_sequence(PackedSequence(res[0], packed.batch_sizes, order, back), batch_first=True,
                                 total_length=x.shape[1])
    states = [h.index_select(1, back) for h in res[1:]]
    return out, (tuple(states) if lstm else states[0])
