"""A run's saved task config read back as untrusted input: checked exactly like the command line.

Each field goes back through its generated option (:func:`rnnkit.tasks.options.add_options`) and
the same parser, types, choices and dataclass checks as the training command, so a run directory
cannot ask for more than the CLI allows. Errors are :class:`~rnnkit.errors.CheckpointError` s
naming the file and the field.

    >>> from dataclasses import dataclass
    >>> from rnnkit.tasks.options import option
    >>> @dataclass
    ... class Job:
    ...     units: int = option(32, "units")
    ...     maxlen: int | None = option(None, "tokens kept")
    >>> config_from_json(Job, {"units": 8, "maxlen": None}, "config.json", "rnnkit demo")
    Job(units=8, maxlen=None)
    >>> config_from_json(Job, {"units": "8; rm -rf ~"}, "config.json", "rnnkit demo")
    Traceback (most recent call last):
    ...
    rnnkit.errors.CheckpointError: config.json: the field `units` is not valid as rnnkit demo input: argument --units: invalid int value: '8; rm -rf ~' (value '8; rm -rf ~'). ...
"""
from __future__ import annotations

import argparse
import dataclasses

from rnnkit.errors import CheckpointError, InvalidArgumentError
from rnnkit.tasks.options import add_options, config_from_args, old_names

__all__ = ["config_from_json", "bad_field", "renamed", "without"]


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise InvalidArgumentError(message)


def _text(value) -> str | None:
    """A saved value as it would be typed on the command line (lists and ``{k: v}`` comma-joined)."""
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, (int, float, str)) and not isinstance(v, bool) for v in value):
        return ",".join(map(str, value))
    if isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        return ",".join(f"{k}={v}" for k, v in value.items())
    return None


def bad_field(where, name, value, why, prog, what: str = "field") -> CheckpointError:
    """The error for a saved field that the command line would refuse: it names the file, the
    field, the value (cut) and why."""
    shown = repr(value)
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    why = why if len(why) <= 300 else why[:297] + "..."      # argparse's message quotes the value whole
    return CheckpointError(
        f"{where}: the {what} `{name}` is not valid as {prog} input: {why} (value {shown}). The run directory was not "
        "written by this rnnkit (or was edited): a run directory is read as untrusted input, checked like "
        "command-line options. Retrain the model, or fix the field.")


def config_from_json(config_cls, fields: dict, where: str, prog: str, ignore: tuple = (), *,
                     aliases: dict | None = None, add=None, build=None):
    """The ``config_cls`` instance of a saved dict, every field parsed by its command-line option.

    Args:
        config_cls: the task's config dataclass.
        fields: the saved dict (untrusted).
        where: the file named in errors (``config.json``).
        prog: the command named in errors (``rnnkit classify``).
        ignore: saved fields that are not options (checked by the caller, or not at all).
        aliases: old field names still read, by old name -> today's name (``{"maxlen": "max_len"}``),
            beside those the fields declare (``option(old=...)``).
        add: adds the options to a parser (default: :func:`~rnnkit.tasks.options.add_options` of
            ``config_cls``).
        build: ``build(args, nones)`` makes the config from the parsed options; ``nones`` are the
            fields saved as null whose option default is not null (default:
            :func:`~rnnkit.tasks.options.config_from_args`, the dataclass checks them).
    """
    if not isinstance(fields, dict):
        raise CheckpointError(f"{where}: the job is {type(fields).__name__}, not an object of fields. The run "
                              f"directory was not written by {prog} (or was edited).")
    fields = renamed(fields, old_names(config_cls) | (aliases or {}), where)
    parser = _Parser(prog=prog, add_help=False)
    (add or (lambda p: add_options(p, config_cls)))(parser)
    options = {}
    for a in parser._actions:
        if a.option_strings:
            options.setdefault(a.dest, a)       # the option itself, not a former name of it
    unknown = sorted(set(fields) - set(options) - set(ignore))
    if unknown:
        raise CheckpointError(f"{where}: unknown field(s) {unknown!r}. The run was written by another rnnkit version "
                              "or edited; retrain it with this version.")
    argv, nones = _argv(fields, options, ignore, where, prog)
    try:
        args = parser.parse_args(argv)
        if build is None:
            return config_from_args(config_cls, args, **nones)
        return build(args, nones)
    except (InvalidArgumentError, TypeError, ValueError) as e:
        name = next((n for n in fields if n in options and options[n].option_strings[0] in str(e)), None) or next(
            (n for n in fields if f"`{n}`" in str(e)), None)
        raise bad_field(where, name, fields.get(name), str(e), prog) from None


def renamed(fields: dict, aliases: dict, where: str) -> dict:
    """``fields`` with old names (``aliases``: old -> new) under today's names; both at once is refused.

        >>> renamed({"maxlen": 5}, {"maxlen": "max_len"}, "config.json")
        {'max_len': 5}
    """
    out = dict(fields)
    for old, new in aliases.items():
        if old in out:
            if new in out:
                raise CheckpointError(f"{where}: both `{old}` and `{new}` are given; `{old}` is the old name of "
                                      f"`{new}`. Keep one of them.")
            out[new] = out.pop(old)
    return out


def _argv(fields: dict, options: dict, ignore: tuple, where: str, prog: str) -> tuple[list, dict]:
    """The command line of the saved ``fields``, and the fields saved as null whose default is not."""
    argv, nones = [], {}
    for name, value in fields.items():
        if name in ignore:
            continue
        action = options[name]
        flag = action.option_strings[0]
        if value is None:
            if action.default is not None:
                nones[name] = None          # checked by the dataclass itself
            continue
        if isinstance(action, argparse.BooleanOptionalAction):
            if not isinstance(value, bool):
                raise bad_field(where, name, value, f"{flag}: expected true or false", prog)
            argv.append(flag if value else action.option_strings[1])
            continue
        text = _text(value)
        if text is None:
            raise bad_field(where, name, value, "expected a value of the type its option takes", prog)
        argv.append(f"{flag}={text}")
    return argv, nones


def without(config, **fields) -> dict:
    """``dataclasses.asdict(config)`` with ``fields`` replaced (e.g. ``out=None``) and tuples as lists."""
    d = dataclasses.asdict(config) | fields
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}
