"""Why a training run stopped, decided after each epoch from what the checkpoint holds.

Three reasons, checked in this order after every epoch:

- ``"patience"``: early stopping (no better monitored loss for ``patience`` epochs); the best
  epoch's weights are restored. A resumed run stays stopped.
- ``"time"``: ``max_minutes`` is spent: the training time of every epoch so far (the ``time``
  column of the history, resumes included) reached it. The check runs after each epoch, so the
  last epoch may end past the budget by up to one epoch's time, and at least one epoch always
  runs. Under torchrun rank 0's clock decides for every process. Resuming a run stopped by time trains on only if the
  budget now given is larger (``max_minutes`` is not part of the resume fingerprint).
- ``"epochs"``: the epoch cap was reached; resuming with a larger ``epochs`` trains on.

The reason is written into the epoch's history row (column ``stop``), the checkpoint and, by the
tasks, into ``metrics.json`` (``"training"``: :func:`stop_info`).

    >>> out_of_time(None, [30.0, 30.0])
    False
    >>> out_of_time(1.0, [30.0, 30.0]), out_of_time(1.0, [30.0, 20.0])
    (True, False)
    >>> stop_reason(stopped_early=False, epoch=3, epochs=10, max_minutes=1.5, times=[30.0, 30.0, 30.0])
    'time'
    >>> stop_reason(stopped_early=False, epoch=10, epochs=10, max_minutes=None, times=[1.0] * 10)
    'epochs'
"""
from __future__ import annotations

import math
from typing import Sequence

__all__ = ["REASONS", "out_of_time", "stop_reason", "resumed_stop", "stop_info", "stop_message"]

REASONS = ("patience", "time", "epochs")


def out_of_time(max_minutes: float | None, times: Sequence[float]) -> bool:
    """True when the epochs' ``times`` (seconds) add up to ``max_minutes`` or more."""
    times = [float(t) for t in times if isinstance(t, (int, float)) and math.isfinite(t)]
    if not max_minutes or not times:
        return False
    return sum(times) >= max_minutes * 60.0


def stop_reason(*, stopped_early: bool, epoch: int, epochs: int, max_minutes: float | None,
                times: Sequence[float]) -> str | None:
    """The reason to stop after ``epoch`` (None: train on)."""
    if stopped_early:
        return "patience"
    if out_of_time(max_minutes, times):
        return "time"
    if epoch >= epochs:
        return "epochs"
    return None


def resumed_stop(stopped_early: bool, max_minutes: float | None, rows: Sequence[dict]) -> str | None:
    """The stop state a resumed run starts from: stopped by patience stays stopped, by time only
    while the budget given now is spent; a fresh run (or one capped by epochs) trains on."""
    if stopped_early:
        return "patience"
    if rows and out_of_time(max_minutes, [r.get("time", 0.0) for r in rows]):
        return "time"
    return None


def stop_info(reason: str | None, rows: Sequence[dict], early_stopping=None, restored: bool = False,
              max_minutes: float | None = None) -> dict:
    """What ``metrics.json`` records of how training ended (JSON-ready)."""
    times = [r.get("time", 0.0) for r in rows]
    info = {"stop_reason": reason, "epochs_run": len(rows),
            "train_minutes": round(sum(t for t in times if isinstance(t, (int, float))) / 60.0, 3),
            "max_minutes": max_minutes}
    if early_stopping is not None and early_stopping.best_epoch >= 0:
        info.update(best_epoch=early_stopping.best_epoch, best_monitored=early_stopping.best,
                    best_weights_restored=bool(restored))
    return info


def stop_message(info: dict, monitored: str, epochs: int) -> str:
    """The line printed at the end of training."""
    reason, n = info["stop_reason"], info["epochs_run"]
    why = {"patience": f"early stopping (no better {monitored} for the patience)",
           "time": f"the time budget (max_minutes {info.get('max_minutes')})",
           "epochs": f"the epoch cap ({epochs})"}.get(reason, str(reason))
    text = f"stopped after epoch {n} by {why}; trained {info['train_minutes']:.1f} min"
    if info.get("device"):
        text += f" on {info['device']}"
    if "best_epoch" in info:
        text += (f"; best {monitored} {info['best_monitored']:.4f} at epoch {info['best_epoch']}"
                 + (", its weights restored" if info.get("best_weights_restored") else ""))
    return text
