"""Dropout masks for recurrent layers.

Variational dropout (Gal & Ghahramani 2016, as in Keras): one mask per sequence, drawn once
per forward call and reused at every time step, with inverted scaling so the expected
activation is unchanged. DropConnect on weights (Wan et al. 2013; AWD-LSTM's weight drop):
one mask per weight matrix per forward call.

    >>> import torch
    >>> m = variational_mask(torch.ones(4, 8), 0.5)
    >>> sorted(set(m.flatten().tolist())) in ([0.0, 2.0], [2.0], [0.0])
    True
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F


def variational_mask(like: Tensor, p: float) -> Tensor:
    """A (batch, features) mask of 0 and 1/(1-p), shaped and typed like ``like``."""
    keep = 1.0 - p
    return torch.empty_like(like).bernoulli_(keep).div_(keep)


def drop_connect(weight: Tensor, p: float) -> Tensor:
    """The weight with a fraction ``p`` of its entries zeroed and the rest scaled by 1/(1-p)."""
    return F.dropout(weight, p, training=True)
