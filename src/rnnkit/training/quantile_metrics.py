"""Metrics of quantile forecasts: coverage and mean width of each central interval, and the
calibration of each quantile.

The central intervals are the pairs of quantiles ``(q, 1 - q)`` of the list, ``q < 0.5``
(e.g. 0.1 and 0.9 make the 80% interval). An interval covers a true value when
``lower <= y <= upper``; a well-calibrated 80% interval covers about 80% of the values.

    >>> import numpy as np
    >>> pred = np.array([[0.0, 1.0, 2.0], [0.0, 1.0, 2.0], [0.0, 1.0, 2.0], [0.0, 1.0, 2.0]])
    >>> y = np.array([0.5, 2.5, -1.0, 2.0])            # inside, above, below, on the edge
    >>> m = quantile_metrics(pred, y, [0.1, 0.5, 0.9])
    >>> m["coverage_80"], m["width_80"], m["below_0.5"]
    (0.5, 2.0, 0.5)
"""
from __future__ import annotations

import numpy as np

from rnnkit.errors import InvalidArgumentError
from rnnkit.training.losses import check_quantiles

__all__ = ["central_intervals", "interval_coverage", "quantile_metrics", "point_forecast"]


def central_intervals(quantiles) -> list[tuple[int, int, float]]:
    """``(lower index, upper index, nominal coverage)`` of each symmetric pair, widest first."""
    qs = check_quantiles(quantiles)
    out = []
    for i, q in enumerate(qs):
        if q >= 0.5:
            break
        j = next((j for j, p in enumerate(qs) if abs(p - (1 - q)) < 1e-9), None)
        if j is not None:
            out.append((i, j, round(qs[j] - q, 10)))
    return out


def _arrays(pred, y, quantiles):
    pred, y = np.asarray(pred, dtype=np.float64), np.asarray(y, dtype=np.float64)
    qs = check_quantiles(quantiles)
    if pred.shape != (*y.shape, len(qs)):
        raise InvalidArgumentError.for_argument(
            "pred", f"an array of shape {pred.shape}", f"the target shape {y.shape} plus {len(qs)} quantiles")
    return pred, y, qs


def interval_coverage(lower, upper, y) -> tuple[float, float]:
    """``(fraction of y with lower <= y <= upper, mean of upper - lower)``."""
    lower, upper, y = (np.asarray(a, dtype=np.float64) for a in (lower, upper, y))
    return float(np.mean((lower <= y) & (y <= upper))), float(np.mean(upper - lower))


def quantile_metrics(pred, y, quantiles) -> dict[str, float]:
    """``coverage_<P>`` / ``width_<P>`` of each central P% interval and ``below_<q>``, the
    fraction of true values at or below each quantile forecast (``q`` when calibrated)."""
    pred, y, qs = _arrays(pred, y, quantiles)
    out = {}
    for i, j, nominal in central_intervals(qs):
        name = f"{nominal * 100:.10g}"
        out[f"coverage_{name}"], out[f"width_{name}"] = interval_coverage(pred[..., i], pred[..., j], y)
    for k, q in enumerate(qs):
        out[f"below_{q:g}"] = float(np.mean(y <= pred[..., k]))
    return out


def point_forecast(pred, quantiles) -> np.ndarray:
    """The point forecast of quantile predictions: the median when it is among the quantiles,
    else the mean of the quantiles."""
    pred = np.asarray(pred)
    qs = check_quantiles(quantiles)
    if 0.5 in qs:
        return pred[..., qs.index(0.5)]
    return pred.mean(-1)
