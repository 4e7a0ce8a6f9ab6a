"""Recurrent layers and cells (depends on torch only).

    >>> import torch
    >>> from rnnkit.layers import GRU
    >>> tuple(GRU(3, 4)(torch.randn(2, 5, 3))[0].shape)
    (2, 5, 4)
"""
from rnnkit.layers.cells import GRUCell, LSTMCell, SimpleRNNCell
from rnnkit.layers.gru import GRU
from rnnkit.layers.lstm import LSTM
from rnnkit.layers.recurrent import RecurrentLayer
from rnnkit.layers.simple_rnn import SimpleRNN
from rnnkit.layers.summary import summary
from rnnkit.layers.rnn import RNN, TorchCell, reverse_padded
from rnnkit.layers.attention import AdditiveAttention, DotAttention, masked_softmax

__all__ = ["SimpleRNN", "LSTM", "GRU", "SimpleRNNCell", "LSTMCell", "GRUCell", "RecurrentLayer", "summary",
           "RNN", "TorchCell", "reverse_padded", "AdditiveAttention", "DotAttention", "masked_softmax"]
