"""Load a forecasting run and forecast from the end of each series (``rnnkit predict``).

The run's ``config.json`` rebuilds the job, the model and the scaler fitted at training time;
``model.safetensors`` holds the weights. The data (the run's own source, or a CSV with the same
columns) is prepared exactly as in training, with the saved scaler, and each series' last
``lookback`` rows give one forecast of the next ``horizon`` targets, ``delay`` rows ahead.

    >>> import tempfile, rnnkit.recipes.forecast as f
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = f.run_forecast(f.ForecastJob(stations=["JFK"], epochs=1, units=4, steps_per_epoch=1,
    ...                                      quiet=True, out=d + "/run"))
    ...     table = forecast_from_run(d + "/run")
    >>> list(table.columns)
    ['series', 'last_observed', 'target_time', 'forecast']
"""
from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from rnnkit.data import prepare_series
from rnnkit.data.weather import load_stations
from rnnkit.errors import CheckpointError, InvalidArgumentError
from rnnkit.models import Forecaster, ForecasterConfig
from rnnkit.recipes.forecast import ForecastJob, is_remote, prepare, time_step
from rnnkit.training import load_run, manifest
from rnnkit.training.manifest import file_sha256


def load_forecaster(run_dir) -> tuple[Forecaster, ForecastJob, dict]:
    """The trained model (eval mode), its job and the run's config dict."""
    run = load_run(run_dir)
    cfg = run["config"]
    if "job" not in cfg or "model" not in cfg:
        raise CheckpointError(f"{run_dir} is not a forecasting run (config.json has no 'job'/'model').")
    names = {f.name for f in dataclasses.fields(ForecastJob)}
    job = ForecastJob(**{k: v for k, v in cfg["job"].items() if k in names})
    model = Forecaster(ForecasterConfig.from_dict(cfg["model"]))
    try:
        model.load_state_dict(run["weights"])
    except RuntimeError as e:
        raise CheckpointError(f"{run_dir}/model.safetensors does not fit the model in config.json: {e}") from None
    return model.eval(), job, cfg


def _prepare_for_prediction(job: ForecastJob, cfg: dict, csv: str | None):
    scaler = cfg["data"]  # both the feature scaler and the static-feature scaler
    split = (1.0, 0.0)
    source = cfg.get("source") or {}
    if csv is None:
        job = _own_data(job, source)
        return prepare(dataclasses.replace(job, split=split), scaler=scaler)
    if job.csv is None:  # trained on the embedded weather: a CSV of the same table
        prepared = prepare_series(csv, time="time_hour", target=job.target, group="origin",
                                  angles={"wind_dir": "wind_speed"}, resample=job.resample or "1h",
                                  agg={"precip": "sum", **(job.agg or {})}, features=job.features, nan=job.nan,
                                  duplicates=job.duplicates, max_gap=job.max_gap, split=split, scaler=scaler,
                                  time_features=tuple(job.time_features),
                                  static=load_stations()[["lat", "lon", "alt"]])
    else:
        prepared = prepare(dataclasses.replace(job, csv=csv, split=split), scaler=scaler)
    trained, given = source.get("time_step_s"), time_step(prepared)
    if trained and given and abs(given - trained) > 1e-6 * trained:
        raise InvalidArgumentError.for_argument(
            "--csv", csv, f"rows every {_duration(trained)}, the time step the model was trained on",
            f"Its rows are {_duration(given)} apart (median): resample it to {_duration(trained)} first "
            "(the model's lookback and delay count rows).")
    return prepared


def _own_data(job: ForecastJob, source: dict) -> ForecastJob:
    """The job reading exactly the file it was trained on (by absolute path, checked by sha256)."""
    if "path" not in source:
        if job.csv is not None or (job.jena is not None and not is_remote(job.jena)):
            warnings.warn("This run does not record the absolute path and sha256 of its training data (an "
                          f"older run): reading {job.csv or job.jena!r} relative to the current directory. "
                          "Pass --csv FILE to be sure which file is read.", stacklevel=3)
        return job
    p = Path(source["path"])
    if not p.is_file():
        raise CheckpointError(f"The run's training data {p} no longer exists. Pass --csv FILE (a CSV with the "
                              "training data's columns) to forecast from it.")
    if file_sha256(p) != source.get("sha256"):
        raise CheckpointError(
            f"The run's training data {p} has changed since training (its sha256 is not the one recorded in "
            "config.json), so it is not the data the run was trained on. Pass --csv "
            f"{p} to forecast from its current contents.")
    return dataclasses.replace(job, **({"csv": str(p)} if job.csv is not None else {"jena": str(p)}))


def _duration(seconds: float) -> str:
    return str(pd.Timedelta(seconds=seconds)).replace("0 days ", "")


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


def forecast_from_run(run_dir, csv: str | None = None) -> pd.DataFrame:
    """One row per series and horizon step: the forecast in the target's own units."""
    model, job, cfg = load_forecaster(run_dir)
    prepared = _prepare_for_prediction(job, cfg, csv)
    n_steps = job.lookback // job.step
    rows, short = [], []
    for i, (a, b) in enumerate(prepared.last_segments()):
        if b - a < job.lookback:
            short.append((prepared.groups[i], b - a))
            continue
        idx = b - 1 - (n_steps - 1 - np.arange(n_steps)) * job.step
        x = torch.from_numpy(np.ascontiguousarray(prepared.data[idx]))
        if prepared.static is not None:
            x = torch.cat([x, torch.from_numpy(prepared.static[i]).expand(n_steps, -1)], -1)
        with torch.no_grad():
            y = model(x.unsqueeze(0))
        if y.dim() == 3:  # a seq2seq model: its outputs at every input step; the last is the forecast
            y = y[:, -1]
        y = y.reshape(-1).numpy()
        y = prepared.inverse_target(y)
        last = prepared.times[b - 1]
        freq = prepared.times[b - 1] - prepared.times[b - 2] if b - a > 1 else pd.Timedelta(0)
        for h, value in enumerate(np.atleast_1d(y)):
            rows.append({"series": prepared.groups[i], "last_observed": last,
                         "target_time": last + freq * (job.delay + h * job.step), "forecast": float(value)})
    for group, n in short:
        what = "The data" if group is None else f"Series {group!r}"
        after = " after its last gap longer than --max-gap" if job.max_gap else ""
        warnings.warn(f"{what} has {n} row(s){after}, fewer than the lookback of {job.lookback} rows the "
                      "model needs: no forecast for it. Give more recent rows.", stacklevel=2)
    if not rows:
        raise CheckpointError(f"No series in the data has the {job.lookback} rows this model needs"
                              f"{' after its last gap longer than --max-gap' if job.max_gap else ''}.")
    return pd.DataFrame(rows)
