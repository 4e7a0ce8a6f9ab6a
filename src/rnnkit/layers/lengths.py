"""Validation of variable-length batches: ``lengths`` or a right-padded boolean ``mask``.

    >>> import torch
    >>> resolve_lengths(None, torch.tensor([[True, True], [True, False]]), batch=2, time=2)
    tensor([2, 1])
    >>> zero_padding(torch.tensor([[[1.0], [float("nan")]]]), torch.tensor([1]))[..., 0]
    tensor([[1., 0.]])
"""
from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.errors import InvalidArgumentError


def resolve_lengths(lengths, mask, batch: int, time: int) -> Tensor | None:
    """Return int64 lengths on CPU (or None for all-full), checking every value.

    Raises InvalidArgumentError naming the argument, the bad value and the fix.
    """
    if lengths is not None and mask is not None:
        raise InvalidArgumentError("Received both `lengths` and `mask`; pass only one of them "
                                   "(a right-padded mask is converted to lengths).")
    if mask is not None:
        mask = torch.as_tensor(mask)
        if mask.dim() != 2 or tuple(mask.shape) != (batch, time):
            raise InvalidArgumentError.for_argument(
                "mask", tuple(mask.shape), f"a boolean tensor of shape (batch, time) = ({batch}, {time})")
        mask = mask.bool().cpu()
        lengths = mask.sum(1)
        expected = torch.arange(time).unsqueeze(0) < lengths.unsqueeze(1)
        if not torch.equal(mask, expected):
            bad = int((mask != expected).any(1).nonzero()[0])
            raise InvalidArgumentError(
                f"Received a `mask` that is not right-padded (row {bad} has a False before a True). "
                "rnnkit expects valid steps first and padding after; pad sequences at the end "
                "(padding='post') or pass `lengths` instead.")
    if lengths is None:
        return None
    lengths = torch.as_tensor(lengths)
    if lengths.is_floating_point() or lengths.dtype == torch.bool:
        raise InvalidArgumentError.for_argument("lengths", lengths.dtype, "an integer tensor",
                                                "Pass e.g. torch.tensor([...], dtype=torch.long).")
    if lengths.dim() != 1 or lengths.shape[0] != batch:
        raise InvalidArgumentError.for_argument(
            "lengths", tuple(lengths.shape), f"a 1-D tensor with one length per sequence, shape ({batch},)")
    lengths = lengths.detach().to("cpu", torch.long)
    lo, hi = int(lengths.min()), int(lengths.max())
    if lo < 1:
        raise InvalidArgumentError(
            f"Received an invalid value for argument `lengths`: sequence {int(lengths.argmin())} has "
            f"length {lo}; every length must be at least 1. Drop empty sequences from the batch.")
    if hi > time:
        raise InvalidArgumentError(
            f"Received an invalid value for argument `lengths`: sequence {int(lengths.argmax())} has "
            f"length {hi} but the input has only {time} time steps. Lengths count valid steps of "
            "the padded input and cannot exceed its time dimension.")
    if lo == time:
        return None
    return lengths


def zero_padding(x: Tensor, lengths: Tensor | None) -> Tensor:
    """``x`` (batch, time, ...) with every step at or past its length replaced by exact zeros.

    It selects rather than multiplies by a mask, so NaN or inf in the padding reaches neither
    the outputs nor any gradient (``nan * 0`` is ``nan``)."""
    if lengths is None:
        return x
    valid = torch.arange(x.shape[1], device=x.device) < lengths.to(x.device).unsqueeze(1)
    return torch.where(valid.view(*valid.shape, *([1] * (x.dim() - 2))), x, x.new_zeros(()))
