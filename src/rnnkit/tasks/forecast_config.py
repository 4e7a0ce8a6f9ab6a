"""Every choice of a forecasting run: :class:`ForecastJob` (``rnnkit forecast --help`` lists them)
and the window checks made before any data is read.

    >>> job = ForecastJob(stations=["JFK"], epochs=1, units=4, steps_per_epoch=2, quiet=True)
    >>> job.lookback, job.delay, job.cell
    (120, 24, 'gru')
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from rnnkit.data import Windows
from rnnkit.errors import DataError, InvalidArgumentError
from rnnkit.models import ForecasterConfig
from rnnkit.tasks.forecast_stateful import check_stateful
from rnnkit.tasks.options import aggregations_arg, float_list, names_arg, option, split_arg, device_option
from rnnkit.training import TrainConfig
from rnnkit.training.losses import PinballLoss

__all__ = ["ForecastJob", "DEFAULT_SPLIT", "check_windows", "is_remote"]

DEFAULT_SPLIT = (0.7, 0.15, 0.15)
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
    device: str = device_option(group="training")
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
                           max_minutes=self.max_minutes, device=self.device,
                           metrics=("mae",) if self.quantiles is None else ())


def check_windows(job: ForecastJob) -> None:
    """The window options checked before any data is read (the :class:`Windows` checks)."""
    try:       # one row: the arguments are checked, then "too short" (DataError) is expected
        Windows(np.zeros((1, 1), np.float32), lookback=job.lookback, step=job.step, delay=job.delay,
                horizon=job.horizon, stride=job.stride)
    except DataError:
        pass


def is_remote(path: str) -> bool:
    return path.split(":", 1)[0] in ("http", "https", "ftp", "file")
