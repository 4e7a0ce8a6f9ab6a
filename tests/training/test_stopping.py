"""Why training stopped (patience, time, epochs): in the history, the checkpoint, stop_info and the
printed output; best weights restored; max_minutes on a fake clock, across resumes."""
from __future__ import annotations

import copy

import pytest
import torch
from training_helpers import linear_batches

from rnnkit.training import Trainer, TrainConfig, read_history_csv
from rnnkit.training.checkpoint import read_weights


class FakeClock:
    """Every epoch takes ``seconds``: each reading is ``seconds`` after the previous one (the trainer
    reads the clock at the start and at the end of an epoch)."""

    def __init__(self, seconds):
        self.now, self.step = 0.0, seconds

    def __call__(self):
        self.now += self.step
        return self.now


def _trainer(tmp_path, clock_seconds=60.0, **cfg):
    torch.manual_seed(0)
    trainer = Trainer(torch.nn.Linear(3, 1), TrainConfig(loss="mse", lr=0.01, quiet=True, **cfg),
                      tmp_path / "run" if tmp_path else None)
    trainer.clock = FakeClock(clock_seconds)
    return trainer


def test_max_minutes_stops_on_the_clock_and_a_resume_needs_a_larger_budget(tmp_path):
    data = linear_batches()
    t = _trainer(tmp_path, epochs=50, max_minutes=2.5)
    t.fit(data, data)
    # 60 s per epoch: 180 s >= 150 s after epoch 3, not before
    assert len(t.history.rows) == 3 and t.stop_reason == "time"
    assert [r.get("stop") for r in t.history.rows] == [None, None, "time"]
    rows = read_history_csv(tmp_path / "run" / "history.csv")
    assert [r["stop"] for r in rows] == ["", "", "time"] and rows[2]["epoch"] == 3
    info = t.stop_info()
    assert info["stop_reason"] == "time" and info["epochs_run"] == 3 and info["train_minutes"] == 3.0
    again = _trainer(tmp_path, epochs=50, max_minutes=2.5)    # same budget: spent, nothing more runs
    again.fit(data, data, resume=True)
    assert len(again.history.rows) == 3 and again.stop_reason == "time"
    more = _trainer(tmp_path, epochs=50, max_minutes=5.5)      # a larger budget continues the run
    more.fit(data, data, resume=True)
    assert [r["epoch"] for r in more.history.rows] == [1, 2, 3, 4, 5, 6] and more.stop_reason == "time"


def test_resumed_time_budget_counts_the_epochs_before_the_interruption(tmp_path):
    data = linear_batches()
    first = _trainer(tmp_path, epochs=2, max_minutes=4.0)       # interrupted by the cap after 2 epochs
    first.fit(data, data)
    assert first.stop_reason == "epochs"
    second = _trainer(tmp_path, epochs=50, max_minutes=4.0)
    second.fit(data, data, resume=True)
    assert len(second.history.rows) == 4 and second.stop_reason == "time"


def test_epoch_cap_is_a_stop_reason_and_is_printed(tmp_path, capsys):
    data = linear_batches()
    torch.manual_seed(0)
    t = Trainer(torch.nn.Linear(3, 1), TrainConfig(loss="mse", epochs=2), None)
    t.fit(data, data)
    assert t.stop_reason == "epochs" and t.history.rows[-1]["stop"] == "epochs"
    out = capsys.readouterr().out
    assert "stopped after epoch 2 by the epoch cap (2)" in out


class Snapshots:
    """Callback keeping the weights after every epoch."""

    def __init__(self):
        self.states = {}

    def on_epoch_end(self, trainer, epoch, logs):
        self.states[epoch] = copy.deepcopy(trainer.model.state_dict())


def test_patience_restores_the_best_epochs_weights(tmp_path, capsys):
    # validation targets of the opposite sign: the better the fit of the training data, the worse
    # the validation loss, so it rises after the first epochs and early stopping ends the run
    train = linear_batches()
    val = [(x, -y) for x, y in train]
    snaps = Snapshots()
    torch.manual_seed(0)
    t = Trainer(torch.nn.Linear(3, 1), TrainConfig(loss="mse", lr=0.05, epochs=100, patience=3), tmp_path / "run",
                callbacks=[snaps])
    t.fit(train, val)
    rows = t.history.rows
    best = min(rows, key=lambda r: r["val_loss"])["epoch"]
    assert t.stop_reason == "patience" and rows[-1]["epoch"] == best + 3 < 100
    info = t.stop_info()
    assert info["best_epoch"] == best and info["best_weights_restored"]
    assert info["best_monitored"] == pytest.approx(rows[best - 1]["val_loss"])
    for name, value in t.model.state_dict().items():           # the final model is the best epoch's
        assert torch.equal(value, snaps.states[best][name])
    saved = read_weights(tmp_path / "run" / "model.safetensors")
    best_file = read_weights(tmp_path / "run" / "checkpoints" / "best.safetensors")
    assert all(torch.equal(saved[k], best_file[k]) for k in saved)
    out = capsys.readouterr().out
    assert f"stopped after epoch {best + 3} by early stopping" in out and f"at epoch {best}, its weights restored" in out


def test_bad_max_minutes_is_refused():
    from rnnkit.errors import InvalidArgumentError
    with pytest.raises(InvalidArgumentError, match="max_minutes"):
        TrainConfig(max_minutes=0)


def test_patience_can_follow_a_validation_metric_that_is_maximised(tmp_path, capsys):
    # the negated validation loss as a metric: maximising it must pick the epoch val_loss picks
    def neg_mse(pred, target):
        return -float(torch.mean((torch.as_tensor(pred) - torch.as_tensor(target)) ** 2))
    train = linear_batches()
    val = [(x, -y) for x, y in train]
    snaps = Snapshots()
    torch.manual_seed(0)
    t = Trainer(torch.nn.Linear(3, 1), TrainConfig(loss="mse", lr=0.05, epochs=100, patience=3, metrics=(neg_mse,),
                                                   monitor="val_neg_mse", monitor_mode="max"),
                tmp_path / "run", callbacks=[snaps])
    t.fit(train, val)
    rows = t.history.rows
    best = max(rows, key=lambda r: r["val_neg_mse"])["epoch"]
    assert best == min(rows, key=lambda r: r["val_loss"])["epoch"]
    info = t.stop_info()
    assert t.stop_reason == "patience" and rows[-1]["epoch"] == best + 3 and info["best_epoch"] == best
    assert info["best_monitored"] == pytest.approx(rows[best - 1]["val_neg_mse"]) and info["best_monitored"] < 0
    for name, value in t.model.state_dict().items():
        assert torch.equal(value, snaps.states[best][name])
    assert f"best val_neg_mse {rows[best - 1]['val_neg_mse']:.4f} at epoch {best}" in capsys.readouterr().out


def test_monitor_must_name_a_metric():
    from rnnkit.errors import InvalidArgumentError
    from rnnkit.training.config import config_fingerprint
    with pytest.raises(InvalidArgumentError, match="monitor"):
        TrainConfig(monitor="val_f1")
    with pytest.raises(InvalidArgumentError, match="monitor_mode"):
        TrainConfig(metrics=("mae",), monitor="val_mae", monitor_mode="up")
    assert "monitor" not in config_fingerprint(TrainConfig())["train"]     # runs resumed across versions
