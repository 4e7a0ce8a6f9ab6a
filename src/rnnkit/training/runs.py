"""Run directories: where a training run keeps its config, weights, metrics, history and plots.

Layout of ``runs/<name>-<YYYYmmdd-HHMMSS>/`` (or the ``--out DIR`` given)::

    manifest.json        marks the directory as rnnkit's; sha256 of every file below
    config.json          everything needed to rebuild the model and the data
    model.safetensors    final weights (the best ones when early stopping restored them)
    metrics.json         test metrics, baselines, ... (what the caller measured)
    history.csv          one row per epoch
    tensorboard/         TensorBoard event files
    checkpoints/         last.pt (training state), best.safetensors (best weights)
    *.png                plots

    >>> import tempfile, torch
    >>> from rnnkit.training.runs import create_run_dir, save_run, load_run
    >>> run = create_run_dir("demo", root=tempfile.mkdtemp())
    >>> run.name.startswith("demo-")
    True
    >>> save_run(run, torch.nn.Linear(2, 1), config={"hidden": 4}, metrics={"mae": 0.1})
    >>> sorted(load_run(run))
    ['config', 'metrics', 'weights']
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch

from rnnkit.training import manifest
from rnnkit.training.run_dir import RunDir
from rnnkit.training.checkpoint import atomic_write_json, read_weights, save_weights

__all__ = ["create_run_dir", "save_run", "load_run", "write_config", "write_metrics"]

CONFIG, WEIGHTS, METRICS = "config.json", "model.safetensors", "metrics.json"


def create_run_dir(name: str, out: str | os.PathLike | None = None,
                   root: str | os.PathLike = "runs", exist_ok: bool = False) -> Path:
    """The path of a new (or, with ``exist_ok``, reopened) run directory:
    :meth:`RunDir.create(...) <rnnkit.training.run_dir.RunDir.create>`, which takes its write lock
    and writes its manifest (see there for the arguments)."""
    return RunDir.create(name, out, root, exist_ok).path


def write_config(run_dir, config: dict) -> None:
    """Write ``config.json`` atomically (JSON-serialisable dict)."""
    atomic_write_json(Path(run_dir) / CONFIG, config)


def write_metrics(run_dir, metrics: dict) -> None:
    """Write ``metrics.json`` atomically."""
    atomic_write_json(Path(run_dir) / METRICS, metrics)


def save_run(run_dir, model: torch.nn.Module, config: dict | None = None,
             metrics: dict | None = None) -> None:
    """Write ``model.safetensors`` and, when given, ``config.json`` and ``metrics.json``,
    each atomically."""
    run_dir = Path(run_dir)
    if config is not None:
        write_config(run_dir, config)
    save_weights(run_dir / WEIGHTS, model)
    if metrics is not None:
        write_metrics(run_dir, metrics)


def load_run(run_dir) -> dict:
    """Read a run back: ``{"config": dict, "weights": dict[str, Tensor], "metrics": dict}``
    (metrics empty when absent). The files are checked against the run's manifest first
    (CheckpointError when one changed since rnnkit wrote it). Load the weights with ``model.load_state_dict(run["weights"])``
    after building the model from ``run["config"]``."""
    run = RunDir(RunDir.check_readable(run_dir))
    if manifest.is_run_dir(run.path):
        run.verify([CONFIG, WEIGHTS, METRICS])
    else:
        warnings.warn(f"{run.path} has no {manifest.MANIFEST} (a run from rnnkit 0.1.0 or older, or not made by "
                      "rnnkit): its files cannot be checked for corruption.", stacklevel=2)
    return {"config": run.read_json(CONFIG), "weights": read_weights(run / WEIGHTS),
            "metrics": run.read_json(METRICS, required=False)}
