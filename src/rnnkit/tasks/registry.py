"""The registry of tasks: one table serving the CLI, ``rnnkit predict``, :func:`rnnkit.load_model`,
``rnnkit export`` and ``rnnkit tune``. A new task is one module (a :class:`~rnnkit.tasks.base.Task`)
and one line in :data:`TASKS`.

    >>> sorted(TASKS)
    ['classify', 'forecast', 'lm', 'tag', 'translate']
    >>> get("forecast").exporter
    'onnx_forecast'
"""
from __future__ import annotations

import json
from pathlib import Path

from rnnkit.data._checks import shown
from rnnkit.errors import CheckpointError, InvalidArgumentError
from rnnkit.tasks import classify_cli, lm_cli, tag_cli, translate_cli
from rnnkit.tasks.base import Task
from rnnkit.tasks.forecast import FORECAST
from rnnkit.tasks.tune_classify import ClassifyTune
from rnnkit.tasks.tune_forecast import ForecastTune

__all__ = ["TASKS", "get", "run_task", "task_of"]

FORECAST.tune = ForecastTune()
classify_cli.TASK.tune = ClassifyTune()

TASKS: dict[str, Task] = {t.name: t for t in (
    FORECAST,
    classify_cli.TASK,
    tag_cli.TASK,
    lm_cli.TASK,
    translate_cli.TASK,
)}


def get(name: str) -> Task:
    """The registered task ``name`` (InvalidArgumentError naming the known ones otherwise)."""
    if name not in TASKS:
        raise InvalidArgumentError.for_argument("task", name, f"one of {', '.join(sorted(TASKS))}")
    return TASKS[name]


def run_task(run_dir) -> str:
    """The task a run records in ``config.json`` (``"forecast"`` when it names none: forecasting
    runs written before the task key). A file that cannot be read gives "forecast": that
    loader then reports the precise problem. A task this rnnkit does not know is refused
    (nothing is imported from a name a run directory chose)."""
    try:
        cfg = json.loads((Path(run_dir) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return "forecast"
    task = cfg.get("task", "forecast") if isinstance(cfg, dict) else "forecast"
    if not isinstance(task, str) or task not in TASKS:
        raise CheckpointError(
            f"{Path(run_dir) / 'config.json'} names the task {shown(task)}, which rnnkit does not know (tasks: "
            f"{', '.join(TASKS)}). The run directory was edited or written by another program.")
    return task


def task_of(run_dir) -> Task:
    """The registered task of the run in ``run_dir`` (see :func:`run_task`)."""
    return TASKS[run_task(run_dir)]
