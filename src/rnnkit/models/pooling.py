"""Pooling over time that sees only the valid steps of right-padded sequences.

``x`` is ``(batch, time, features)``; ``lengths`` (``(batch,)`` integers, each in ``[1, time]``)
counts the valid steps of each row, or is None when every step is valid. Padding never enters a
result: the last state is gathered at ``lengths - 1``, the mean divides by the length, and the
maximum is taken after the padded steps are replaced by ``-inf`` (selected, never multiplied, so
NaN in the padding does not leak either).

    >>> import torch
    >>> x = torch.tensor([[[1.], [2.], [9.]], [[4.], [0.], [0.]]])
    >>> lengths = torch.tensor([2, 1])
    >>> last_valid(x, lengths)[:, 0].tolist(), masked_mean(x, lengths)[:, 0].tolist()
    ([2.0, 4.0], [1.5, 4.0])
    >>> masked_max(x, lengths)[:, 0].tolist()
    [2.0, 4.0]
"""
from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.errors import InvalidArgumentError
from rnnkit.layers.fused.op import tracing

__all__ = ["POOLINGS", "valid_mask", "last_valid", "masked_mean", "masked_max", "pool"]

POOLINGS = ("last", "mean", "max")


def valid_mask(lengths: Tensor | None, batch: int, time: int, device=None) -> Tensor:
    """``(batch, time)`` bool: True at the valid steps."""
    if lengths is None:
        return torch.ones(batch, time, dtype=torch.bool, device=device)
    return torch.arange(time, device=device).unsqueeze(0) < lengths.to(device).unsqueeze(1)


def _check(x: Tensor, lengths: Tensor | None) -> Tensor | None:
    if x.dim() != 3:
        raise InvalidArgumentError.for_argument("x", tuple(x.shape), "a tensor (batch, time, features)")
    if lengths is None:
        return None
    lengths = torch.as_tensor(lengths).to(x.device, torch.long)
    if tracing():       # a graph being recorded: values unknown, only the shape is checked
        values_ok = True
    else:
        values_ok = not x.shape[0] or bool(lengths.min() >= 1) and bool(lengths.max() <= x.shape[1])
    if lengths.shape != (x.shape[0],) or not values_ok:
        raise InvalidArgumentError.for_argument(
            "lengths", lengths.tolist() if lengths.numel() <= 8 else tuple(lengths.shape),
            f"one length in [1, {x.shape[1]}] per row of the batch ({x.shape[0]} rows)",
            "Give empty sequences length 1 (one padding step) or drop them.")
    return lengths


def last_valid(x: Tensor, lengths: Tensor | None) -> Tensor:
    """``x[i, lengths[i] - 1]`` for every row: ``(batch, features)``."""
    lengths = _check(x, lengths)
    if lengths is None:
        return x[:, -1]
    index = (lengths - 1).view(-1, 1, 1).expand(-1, 1, x.shape[2])
    return x.gather(1, index).squeeze(1)


def masked_mean(x: Tensor, lengths: Tensor | None) -> Tensor:
    """The mean over the valid steps of each row: ``(batch, features)``."""
    lengths = _check(x, lengths)
    if lengths is None:
        return x.mean(1)
    keep = valid_mask(lengths, x.shape[0], x.shape[1], x.device).unsqueeze(-1)
    total = torch.where(keep, x, x.new_zeros(())).sum(1)
    return total / lengths.unsqueeze(1).to(x.dtype)


def masked_max(x: Tensor, lengths: Tensor | None) -> Tensor:
    """The maximum over the valid steps of each row: ``(batch, features)``."""
    lengths = _check(x, lengths)
    if lengths is None:
        return x.amax(1)
    keep = valid_mask(lengths, x.shape[0], x.shape[1], x.device).unsqueeze(-1)
    return torch.where(keep, x, x.new_full((), float("-inf"))).amax(1)


def pool(x: Tensor, lengths: Tensor | None, mode: str) -> Tensor:
    """``last_valid``, ``masked_mean`` or ``masked_max`` by name (``"last"``, ``"mean"``, ``"max"``)."""
    fn = {"last": last_valid, "mean": masked_mean, "max": masked_max}.get(mode)
    if fn is None:
        raise InvalidArgumentError.for_argument("pooling", mode, f"one of {POOLINGS}")
    return fn(x, lengths)
