"""Loss functions by name, for :class:`rnnkit.training.Trainer`.

=================  ==========================================================  ==============================
name               torch loss                                                  targets
=================  ==========================================================  ==============================
``mae`` / ``l1``   ``nn.L1Loss``                                               like predictions
``mse``            ``nn.MSELoss``                                              like predictions
``huber``          ``nn.HuberLoss(delta=huber_delta)``                         like predictions
``bce``            ``nn.BCELoss`` (predictions are probabilities)              0/1 floats
``bce_logits``     ``nn.BCEWithLogitsLoss`` (predictions are logits)           0/1 floats
``cross_entropy``  ``nn.CrossEntropyLoss(ignore_index=...)`` over logits       integer class ids
``pinball``        :class:`PinballLoss` (quantile loss), default 0.1/0.5/0.9   predictions + a quantile axis
=================  ==========================================================  ==============================

For ``cross_entropy`` the class axis is the LAST axis of the predictions, as a model emits it:
``(batch, classes)`` with targets ``(batch,)``, or ``(batch, time, classes)`` with targets
``(batch, time)`` (sequence tagging, language models); padded targets equal to
``ignore_index`` are left out of the mean.

    >>> import torch
    >>> from rnnkit.training.losses import make_loss
    >>> make_loss("mae")(torch.tensor([1.0, 2.0]), torch.tensor([0.0, 4.0])).item()
    1.5
    >>> pinball = make_loss("pinball", quantiles=[0.1, 0.9])   # y - pred = +1: 0.1 * 1 and 0.9 * 1
    >>> round(pinball(torch.tensor([[0.0, 0.0]]), torch.tensor([1.0])).item(), 6)
    0.5
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from rnnkit.errors import InvalidArgumentError

__all__ = ["make_loss", "LOSSES", "PinballLoss", "check_quantiles"]

LOSSES = ("mae", "l1", "mse", "huber", "bce", "bce_logits", "cross_entropy", "pinball")
DEFAULT_QUANTILES = (0.1, 0.5, 0.9)


def check_quantiles(quantiles, name: str = "quantiles") -> tuple[float, ...]:
    """Quantiles as a tuple of floats strictly between 0 and 1, strictly increasing."""
    try:
        qs = tuple(float(q) for q in quantiles)
    except (TypeError, ValueError):
        raise InvalidArgumentError.for_argument(name, quantiles, "a list of numbers in (0, 1)",
                                                "e.g. 0.1,0.5,0.9") from None
    if not qs or not all(0 < q < 1 for q in qs) or any(b <= a for a, b in zip(qs, qs[1:])):
        raise InvalidArgumentError.for_argument(
            name, ",".join(map(str, qs)) or quantiles, "increasing numbers strictly between 0 and 1, each once",
            "e.g. 0.1,0.5,0.9 (an 80% interval and the median).")
    return qs


class PinballLoss(nn.Module):
    """The pinball (quantile) loss, averaged over every element and quantile.

    For quantile ``q`` and error ``e = y - pred_q``: ``max(q * e, (q - 1) * e)``. Predictions
    carry a trailing quantile axis: ``pred.shape == y.shape + (len(quantiles),)``. Minimising it
    makes ``pred_q`` the ``q``-quantile of ``y`` given the inputs; for ``q = 0.5`` it is half
    the absolute error.
    """

    def __init__(self, quantiles=DEFAULT_QUANTILES):
        super().__init__()
        self.quantiles = check_quantiles(quantiles)
        self.register_buffer("q", torch.tensor(self.quantiles), persistent=False)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if pred.shape != (*target.shape, len(self.quantiles)):
            raise InvalidArgumentError.for_argument(
                "model output", f"a tensor of shape {tuple(pred.shape)}",
                f"the target shape {tuple(target.shape)} plus a quantile axis of {len(self.quantiles)}",
                "Build the model with the same quantiles (ForecasterConfig(quantiles=...)).")
        q = self.q.to(dtype=pred.dtype, device=pred.device)
        err = target.unsqueeze(-1) - pred
        return torch.maximum(q * err, (q - 1) * err).mean()


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


def make_loss(name: str | Callable, huber_delta: float = 1.0, ignore_index: int = -100,
              quantiles=None) -> Callable:
    """Return the loss callable ``loss(pred, target) -> scalar tensor`` for ``name``
    (see the table above); a callable is returned unchanged. ``quantiles`` (pinball only)
    defaults to 0.1, 0.5, 0.9."""
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
    if key in ("pinball", "quantile"):
        return PinballLoss(DEFAULT_QUANTILES if quantiles is None else quantiles)
    raise InvalidArgumentError.for_argument(
        "loss", name, f"one of {list(LOSSES)} or a callable loss(pred, target)")
