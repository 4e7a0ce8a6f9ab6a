"""History CSV, TensorBoard events, console output and plots of a run directory."""
import math

import numpy as np
import pytest
import torch

from rnnkit.errors import InvalidArgumentError
from rnnkit.training import TrainConfig, Trainer, plot_forecast, plot_history, read_history_csv

PNG = b"\x89PNG\r\n\x1a\n"


def test_run_dir_has_history_tensorboard_plot_config_and_weights(tmp_path, batches):
    cfg = TrainConfig(epochs=3, lr=0.01, metrics=("mae", "rmse"), quiet=True)
    t = Trainer(torch.nn.Linear(3, 1), cfg, tmp_path, run_config={"model": "linear"})
    hist = t.fit(batches, batches)
    rows = read_history_csv(tmp_path / "history.csv")
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert list(rows[0]) == ["epoch", "loss", "val_loss", "lr", "time", "val_mae", "val_rmse", "stop"]
    assert [r["stop"] for r in rows] == ["", "", "epochs"]       # why training stopped, on its last epoch
    for r, h in zip(rows, hist.rows):
        assert r["val_loss"] == h["val_loss"] and r["val_mae"] == pytest.approx(r["val_loss"])
    assert (tmp_path / "loss.png").read_bytes()[:8] == PNG
    assert (tmp_path / "model.safetensors").exists()
    import json
    cfg_json = json.loads((tmp_path / "config.json").read_text())
    assert cfg_json["model"] == "linear" and cfg_json["train"]["lr"] == 0.01

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    ev = EventAccumulator(str(tmp_path / "tensorboard"))
    ev.Reload()
    got = [(s.step, s.value) for s in ev.Scalars("val_loss")]
    assert [s for s, _ in got] == [1, 2, 3]
    assert [v for _, v in got] == pytest.approx([r["val_loss"] for r in rows], rel=1e-6)


def test_quiet_prints_nothing_and_non_tty_prints_one_line_per_epoch(capsys, batches):
    Trainer(torch.nn.Linear(3, 1), epochs=2, quiet=True).fit(batches, batches)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    Trainer(torch.nn.Linear(3, 1), epochs=2).fit(batches, batches)
    out = capsys.readouterr()  # captured stdout is not a TTY: no bar, summary lines only
    lines = out.out.strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith("epoch 1/2  loss ") and "val_loss" in lines[0]
    assert lines[2].startswith("stopped after epoch 2 by the epoch cap (2)")
    assert "batch/s" not in out.err and "it/s" not in out.err


def test_plots_are_pngs_and_reject_misaligned_series(tmp_path):
    rows = [{"epoch": e, "loss": 1 / e, "val_loss": 1.2 / e, "lr": 1e-3, "time": 0.1,
             "val_mae": 0.9 / e} for e in range(1, 6)]
    plot_history(tmp_path / "h.png", rows)
    t = np.sin(np.arange(100) / 5)
    plot_forecast(tmp_path / "f.png", t, {"GRU": t + 0.05, "persistence": np.roll(t, 1)},
                  title="t", units="degC")
    for name in ("h.png", "f.png"):
        assert (tmp_path / name).read_bytes()[:8] == PNG
    with pytest.raises(InvalidArgumentError, match="predictions\\['GRU'\\]"):
        plot_forecast(tmp_path / "g.png", t, {"GRU": t[:-1]})
    with pytest.raises(InvalidArgumentError, match="`history`"):
        plot_history(tmp_path / "e.png", [])
    assert not (tmp_path / "g.png").exists()
