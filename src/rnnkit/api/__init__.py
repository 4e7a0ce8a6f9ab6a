"""rnnkit from a notebook: each command is one call taking a DataFrame or lists, with the
command's options as keyword arguments, returning a :class:`Run`.

- :func:`forecast` (``rnnkit forecast``): a DataFrame of the series, one row per time step.
- :func:`classify` (``rnnkit classify``): texts and labels as lists, or a DataFrame with a text
  and a label column; or ``images=`` (an array ``N x rows x cols``) or ``series=`` (an array
  ``N x steps x features``) with labels.
- :func:`tag` (``rnnkit tag``): sentences as token lists and their tags.
- :func:`lm` (``rnnkit lm``): a text (or a list of texts).
- :func:`translate` (``rnnkit translate train``): ``(source, target)`` sentence pairs.
- :func:`open_run`: the :class:`Run` of a run directory written earlier (by the CLI or here).

The keyword arguments are the fields of the task's config (``ForecastJob``, ``ClassifyConfig``:
the CLI's options with ``_`` for ``-``, see the CLI reference), with Python values
(``lookback=120``, ``split=(0.7, 0.15, 0.15)``, ``device="cpu"``); an unknown one is refused naming the close
matches. The call trains exactly as the command does: it prints the same lines and table
(``quiet=True`` keeps the progress lines out), and writes the same run directory, to ``out`` or,
as the CLI does without ``--out``, a new timestamped directory under ``runs/``. The data given is
written to a temporary file in the command's format (a CSV, IDX images, a ``.ts`` file, a CoNLL
file, a text, a pairs file) that the command reads, so the run is the command's run on that file; the run
records that file's checksum, and the file is removed afterwards. As the ``rnnkit`` command does,
a call flushes subnormal floats while it runs and leaves the caller's floating-point mode as it was.

    >>> import tempfile, numpy as np, pandas as pd, rnnkit
    >>> t = pd.date_range("2024-01-01", periods=400, freq="h")
    >>> df = pd.DataFrame({"time": t, "temp": np.sin(np.arange(400) / 6.0)})
    >>> run = rnnkit.forecast(df, target="temp", time_col="time", lookback=24, delay=1, units=4, epochs=1,
    ...                       steps_per_epoch=2, quiet=True, out=tempfile.mkdtemp() + "/run")
    >>> sorted(run.metrics["test"])[:2], list(run.history.columns[:2])
    (['common_sense', 'mean'], ['epoch', 'loss'])
    >>> list(run.predict(df).columns)[:2]
    ['series', 'last_observed']
"""
from __future__ import annotations

from rnnkit.api.calls import classify, forecast
from rnnkit.api.run import Run, open_run
from rnnkit.api.text_calls import lm, tag, translate

__all__ = ["Run", "forecast", "classify", "tag", "lm", "translate", "open_run"]
