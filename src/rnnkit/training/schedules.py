"""Learning-rate schedules that spend the whole training budget: warmup, then cosine decay.

:func:`lr_factor` is a pure function of ``progress``, the fraction of the budget used so far
(0 at the start, 1 at the end): a linear warmup from 0 to 1 over the first ``warmup`` of the
budget, then a cosine from 1 down to ``floor`` at the end of the budget. The learning rate of a
step is ``lr * lr_factor(progress, warmup, floor)``.

:func:`budget_progress` says what the budget is: the epochs, or, when the run has a time budget
(``max_minutes``), the training time too; the larger fraction counts, so the schedule ends when
the first of the two limits is reached (a time budget with a large epoch cap: the schedule ends
when the time ends). Both are computed from what a checkpoint holds (the epoch, the history's
epoch times), so a resumed run continues the schedule where it stopped.

    >>> lr_factor(0.0, warmup=0.1, floor=0.1), lr_factor(0.05, warmup=0.1, floor=0.1)
    (0.0, 0.5)
    >>> lr_factor(0.1, warmup=0.1, floor=0.1), round(lr_factor(0.55, warmup=0.1, floor=0.1), 6)
    (1.0, 0.55)
    >>> lr_factor(1.0, warmup=0.1, floor=0.1), lr_factor(1.7, warmup=0.1, floor=0.1)
    (0.1, 0.1)
    >>> budget_progress(epoch=2, epochs=4, step=5, steps=10, seconds=0.0, max_minutes=None)
    0.375
    >>> budget_progress(epoch=2, epochs=1000, step=5, steps=10, seconds=90.0, max_minutes=2.0)
    0.75
"""
from __future__ import annotations

import math

import torch

__all__ = ["SCHEDULES", "lr_factor", "budget_progress", "plateau"]

SCHEDULES = ("plateau", "cosine")


def lr_factor(progress: float, warmup: float = 0.0, floor: float = 0.0) -> float:
    """The multiplier of the base learning rate at ``progress`` (fraction of the budget used).

    Args:
        progress: fraction of the budget used, clipped to [0, 1].
        warmup: fraction of the budget spent rising linearly from 0 to 1 (default 0: no warmup).
        floor: the multiplier reached at the end of the budget (default 0).

    ``progress < warmup``: ``progress / warmup``; after it, ``floor + (1 - floor) * (1 + cos(pi * u)) / 2``
    with ``u = (progress - warmup) / (1 - warmup)``.
    """
    p = min(max(float(progress), 0.0), 1.0)
    if p < warmup:
        return p / warmup
    if warmup >= 1.0:
        return 1.0
    u = (p - warmup) / (1.0 - warmup)
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * u))


def budget_progress(*, epoch: int, epochs: int, step: int, steps: int | None, seconds: float,
                    max_minutes: float | None) -> float:
    """Fraction of the budget used before training step ``step`` (from 0) of epoch ``epoch`` (from 1)
    of ``steps`` per epoch (None: unknown, counted at the epoch's start), after ``seconds`` of
    training time (every epoch so far, resumes included, plus this one's); the larger of the
    epoch fraction and, given ``max_minutes``, the time fraction."""
    within = step / steps if steps else 0.0
    done = (epoch - 1 + min(within, 1.0)) / epochs
    if max_minutes:
        done = max(done, seconds / (max_minutes * 60.0))
    return min(done, 1.0)


def plateau(optimizer: torch.optim.Optimizer, config) -> torch.optim.lr_scheduler.ReduceLROnPlateau | None:
    """The per-epoch ReduceLROnPlateau of a :class:`~rnnkit.training.TrainConfig` with ``lr_patience``
    (``lr_factor``, ``min_lr``), or None."""
    if config.lr_patience is None:
        return None
    return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=config.lr_factor,
                                                      patience=config.lr_patience, min_lr=config.min_lr)
