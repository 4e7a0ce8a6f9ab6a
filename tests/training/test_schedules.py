"""The cosine learning-rate schedule to the budget: the pure functions against hand-computed values,
the rate the trainer sets at every step (epoch budget, time budget on a controlled clock), resume
continuing the schedule, and the config checks."""
from __future__ import annotations

import math

import pytest
import torch
from training_helpers import linear_batches

from rnnkit.errors import InvalidArgumentError
from rnnkit.training import Trainer, TrainConfig
from rnnkit.training.config import config_fingerprint
from rnnkit.training.schedules import budget_progress, lr_factor


@pytest.mark.parametrize("progress, warmup, floor, expected", [
    (0.0, 0.0, 0.0, 1.0), (0.5, 0.0, 0.0, 0.5), (1.0, 0.0, 0.0, 0.0),
    (0.25, 0.0, 0.0, 0.8535533905932737),           # (1 + cos(pi/4)) / 2
    (0.02, 0.1, 0.1, 0.2), (0.1, 0.1, 0.1, 1.0),     # warmup: linear from 0
    (0.3, 0.1, 0.1, 0.8947199994),                 # u = 2/9: 0.1 + 0.9 * (1 + cos(2pi/9)) / 2
    (1.0, 0.1, 0.2, 0.2), (-0.5, 0.1, 0.2, 0.0), (3.0, 0.1, 0.2, 0.2),   # clipped to [0, 1]
])
def test_lr_factor_hand_computed(progress, warmup, floor, expected):
    assert lr_factor(progress, warmup, floor) == pytest.approx(expected, abs=1e-9)


def test_budget_progress_takes_the_limit_reached_first():
    assert budget_progress(epoch=1, epochs=4, step=0, steps=10, seconds=0.0, max_minutes=None) == 0.0
    assert budget_progress(epoch=3, epochs=4, step=5, steps=10, seconds=1e6, max_minutes=None) == 0.625
    assert budget_progress(epoch=3, epochs=4, step=5, steps=None, seconds=0.0, max_minutes=None) == 0.5
    assert budget_progress(epoch=1, epochs=100, step=1, steps=10, seconds=30.0, max_minutes=1.0) == 0.5
    assert budget_progress(epoch=4, epochs=4, step=9, steps=10, seconds=1.0, max_minutes=10.0) == 0.975
    assert budget_progress(epoch=9, epochs=100, step=0, steps=10, seconds=700.0, max_minutes=10.0) == 1.0


class Recorder(torch.nn.Module):
    """A linear model that records the learning rate of every training step and advances a clock
    by 10 s per training step; it can fail at a given step (a killed run)."""

    def __init__(self, fail_at=None):
        super().__init__()
        self.lin = torch.nn.Linear(3, 1)
        self.now, self.lrs, self.trainer, self.fail_at = 0.0, [], None, fail_at

    def clock(self):
        return self.now

    def forward(self, x):
        if self.training:
            if len(self.lrs) == self.fail_at:
                raise KeyboardInterrupt
            self.lrs.append(self.trainer.optimizer.param_groups[0]["lr"])
            self.now += 10.0
        return self.lin(x)


def _fit(run, fail_at=None, resume=False, **cfg):
    torch.manual_seed(0)
    model = Recorder(fail_at)
    trainer = Trainer(model, TrainConfig(loss="mse", lr=0.1, quiet=True, lr_schedule="cosine", **cfg), run)
    model.trainer, trainer.clock = trainer, model.clock
    try:
        trainer.fit(linear_batches(), resume=resume)      # 4 batches per epoch
    except KeyboardInterrupt:
        pass
    return trainer, model


def test_epoch_budget_sets_each_steps_rate():
    _, model = _fit(None, epochs=2, lr_warmup=0.0, lr_floor=0.0)
    expected = [0.1 * 0.5 * (1 + math.cos(math.pi * k / 8)) for k in range(8)]
    assert model.lrs == pytest.approx(expected, rel=1e-12)


def test_time_budget_sets_each_steps_rate_and_ends_the_schedule_with_the_time():
    trainer, model = _fit(None, epochs=1000, max_minutes=2.0, lr_warmup=0.25, lr_floor=0.1)
    # 10 s per step, 120 s budget: 12 steps (3 epochs), progress k/12; warmup over the first 3 steps
    expected = [0.1 * lr_factor(k / 12, 0.25, 0.1) for k in range(12)]
    assert model.lrs == pytest.approx(expected, rel=1e-12) and model.lrs[:3] == pytest.approx([0.0, 1 / 30, 2 / 30])
    assert trainer.stop_reason == "time" and len(trainer.history.rows) == 3


@pytest.mark.parametrize("budget", [dict(epochs=3), dict(epochs=1000, max_minutes=2.0)])
def test_resume_continues_the_schedule(tmp_path, budget):
    whole, whole_model = _fit(tmp_path / "whole", **budget)
    _fit(tmp_path / "cut", fail_at=6, **budget)            # killed in epoch 2: epoch 1's checkpoint stays
    resumed, model = _fit(tmp_path / "cut", resume=True, **budget)
    assert model.lrs == pytest.approx(whole_model.lrs[4:], rel=1e-12)     # epochs 2 and 3 again
    for a, b in zip(whole.model.parameters(), resumed.model.parameters()):
        assert torch.equal(a, b)


def test_schedule_config_checks_and_fingerprint():
    with pytest.raises(InvalidArgumentError, match="lr_schedule"):
        TrainConfig(lr_schedule="linear")
    with pytest.raises(InvalidArgumentError, match="lr_patience"):
        TrainConfig(lr_schedule="cosine", lr_patience=2)
    for bad in (dict(lr_warmup=1.0), dict(lr_floor=1.5), dict(lr_warmup=-0.1)):
        with pytest.raises(InvalidArgumentError):
            TrainConfig(**bad)
    # a plateau run's fingerprint is as before the schedules (old checkpoints still resume)
    assert "lr_schedule" not in config_fingerprint(TrainConfig())["train"]
    assert config_fingerprint(TrainConfig(lr_schedule="cosine"))["train"]["lr_floor"] == 0.1
