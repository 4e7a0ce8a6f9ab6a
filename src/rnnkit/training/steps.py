"""One pass over batches: the training step and the evaluation pass used by the trainer.

A batch is ``(x, y)``: ``x`` a Tensor or a tuple of Tensors (the model is called as
``model(*x)``), ``y`` the target Tensor. The model returns a Tensor shaped like ``y``
(``y.shape + (classes,)`` for cross-entropy).

    >>> import torch
    >>> from rnnkit.training.steps import split_batch
    >>> x, y = split_batch((torch.zeros(2, 3), torch.ones(2)))
    >>> len(x), tuple(y.shape)
    (1, (2,))
"""
from __future__ import annotations

import math
from typing import Iterable

import torch

from rnnkit.errors import DataError, InvalidArgumentError, RnnkitError

__all__ = ["split_batch", "collect_penalty", "forward", "check_shapes"]


def split_batch(batch, device=None, with_target: bool = True):
    """Return ``(x_tuple, y)`` from a batch ``(x, y)``; ``y`` is None for a bare-Tensor batch
    when ``with_target`` is False (prediction)."""
    if isinstance(batch, torch.Tensor):
        if with_target:
            raise DataError("A training batch must be a pair (x, y); got a single Tensor. "
                            "Yield (inputs, targets) from the data iterable.")
        x, y = (batch,), None
    elif isinstance(batch, (tuple, list)) and len(batch) == 2:
        x, y = batch
        x = tuple(x) if isinstance(x, (tuple, list)) else (x,)
    else:
        raise DataError(f"A batch must be (x, y) with x a Tensor or a tuple of Tensors; got a "
                        f"{type(batch).__name__}"
                        + (f" of length {len(batch)}" if isinstance(batch, (tuple, list)) else "")
                        + ".")
    if device is not None:
        x = tuple(t.to(device) if isinstance(t, torch.Tensor) else t for t in x)
        y = y.to(device) if isinstance(y, torch.Tensor) else y
    return x, y


def collect_penalty(model: torch.nn.Module):
    """Sum of ``penalty()`` over the modules that define it (scalar tensor), or None.

    A module with ``penalty()`` is asked once and its children are not visited: its
    ``penalty()`` is expected to cover them."""
    total = None
    stack = [model]
    while stack:
        m = stack.pop()
        pen = getattr(m, "penalty", None)
        if callable(pen):
            p = pen()
            if p is not None:
                total = p if total is None else total + p
            continue
        stack.extend(reversed(list(m.children())))
    return total


def forward(model, x):
    out = model(*x)
    if not isinstance(out, torch.Tensor):
        raise RnnkitError(
            f"The model returned a {type(out).__name__}, expected one Tensor of predictions. "
            "Wrap recurrent layers that return (output, state) in a model that returns only "
            "the predictions (or build them with return_state=False).")
    return out


def check_shapes(pred: torch.Tensor, y: torch.Tensor, elementwise: bool) -> None:
    """For element-wise losses, refuse silent broadcasting ((B, 1) against (B,))."""
    if elementwise and pred.shape != y.shape:
        raise InvalidArgumentError.for_argument(
            "model output", f"a tensor of shape {tuple(pred.shape)}",
            f"the target shape {tuple(y.shape)}",
            "The loss would broadcast them; reshape the model output or the targets.")


def batches(data, epoch: int, training: bool = False) -> Iterable:
    """The iterable of one epoch: ``data(epoch)`` when ``data`` is callable, else ``data``
    itself, after (``training`` only) ``set_epoch(epoch - 1)`` on it (or on its ``sampler``, as for a DataLoader
    with a DistributedSampler) when it has one: passes count from 0, so a resumed run shuffles
    its remaining epochs exactly as the uninterrupted run did."""
    if callable(data) and not hasattr(data, "__iter__"):
        it = data(epoch)
    else:
        it = data
        for obj in (data, getattr(data, "sampler", None)) if training else ():
            if callable(getattr(obj, "set_epoch", None)):
                obj.set_epoch(epoch - 1)
                break
    if it is None:
        raise DataError("The data callable returned None instead of an iterable of batches.")
    return it


def finite_or_raise(value: float, epoch: int, step: int) -> None:
    if not math.isfinite(value):
        raise RnnkitError(
            f"The training loss became {value} at epoch {epoch}, batch {step}. Lower `lr`, set "
            "`clip_norm` (e.g. 1.0), or check the inputs for NaN/inf and their scaling.")
