"""Load a forecasting run and forecast from the end of each series (``rnnkit predict``).

The run's ``config.json`` rebuilds the job, the model and the scaler fitted at training time;
``model.safetensors`` holds the weights. The data (the run's own source, or a CSV with the same
columns) is prepared exactly as in training, with the saved scaler, and each series' last
``lookback`` rows give one forecast of the next ``horizon`` targets, ``delay`` rows ahead.

    >>> import tempfile, rnnkit.tasks.forecast as f
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
from rnnkit.data._checks import shown
from rnnkit.data.weather import load_stations
from rnnkit.errors import CheckpointError, InvalidArgumentError, RnnkitError
from rnnkit.models import Forecaster, ForecasterConfig
from rnnkit.models.forecaster import FORMER_NAMES
from rnnkit.training.quantile_metrics import point_forecast
from rnnkit.tasks.config_check import renamed
from rnnkit.tasks.forecast_options import job_from_config
from rnnkit.tasks.forecast_config import ForecastJob, is_remote
from rnnkit.tasks.forecast_data import prepare, time_step
from rnnkit.training import load_run
from rnnkit.training.device import resolve_device
from rnnkit.training.manifest import file_sha256
from rnnkit.data.scaling import Scaler


def load_forecaster(run_dir) -> tuple[Forecaster, ForecastJob, dict]:
    """The trained model (eval mode), its job and the run's config dict.

    A run directory is data, not trust: its job is checked exactly like ``rnnkit forecast``
    options (:func:`~rnnkit.tasks.forecast_options.job_from_config`), and the model is the one that
    job builds (a config.json whose model differs from its job is refused), so nothing larger
    than the command line allows is allocated.
    """
    run = load_run(run_dir)
    cfg = run["config"]
    where = f"{Path(run_dir) / 'config.json'}"
    if not isinstance(cfg, dict) or "job" not in cfg or "model" not in cfg or cfg.get("task", "forecast") != "forecast":
        raise CheckpointError(f"{run_dir} is not a forecasting run (config.json has no 'job'/'model').")
    job = job_from_config(cfg["job"], where)
    model_cfg = cfg["model"]
    if not isinstance(model_cfg, dict):
        raise CheckpointError(f"{where}: 'model' is {type(model_cfg).__name__}, not an object.")
    model_cfg = renamed(model_cfg, FORMER_NAMES, where)
    try:
        expected = job.model_config(model_cfg.get("n_features", 0), model_cfg.get("residual_index")).to_dict()
    except (InvalidArgumentError, TypeError, ValueError) as e:   # TypeError: e.g. a list for residual_index
        raise CheckpointError(f"{where}: the model's n_features or residual_index is not valid "
                              f"({str(e)[:200]}).") from None
    differ = sorted(k for k in set(expected) | set(model_cfg) if expected.get(k) != model_cfg.get(k))
    if differ:
        raise CheckpointError(
            f"{where}: the model ({', '.join(f'{k[:40]}={shown(model_cfg.get(k))}' for k in differ[:4])}) is not the "
            f"one its job builds ({', '.join(f'{k[:40]}={shown(expected.get(k))}' for k in differ[:4])}). The run directory "
            "was edited or not written by rnnkit forecast; retrain it.")
    _check_data_fields(cfg, where)
    model = Forecaster(ForecasterConfig.from_dict(model_cfg))
    try:
        model.load_state_dict(run["weights"])
    except RuntimeError as e:
        raise CheckpointError(f"{run_dir}/model.safetensors does not fit the model in config.json: {e}") from None
    return model.eval(), job, cfg


def _check_data_fields(cfg: dict, where: str) -> None:
    """The saved scalers and the data source have the types rnnkit writes (else CheckpointError)."""
    data, source = cfg.get("data"), cfg.get("source", {})
    try:
        Scaler.from_dict(data["scaler"])
        if data.get("static_scaler") is not None:
            Scaler.from_dict(data["static_scaler"])
    except (TypeError, KeyError, ValueError, AttributeError, IndexError) as e:
        raise CheckpointError(f"{where}: 'data' does not hold the scaler rnnkit saves ({type(e).__name__}). "
                              "The run directory was edited or not written by rnnkit forecast; retrain it.") from None
    ok = isinstance(source, dict) and all(isinstance(source.get(k), str) for k in ("path", "sha256", "url")
                                          if k in source)
    if not ok or not isinstance(source.get("time_step_s", 0.0) or 0.0, (int, float)):
        raise CheckpointError(f"{where}: 'source' does not have the fields and types rnnkit writes. The run "
                              "directory was edited or not written by rnnkit forecast; retrain it.")


def _prepare_for_prediction(job: ForecastJob, cfg: dict, csv: str | None):
    scaler = cfg["data"]  # both the feature scaler and the static-feature scaler
    split = (1.0, 0.0)
    source = cfg.get("source") or {}
    if csv is None:
        job = _own_data(job, source)
        named = job.csv or job.jena
        try:
            return prepare(dataclasses.replace(job, split=split), scaler=scaler)
        except RnnkitError as e:
            if named is None:
                raise
            # the file was named by the run directory, not by the user: never quote its content
            raise CheckpointError(
                f"The run's data {named!r} cannot be prepared as its config.json says ({type(e).__name__}; "
                "details not shown: the path comes from the run directory, which may have been made by someone "
                "else, so rnnkit does not quote what that file holds). Pass --csv FILE with the training data's "
                "columns.") from None
    if job.jena is not None:             # a Jena run: the CSV given replaces the Jena file, never a download
        return prepare(dataclasses.replace(job, jena=csv, split=split), scaler=scaler)
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
    remote = job.jena if job.jena is not None and is_remote(job.jena) else None
    if remote is not None or "url" in source:
        raise CheckpointError(
            f"This run was trained on data from the URL {remote or source.get('url')!r}; rnnkit predict never "
            "fetches a URL (or file:// path) named by a run directory. Pass --csv FILE: the CSV of that data, e.g. "
            "the one rnnkit cached when training (see RNNKIT_CACHE, default ~/.cache/rnnkit).")
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


def forecast_from_run(run_dir, csv: str | None = None, device: str = "cpu") -> pd.DataFrame:
    """One row per series and horizon step: the forecast in the target's own units; the model runs
    on ``device`` (a ``--device`` name, checked by :func:`~rnnkit.training.device.resolve_device`)."""
    where = resolve_device(device)
    model, job, cfg = load_forecaster(run_dir)
    prepared = _prepare_for_prediction(job, cfg, csv)
    model.to(where)
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
            y = model(x.unsqueeze(0).to(where)).cpu()
        qs = model.config.quantiles       # a quantile model's output has a last axis of quantiles
        if y.dim() == (4 if qs else 3):  # a seq2seq model: its outputs at every input step; the last is the forecast
            y = y[:, -1]
        y = prepared.inverse_target(y.reshape(job.horizon, -1).numpy())    # (horizon, 1 or n_quantiles)
        point = y[:, 0] if not qs else point_forecast(y, qs)
        last = prepared.times[b - 1]
        freq = prepared.times[b - 1] - prepared.times[b - 2] if b - a > 1 else pd.Timedelta(0)
        for h in range(job.horizon):
            rows.append({"series": prepared.groups[i], "last_observed": last,
                         "target_time": last + freq * (job.delay + h * job.step), "forecast": float(point[h]),
                         **{f"q{q:g}": float(y[h, k]) for k, q in enumerate(qs or ())}})
    for group, n in short:
        what = "The data" if group is None else f"Series {group!r}"
        after = " after its last gap longer than --max-gap" if job.max_gap else ""
        warnings.warn(f"{what} has {n} row(s){after}, fewer than the lookback of {job.lookback} rows the "
                      "model needs: no forecast for it. Give more recent rows.", stacklevel=2)
    if not rows:
        raise CheckpointError(f"No series in the data has the {job.lookback} rows this model needs"
                              f"{' after its last gap longer than --max-gap' if job.max_gap else ''}.")
    return pd.DataFrame(rows)
