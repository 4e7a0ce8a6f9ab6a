"""``rnnkit.GRU``: gated recurrent unit layer (seeds 000, 001).

    >>> import torch, rnnkit
    >>> gru = rnnkit.GRU(14, 32, reset_after=False)
    >>> out, h = gru(torch.randn(8, 120, 14))
    >>> tuple(out.shape), tuple(h.shape)
    ((8, 120, 32), (1, 8, 32))
"""
from __future__ import annotations

from rnnkit.layers.recurrent import RecurrentLayer


class GRU(RecurrentLayer):
    r"""GRU layer, batch-first, with torch's constructor, parameters and outputs.

    .. math::
        r, z = \sigma(x_t W_{i\{r,z\}}^T + b_{i\{r,z\}} + (h_{t-1} \odot m) W_{h\{r,z\}}^T + b_{h\{r,z\}})

        n = \tanh(x_t W_{in}^T + b_{in} + r \odot ((h_{t-1} \odot m) W_{hn}^T + b_{hn}))
        \quad\text{(reset\_after=True, torch/cuDNN)}

        n = \tanh(x_t W_{in}^T + b_{in} + (r \odot h_{t-1} \odot m) W_{hn}^T + b_{hn})
        \quad\text{(reset\_after=False, seed 001)}

        h_t = (1 - z) \odot n + z \odot h_{t-1}

    Args: as :class:`rnnkit.LSTM`, plus ``reset_after`` (default True). The parameters have
    ``torch.nn.GRU``'s names and shapes (gates r, z, n) in both forms; only the True form
    has a torch.nn counterpart to load into.

    Call arguments: ``x``, ``lengths`` or ``mask``, ``state`` h0
    (num_layers * num_directions, batch, hidden_size). Returns ``(output, h_n)``.
    """

    mode = "gru"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = True, dropout: float = 0.0, bidirectional: bool = False,
                 reset_after: bool = True, **kwargs):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         reset_after=reset_after, **kwargs)
