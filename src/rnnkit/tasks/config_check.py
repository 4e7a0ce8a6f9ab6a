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
from rnnkit.tasks.options import _base_type, _default, _fields, add_options, config_from_args

__all__ = ["config_from_json", "bad_field", "without"]


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise InvalidArgumentError(message)


def _text(value) -> str | None:
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, (int, float, str)) and not isinstance(v, bool) for v in value):
        return ",".join(map(str, value))
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


def config_from_json(config_cls, fields: dict, where: str, prog: str, ignore: tuple = ()):
    """The ``config_cls`` instance of a saved dict, every field parsed by its command-line option."""
    if not isinstance(fields, dict):
        raise CheckpointError(f"{where}: the job is {type(fields).__name__}, not an object of fields. The run "
                              f"directory was not written by {prog} (or was edited).")
    parser = _Parser(prog=prog, add_help=False)
    add_options(parser, config_cls)
    options = {f.name: f for f in _fields(config_cls)}
    unknown = sorted(set(fields) - set(options) - set(ignore))
    if unknown:
        raise CheckpointError(f"{where}: unknown field(s) {unknown!r}. The run was written by another rnnkit version "
                              "or edited; retrain it with this version.")
    argv, nones = [], {}
    for name, value in fields.items():
        if name in ignore:
            continue
        flag = "--" + name.replace("_", "-")
        kind = _base_type(options[name].type)        # bool | None: a switch that may be left unset
        if value is None:
            if _default(options[name]) is not None:
                nones[name] = None          # checked by the dataclass itself
            continue
        if isinstance(_default(options[name]), bool) or kind is bool:
            if not isinstance(value, bool):
                raise bad_field(where, name, value, f"{flag}: expected true or false", prog)
            argv.append(flag if value else "--no-" + name.replace("_", "-"))
            continue
        text = _text(value)
        if text is None:
            raise bad_field(where, name, value, "expected a value of the type its option takes", prog)
        argv.append(f"{flag}={text}")
    try:
        args = parser.parse_args(argv)
        return config_from_args(config_cls, args, **nones)
    except (InvalidArgumentError, TypeError, ValueError) as e:
        name = next((n for n in fields if f"--{n.replace('_', '-')}" in str(e) or f"`{n}`" in str(e)), None)
        raise bad_field(where, name, fields.get(name), str(e), prog) from None


def without(config, **fields) -> dict:
    """``dataclasses.asdict(config)`` with ``fields`` replaced (e.g. ``out=None``) and tuples as lists."""
    d = dataclasses.asdict(config) | fields
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}
