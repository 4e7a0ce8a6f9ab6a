"""The forecasting task: data -> windows -> Forecaster -> trainer -> test table, plots, run dir.

``run_forecast(ForecastJob())`` is the product's main job (``rnnkit forecast``): on the embedded
2013 New York airport weather it forecasts the temperature 24 h ahead from the last 5 days with
a GRU with recurrent dropout, one model for the three stations (their coordinates as static
inputs), and prints the test MAE of the model beside the common-sense, seasonal-naive and mean
baselines evaluated on the same windows. :data:`FORECAST` is the task run by the one driver
(:func:`rnnkit.tasks.base.run`); its pieces live beside this module: the job
(:mod:`~rnnkit.tasks.forecast_config`), its data (:mod:`~rnnkit.tasks.forecast_data`), the test
results (:mod:`~rnnkit.tasks.forecast_report`), loading and predicting
(:mod:`~rnnkit.tasks.forecast_predict`), the options (:mod:`~rnnkit.tasks.forecast_options`).

    >>> job = ForecastJob(stations=["JFK"], epochs=1, units=4, steps_per_epoch=2, quiet=True)
    >>> job.lookback, job.delay, job.cell, FORECAST.name
    (120, 24, 'gru', 'forecast')
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from rnnkit.data import Windows
from rnnkit.models import Forecaster
from rnnkit.tasks.base import Task, run
from rnnkit.tasks.forecast_config import DEFAULT_SPLIT, ForecastJob, check_windows, is_remote
from rnnkit.tasks.forecast_data import (WEATHER_UNITS, checked_period, data_source, gap_note, prepare,
                                        seasonal_period, target_units, time_step, warn, window_notes)
from rnnkit.tasks.forecast_options import add_forecast_arguments, forecast_job
from rnnkit.tasks.forecast_predict import forecast_from_run, load_forecaster
from rnnkit.tasks.forecast_report import (BASELINE_LABELS, by_series, evaluate_part, format_table, interval_lines,
                                          plot_test, quantile_predictions)
from rnnkit.tasks.forecast_stateful import end_stateful, stateful_batches
from rnnkit.tasks.output import check_output
from rnnkit.training import atomic_write_text, distributed
from rnnkit.training.quantile_metrics import central_intervals, quantile_metrics

__all__ = ["ForecastJob", "ForecastData", "ForecastTask", "FORECAST", "run_forecast", "prepare", "check_windows",
           "data_source", "time_step", "seasonal_period", "target_units", "evaluate_part", "format_table",
           "by_series", "interval_lines", "quantile_predictions", "DEFAULT_SPLIT", "WEATHER_UNITS",
           "BASELINE_LABELS", "is_remote"]


@dataclass
class ForecastData:
    """The prepared series of a run, its train/val/test windows and the seasonal-naive period."""

    prepared: Any
    train: Windows
    val: Windows
    test: Windows
    val_fit: Windows          # the validation windows the trainer scores (per step with --seq2seq)
    period: int | None


class ForecastTask(Task):
    """``rnnkit forecast``: see the module docstring."""

    name, config_class, exporter = "forecast", ForecastJob, "onnx_forecast"
    followable = True

    def prepare(self, job: ForecastJob, say, given=None) -> ForecastData:
        job.train_config()                      # every training option checked before reading data
        check_windows(job)
        prepared = prepare(job) if given is None else given
        kw = dict(lookback=job.lookback, step=job.step, delay=job.delay, horizon=job.horizon)
        train_w = prepared.windows("train", stride=job.stride, seq2seq=job.seq2seq, **kw)
        val_w, test_w = prepared.windows("val", **kw), prepared.windows("test", **kw)
        val_fit = prepared.windows("val", seq2seq=True, **kw) if job.seq2seq else val_w
        say(f"data: {prepared}\nwindows: train {len(train_w)}, val {len(val_w)}, test {len(test_w)}")
        note = gap_note(prepared, job)
        if note:
            say(note)
        for note in window_notes(prepared, {"train": train_w, "val": val_w, "test": test_w}, job):
            if distributed.is_main():
                warn(note)
        period = checked_period(job, prepared, (val_w, test_w), say)
        return ForecastData(prepared, train_w, val_w, test_w, val_fit, period)

    def build(self, job: ForecastJob, data: ForecastData, log):
        torch.manual_seed(job.seed)
        p = data.prepared
        cfg = job.model_config(p.input_size(), p.feature_names.index(p.target))
        return Forecaster(cfg), cfg

    def train_config(self, job: ForecastJob, data, model_config, model):
        return job.train_config()

    def fit_data(self, job: ForecastJob, data: ForecastData, model, say) -> tuple:
        if not job.stateful:
            return (data.train.batches(job.batch_size, shuffle=True, seed=job.seed),
                    data.val_fit.batches(job.batch_size))
        fit_data = stateful_batches(job, data.prepared, model)   # checked before the run directory exists
        say(f"stateful: {job.batch_size} streams, {len(fit_data[0])} batches of {job.lookback} rows per pass "
            f"(val: one stream per segment, {len(fit_data[1])} batches)")
        return fit_data

    def run_config(self, job: ForecastJob, data: ForecastData) -> dict:
        return {"data": data.prepared.to_dict(),
                "source": {**data_source(job), "time_step_s": time_step(data.prepared)}}

    def after_fit(self, job: ForecastJob, model) -> None:
        if job.stateful:
            end_stateful(model)                 # test windows start from zeros, like the baselines'

    def evaluate(self, job: ForecastJob, data: ForecastData, model, trainer):
        qs, p = job.quantiles, data.prepared
        val_m, _ = evaluate_part(model, trainer, p, data.val, job.batch_size, data.period, qs)
        test_m, preds = evaluate_part(model, trainer, p, data.test, job.batch_size, data.period, qs)
        band = None
        if qs is not None:
            q = quantile_predictions(trainer, p, data.test, job.batch_size)
            test_m["model"].update(quantile_metrics(q, preds["truth"], qs))
            widest = central_intervals(qs)[:1]
            band = {f"{n * 100:.10g}% interval": (q[..., i], q[..., j]) for i, j, n in widest}
        metrics = {"val": val_m, "test": test_m, "test_by_series": by_series(p, data.test, preds)}
        return metrics, (preds, band)

    def report(self, job: ForecastJob, data: ForecastData, metrics, details, run_dir, log, say) -> None:
        preds, band = details
        plot_test(run_dir / "forecast_test.png", job, data.prepared, data.test, preds, band)
        qs = job.quantiles
        intervals = "" if qs is None else "\n" + interval_lines(metrics["test"]["model"], qs, target_units(job))
        say(f"\ntest set, {job.target} {job.delay} rows ahead "
            f"({len(data.test)} windows):\n" + format_table(metrics["test"], target_units(job)) + intervals)

    def load(self, run_dir) -> torch.nn.Module:
        return load_forecaster(run_dir)[0]

    def predict(self, args) -> int:
        """``rnnkit predict --run DIR [--csv FILE] [--output FILE]``: the forecast from the end of
        each series (``--follow`` is the streaming predictor's, in :mod:`rnnkit.export.follow`)."""
        if args.output:
            check_output(args.output, args.run, args.force)
        table = forecast_from_run(args.run, args.csv, getattr(args, "device", "cpu"))
        if args.output:
            atomic_write_text(args.output, table.to_csv(index=False))
        print(table.to_string(index=False))
        return 0

    def add_commands(self, sub) -> None:
        f = sub.add_parser("forecast", help="train a forecaster and compare it with baselines",
                           description="Train a recurrent forecaster; print the test MAE of the model and "
                                       "of the common-sense, seasonal-naive and mean baselines; write a run dir.")
        add_forecast_arguments(f)
        f.set_defaults(func=lambda args: (run_forecast(forecast_job(args)), 0)[1])


FORECAST = ForecastTask()


def run_forecast(job: ForecastJob, log=print, prepared=None) -> dict:
    """Run the whole job; returns ``{"run_dir": path, "val": ..., "test": ...,
    "test_by_series": ..., "training": ...}``. ``prepared`` replaces the job's own data (e.g.
    one series of it)."""
    return run(FORECAST, job, log=log, given=prepared)
