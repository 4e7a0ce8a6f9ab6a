"""Early stopping and the hook interface the trainer calls at the end of each epoch.

The learning-rate schedule on plateau is torch's own
:class:`torch.optim.lr_scheduler.ReduceLROnPlateau`, built by the trainer.

    >>> from rnnkit.training.callbacks import EarlyStopping
    >>> es = EarlyStopping(patience=2)
    >>> [es.step(v, epoch) for epoch, v in enumerate([3.0, 2.0, 2.5, 2.1])]
    [False, False, False, True]
    >>> es.best, es.best_epoch
    (2.0, 1)
"""
from __future__ import annotations

import math

from rnnkit.errors import InvalidArgumentError

__all__ = ["EarlyStopping", "Callback"]


class EarlyStopping:
    """Stop when the monitored value (validation loss, lower is better) has not improved by more
    than ``min_delta`` for ``patience`` consecutive epochs.

    Args:
        patience: epochs without improvement before stopping (positive integer).
        min_delta: an improvement must be larger than this (default 0.0).

    ``step(value, epoch)`` returns True when training should stop. ``improved`` tells whether the
    last call set a new best (the trainer then saves the best weights).
    """

    def __init__(self, patience: int, min_delta: float = 0.0):
        if not isinstance(patience, int) or isinstance(patience, bool) or patience < 1:
            raise InvalidArgumentError.for_argument("patience", patience, "a positive integer")
        if not min_delta >= 0:
            raise InvalidArgumentError.for_argument("min_delta", min_delta, "a number >= 0")
        self.patience, self.min_delta = patience, float(min_delta)
        self.best, self.best_epoch, self.wait, self.improved = math.inf, -1, 0, False

    def step(self, value: float, epoch: int) -> bool:
        self.improved = value < self.best - self.min_delta
        if self.improved:
            self.best, self.best_epoch, self.wait = float(value), int(epoch), 0
            return False
        self.wait += 1
        return self.wait >= self.patience

    def state_dict(self) -> dict:
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait,
                "patience": self.patience, "min_delta": self.min_delta}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.best_epoch, self.wait = state["best"], state["best_epoch"], state["wait"]


class Callback:
    """Base class of trainer hooks; override what you need.

    ``on_epoch_end`` runs after the epoch's checkpoint and history are on disk, so a hook that
    raises (or a process killed there) leaves a run that ``resume=True`` continues exactly.
    """

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:  # pragma: no cover
        pass
