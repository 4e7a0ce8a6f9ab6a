"""rnnkit: recurrent neural networks over sequences, on PyTorch.

    >>> import torch, rnnkit
    >>> layer = rnnkit.GRU(14, 32, recurrent_dropout=0.2)
    >>> out, h = layer(torch.randn(4, 10, 14), lengths=torch.tensor([10, 3, 7, 1]))
    >>> tuple(out.shape), tuple(h.shape)
    ((4, 10, 32), (1, 4, 32))
"""
__version__ = "0.1.0"

from rnnkit.errors import RnnkitError, InvalidArgumentError, DataError, CheckpointError
from rnnkit.layers import (
    SimpleRNN, LSTM, GRU, SimpleRNNCell, LSTMCell, GRUCell, summary,
)

__all__ = [
    "__version__", "RnnkitError", "InvalidArgumentError", "DataError", "CheckpointError",
    "SimpleRNN", "LSTM", "GRU", "SimpleRNNCell", "LSTMCell", "GRUCell", "summary",
]
