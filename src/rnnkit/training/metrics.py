"""Evaluation metrics: plain functions over arrays or tensors, returning a Python float.

Metrics are computed in whatever units the inputs are in: to report an error in degrees,
inverse-scale predictions and targets first (the caller knows the scaler).

    >>> from rnnkit.training.metrics import mae, rmse, accuracy
    >>> mae([1.0, 2.0, 4.0], [1.0, 3.0, 2.0])
    1.0
    >>> round(rmse([0.0, 0.0], [3.0, 4.0]), 4)
    3.5355
    >>> accuracy([[0.1, 0.9], [0.8, 0.2]], [1, 1])
    0.5
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

from rnnkit.errors import InvalidArgumentError

__all__ = ["mae", "mse", "rmse", "mape", "accuracy", "get_metric", "METRICS"]


def _as_array(a) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


def _pair(pred, target) -> tuple[np.ndarray, np.ndarray]:
    p, t = _as_array(pred), _as_array(target)
    if p.shape != t.shape:
        raise InvalidArgumentError.for_argument(
            "pred", f"an array of shape {p.shape}", f"the shape of `target` {t.shape}",
            "Reshape predictions so that they line up element by element with the targets.")
    if p.size == 0:
        raise InvalidArgumentError.for_argument("target", "an empty array", "at least one value")
    return p, t


def mae(pred, target) -> float:
    """Mean absolute error, ``mean(|pred - target|)``."""
    p, t = _pair(pred, target)
    return float(np.mean(np.abs(p - t)))


def mse(pred, target) -> float:
    """Mean squared error, ``mean((pred - target)**2)``."""
    p, t = _pair(pred, target)
    return float(np.mean((p - t) ** 2))


def rmse(pred, target) -> float:
    """Root mean squared error, ``sqrt(mse)``."""
    return math.sqrt(mse(pred, target))


def mape(pred, target) -> float:
    """Mean absolute percentage error in percent; targets equal to 0 are skipped."""
    p, t = _pair(pred, target)
    nz = t != 0
    if not nz.any():
        raise InvalidArgumentError.for_argument(
            "target", "all zeros", "at least one non-zero value", "MAPE divides by the target.")
    return float(np.mean(np.abs((p[nz] - t[nz]) / t[nz])) * 100.0)


def accuracy(pred, target, threshold: float = 0.5, ignore_index: int | None = -100) -> float:
    """Fraction of correct predictions.

    - ``pred`` with one more dimension than ``target`` (scores over classes, last axis):
      the predicted class is ``argmax`` of the last axis; targets equal to ``ignore_index``
      (padding) are skipped.
    - ``pred`` shaped like ``target`` (binary): predicted class is ``pred > threshold``
      (0.5 for probabilities; use 0.0 for logits).
    """
    p, t = _as_array(pred), _as_array(target)
    if p.ndim == t.ndim + 1:
        if p.shape[:-1] != t.shape:
            raise InvalidArgumentError.for_argument(
                "pred", f"an array of shape {p.shape}", f"shape {t.shape} + (num_classes,)")
        keep = np.ones_like(t, dtype=bool) if ignore_index is None else t != ignore_index
        if not keep.any():
            raise InvalidArgumentError.for_argument("target", "only ignored entries", "at least one label")
        return float(np.mean(np.argmax(p, axis=-1)[keep] == t[keep]))
    p, t = _pair(pred, target)
    return float(np.mean((p > threshold).astype(np.float64) == t))


METRICS: dict[str, Callable[..., float]] = {
    "mae": mae, "mse": mse, "rmse": rmse, "mape": mape, "accuracy": accuracy, "acc": accuracy,
}


def get_metric(name: str | Callable[..., float]) -> Callable[..., float]:
    """Look a metric up by name (``mae``, ``mse``, ``rmse``, ``mape``, ``accuracy``/``acc``);
    a callable ``f(pred, target) -> float`` is returned unchanged."""
    if callable(name):
        return name
    try:
        return METRICS[str(name).lower()]
    except KeyError:
        raise InvalidArgumentError.for_argument(
            "metrics", name, f"one of {sorted(METRICS)} or a callable f(pred, target) -> float"
        ) from None
