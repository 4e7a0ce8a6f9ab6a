"""Max-pooling over non-overlapping windows of the last axis, written so that ``torch.export``
keeps that axis symbolic: the same numbers as ``F.max_pool1d(x, size, ceil_mode=...)`` (stride =
size, no padding), computed as a slice (or a pad with ``-inf``), a reshape and a maximum, so the
pooled length is ``time // size`` (or ``ceil(time / size)``) in the graph instead of a constant
(``max_pool1d``'s output length is specialised to the example's by the exporter).

    >>> import torch
    >>> x = torch.tensor([[[1., 5., 2., 0., 7.]]])
    >>> window_max(x, 2).tolist(), window_max(x, 2, ceil_mode=True).tolist()
    ([[[5.0, 2.0]]], [[[5.0, 2.0, 7.0]]])
"""
from __future__ import annotations

from torch import Tensor, nn
from torch.nn import functional as F

__all__ = ["window_max", "WindowMaxPool"]


def window_max(x: Tensor, size: int, ceil_mode: bool = False) -> Tensor:
    """The maximum of each window of ``size`` steps along the last axis: ``floor(time / size)``
    windows, or with ``ceil_mode`` ``ceil(time / size)`` (the last one shorter, as in
    ``nn.MaxPool1d(size, ceil_mode=True)``)."""
    if size == 1:
        return x
    n = (x.shape[-1] + size - 1) // size if ceil_mode else x.shape[-1] // size
    if ceil_mode:      # -inf never wins: every window holds at least one real step
        x = F.pad(x, (0, size - 1), value=float("-inf"))
    return x[..., :n * size].reshape(*x.shape[:-1], n, size).amax(-1)


class WindowMaxPool(nn.Module):
    """:func:`window_max` as a module (no parameters): ``(batch, channels, time)`` in and out,
    like ``nn.MaxPool1d(size, ceil_mode=ceil_mode)``."""

    def __init__(self, size: int, ceil_mode: bool = False):
        super().__init__()
        self.size, self.ceil_mode = size, ceil_mode

    def forward(self, x: Tensor) -> Tensor:
        return window_max(x, self.size, self.ceil_mode)

    def extra_repr(self) -> str:
        return f"size={self.size}, ceil_mode={self.ceil_mode}"
