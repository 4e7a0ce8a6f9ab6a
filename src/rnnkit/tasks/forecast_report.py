"""The test results of a forecasting run: MAE/RMSE of the model beside the common-sense,
seasonal-naive and mean baselines on the same windows, per series, the quantile intervals, the
printed table and the forecast plot.

    >>> print(format_table({"model": {"mae": 1.0, "rmse": 2.0}, "common_sense": {"mae": 2.0, "rmse": 3.0}}))
                                         MAE      RMSE   vs common sense
    model                              1.000     2.000            +50.0%
    common sense (persistence)         2.000     3.000             +0.0%
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from rnnkit.models import all_baselines
from rnnkit.models.baselines import window_rows
from rnnkit.tasks.forecast_config import ForecastJob
from rnnkit.tasks.forecast_data import target_units
from rnnkit.training import plot_forecast
from rnnkit.training.quantile_metrics import central_intervals, point_forecast

__all__ = ["evaluate_part", "quantile_predictions", "interval_lines", "format_table", "by_series", "plot_test",
           "BASELINE_LABELS"]

BASELINE_LABELS = {"common_sense": "common sense (persistence)", "seasonal_naive": "seasonal naive",
                   "mean": "window mean"}



def _errors(pred: np.ndarray, truth: np.ndarray) -> dict:
    err = pred - truth
    return {"mae": float(np.abs(err).mean()), "rmse": float(math.sqrt((err ** 2).mean()))}


def evaluate_part(model, trainer, prepared, windows, batch_size: int, period: int | None,
                  quantiles=None) -> tuple[dict, dict]:
    """MAE/RMSE in the target's units of the model and every baseline on ``windows``;
    returns ``(metrics, {name: predictions})`` with ``"truth"`` among the predictions.
    A quantile model (``quantiles``) is scored by its point forecast (the median)."""
    x_batches = windows.batches(batch_size=batch_size)
    pred = trainer.predict(x_batches)
    if quantiles is not None:
        pred = torch.from_numpy(point_forecast(pred[:, -1] if pred.dim() == 4 else pred, quantiles))
    elif pred.dim() == 3:  # a seq2seq model: the forecast after the last input step
        pred = pred[:, -1]
    pred = pred.numpy()
    truth = np.concatenate([y.numpy() for _, y in windows.batches(batch_size=4096)])
    series = prepared.data[:, prepared.feature_names.index(prepared.target)]
    inv = prepared.inverse_target
    preds = {"model": inv(pred.reshape(truth.shape))}
    for name, p in all_baselines(windows, series, period, prepared.segments).items():
        preds[name] = inv(p.reshape(truth.shape))
    truth_u = inv(truth)
    metrics = {name: _errors(p, truth_u) for name, p in preds.items()}
    preds["truth"] = truth_u
    return metrics, preds


def quantile_predictions(trainer, prepared, windows, batch_size: int) -> np.ndarray:
    """A quantile model's forecasts on ``windows`` in the target's units: ``(n, horizon, quantiles)``."""
    pred = trainer.predict(windows.batches(batch_size=batch_size))
    return prepared.inverse_target(pred[:, -1] if pred.dim() == 4 else pred)


def interval_lines(metrics: dict, quantiles, units: str = "") -> str:
    """One line per central interval: its coverage of the test values and its mean width."""
    lines = []
    for i, j, nominal in central_intervals(quantiles):
        name = f"{nominal * 100:.10g}"
        lines.append(f"{name}% interval (q{quantiles[i]:g}-q{quantiles[j]:g}): covers "
                     f"{metrics[f'coverage_{name}'] * 100:.1f}% of the test values, mean width "
                     f"{metrics[f'width_{name}']:.3f}{' ' + units if units else ''}")
    return "\n".join(lines)


def format_table(metrics: dict, units: str = "") -> str:
    """The test table: one row per model/baseline, MAE, RMSE and the gain over common sense."""
    ref = metrics["common_sense"]["mae"]
    lines = [f"{'':30s}{'MAE':>10s}{'RMSE':>10s}{'vs common sense':>18s}"]
    for name, m in metrics.items():
        label = "model" if name == "model" else BASELINE_LABELS.get(name, name)
        gain = f"{(1 - m['mae'] / ref) * 100:>+17.1f}%" if ref > 0 else f"{'n/a':>18s}"
        lines.append(f"{label:30s}{m['mae']:>10.3f}{m['rmse']:>10.3f}{gain}")
    if not ref > 0:
        lines.append("(common sense is exact on these windows: the target does not change, so no gain is defined)")
    return "\n".join(lines) + (f"\n(errors in {units})" if units else "")


def by_series(prepared, windows, preds: dict) -> dict:
    """Test metrics split per series: ``{series: {name: {"mae", "rmse"}}}`` (windows are in
    series order, ``windows.counts`` of each)."""
    out, begin = {}, 0
    for group, n in zip(prepared.groups, prepared.series_counts(windows)):
        n = int(n)
        if n:
            truth = preds["truth"][begin:begin + n]
            out[str(group)] = {k: _errors(v[begin:begin + n], truth) for k, v in preds.items() if k != "truth"}
        begin += n
    return out


def plot_test(path: Path, job: ForecastJob, prepared, test_w, preds: dict, band: dict | None = None) -> None:
    """Forecast vs truth over the first series' test span (at most two weeks of windows)."""
    counts = [int(c) for c in prepared.series_counts(test_w)]
    i = next((k for k, c in enumerate(counts) if c), 0)     # the first series that has test windows
    begin = sum(counts[:i])
    n = min(counts[i], 24 * 14)
    names = {"model": f"{job.cell.upper()} model", "common_sense": "common sense",
             "seasonal_naive": "seasonal naive", "mean": "window mean"}
    curves = {names[k]: v[begin:begin + n, 0] for k, v in preds.items() if k != "truth"}
    group = prepared.groups[i]
    when = prepared.times[window_rows(test_w)[2][begin:begin + n, 0]]
    title = (f"{job.target}, {job.delay} rows ahead, first {n} test windows"
             + (f" of {group}" if group is not None else ""))
    plot_forecast(path, preds["truth"][begin:begin + n, 0], curves, title=title, units=target_units(job),
                  x=when, xlabel="target time", max_points=None,
                  band=None if band is None else {k: (lo[begin:begin + n, 0], hi[begin:begin + n, 0])
                                                  for k, (lo, hi) in band.items()})
