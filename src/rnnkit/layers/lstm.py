"""``rnnkit.LSTM``: long short-term memory layer (seeds 000, 001, 004).

    >>> import torch, rnnkit
    >>> lstm = rnnkit.LSTM(14, 32, recurrent_dropout=0.2)
    >>> out, (h, c) = lstm(torch.randn(8, 120, 14))
    >>> tuple(out.shape), tuple(h.shape), tuple(c.shape)
    ((8, 120, 32), (1, 8, 32), (1, 8, 32))
"""
from __future__ import annotations

from rnnkit.layers.recurrent import RecurrentLayer


class LSTM(RecurrentLayer):
    r"""LSTM layer, batch-first, with torch's constructor, parameters and outputs.

    .. math::
        i, f, g, o = \sigma, \sigma, \tanh, \sigma\,(x_t W_{ih}^T + b_{ih} + (h_{t-1} \odot m) W_{hh}^T + b_{hh})

        c_t = f \odot c_{t-1} + i \odot g, \qquad h_t = o \odot \tanh(c_t)

    where ``m`` is the variational recurrent-dropout mask (1 when off or in eval mode).

    Args:
        input_size: features per step. hidden_size: units (positive integer).
        num_layers: stacked layers, default 1. bias: default True.
        batch_first: must be True (always batch-first). dropout: torch's dropout between
            stacked layers, default 0.
        bidirectional: default False.
        input_dropout: variational dropout of each layer's inputs (one mask per sequence), default 0.
        recurrent_dropout: variational dropout of ``h_{t-1}`` where it enters the recurrent
            matmul (one mask per sequence, layer and direction), default 0.
        weight_drop: DropConnect on ``weight_hh_*`` (one mask per call), default 0.
        merge_mode: bidirectional output merge, 'concat' (default), 'sum', 'mul', 'ave'.
        stateful: carry the final state (detached) into the next call, default False.
        return_sequences: True (default) returns every step; False the last valid step.
        return_state: True (default) returns ``(output, (h_n, c_n))``; False only the output.
        kernel_l1, kernel_l2, recurrent_l1, recurrent_l2: penalties returned by ``penalty()``.
        init: 'keras' (default: Glorot-uniform, orthogonal, zero biases, forget bias 1) or 'torch'.

    Call arguments: ``x`` (batch, time, input_size); ``lengths`` (batch,) ints or ``mask``
    (batch, time) right-padded bools; ``state`` ``(h0, c0)``, each
    (num_layers * num_directions, batch, hidden_size).

    Parameters ``weight_ih_l{k}[_reverse]`` (4*hidden, in), ``weight_hh_l{k}[_reverse]``
    (4*hidden, hidden), ``bias_ih_l{k}``/``bias_hh_l{k}`` (4*hidden,): the same names and
    shapes as ``torch.nn.LSTM``, so ``load_state_dict`` works both ways.
    """

    mode = "lstm"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = True, dropout: float = 0.0, bidirectional: bool = False, **kwargs):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, **kwargs)
