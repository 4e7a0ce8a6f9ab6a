"""Where a command may write a file it was asked for (``rnnkit predict --output FILE``).

    >>> import tempfile, os
    >>> check_output(os.path.join(tempfile.mkdtemp(), "p.csv")).name
    'p.csv'
"""
from __future__ import annotations

from pathlib import Path

from rnnkit.errors import InvalidArgumentError
from rnnkit.training import manifest

__all__ = ["check_output"]


def check_output(path, run_dir=None, force: bool = False) -> Path:
    """Where ``rnnkit predict --output PATH`` may write: never into a run directory (``run_dir``
    or any directory with an rnnkit manifest, so its files, e.g. ``model.safetensors``, are never
    overwritten), over another existing file only with ``force``, only into an existing folder. Checked before anything is computed.

        >>> import tempfile, os
        >>> d = tempfile.mkdtemp()
        >>> check_output(os.path.join(d, "p.csv")).name
        'p.csv'
        >>> check_output(os.path.join(d, "missing", "p.csv"))
        Traceback (most recent call last):
        ...
        rnnkit.errors.InvalidArgumentError: Received an invalid value for argument `--output`, ...
    """
    p = Path(path)
    if p.is_dir():
        raise InvalidArgumentError.for_argument("--output", str(p), "a CSV file name, not a directory",
                                                f"Pass e.g. --output {p / 'forecast.csv'}.")
    if not p.parent.is_dir():
        raise InvalidArgumentError.for_argument(
            "--output", str(p), "a file in an existing folder",
            f"The folder {p.parent} does not exist: create it first, or choose another --output.")
    resolved = p.resolve()
    runs = [a for a in resolved.parents if manifest.is_run_dir(a)]
    if run_dir is not None and Path(run_dir).resolve() in resolved.parents:
        runs.append(Path(run_dir).resolve())
    if runs:
        raise InvalidArgumentError.for_argument(
            "--output", str(p), "a file outside run directories",
            f"{p} is inside the run directory {runs[0]}, and rnnkit never changes a run's files "
            "(--force does not apply). Write the forecasts elsewhere, e.g. --output forecast.csv.")
    if p.exists():
        if not force:
            raise InvalidArgumentError.for_argument(
                "--output", str(p), "a new file", "It exists: pass --force to overwrite it, or choose another name.")
    return p
