"""How a bidirectional layer merges its two directions' outputs (Keras' ``merge_mode``), one
definition for :class:`rnnkit.layers.rnn.RNN` and the built-in recurrent layers.

    >>> import torch
    >>> merge_directions("ave", torch.tensor([1.0]), torch.tensor([3.0]))
    tensor([2.])
    >>> merge_directions("concat", torch.zeros(2, 1), torch.ones(2, 1)).shape
    torch.Size([2, 2])
"""
from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["MERGE_MODES", "merge_directions"]

MERGE_MODES = ("concat", "sum", "mul", "ave")


def merge_directions(mode: str, fwd: Tensor, bwd: Tensor) -> Tensor:
    """The forward and backward outputs merged by ``mode`` (one of :data:`MERGE_MODES`):
    concatenated on the last axis, summed, multiplied or averaged."""
    if mode == "concat":
        return torch.cat([fwd, bwd], -1)
    if mode == "sum":
        return fwd + bwd
    if mode == "mul":
        return fwd * bwd
    return (fwd + bwd) / 2
