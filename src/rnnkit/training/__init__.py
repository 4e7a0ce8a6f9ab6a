"""rnnkit.training: one trainer for every task, with metrics, checkpoints, history and plots.

    >>> import torch
    >>> from rnnkit.training import Trainer, TrainConfig
    >>> batches = [(torch.randn(8, 3), torch.randn(8, 1)) for _ in range(4)]
    >>> h = Trainer(torch.nn.Linear(3, 1), TrainConfig(epochs=2, quiet=True)).fit(batches, batches)
    >>> [r["epoch"] for r in h.rows]
    [1, 2]
"""
from rnnkit.training.callbacks import Callback, EarlyStopping
from rnnkit.training.checkpoint import (atomic_write_bytes, atomic_write_json, atomic_write_text,
                                        load_state, load_weights, read_weights, save_state,
                                        save_weights)
from rnnkit.training.config import TrainConfig
from rnnkit.training.history import History, read_history_csv
from rnnkit.training.losses import make_loss
from rnnkit.training.metrics import accuracy, get_metric, mae, mape, mse, rmse
from rnnkit.training.plots import plot_forecast, plot_history
from rnnkit.training.rng import capture_rng_state, restore_rng_state, seed_everything
from rnnkit.training.run_dir import RunDir
from rnnkit.training.runs import create_run_dir, load_run, save_run, write_config, write_metrics
from rnnkit.training.trainer import Trainer, fit

__all__ = [
    "Trainer", "TrainConfig", "fit", "History", "read_history_csv", "EarlyStopping", "Callback",
    "make_loss", "mae", "mse", "rmse", "mape", "accuracy", "get_metric",
    "plot_history", "plot_forecast", "seed_everything", "capture_rng_state", "restore_rng_state",
    "RunDir", "create_run_dir", "save_run", "load_run", "write_config", "write_metrics",
    "save_weights", "load_weights", "read_weights", "save_state", "load_state",
    "atomic_write_bytes", "atomic_write_text", "atomic_write_json",
]
