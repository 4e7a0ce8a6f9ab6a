"""What every notebook call shares: its options checked against the task's config, the data
written to a temporary file in the command's format, subnormal floats flushed while it runs (as the
``rnnkit`` command does) with the caller's floating-point mode back afterwards, and a training
call's run lock released at its end (also when it fails)."""
from __future__ import annotations

import contextlib
import dataclasses
import difflib
import functools
import tempfile
from pathlib import Path

from rnnkit._subnormals import subnormals_flushed
from rnnkit.errors import InvalidArgumentError
from rnnkit.tasks import registry
from rnnkit.training import run_lock


def flushing_subnormals(call):
    """``call`` run as a command runs: subnormals flushed inside, the caller's mode restored after
    (see :mod:`rnnkit._subnormals`)."""
    @functools.wraps(call)
    def wrapped(*args, **kwargs):
        with subnormals_flushed():
            return call(*args, **kwargs)
    return wrapped


@contextlib.contextmanager
def temp_file(name: str, write):
    """The path of a new file ``name`` in a temporary folder, filled by ``write(path)``; the folder
    is removed on exit."""
    with tempfile.TemporaryDirectory(prefix="rnnkit-data-") as folder:
        path = str(Path(folder) / name)
        write(path)
        yield path


def csv_of(frame):
    """A temporary CSV holding the DataFrame ``frame`` (its path as the context value)."""
    return temp_file("data.csv", lambda path: frame.to_csv(path, index=False))


def text_of(text: str, name: str = "data.txt"):
    """A temporary UTF-8 text file holding ``text`` exactly (no newline translation)."""
    return temp_file(name, lambda path: Path(path).write_text(text, encoding="utf-8", newline=""))


def strings(values, argument: str, what: str = "a list of strings") -> list[str]:
    """``values`` as a list of strings (a single string or a non-list refused)."""
    if isinstance(values, str) or not hasattr(values, "__iter__"):
        raise InvalidArgumentError.for_argument(argument, type(values).__name__, what,
                                                "Wrap a single one in a list: [value].")
    out = list(values)
    bad = next((i for i, t in enumerate(out) if not isinstance(t, str)), None)
    if bad is not None:
        raise InvalidArgumentError.for_argument(f"{argument}[{bad}]", type(out[bad]).__name__, "a string")
    return out


def make_config(config_cls, where: str, options: dict, **data):
    """``config_cls(**data, **options)``, an unknown option named with its close matches."""
    fields = {f.name for f in dataclasses.fields(config_cls)} - {"resume"}
    for name in options:
        if name not in fields:
            close = difflib.get_close_matches(name, sorted(fields), n=3)
            hint = (f" Did you mean {' or '.join(close)}?" if close
                    else f" The options are the fields of {config_cls.__name__}.")
            raise InvalidArgumentError(f"{where}() got the option {name!r}, which `rnnkit {where}` does not have.{hint}")
    taken = sorted(set(options) & set(data))
    if taken:
        raise InvalidArgumentError(f"{where}(): {taken[0]!r} is given by the data argument; leave it out of the options.")
    return config_cls(**data, **options)


def train(name: str, config) -> str:
    """Train ``config`` with the registered task ``name``; the run directory. The run's lock is
    released at the end of the call, also when it fails, as ``rnnkit.cli.main`` does."""
    try:
        return registry.get(name).train(config)["run_dir"]
    finally:
        run_lock.release_all()
