"""``rnnkit.SimpleRNN``: the Elman recurrent layer (seeds 000-004).

    >>> import torch, rnnkit
    >>> rnn = rnnkit.SimpleRNN(14, 16, return_state=False, return_sequences=False)
    >>> tuple(rnn(torch.randn(8, 20, 14)).shape)
    (8, 16)
"""
from __future__ import annotations

from rnnkit.layers.recurrent import RecurrentLayer


class SimpleRNN(RecurrentLayer):
    r"""Simple (Elman) RNN layer, like ``torch.nn.RNN``, batch-first.

    .. math::
        h_t = \mathrm{act}(x_t W_{ih}^T + b_{ih} + (h_{t-1} \odot m) W_{hh}^T + b_{hh})

    Args: as :class:`rnnkit.LSTM`, plus ``nonlinearity`` 'tanh' (default) or 'relu'.
    Returns ``(output, h_n)``; parameters as ``torch.nn.RNN``.
    """

    mode = "rnn"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = True, dropout: float = 0.0,
                 bidirectional: bool = False, **kwargs):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         nonlinearity=nonlinearity, **kwargs)
