"""Command-line options shared by ``rnnkit forecast`` and the recipes: where the data come from.

    >>> import argparse
    >>> p = argparse.ArgumentParser()
    >>> add_data_arguments(p)
    >>> data_fields(p.parse_args(["--stations", "JFK,LGA"]))["stations"]
    ['JFK', 'LGA']
"""
from __future__ import annotations

import argparse

from rnnkit.data.times import parse_duration
from rnnkit.errors import InvalidArgumentError

JENA_TARGET = "T (degC)"


def split_arg(text: str):
    """``"0.7,0.15,0.15"`` -> fractions; ``"2013-09-01,2013-11-01"`` -> dates."""
    parts = [p.strip() for p in text.split(",")]
    try:
        return tuple(float(p) for p in parts)
    except ValueError:
        return tuple(parts)


def _names(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]


def _aggregations(text: str) -> dict:
    """``"precip=sum,wind_speed=max"`` -> ``{"precip": "sum", "wind_speed": "max"}``."""
    out = {}
    for part in _names(text):
        col, sep, fn = part.partition("=")
        if not sep or not col.strip() or not fn.strip():
            raise argparse.ArgumentTypeError(f"expected COLUMN=FUNCTION pairs like precip=sum, got {part!r}")
        out[col.strip()] = fn.strip()
    return out


def add_data_arguments(p: argparse.ArgumentParser, split_default=(0.7, 0.15, 0.15)) -> None:
    """The data options: embedded weather (default), ``--csv`` or ``--jena``, and their preparation."""
    d = p.add_argument_group("data (default: the embedded 2013 New York airport weather, temp in °F)")
    d.add_argument("--csv", help="CSV file of the series (one row per time step)")
    d.add_argument("--jena", metavar="PATH_OR_URL",
                   help="the Jena climate CSV (seed 001): a local path, or a URL to download and cache")
    d.add_argument("--target", help="column to forecast (default temp; 'T (degC)' with --jena)")
    d.add_argument("--time-col", help="time column of the CSV")
    d.add_argument("--time-format", help="strftime format of the time column, e.g. '%%d/%%m/%%Y %%H:%%M'")
    d.add_argument("--dayfirst", action="store_true",
                   help="read dates like 05/03/2020 as 5 March (dates that fit both orders are refused without it)")
    d.add_argument("--time-unit", choices=["s", "ms", "us", "ns"],
                   help="the time column holds numbers: seconds (s), milliseconds (ms)... since 1970-01-01 UTC")
    d.add_argument("--encoding", help="the CSV's text encoding (default utf-8), e.g. latin-1, cp1252, utf-16")
    d.add_argument("--na-values", type=_names, help="extra strings read as missing values, e.g. nil,?,-")
    d.add_argument("--group-col", help="column naming several series (e.g. stations)")
    d.add_argument("--features", type=_names, help="comma-separated input columns (default: every numeric column)")
    d.add_argument("--stations", type=_names, help="embedded weather only: e.g. JFK,LGA")
    d.add_argument("--resample", help="pandas frequency, e.g. 3h (lookback/step/delay count rows after it)")
    d.add_argument("--agg", type=_aggregations, help="per-column aggregation when resampling, "
                   "e.g. precip=sum,wind_speed=max (default mean)")
    d.add_argument("--max-gap", metavar="DURATION",
                   help="split a series at gaps in time longer than this (e.g. 30min, 2h): windows never cross "
                        "them; shorter gaps are interpolated (default: every gap is interpolated)")
    d.add_argument("--duplicates", default="error", choices=["error", "mean", "first", "last"],
                   help="what to do with repeated timestamps (default: refuse)")
    d.add_argument("--nan", default="interpolate", choices=["interpolate", "refuse"])
    d.add_argument("--split", type=split_arg, default=split_default,
                   help="train,val,test fractions or val_start,test_start dates "
                        f"(default {','.join(map(str, split_default))})")


def data_fields(args: argparse.Namespace) -> dict:
    """The :class:`~rnnkit.recipes.forecast.ForecastJob` fields of the data options, checked."""
    if args.csv and args.jena:
        raise InvalidArgumentError.for_argument("--jena", args.jena, "no --csv beside it",
                                                "Pass either --csv FILE or --jena PATH_OR_URL.")
    if args.csv and not args.target:
        raise InvalidArgumentError.for_argument("--target", None, "the CSV column to forecast",
                                                "Pass --target COLUMN with --csv.")
    if args.csv and not args.time_col:
        raise InvalidArgumentError.for_argument("--time-col", None, "the CSV's time column",
                                                "Pass --time-col COLUMN with --csv.")
    target = args.target or (JENA_TARGET if args.jena else "temp")
    if (args.time_format or args.dayfirst or args.time_unit) and not args.csv:
        given = "--time-format" if args.time_format else "--dayfirst" if args.dayfirst else "--time-unit"
        raise InvalidArgumentError.for_argument(given, args.time_format or args.time_unit or True, "a --csv to apply to",
                                                "The embedded weather and --jena have known time formats: leave it out.")
    if args.encoding and not args.csv:
        raise InvalidArgumentError.for_argument("--encoding", args.encoding, "a --csv to apply to",
                                                "The embedded weather and --jena are UTF-8: leave it out.")
    if args.na_values and not args.csv:
        raise InvalidArgumentError.for_argument("--na-values", ",".join(args.na_values), "a --csv to apply to",
                                                "The embedded weather and --jena need no extra missing-value markers.")
    if args.agg and not args.resample:
        raise InvalidArgumentError.for_argument(
            "--agg", ",".join(f"{k}={v}" for k, v in args.agg.items()), "--resample beside it",
            "Aggregations apply when rows are merged into bins: pass --resample FREQ (e.g. 3h), or leave --agg out.")
    if sum(map(bool, (args.time_format, args.dayfirst, args.time_unit))) > 1:
        raise InvalidArgumentError.for_argument(
            "--time-format", args.time_format, "one of --time-format, --dayfirst and --time-unit",
            "They say the same thing in different ways: pass only one.")
    if args.max_gap is not None:
        parse_duration("--max-gap", args.max_gap)
    return dict(csv=args.csv, jena=args.jena, target=target, time_col=args.time_col, time_format=args.time_format,
                dayfirst=args.dayfirst, time_unit=args.time_unit, encoding=args.encoding, na_values=args.na_values,
                group_col=args.group_col,
                features=args.features, stations=args.stations, resample=args.resample, agg=args.agg,
                max_gap=args.max_gap,
                duplicates=args.duplicates, nan=args.nan, split=args.split)


def add_forecast_arguments(p: argparse.ArgumentParser) -> None:
    """Every option of ``rnnkit forecast``: data, windows, model, training."""
    add_data_arguments(p)
    from rnnkit.recipes.forecast import ForecastJob
    J = ForecastJob()  # the defaults live in one place: the job
    w = p.add_argument_group("windows (in rows)")
    for name in ("lookback", "step", "delay", "horizon", "stride"):
        w.add_argument(f"--{name}", type=int, default=getattr(J, name), help=f"default {getattr(J, name)}")
    w.add_argument("--seq2seq", action="store_true",
                   help="train on the target at every input step (loss over every step)")
    w.add_argument("--seasonal-period", type=int, help="rows per season for the seasonal-naive baseline")
    m = p.add_argument_group("model")
    m.add_argument("--cell", default=J.cell, choices=["gru", "lstm", "rnn", "dense", "conv"])
    m.add_argument("--units", type=int, default=J.units)
    m.add_argument("--layers", type=int, default=J.layers)
    m.add_argument("--bidirectional", action="store_true")
    m.add_argument("--dropout", type=float, default=J.dropout, help="variational input dropout")
    m.add_argument("--recurrent-dropout", type=float, default=J.recurrent_dropout)
    m.add_argument("--conv-filters", type=int, default=J.conv_filters, help="Conv1D front-end filters (0 = none)")
    m.add_argument("--dense-units", type=int, default=J.dense_units)
    m.add_argument("--no-residual", dest="residual", action="store_false",
                   help="predict the target itself, not its change from the last observed value")
    t = p.add_argument_group("training")
    t.add_argument("--epochs", type=int, default=J.epochs)
    t.add_argument("--batch-size", type=int, default=J.batch_size)
    t.add_argument("--optimizer", default=J.optimizer, choices=["rmsprop", "adam"])
    t.add_argument("--lr", type=float, default=J.lr)
    t.add_argument("--loss", default=J.loss, choices=["mae", "mse", "huber"])
    t.add_argument("--clip-norm", type=float, default=J.clip_norm)
    t.add_argument("--patience", type=int, default=J.patience, help="early stopping patience (epochs)")
    t.add_argument("--steps-per-epoch", type=int)
    t.add_argument("--seed", type=int, default=J.seed)
    t.add_argument("--out", help="run directory (default runs/forecast-<timestamp>)")
    t.add_argument("--resume", action="store_true", help="continue the interrupted run in --out")
    t.add_argument("--quiet", action="store_true")


def forecast_job(args: argparse.Namespace):
    """The :class:`~rnnkit.recipes.forecast.ForecastJob` of parsed forecast options."""
    from rnnkit.recipes.forecast import ForecastJob
    if args.resume and not args.out:
        raise InvalidArgumentError.for_argument("--out", None, "the run directory to resume",
                                                "Pass --out DIR of the interrupted run with --resume.")
    if args.seasonal_period is not None and args.seasonal_period < 1:
        raise InvalidArgumentError.for_argument(
            "--seasonal-period", args.seasonal_period, "a positive number of rows per season",
            "Leave it out for one day of rows (when the data have a regular step of at most a day).")
    return ForecastJob(
        **data_fields(args), lookback=args.lookback, step=args.step, delay=args.delay,
        horizon=args.horizon, stride=args.stride, seq2seq=args.seq2seq, seasonal_period=args.seasonal_period, cell=args.cell,
        units=args.units, layers=args.layers, bidirectional=args.bidirectional, dropout=args.dropout,
        recurrent_dropout=args.recurrent_dropout, conv_filters=args.conv_filters,
        dense_units=args.dense_units, residual=args.residual, epochs=args.epochs, batch_size=args.batch_size,
        optimizer=args.optimizer, lr=args.lr, loss=args.loss, clip_norm=args.clip_norm,
        patience=args.patience, steps_per_epoch=args.steps_per_epoch, seed=args.seed, quiet=args.quiet,
        out=args.out, resume=args.resume)


# ForecastJob fields that have no CLI option; a run's config.json is checked for them apart.
_NOT_OPTIONS = ("time_features", "lr_patience", "name", "quiet", "out", "resume")


class _ConfigParser(argparse.ArgumentParser):
    """The forecast options' parser raising an error instead of exiting (for config.json)."""

    def error(self, message):
        raise InvalidArgumentError(message)


def job_from_config(fields: dict, where: str = "config.json"):
    """The :class:`~rnnkit.recipes.forecast.ForecastJob` of a run's ``config.json`` "job" dict,
    checked exactly like command-line input: every field is turned back into its option and
    parsed by the same parser and the same checks as ``rnnkit forecast`` (a run directory is
    data, not trust). Errors are :class:`~rnnkit.errors.CheckpointError` naming ``where``.

        >>> from rnnkit.recipes.forecast import ForecastJob
        >>> job_from_config(ForecastJob(units=8, stations=["JFK"]).to_dict()).units
        8
        >>> job_from_config({"units": "8; rm -rf ~"})
        Traceback (most recent call last):
        ...
        rnnkit.errors.CheckpointError: config.json: the job field `units` is not valid as rnnkit forecast input: argument --units: invalid int value: '8; rm -rf ~'...
    """
    from rnnkit.errors import CheckpointError

    if not isinstance(fields, dict):
        raise CheckpointError(f"{where}: 'job' is {type(fields).__name__}, not an object of job fields. "
                              "The run directory was not written by rnnkit forecast (or was edited).")
    parser = _ConfigParser(prog="rnnkit forecast", add_help=False)
    add_forecast_arguments(parser)
    options = {a.dest: a for a in parser._actions if a.option_strings}
    known = set(options) | set(_NOT_OPTIONS)
    unknown = sorted(set(fields) - known)
    if unknown:
        raise CheckpointError(f"{where}: unknown job field(s) {unknown!r}. The run was written by another rnnkit "
                              "version or edited; retrain it with this version.")
    argv, field_of = [], {}
    for name, value in fields.items():
        if name in _NOT_OPTIONS or value is None:
            continue
        action = options[name]
        flag = action.option_strings[-1]
        field_of[flag] = name
        if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
            if not isinstance(value, bool):
                raise _bad(where, name, value, f"{flag}: expected true or false")
            if value == isinstance(action, argparse._StoreTrueAction):
                argv.append(flag)
            continue
        argv.append(f"{flag}={_as_option_text(name, value, where)}")
    from rnnkit.recipes.forecast import check_windows
    try:
        args = parser.parse_args(argv)
        job = forecast_job(args)
        job.train_config()
        check_windows(job)
    except InvalidArgumentError as e:
        name = next((f for flag, f in field_of.items() if flag in str(e)), None) or next(
            (f for f in field_of.values() if f"`{f}`" in str(e)), None)
        raise _bad(where, name, fields.get(name), str(e)) from None
    rest = {k: fields[k] for k in _NOT_OPTIONS if k in fields and k not in ("quiet", "out", "resume")}
    if "time_features" in rest and not (isinstance(rest["time_features"], list)
                                        and set(rest["time_features"]) <= {"day", "year"}):
        raise _bad(where, "time_features", rest["time_features"], "expected a list of 'day' and 'year'")
    if "lr_patience" in rest and rest["lr_patience"] is not None and not (
            type(rest["lr_patience"]) is int and rest["lr_patience"] >= 1):
        raise _bad(where, "lr_patience", rest["lr_patience"], "expected a positive integer or null")
    if "name" in rest and not isinstance(rest["name"], str):
        raise _bad(where, "name", rest["name"], "expected a string")
    import dataclasses
    job = dataclasses.replace(job, **{k: tuple(v) if k == "time_features" else v for k, v in rest.items()})
    job.train_config()
    return job


def _as_option_text(name: str, value, where: str) -> str:
    """A config value as it would be typed on the command line (lists comma-joined)."""
    if isinstance(value, bool) or isinstance(value, (int, float, str)):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value):
        return ",".join(map(str, value))
    if isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        return ",".join(f"{k}={v}" for k, v in value.items())
    raise _bad(where, name, value, "expected a value of the type its option takes")


def _bad(where: str, name, value, why: str):
    from rnnkit.errors import CheckpointError
    shown = repr(value)
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    return CheckpointError(
        f"{where}: the job field `{name}` is not valid as rnnkit forecast input: {why} (value {shown}). The run "
        "directory was not written by this rnnkit (or was edited): a run directory is read as untrusted input, "
        "checked like command-line options. Retrain the model, or fix the field.")
