"""Command-line options generated from a task's config dataclass: each option is defined once.

A field's name, type, default and help live in the dataclass; :func:`add_options` turns every
field into an ``argparse`` option (``max_tokens`` -> ``--max-tokens``) and :func:`config_from_args`
builds the dataclass back from the parsed namespace. Adding a field adds its option.

    >>> import argparse
    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Job:
    ...     units: int = option(32, "recurrent units")
    ...     cell: str = option("lstm", "recurrent cell", choices=("rnn", "lstm", "gru"))
    ...     bidirectional: bool = option(False, "read the sequence both ways")
    ...     dims: tuple = option((8, 4), "dense widths, comma-separated", parse=int_list)
    >>> p = argparse.ArgumentParser()
    >>> add_options(p, Job)
    >>> config_from_args(Job, p.parse_args(["--units", "64", "--bidirectional", "--dims", "16,2"]))
    Job(units=64, cell='lstm', bidirectional=True, dims=(16, 2))
"""
from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from typing import Any, Callable
from rnnkit.errors import InvalidArgumentError

__all__ = ["option", "add_options", "config_from_args", "int_list", "float_list", "str_list",
           "add_run_arguments", "check_minutes", "check_seed", "optional_int", "optional_float", "zero_is_none",
           "split_arg", "names_arg", "aggregations_arg", "old_names", "device_option",
           "add_device_argument"]


def option(default: Any, help: str, *, choices=None, parse: Callable[[str], Any] | None = None,
           metavar: str | None = None, cli: bool = True, flag: str | None = None, group: str | None = None,
           old: tuple[str, ...] = ()):
    """A dataclass field with its command-line help.

    Args:
        default: the default value (lists and dicts are copied per instance).
        help: one line for ``--help``; the default is appended.
        choices: allowed values, checked by argparse.
        parse: ``str -> value`` for the option's text (default: the field's type).
        metavar: the placeholder shown in ``--help``.
        cli: False keeps the field out of the command line (set by code or recipes only).
        flag: the option's name when it is not ``--`` + the field name with dashes.
        group: the ``--help`` section the option is listed in (see :func:`add_options`).
        old: former names of the field (``("maxlen",)``), still read from a saved ``config.json``
            (:func:`~rnnkit.tasks.config_check.config_from_json`) and still taken on the command
            line (``--maxlen``, not listed in ``--help``): the naming rule renames, never breaks.
    """
    meta = {"help": help, "choices": choices, "parse": parse, "metavar": metavar, "cli": cli, "flag": flag,
            "group": group, "old": tuple(old)}
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def device_option(group: str | None = None):
    """The ``device`` field of every task's config: ``--device auto|cpu|cuda|cuda:N|mps``, checked
    (name and presence) by :func:`rnnkit.training.device.resolve_device` before a command runs."""
    return option("auto", "the device to train on: auto (a CUDA GPU, else Apple MPS, else the CPU), cpu, cuda, "
                  "cuda:N or mps", metavar="DEVICE", group=group)


def add_device_argument(p: argparse.ArgumentParser, verb: str = "predict on", note: str = "") -> None:
    """``--device`` on a command that reads a trained run (``rnnkit predict``, ``rnnkit lm generate``,
    ``rnnkit translate run``): the names and ``auto`` of training's ``--device``, checked the same way
    before the command runs (a device that is not here: one paragraph, exit 2, nothing written)."""
    p.add_argument("--device", default="auto", metavar="DEVICE",
                   help=f"the device to {verb}: auto (a CUDA GPU, else Apple MPS, else the CPU), cpu, cuda, cuda:N "
                        f"or mps (default auto){note}")


def _split(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def _list_parser(kind: Callable[[str], Any], name: str) -> Callable[[str], tuple]:
    def parse(text: str) -> tuple:
        try:
            return tuple(kind(p) for p in _split(text))
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated {name}s, got {text!r}") from None
    parse.__name__ = f"{name}_list"
    return parse


int_list = _list_parser(int, "integer")
float_list = _list_parser(float, "number")
str_list = _list_parser(str, "name")


def _base_type(annotation) -> Any:
    """``int | None`` -> ``int``; ``Optional[float]`` -> ``float``."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else str
    return annotation


def _fields(config_cls) -> list[dataclasses.Field]:
    hints = typing.get_type_hints(config_cls)
    out = []
    for f in dataclasses.fields(config_cls):
        if f.metadata.get("cli", True) and "help" in f.metadata:
            f.type = hints.get(f.name, f.type)
            out.append(f)
    return out


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def _shown(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return ",".join(map(str, value))
    return str(value)


def add_options(parser: argparse.ArgumentParser, config_cls, *, skip: tuple[str, ...] = (),
                defaults: dict | None = None, groups: dict[str, str] | None = None,
                only_groups: tuple[str, ...] | None = None, only: tuple[str, ...] | None = None,
                helps: dict[str, str] | None = None) -> None:
    """Add one option per field of ``config_cls`` that has ``option(...)`` metadata.

    Args:
        parser: an ``argparse`` parser (or argument group).
        config_cls: the dataclass.
        skip: field names to leave out (a command that sets them itself).
        defaults: other defaults than the dataclass's (a recipe's), by field name.
        groups: ``--help`` section titles by the fields' ``group`` names; fields of a group
            named here are listed under that title, the others directly in ``parser``.
        only_groups: add only the fields of these groups.
        only: add only these fields (a recipe exposing a few options of a task's config).
        helps: other help lines than the dataclass's (a recipe's wording), by field name.
    """
    defaults, groups = defaults or {}, groups or {}
    sections: dict[str, Any] = {}
    for f in _fields(config_cls):
        group = f.metadata.get("group")
        if f.name in skip or (only_groups is not None and group not in only_groups) or (
                only is not None and f.name not in only):
            continue
        target = parser
        if group in groups:
            if group not in sections:
                sections[group] = parser.add_argument_group(groups[group])
            target = sections[group]
        _add_one(target, f, defaults, (helps or {}).get(f.name))


def _add_one(parser, f: dataclasses.Field, defaults: dict, help: str | None = None) -> None:
    meta, kind = f.metadata, _base_type(f.type)
    default = defaults.get(f.name, _default(f))
    flag = meta.get("flag") or "--" + f.name.replace("_", "-")
    help_text = (help or meta["help"]) + ("" if default in (None, False) else f" (default {_shown(default)})")
    help_text = help_text.replace("%", "%%")
    olds = ["--" + name.replace("_", "-") for name in meta.get("old", ())]
    if kind is bool:
        parser.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=default,
                            help=help_text)
        for old in olds:
            parser.add_argument(old, dest=f.name, action=argparse.BooleanOptionalAction,
                                default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        return
    parse = meta.get("parse") or (kind if kind in (int, float, str) else str)
    parser.add_argument(flag, dest=f.name, type=parse, default=default, choices=meta.get("choices"),
                        metavar=meta.get("metavar"), help=help_text)
    for old in olds:        # the former name, hidden; it sets the same field
        parser.add_argument(old, dest=f.name, type=parse, default=argparse.SUPPRESS, choices=meta.get("choices"),
                            help=argparse.SUPPRESS)


def old_names(config_cls) -> dict[str, str]:
    """The former field names of ``config_cls`` (``option(old=...)``): old name -> today's name.

        >>> from rnnkit.tasks.classify import ClassifyConfig
        >>> old_names(ClassifyConfig)["maxlen"]
        'max_len'
    """
    return {old: f.name for f in dataclasses.fields(config_cls) for old in f.metadata.get("old", ())}


def config_from_args(config_cls, args: argparse.Namespace, **overrides):
    """The ``config_cls`` instance of the parsed options (fields without an option keep their
    defaults; ``overrides`` win). The dataclass's ``__post_init__`` checks the values."""
    values = {f.name: getattr(args, f.name) for f in _fields(config_cls) if hasattr(args, f.name)}
    values.update(overrides)
    return config_cls(**values)


def check_minutes(value, flag: str = "--max-minutes") -> None:
    """Refuse a time budget that is not a positive finite number of minutes (None: no budget).

        >>> check_minutes(None); check_minutes(2.5)
    """
    import math

    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
        raise InvalidArgumentError.for_argument(flag, value, "a positive number of minutes",
                                                "Leave it out to train without a time budget.")


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """``--resume`` (continue the run in ``--out`` exactly) for every training command; ``--out``,
    ``--seed``, ``--epochs`` and ``--quiet`` are fields of each task's config."""
    parser.add_argument("--resume", action="store_true",
                        help="continue the interrupted run in --out from its last checkpoint")


def split_arg(text: str):
    """``"0.7,0.15,0.15"`` -> fractions; ``"2013-09-01,2013-11-01"`` -> dates."""
    parts = [p.strip() for p in text.split(",")]
    try:
        return tuple(float(p) for p in parts)
    except ValueError:
        return tuple(parts)


def names_arg(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]


def aggregations_arg(text: str) -> dict:
    """``"precip=sum,wind_speed=max"`` -> ``{"precip": "sum", "wind_speed": "max"}``."""
    out = {}
    for part in names_arg(text):
        col, sep, fn = part.partition("=")
        if not sep or not col.strip() or not fn.strip():
            raise argparse.ArgumentTypeError(f"expected COLUMN=FUNCTION pairs like precip=sum, got {part!r}")
        out[col.strip()] = fn.strip()
    return out


def check_seed(seed) -> None:
    """Every command's ``--seed``: one range that numpy, scikit-learn (2**32) and torch all take."""
    if seed is not None and not 0 <= seed < 2**32:
        raise InvalidArgumentError.for_argument("--seed", seed, "an integer in [0, 4294967295]",
                                                "It seeds numpy, scikit-learn and torch, whose common range this is.")


def optional_int(text: str) -> int | None:
    """The one parser of an optional integer option: ``none``, ``all`` or nothing -> None, else an
    int. ``0`` stays 0: a config whose 0 means "off" or "all" says so itself (see
    :func:`zero_is_none`), the others refuse it with their own message.

        >>> optional_int("none"), optional_int("All"), optional_int("0"), optional_int("12")
        (None, None, 0, 12)
    """
    return None if text.strip().lower() in ("", "none", "all") else int(text)


def optional_float(text: str) -> float | None:
    """``none`` or nothing -> None, else a float.

        >>> optional_float("none"), optional_float("0.5")
        (None, 0.5)
    """
    return None if text.strip().lower() in ("", "none") else float(text)


def zero_is_none(config, *names: str) -> None:
    """Set the fields ``names`` of ``config`` that are 0 to None (options documented "0 or none")."""
    for name in names:
        if getattr(config, name) == 0 and not isinstance(getattr(config, name), bool):
            setattr(config, name, None)
