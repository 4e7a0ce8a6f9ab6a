"""The forecasting task of ``rnnkit tune``: one trial = one ``rnnkit forecast`` training scored on
the validation split (no test window is ever built), the best job run once by ``run_forecast``.

A searched ``resample`` keeps the forecast the same distance ahead in time: ``--delay`` (rows
of the unresampled data, or of the fixed ``--resample``) is converted to rows of the trial's
step (24 hourly rows ahead -> 8 rows of 3 h), and a step that does not divide it is refused.
``lookback`` counts rows after resampling, as in ``rnnkit forecast``.

    >>> from rnnkit.tasks.forecast import ForecastJob
    >>> task = ForecastTune()
    >>> job = task.apply(ForecastJob(), {"resample": "3h", "lookback": 48}, base_step=3600.0)
    >>> job.resample, job.delay, job.lookback
    ('3h', 8, 48)
    >>> task.command(ForecastJob(units=32, epochs=2, stations=["JFK"]))
    'rnnkit forecast --stations JFK --units 32 --epochs 2'
"""
from __future__ import annotations

import argparse
import dataclasses

import numpy as np

from rnnkit.errors import InvalidArgumentError
from rnnkit.tasks.tune_trial import ReportToTrial
from rnnkit.tasks.forecast_options import add_forecast_arguments, forecast_job
from rnnkit.tasks.tune_report import command_line
from rnnkit.tasks.forecast import ForecastJob, prepare, time_step, check_windows, evaluate_part, run_forecast
from rnnkit.data.times import parse_duration
from rnnkit.models.forecaster import Forecaster
from rnnkit.training.trainer import Trainer

# seed 000 tunes RESAMPLE_BY and SEQLEN: both are in the default space
FORECAST_SPACE = ("resample=none|2h|3h,lookback=48:240:24,units=16:128:log,lr=3e-4:3e-3:log,"
                  "recurrent_dropout=0.0:0.4")

__all__ = ["ForecastTune", "forecast_command"]

SKIP = ("out", "resume", "quiet", "time_features", "lr_patience", "name")   # no option: not on the command line


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rnnkit forecast", add_help=False)
    add_forecast_arguments(p)
    return p


def forecast_command(job) -> str:
    """``rnnkit forecast ...`` with the options of ``job`` that differ from the defaults."""
    if job.target == "temp" and job.csv is None and job.jena is None:   # the default --target of this source
        job = dataclasses.replace(job, target=None)
        return command_line(["rnnkit", "forecast"], _parser(), job,
                            lambda a: dataclasses.replace(forecast_job(a), target=None), skip=SKIP)
    return command_line(["rnnkit", "forecast"], _parser(), job, forecast_job, skip=SKIP)


class ForecastTune:
    """``rnnkit tune forecast``: see the module docstring."""

    name = "forecast"
    default_space = FORECAST_SPACE
    value_name = "val MAE"

    def __init__(self):
        self._base_step: dict = {}

    def allowed(self, name: str) -> bool:
        return name in {f.name for f in dataclasses.fields(ForecastJob)} - {"out", "resume", "quiet", "name", "csv",
                                                                               "jena", "target", "time_col"}

    def base_step(self, job) -> float | None:
        """Seconds per row of ``job``'s own data (read once per job)."""
        key = (job.csv, job.jena, job.resample, tuple(job.stations or ()))
        if key not in self._base_step:
            self._base_step[key] = time_step(prepare(job))
        return self._base_step[key]

    def apply(self, job, params: dict, base_step: float | None = None):
        values = {k: (tuple(v) if isinstance(v, list) else v) for k, v in params.items()}
        new = dataclasses.replace(job, **values, out=None, resume=False)
        if "resample" in params and params["resample"] != job.resample:
            step = base_step if base_step is not None else self.base_step(job)
            new_step = step if params["resample"] is None else parse_duration("--space resample", params["resample"]).total_seconds()
            if step is None or new_step is None:
                raise InvalidArgumentError.for_argument("--space", f"resample={params['resample']}",
                                                        "data with a regular time step")
            rows = job.delay * step / new_step
            if abs(rows - round(rows)) > 1e-9 or round(rows) < 1:
                raise InvalidArgumentError.for_argument(
                    "--space", f"resample={params['resample']}",
                    f"a step that divides the forecast distance (--delay {job.delay} rows of {step:g} s)",
                    "Choose resampling steps that divide it, e.g. 2h or 3h for 24 h ahead.")
            new = dataclasses.replace(new, delay=int(round(rows)))
        if new.lookback % new.step:
            new = dataclasses.replace(new, lookback=max(new.step, new.lookback // new.step * new.step))
        new.train_config()
        check_windows(new)
        return new

    def train(self, job, trial) -> dict:
        """Train ``job`` in memory and score it on the validation split (MAE in the target's
        units, after early stopping restored the best epoch)."""
        import torch
        prepared = prepare(job)
        kw = dict(lookback=job.lookback, step=job.step, delay=job.delay, horizon=job.horizon)
        train_w = prepared.windows("train", stride=job.stride, seq2seq=job.seq2seq, **kw)
        val_w = prepared.windows("val", **kw)
        val_fit = prepared.windows("val", seq2seq=True, **kw) if job.seq2seq else val_w
        scale = float(np.abs(prepared.inverse_target(np.ones((1, 1))) - prepared.inverse_target(np.zeros((1, 1))))[0, 0])
        torch.manual_seed(job.seed)
        model = Forecaster(job.model_config(prepared.input_size(), prepared.feature_names.index(prepared.target)))
        cfg = dataclasses.replace(job.train_config(), quiet=True, tensorboard=False)
        trainer = Trainer(model, cfg, None, callbacks=[ReportToTrial(trial, "val_mae", scale)])
        history = trainer.fit(train_w.batches(job.batch_size, shuffle=True, seed=job.seed),
                              val_fit.batches(job.batch_size))
        metrics, _ = evaluate_part(model, trainer, prepared, val_w, job.batch_size, None)
        return {"value": metrics["model"]["mae"], "val_common_sense": metrics["common_sense"]["mae"],
                "epochs": len(history.rows)}

    def final(self, job, out, resume: bool = False) -> dict:
        result = run_forecast(dataclasses.replace(job, out=str(out), resume=resume, name="forecast"))
        return {"run_dir": result["run_dir"], "test": result["test"], "val": result["val"]}

    def command(self, job) -> str:
        return forecast_command(job)
