"""Command-line options shared by ``rnnkit forecast`` and the recipes: where the data come from.

    >>> import argparse
    >>> p = argparse.ArgumentParser()
    >>> add_data_arguments(p)
    >>> data_fields(p.parse_args(["--stations", "JFK,LGA"]))["stations"]
    ['JFK', 'LGA']
"""
from __future__ import annotations

import argparse
import dataclasses

from rnnkit.data.times import parse_duration
from rnnkit.errors import InvalidArgumentError
from rnnkit.tasks.forecast_config import ForecastJob, check_windows
from rnnkit.tasks.config_check import bad_field, config_from_json
from rnnkit.tasks.options import add_options, add_run_arguments, config_from_args, names_arg

JENA_TARGET = "T (degC)"


DATA_TITLE = "data (default: the embedded 2013 New York airport weather, temp in °F)"
GROUPS = {"data": DATA_TITLE, "windows": "windows (in rows)", "model": "model", "training": "training"}


def add_data_arguments(p: argparse.ArgumentParser, split_default=(0.7, 0.15, 0.15)) -> None:
    """The data options: embedded weather (default), ``--csv`` or ``--jena``, and their preparation
    (the ``data`` fields of :class:`~rnnkit.tasks.forecast.ForecastJob`)."""
    # --target has no fixed default: it depends on the source (temp, or T (degC) with --jena)
    add_options(p, ForecastJob, only_groups=("data",), groups=GROUPS,
                defaults={"split": tuple(split_default), "target": None})


def data_fields(args: argparse.Namespace) -> dict:
    """The :class:`~rnnkit.tasks.forecast.ForecastJob` fields of the data options, checked."""
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
    """Every option of ``rnnkit forecast``: data, windows, model, training; each generated from its
    :class:`~rnnkit.tasks.forecast.ForecastJob` field (name, type, default and help defined once)."""
    add_data_arguments(p)
    add_options(p, ForecastJob, only_groups=("windows", "model", "training"), groups=GROUPS)
    add_run_arguments(p)


def forecast_job(args: argparse.Namespace):
    """The :class:`~rnnkit.tasks.forecast.ForecastJob` of parsed forecast options."""
    if args.resume and not args.out:
        raise InvalidArgumentError.for_argument("--out", None, "the run directory to resume",
                                                "Pass --out DIR of the interrupted run with --resume.")
    if args.seasonal_period is not None and args.seasonal_period < 1:
        raise InvalidArgumentError.for_argument(
            "--seasonal-period", args.seasonal_period, "a positive number of rows per season",
            "Leave it out for one day of rows (when the data have a regular step of at most a day).")
    return config_from_args(ForecastJob, args, **data_fields(args), resume=args.resume)


# ForecastJob fields that have no CLI option; a run's config.json is checked for them apart.
_NOT_OPTIONS = ("time_features", "lr_patience", "name", "quiet", "out", "resume")


def job_from_config(fields: dict, where: str = "config.json"):
    """The :class:`~rnnkit.tasks.forecast.ForecastJob` of a run's ``config.json`` "job" dict,
    checked exactly like command-line input by the one
    :func:`~rnnkit.tasks.config_check.config_from_json` of every task: each field goes back through
    the ``rnnkit forecast`` option, parser and checks (a run directory is data, not trust).

        >>> from rnnkit.tasks.forecast import ForecastJob
        >>> job_from_config(ForecastJob(units=8, stations=["JFK"]).to_dict()).units
        8
        >>> job_from_config({"units": "8; rm -rf ~"})
        Traceback (most recent call last):
        ...
        rnnkit.errors.CheckpointError: config.json: the field `units` is not valid as rnnkit forecast input: argument --units: invalid int value: '8; rm -rf ~'...
    """
    def build(args, nones):
        job = forecast_job(args)
        job.train_config()
        check_windows(job)
        return job

    job = config_from_json(ForecastJob, fields, where, "rnnkit forecast", ignore=_NOT_OPTIONS,
                           add=add_forecast_arguments, build=build)
    rest = {k: fields[k] for k in _NOT_OPTIONS if k in fields and k not in ("quiet", "out", "resume")}
    _check_rest(rest, where)
    job = dataclasses.replace(job, **{k: tuple(v) if k == "time_features" else v for k, v in rest.items()})
    job.train_config()
    return job


def _check_rest(rest: dict, where: str) -> None:
    """The saved job fields that have no option: ``time_features``, ``lr_patience``, ``name``."""
    if "time_features" in rest and not (isinstance(rest["time_features"], list)
                                        and set(rest["time_features"]) <= {"day", "year"}):
        raise _bad(where, "time_features", rest["time_features"], "expected a list of 'day' and 'year'")
    if "lr_patience" in rest and rest["lr_patience"] is not None and not (
            type(rest["lr_patience"]) is int and rest["lr_patience"] >= 1):
        raise _bad(where, "lr_patience", rest["lr_patience"], "expected a positive integer or null")
    if "name" in rest and not isinstance(rest["name"], str):
        raise _bad(where, "name", rest["name"], "expected a string")


def _bad(where: str, name, value, why: str):
    return bad_field(where, name, value, why, "rnnkit forecast")
