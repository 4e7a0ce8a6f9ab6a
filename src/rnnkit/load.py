"""Load a trained run: ``load_model(DIR)`` (the module, in eval mode, like Keras'
``load_model``) and ``load_predictor(DIR)`` (the module with the saved scaler and feature order:
raw rows in, forecasts in the target's units out).

``load_model`` dispatches through the task registry (:mod:`rnnkit.tasks.registry`) on the
``"task"`` field of the run's ``config.json`` ("forecast" when a run names none). The directory
is untrusted input: the task must be one rnnkit knows (nothing is imported from a name a run
directory chose), and each task's loader checks the rest (checksums, the job checked like
command-line options, the model the job builds).

    >>> import tempfile, torch, rnnkit.tasks.forecast as f
    >>> d = tempfile.mkdtemp()
    >>> _ = f.run_forecast(f.ForecastJob(stations=["JFK"], epochs=1, units=4, steps_per_epoch=1, lookback=12,
    ...                                  delay=2, quiet=True, out=d + "/run"))
    >>> model = load_model(d + "/run")
    >>> model.training, tuple(model(torch.zeros(2, 12, model.config.n_features)).shape)
    (False, (2, 1))
    >>> p = load_predictor(d + "/run")
    >>> p.lookback, p.target
    (12, 'temp')
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from rnnkit.errors import CheckpointError, InvalidArgumentError
from rnnkit.tasks.forecast_predict import load_forecaster, forecast_from_run
from rnnkit.data.scaling import Scaler
from rnnkit.tasks.base import Task
from rnnkit.tasks.registry import run_task, task_of
from rnnkit.training.device import resolve_device

__all__ = ["load_model", "load_predictor", "Predictor", "run_task"]


def load_model(run_dir, device: str = "cpu") -> torch.nn.Module:
    """The trained module of the run in ``run_dir``, in eval mode, ready to call, on ``device``
    (``"cpu"`` by default; ``"auto"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"`` as ``--device`` takes
    them, a device that is not here refused with a :class:`~rnnkit.training.device.DeviceError`).

    Raises CheckpointError for a directory that is not a complete rnnkit run, a file whose
    checksum differs from the manifest, a config that rnnkit would not have written, or a task
    with no loader in this rnnkit."""
    where = resolve_device(device)
    task = task_of(run_dir)
    if type(task).load is Task.load:
        raise CheckpointError(
            f"{run_dir} is a {task.name!r} run, but this rnnkit has no loader for {task.name!r} runs (its task "
            "does not implement load). Upgrade rnnkit to a version that trains that task.")
    return task.load(run_dir).eval().to(where)


class Predictor:
    """A forecasting run's model with its scaler and feature order.

    Attributes:
        model: the :class:`~rnnkit.models.Forecaster`, eval mode.
        features: the model's input columns, in order (the data columns, then the static ones).
        data_features: the data columns (``scaler.columns``); ``static_features``: the rest.
        target: the target column; ``lookback``, ``step``, ``delay``, ``horizon`` as in training.
        scaler: the :class:`~rnnkit.data.Scaler` fitted at training time; ``static_scaler``: the static columns' one.
    """

    def __init__(self, run_dir):
        self.run_dir = Path(run_dir)
        self.model, self.job, self.config = load_forecaster(run_dir)
        data = self.config["data"]
        self.scaler = Scaler.from_dict(data["scaler"])
        self.static_scaler = Scaler.from_dict(data["static_scaler"]) if data.get("static_scaler") else None
        self.data_features = list(self.scaler.columns)
        self.static_features = list(self.static_scaler.columns) if self.static_scaler else []
        self.features = self.data_features + self.static_features
        self.target = data["target"]
        self.lookback, self.step = self.job.lookback, self.job.step
        self.delay, self.horizon = self.job.delay, self.job.horizon
        self.n_steps = self.lookback // self.step

    def scale(self, rows, static=None) -> np.ndarray:
        """Raw rows (a DataFrame with ``data_features`` columns, any order, extra columns
        ignored) -> the model's scaled float32 input rows (``len(rows)``, ``len(features)``)."""
        if not isinstance(rows, pd.DataFrame):
            raise InvalidArgumentError.for_argument("rows", type(rows).__name__, "a pandas DataFrame",
                                                    f"Give the columns {self.data_features}.")
        missing = [c for c in self.data_features if c not in rows.columns]
        if missing:
            raise InvalidArgumentError.for_argument(
                "rows", f"columns {list(map(str, rows.columns))}", f"the training columns {self.data_features}",
                f"Missing: {missing}.")
        values = rows[self.data_features].to_numpy(np.float64)
        if not np.isfinite(values).all():
            r, c = np.argwhere(~np.isfinite(values))[0]
            raise InvalidArgumentError.for_argument(
                "rows", f"{values[r, c]} in column {self.data_features[c]!r}, row {r}", "finite values",
                "Fill or drop missing values first (training interpolated them).")
        x = self.scaler.transform(values)
        if self.static_scaler is not None:
            x = np.concatenate([x, np.broadcast_to(self._static(static), (len(x), len(self.static_features)))], 1)
        elif static is not None:
            raise InvalidArgumentError.for_argument("static", static, "None", "This run has no static features.")
        return x.astype(np.float32)

    def _static(self, static) -> np.ndarray:
        names = self.static_features
        if static is None:
            raise InvalidArgumentError.for_argument(
                "static", None, f"the series' static values {names}",
                "Pass static={" + ", ".join(f"{n!r}: ..." for n in names) + "} (raw units), or for the "
                "embedded weather static=rnnkit.data.weather.load_stations().loc['JFK'].")
        vals = [static[n] for n in names] if hasattr(static, "keys") or isinstance(static, pd.Series) else static
        vals = np.asarray(vals, np.float64).reshape(-1)
        if vals.shape != (len(names),):
            raise InvalidArgumentError.for_argument("static", static, f"{len(names)} values for {names}")
        return self.static_scaler.transform(vals[None])[0]

    def window(self, rows, static=None) -> torch.Tensor:
        """The model input ``(1, lookback // step, features)`` ending at the last row: every
        ``step``-th of the last ``lookback`` rows, as in training."""
        if not isinstance(rows, pd.DataFrame) or len(rows) < self.lookback:
            raise InvalidArgumentError.for_argument(
                "rows", f"{len(rows) if hasattr(rows, '__len__') else rows} rows",
                f"a DataFrame of at least the lookback of {self.lookback} rows")
        x = self.scale(rows.iloc[len(rows) - self.lookback:], static)
        idx = self.lookback - 1 - (self.n_steps - 1 - np.arange(self.n_steps)) * self.step
        return torch.from_numpy(np.ascontiguousarray(x[idx])).unsqueeze(0)

    def predict(self, rows, static=None) -> np.ndarray:
        """The forecast after the last of ``rows`` (raw units, at least ``lookback`` of them, one
        row per time step): ``horizon`` values in the target's units, ``delay`` rows ahead."""
        with torch.no_grad():
            y = self.model(self.window(rows, static))
        if y.dim() == 3:       # seq2seq: the forecast after the last step
            y = y[:, -1]
        return self.scaler.inverse_transform(y.reshape(-1).numpy(), column=self.target)

    def predict_table(self, source=None) -> pd.DataFrame:
        """The forecast from the end of every series of a raw table (CSV path or DataFrame with
        the training CSV's columns; None: the run's own data), as ``rnnkit predict`` gives it."""
        return forecast_from_run(self.run_dir, source)


def load_predictor(run_dir) -> Predictor:
    """A :class:`Predictor` for a forecasting run (CheckpointError for another task's run)."""
    task = run_task(run_dir)
    if task != "forecast":
        raise CheckpointError(f"{run_dir} is a {task!r} run; load_predictor is for forecasting runs. "
                              "Use rnnkit.load_model(DIR) for its module.")
    return Predictor(run_dir)
