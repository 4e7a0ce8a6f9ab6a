"""rnnkit from a notebook: each command is one call taking a DataFrame or lists, with the
command's options as keyword arguments, returning a :class:`Run`.

- :func:`forecast` (``rnnkit forecast``): a DataFrame of the series, one row per time step.
- :func:`classify` (``rnnkit classify``): texts and labels as lists, or a DataFrame with a text
  and a label column.
- :func:`open_run`: the :class:`Run` of a run directory written earlier (by the CLI or here).

The keyword arguments are the fields of the task's config (``ForecastJob``, ``ClassifyConfig``:
the CLI's options with ``_`` for ``-``, see the CLI reference), with Python values
(``lookback=120``, ``split=(0.7, 0.15, 0.15)``); an unknown one is refused naming the close
matches. The call trains exactly as the command does: it prints the same lines and table
(``quiet=True`` keeps the progress lines out), and writes the same run directory, to ``out`` or,
as the CLI does without ``--out``, a new timestamped directory under ``runs/``. The data given is
written to a temporary CSV that the command reads, so the run is the command's run on that file;
the run records that file's checksum, and the file is removed afterwards.

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

import contextlib
import dataclasses
import difflib
import json
import tempfile
from functools import cached_property
from pathlib import Path

import pandas as pd

from rnnkit.errors import InvalidArgumentError
from rnnkit.load import load_model
from rnnkit.tasks import registry
from rnnkit.tasks.classify import ClassifyConfig
from rnnkit.tasks.classify_cli import predict_table
from rnnkit.tasks.forecast_config import ForecastJob
from rnnkit.tasks.forecast_predict import forecast_from_run
from rnnkit.training import manifest, run_lock
from rnnkit.training.history import read_history_csv
from rnnkit.training.plots import history_figure

__all__ = ["Run", "forecast", "classify", "open_run"]


class Run:
    """A run directory, read back.

    Attributes:
        path: the run directory (:class:`pathlib.Path`).
        task: its task (``"forecast"``, ``"classify"``, ...).
        metrics: ``metrics.json`` as a dict (the test scores beside the baselines, why training stopped).
        history: ``history.csv`` as a DataFrame, one row per epoch.
        model: the trained module (eval mode, CPU), as :func:`rnnkit.load_model` gives it.
    """

    def __init__(self, path, data=None):
        self.path = Path(path)
        self.task = registry.run_task(self.path)
        self._data = data               # what the run trained on, for predict() without data

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r}, task={self.task!r})"

    @cached_property
    def metrics(self) -> dict:
        manifest.verify(self.path, ["metrics.json"])
        return json.loads((self.path / "metrics.json").read_text(encoding="utf-8"))

    @property
    def history(self) -> pd.DataFrame:
        return pd.DataFrame(read_history_csv(self.path / "history.csv"))

    @cached_property
    def model(self):
        return load_model(self.path)

    def predict(self, data=None) -> pd.DataFrame:
        """The table ``rnnkit predict --run PATH`` prints for ``data`` (forecast: a DataFrame with
        the training columns, the forecast after the end of each series; classify: a list of
        texts or a DataFrame with the text column, one row per input). ``data=None``: the data the
        run trained on when it was given from Python, else (forecast) the file the run read."""
        data = self._data if data is None else data
        if self.task == "forecast":
            return forecast_from_run(self.path, data)
        if self.task == "classify":
            job = json.loads((self.path / "config.json").read_text(encoding="utf-8"))["job"]
            if data is None:
                raise InvalidArgumentError.for_argument("data", None, "texts (a list) or a DataFrame to classify")
            frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame({job["text_col"]: _texts(data)})
            with _csv_of(frame) as csv:
                return predict_table(self.path, csv)
        raise InvalidArgumentError.for_argument(
            "run", f"a {self.task} run", "a forecast or classify run",
            f"Use `rnnkit predict --run {self.path}` for {self.task} runs.")

    def plot(self, metrics=None):
        """The loss curves (training and validation per epoch) as a matplotlib figure, as in the
        run's ``loss.png``; ``metrics``: extra columns of :attr:`history` in their own panels."""
        return history_figure(read_history_csv(self.path / "history.csv"), metrics,
                              title=f"{self.task}: {self.path.name}")

    @property
    def images(self) -> list[Path]:
        """The PNG plots the command wrote into the run directory (loss curves, forecasts, ...)."""
        return sorted(self.path.glob("*.png"))


def open_run(path) -> Run:
    """The :class:`Run` of an existing run directory (any task; read as untrusted input)."""
    if not (Path(path) / "config.json").is_file():
        raise InvalidArgumentError.for_argument("path", str(path), "a run directory (with config.json)")
    return Run(path)


def _texts(values) -> list[str]:
    if isinstance(values, str) or not hasattr(values, "__iter__"):
        raise InvalidArgumentError.for_argument("texts", type(values).__name__, "a list of strings",
                                                "Wrap a single text in a list: [text].")
    texts = list(values)
    bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
    if bad is not None:
        raise InvalidArgumentError.for_argument(f"texts[{bad}]", type(texts[bad]).__name__, "a string")
    return texts


@contextlib.contextmanager
def _csv_of(frame: pd.DataFrame):
    """A temporary CSV holding ``frame`` (its path as the context value), removed on exit."""
    with tempfile.TemporaryDirectory(prefix="rnnkit-data-") as folder:
        path = str(Path(folder) / "data.csv")
        frame.to_csv(path, index=False)
        yield path


def _config(config_cls, where: str, options: dict, **data):
    """``config_cls(**data, **options)``, an unknown option named with its close matches."""
    fields = {f.name for f in dataclasses.fields(config_cls)} - {"resume"}
    for name in options:
        if name not in fields:
            close = difflib.get_close_matches(name, sorted(fields), n=3)
            hint = f" Did you mean {' or '.join(close)}?" if close else f" The options are the fields of {config_cls.__name__}."
            raise InvalidArgumentError(f"{where}() got the option {name!r}, which `rnnkit {where}` does not have.{hint}")
    taken = sorted(set(options) & set(data))
    if taken:
        raise InvalidArgumentError(f"{where}(): {taken[0]!r} is given by the data argument; leave it out of the options.")
    return config_cls(**data, **options)


def _train(name: str, config, data) -> Run:
    task = registry.get(name)
    try:
        result = task.train(config)
    finally:                            # the command's lock ends with the call (also when it fails), as with the CLI
        run_lock.release_all()
    return Run(Path(result["run_dir"]), data)


def forecast(data: pd.DataFrame, *, target: str, time_col: str, **options) -> Run:
    """``rnnkit forecast`` on a DataFrame (one row per time step; the columns the CSV would have).

    Args:
        data: the series (a ``group_col`` option for several series in one table).
        target: the column to forecast; time_col: the time column.
        options: any other option of ``rnnkit forecast`` (``lookback``, ``delay``, ``units``, ``epochs``, ``out``, ...).
    """
    if not isinstance(data, pd.DataFrame):
        raise InvalidArgumentError.for_argument("data", type(data).__name__, "a pandas DataFrame",
                                                "Build one with pandas.DataFrame({...}) or pandas.read_csv(path).")
    with _csv_of(data) as csv:
        config = _config(ForecastJob, "forecast", options, csv=csv, target=target, time_col=time_col)
        return _train("forecast", config, data)


def classify(texts, labels=None, **options) -> Run:
    """``rnnkit classify`` on texts: ``texts`` a list of strings and ``labels`` a list of labels of
    the same length, or ``texts`` a DataFrame with the ``text_col`` and ``label_col`` columns
    (defaults ``text`` and ``label``). ``options``: any other option of ``rnnkit classify``."""
    if isinstance(texts, pd.DataFrame):
        if labels is not None:
            raise InvalidArgumentError.for_argument("labels", "a list beside a DataFrame", "None",
                                                    "Name the DataFrame's label column with label_col=.")
        frame = texts
    else:
        texts = _texts(texts)
        labels = list(labels) if labels is not None and not isinstance(labels, str) else labels
        if labels is None or len(labels) != len(texts):
            raise InvalidArgumentError.for_argument(
                "labels", f"{'None' if labels is None else len(labels)} labels", f"one label per text ({len(texts)})")
        frame = pd.DataFrame({options.get("text_col", "text"): texts, options.get("label_col", "label"): labels})
    with _csv_of(frame) as csv:
        config = _config(ClassifyConfig, "classify", options, csv=csv)
        return _train("classify", config, None)
