"""PNG plots of a run: loss curves, and forecasts against the truth with baselines.

matplotlib runs on the Agg backend (no display needed); files are written atomically.

    >>> import os, tempfile, numpy as np
    >>> from rnnkit.training.plots import plot_forecast
    >>> d = tempfile.mkdtemp()
    >>> t = np.sin(np.arange(48) / 4)
    >>> plot_forecast(os.path.join(d, "f.png"), t, {"GRU": t + 0.1, "persistence": np.roll(t, 1)},
    ...               title="Temperature, 24 h ahead", units="°C")
    >>> os.path.getsize(os.path.join(d, "f.png")) > 0
    True
"""
from __future__ import annotations

import io
import math
import os
from typing import Mapping, Sequence

import numpy as np

from rnnkit.errors import InvalidArgumentError
from rnnkit.training.checkpoint import atomic_write_bytes

__all__ = ["plot_history", "plot_forecast"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path) -> None:
    plt = _pyplot()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


def _flat(name: str, a) -> np.ndarray:
    try:
        import torch

        if isinstance(a, torch.Tensor):
            a = a.detach().cpu().numpy()
    except ImportError:  # pragma: no cover
        pass
    a = np.asarray(a, dtype=np.float64)
    if a.ndim > 1:
        if a.size != a.shape[0]:
            raise InvalidArgumentError.for_argument(
                name, f"an array of shape {a.shape}", "a 1-D series (one value per time step)",
                "Select one target / one horizon step before plotting.")
        a = a.reshape(-1)
    return a


def plot_history(path: str | os.PathLike, history, metrics: Sequence[str] | None = None,
                 title: str = "Training history", loss_label: str = "loss") -> None:
    """Plot loss curves (training and validation) to a PNG, one panel per quantity: the figure
    of :func:`history_figure` (same arguments), saved to ``path``."""
    _save(history_figure(history, metrics, title, loss_label), path)


def history_figure(history, metrics: Sequence[str] | None = None, title: str = "Training history",
                   loss_label: str = "loss"):
    """The matplotlib figure of loss curves (training and validation), one panel per quantity.

    Args:
        history: a :class:`~rnnkit.training.history.History` or a list of epoch-row dicts.
        metrics: extra columns to plot in their own panels (e.g. ``["val_mae"]``); by default
            every column except epoch, loss/val_loss (drawn together), lr and time.
        title: figure title.
        loss_label: y label of the loss panel, e.g. ``"MAE (scaled units)"``.
    """
    rows = getattr(history, "rows", history)
    if not rows:
        raise InvalidArgumentError.for_argument("history", "an empty history", "at least one epoch")
    cols = list(dict.fromkeys(k for r in rows for k in r))
    if metrics is None:
        metrics = [c for c in cols if c not in ("epoch", "loss", "val_loss", "lr", "time")
                   and not (c.startswith("val_") and c[4:] in cols)]
    epochs = [r["epoch"] for r in rows]
    plt = _pyplot()
    n = 1 + len(metrics)
    fig, axes = plt.subplots(1, n, figsize=(5.5 * n, 4), squeeze=False)

    def draw(ax, name, label, style, color):
        ys = [r.get(name, math.nan) for r in rows]
        if any(isinstance(y, (int, float)) and not math.isnan(y) for y in ys):
            ax.plot(epochs, ys, style, label=label, color=color)

    ax = axes[0][0]
    draw(ax, "loss", "training", "o-", "C0")
    draw(ax, "val_loss", "validation", "s-", "C1")
    ax.set(title="loss", xlabel="epoch", ylabel=loss_label)
    for ax, m in zip(axes[0][1:], metrics):
        base = m[4:] if m.startswith("val_") else m
        draw(ax, base, "training", "o-", "C0")
        draw(ax, f"val_{base}", "validation", "s-", "C1")
        ax.set(title=base, xlabel="epoch", ylabel=base)
    from matplotlib.ticker import MaxNLocator

    for ax in axes[0]:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
    fig.suptitle(title)
    return fig


def _aligned_predictions(y: np.ndarray, predictions: Mapping[str, object]) -> dict:
    """``predictions`` as flat arrays, each checked to have the length of the truth ``y``."""
    if not predictions:
        raise InvalidArgumentError.for_argument("predictions", "{}", "at least one named series")
    preds = {}
    for name, p in predictions.items():
        p = _flat(f"predictions[{name!r}]", p)
        if p.shape != y.shape:
            raise InvalidArgumentError.for_argument(
                f"predictions[{name!r}]", f"an array of length {p.size}",
                f"the length of `truth` ({y.size})")
        preds[name] = p
    return preds


def _draw_bands(ax, xs, y: np.ndarray, sl: slice, band) -> None:
    """Shade each interval of ``band`` (``(lower, upper)`` or ``{label: (lower, upper)}``) over
    the plotted ``xs``, labelled with its coverage of the whole truth ``y``."""
    bands = {} if band is None else band if isinstance(band, Mapping) else {"interval": band}
    for k, (label, (lo, hi)) in enumerate(bands.items()):
        lo, hi = _flat(f"band[{label!r}] lower", lo), _flat(f"band[{label!r}] upper", hi)
        if lo.shape != y.shape or hi.shape != y.shape:
            raise InvalidArgumentError.for_argument(
                f"band[{label!r}]", f"arrays of lengths {lo.size} and {hi.size}", f"the length of `truth` ({y.size})")
        covered = np.nanmean((lo <= y) & (y <= hi)) * 100
        ax.fill_between(xs, lo[sl], hi[sl], color="tab:blue", alpha=0.15 + 0.1 * k, lw=0,
                        label=f"{label} (covers {covered:.0f}%)")


def plot_forecast(path: str | os.PathLike, truth, predictions: Mapping[str, object],
                  title: str = "Forecast", units: str = "", x=None, xlabel: str = "time step",
                  ylabel: str = "value", max_points: int | None = 2000, band=None) -> None:
    """Plot forecasts against the truth, baselines included, to a PNG.

    Args:
        path: output PNG.
        truth: 1-D array of true values (in the target's units).
        predictions: ``{name: 1-D array}`` aligned with ``truth``: the model and any baselines
            (e.g. ``{"GRU": ..., "persistence": ..., "seasonal naive": ...}``). The first entry
            is drawn boldest; the legend shows each one's MAE against the truth.
        title: figure title.
        units: units of the values, shown on the y axis (e.g. ``"°C"``).
        x: optional x values (e.g. timestamps), same length as ``truth``.
        xlabel: x-axis label.
        ylabel: y-axis quantity, e.g. ``"temperature"``; the units are appended.
        max_points: plot only the last ``max_points`` values (None = all) to keep it readable.
        band: optional prediction interval(s) of the first series, shaded: ``(lower, upper)``
            arrays aligned with ``truth``, or ``{label: (lower, upper)}`` (e.g.
            ``{"80% interval": (q10, q90)}``); the legend shows each one's coverage of the truth.
    """
    y = _flat("truth", truth)
    preds = _aligned_predictions(y, predictions)
    xs = np.arange(y.size) if x is None else np.asarray(x)
    if len(xs) != y.size:
        raise InvalidArgumentError.for_argument("x", f"{len(xs)} values", f"{y.size} values")
    sl = slice(-max_points, None) if max_points and y.size > max_points else slice(None)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(11, 4.5))
    ax.plot(xs[sl], y[sl], color="black", lw=2.0, label="truth")
    _draw_bands(ax, xs[sl], y, sl, band)
    styles = ["-", "--", ":", "-."]
    for i, (name, p) in enumerate(preds.items()):
        err = np.nanmean(np.abs(p - y))
        unit = f" {units}" if units else ""
        ax.plot(xs[sl], p[sl], styles[i % len(styles)], lw=1.8 if i == 0 else 1.2,
                alpha=1.0 if i == 0 else 0.8, label=f"{name} (MAE {err:.3g}{unit})")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"{ylabel} ({units})" if units else ylabel)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    fig.autofmt_xdate() if np.issubdtype(np.asarray(xs).dtype, np.datetime64) else None
    _save(fig, path)
