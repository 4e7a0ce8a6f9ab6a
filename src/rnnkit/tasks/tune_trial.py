"""What a task gives ``rnnkit tune`` (:class:`TuneTask`) and the trainer callback that reports
each epoch to the Optuna trial (:class:`ReportToTrial`).

    >>> ReportToTrial(trial=None, key="val_accuracy", scale=-1.0, offset=1.0).key
    'val_accuracy'
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Protocol

from rnnkit.training.callbacks import Callback
from rnnkit._optional import require

__all__ = ["TuneTask", "ReportToTrial"]


def _optuna():
    """optuna, or one paragraph saying how to install the ``tune`` extra."""
    return require("optuna", extra="tune", feature="`rnnkit tune` (hyperparameter search)")


class TuneTask(Protocol):
    """What a task gives the search (``ForecastTune`` in :mod:`rnnkit.tasks.tune_forecast`,
    ``ClassifyTune`` in :mod:`rnnkit.tasks.tune_classify`); lower values are better."""

    name: str
    default_space: str
    value_name: str                                    # what a trial's value is, e.g. "val MAE"

    def allowed(self, name: str) -> bool: ...          # a job field the space may set
    def apply(self, job, params: dict): ...            # the job of one trial (validated)
    def train(self, job, callbacks) -> dict: ...       # train, score on validation: {"value", ...}
    def final(self, job, out: Path, resume: bool = False) -> dict: ...   # the best job's run: test metrics
    def command(self, job) -> str: ...                 # the equivalent command line


class ReportToTrial(Callback):
    """Trainer callback: report the monitored validation value after each epoch to the Optuna
    trial; raise ``optuna.TrialPruned`` when the pruner says so. The reported value is
    ``offset + scale * logs[key]``: ``scale`` turns a scaled MAE into the target's units, offset 1
    and scale -1 turn an accuracy into an error rate (lower is better)."""

    def __init__(self, trial, key: str = "val_mae", scale: float = 1.0, offset: float = 0.0):
        self.trial, self.key, self.scale, self.offset = trial, key, scale, offset

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        optuna = _optuna()
        value = logs.get(self.key, logs.get("val_loss"))
        if value is None or not math.isfinite(value):
            return
        self.trial.report(self.offset + float(value) * self.scale, epoch)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned after epoch {epoch}")
