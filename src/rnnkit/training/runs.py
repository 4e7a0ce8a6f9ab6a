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

import json
import os
import re
import time
import warnings
from pathlib import Path

import torch

from rnnkit.errors import CheckpointError, InvalidArgumentError
from rnnkit.training import manifest, run_lock
from rnnkit.training.checkpoint import atomic_write_json, read_weights, save_weights

__all__ = ["create_run_dir", "save_run", "load_run", "write_config", "write_metrics"]

CONFIG, WEIGHTS, METRICS = "config.json", "model.safetensors", "metrics.json"


_ORPHAN_TMP = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")     # atomic_write_bytes' temp files (tempfile.mkstemp)


def _remove_orphan_temp_files(path: Path) -> None:
    """Remove the temp files of atomic writes whose process was killed mid-write (``kill -9``
    leaves ``.manifest.json.k2j4x_9a.tmp``): this process holds the run's lock, so no writer is
    mid-write and each is an orphan. Called when a run directory is opened again (``--resume``)."""
    for p in path.rglob(".*.tmp"):
        if _ORPHAN_TMP.fullmatch(p.name) and p.is_file():
            try:
                p.unlink()
            except OSError:
                pass


def create_run_dir(name: str, out: str | os.PathLike | None = None,
                   root: str | os.PathLike = "runs", exist_ok: bool = False) -> Path:
    """Create and return the run directory, with its ``manifest.json`` (see
    :mod:`rnnkit.training.manifest`): rnnkit writes only into directories it created.
    This process takes the directory's write lock (:mod:`rnnkit.training.run_lock`) before
    anything there is written, and holds it until it ends (or ``run_lock.release``): a second
    writer gets :class:`~rnnkit.training.run_lock.RunLockedError`.

    Args:
        name: short run name, e.g. ``"jena-gru"`` (letters, digits, ``-_.``).
        out: explicit directory (``--out DIR``); when given, ``name`` and ``root`` are unused.
            It may be new or empty. An existing rnnkit run directory is refused unless
            ``exist_ok`` (used by ``--resume``); any other non-empty directory is always
            refused, and left as it was.
        root: parent of timestamped run directories (default ``runs``).
        exist_ok: accept an existing rnnkit run directory.
    """
    if out is not None:
        path = Path(out)
        _check_out(path, exist_ok)          # refusals first: a refused directory is not touched
        try:
            path.mkdir(parents=True, exist_ok=True)
            run_lock.hold(path)             # one writer: a second one is refused here, nothing changed
            _check_out(path, exist_ok)      # again, now that no other writer can change it
            manifest.claim(path)
            _remove_orphan_temp_files(path)
        except OSError as e:
            raise InvalidArgumentError.for_argument(
                "--out", str(path), "a directory rnnkit can create",
                f"Creating it failed: {e.strerror or e}. Choose a writable location.") from None
        return path
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name or ""):
        raise InvalidArgumentError.for_argument(
            "name", name, "a run name of letters, digits, '-', '_' or '.'")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(1000):
        path = root / (f"{name}-{stamp}" if i == 0 else f"{name}-{stamp}-{i}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        run_lock.hold(path)
        manifest.claim(path)
        return path
    raise CheckpointError(f"Could not create a fresh run directory under {root}.")  # pragma: no cover


def _check_out(path: Path, exist_ok: bool) -> None:
    """Why ``--out`` ``path`` cannot be written (an error), read-only: a file, a folder that is not
    rnnkit's, a finished run without ``exist_ok``, a run another process is writing."""
    if path.exists() and not path.is_dir():
        raise InvalidArgumentError.for_argument("out", str(path), "a directory",
                                                "It exists and is a file.")
    if path.is_dir() and not run_lock.held(path):
        run_lock.check_free(path)           # being written (maybe still being claimed) by another process
    if path.is_dir() and not manifest.unclaimed(path):
        if not manifest.is_run_dir(path):
            raise manifest.not_a_run(path)
        if manifest.has_content(path) and not exist_ok:
            raise CheckpointError(
                f"Run directory {path} already exists and is not empty. Pass a new --out "
                "directory, or --resume to continue the run that is there.")


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
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise CheckpointError(f"Run directory {run_dir} does not exist." if not run_dir.exists() else
                              f"{run_dir} is a file, not a run directory. Pass the directory `rnnkit forecast` "
                              "wrote (its --out).")

    def read_json(name, required):
        p = run_dir / name
        if not p.exists():
            if required:
                raise CheckpointError(f"{p} is missing: {run_dir} is not a complete rnnkit run.")
            return {}
        try:
            return json.loads(p.read_text(encoding="utf-8"))
        except (ValueError, RecursionError) as e:     # not UTF-8, not JSON, nested too deep, a huge number
            raise CheckpointError(f"{p} is not valid JSON ({str(e)[:200]}): {run_dir} is damaged or was not "
                                  "written by rnnkit. Retrain it, or pass another run directory.") from None

    if manifest.is_run_dir(run_dir):
        manifest.verify(run_dir, [CONFIG, WEIGHTS, METRICS])
    else:
        warnings.warn(f"{run_dir} has no {manifest.MANIFEST} (a run from rnnkit 0.1.0 or older, or not made by "
                      "rnnkit): its files cannot be checked for corruption.", stacklevel=2)
    return {"config": read_json(CONFIG, True), "weights": read_weights(run_dir / WEIGHTS),
            "metrics": read_json(METRICS, False)}
