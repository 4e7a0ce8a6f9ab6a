"""Loss functions by name, for :class:`rnnkit.training.Trainer`.

=================  =====================================================  ==================
name               torch loss                                             targets
=================  =====================================================  ==================
``mae`` / ``l1``   ``nn.L1Loss``                                          like predictions
``mse``            ``nn.MSELoss``                                         like predictions
``huber``          ``nn.HuberLoss(delta=huber_delta)``                    like predictions
``bce``            ``nn.BCELoss`` (predictions are probabilities)         0/1 floats
``bce_logits``     ``nn.BCEWithLogitsLoss`` (predictions are logits)      0/1 floats
``cross_entropy``  ``nn.CrossEntropyLoss(ignore_index=...)`` over logits  integer class ids
=================  =====================================================  ==================

For ``cross_entropy`` the class axis is the LAST axis of the predictions, as a model emits it:
``(batch, classes)`` with targets ``(batch,)``, or ``(batch, time, classes)`` with targets
``(batch, time)`` (sequence tagging, language models); padded targets equal to
``ignore_index`` are left out of the mean.

    >>> import torch
    >>> from rnnkit.training.losses import make_loss
    >>> make_loss("mae")(torch.tensor([1.0, 2.0]), torch.tensor([0.0, 4.0])).item()
    1.5
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from rnnkit.errors import InvalidArgumentError

__all__ = ["make_loss", "LOSSES"]

LOSSES = ("mae", "l1", "mse", "huber", "bce", "bce_logits", "cross_entropy")


class _LastAxisCrossEntropy(nn.Module):
    """Cross-entropy with classes on the last axis of the logits."""

    def __init__(self, ignore_index: int = -100):
        super().__init__()
        self.inner = nn.CrossEntropyLoss(ignore_index=ignore_index)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if logits.ndim != target.ndim + 1:
            raise InvalidArgumentError.for_argument(
                "logits", f"a tensor of shape {tuple(logits.shape)}",
                f"the target shape {tuple(target.shape)} plus a trailing class axis",
                "cross_entropy takes logits (..., classes) and integer class ids (...).")
        return self.inner(logits.reshape(-1, logits.shape[-1]), target.reshape(-1).long())


def make_loss(name: str | Callable, huber_delta: float = 1.0, ignore_index: int = -100) -> Callable:
    """Return the loss callable ``loss(pred, target) -> scalar tensor`` for ``name``
    (see the table above); a callable is returned unchanged."""
    if callable(name):
        return name
    key = str(name).lower()
    if key in ("mae", "l1"):
        return nn.L1Loss()
    if key == "mse":
        return nn.MSELoss()
    if key == "huber":
        if not huber_delta > 0:
            raise InvalidArgumentError.for_argument("huber_delta", huber_delta, "a positive number")
        return nn.HuberLoss(delta=huber_delta)
    if key == "bce":
        return nn.BCELoss()
    if key == "bce_logits":
        return nn.BCEWithLogitsLoss()
    if key in ("cross_entropy", "ce"):
        return _LastAxisCrossEntropy(ignore_index)
    raise InvalidArgumentError.for_argument(
        "loss", name, f"one of {list(LOSSES)} or a callable loss(pred, target)")
