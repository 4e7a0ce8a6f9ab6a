"""Hyperparameter search with Optuna: TPE sampling, median pruning after every epoch, a resumable
SQLite study inside the run directory, and one final run of the best configuration.

A task plugs in as a :class:`TuneTask` (``TASKS["forecast"]`` is the forecasting one; a task for
``rnnkit classify`` adds its own object with the same five methods). Trials train on the train
split and are scored on the validation split only: the test split is touched once, by the run of
the best configuration at the end. A study killed mid-way and resumed (``--resume``) ends as the
uninterrupted one would: the killed trial is run again with its parameters, each trial's sampler is
seeded by ``(seed, trial index)``, and the final run continues from its checkpoint.

The search space is text, one ``name=spec`` per parameter, comma-separated (see
:func:`parse_space`): ``lo:hi`` (uniform; integers when both bounds are), ``lo:hi:step``,
``lo:hi:log`` (log-uniform), ``a|b|c`` (choices; ``none`` is None).

    >>> space = parse_space("lookback=48:240:24,units=16:128:log,lr=1e-4:1e-2:log,resample=none|2h")
    >>> [(p.name, p.kind) for p in space]
    [('lookback', 'int'), ('units', 'int'), ('lr', 'float'), ('resample', 'choice')]
    >>> space[0].step, space[1].log, space[3].choices
    (24, True, [None, '2h'])
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from rnnkit.errors import InvalidArgumentError, RnnkitError
from rnnkit.tasks.tune_classify import ClassifyTune
from rnnkit.tasks.tune_forecast import FORECAST_SPACE, ForecastTune
from rnnkit.tasks.tune_trial import ReportToTrial, TuneTask, _optuna
from rnnkit.tasks import registry
from rnnkit.tasks.tune_report import trial_rows, format_table, plot_history, write_best
from rnnkit.training.checkpoint import atomic_write_json, atomic_write_text
from rnnkit.training.runs import create_run_dir
from rnnkit.training.distributed import env_world_size

__all__ = ["Param", "parse_space", "TuneTask", "TASKS", "ReportToTrial", "run_tune", "STUDY_FILE", "FORECAST_SPACE", "get_task"]

STUDY_FILE = "study.db"


@dataclass
class Param:
    """One searched parameter: ``kind`` is ``"int"``, ``"float"`` or ``"choice"``."""

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    choices: list = field(default_factory=list)

    def suggest(self, trial):
        if self.kind == "choice":
            return trial.suggest_categorical(self.name, self.choices)
        if self.kind == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high), step=int(self.step or 1), log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, step=self.step, log=self.log)


def _number(text: str):
    try:
        return int(text)
    except ValueError:
        return float(text)


def parse_space(text: str, allowed: Callable[[str], bool] = lambda name: True) -> list[Param]:
    """The parameters of a ``--space`` text; ``allowed(name)`` tells a known option."""
    out: list[Param] = []
    for part in [p.strip() for p in (text or "").split(",") if p.strip()]:
        name, sep, spec = part.partition("=")
        name = name.strip().replace("-", "_")

        def bad(expected, fix="e.g. lookback=48:240:24, units=16:128:log, resample=none|2h|3h"):
            return InvalidArgumentError.for_argument("--space", part, expected, fix)
        if not sep or not name or not spec.strip():
            raise bad("NAME=SPEC items")
        if not allowed(name):
            raise bad("a NAME that is an option of the task", f"`{name}` is not one; use the option's name "
                      "with underscores or dashes, e.g. recurrent_dropout.")
        if name in {p.name for p in out}:
            raise bad("each parameter once")
        spec = spec.strip()
        if "|" in spec or ":" not in spec:
            choices = [None if c.strip().lower() == "none" else _choice(c.strip()) for c in spec.split("|")]
            out.append(Param(name, "choice", choices=choices))
            continue
        bits = spec.split(":")
        if len(bits) not in (2, 3):
            raise bad("LOW:HIGH, LOW:HIGH:STEP or LOW:HIGH:log")
        try:
            low, high = _number(bits[0]), _number(bits[1])
            log = len(bits) == 3 and bits[2].strip().lower() == "log"
            step = None if len(bits) == 2 or log else _number(bits[2])
        except ValueError:
            raise bad("numbers for LOW, HIGH and STEP") from None
        if not (math.isfinite(low) and math.isfinite(high)) or not low < high:
            raise bad("LOW < HIGH")
        if log and low <= 0:
            raise bad("LOW > 0 for a log scale")
        if step is not None and not step > 0:
            raise bad("a positive STEP")
        kind = "int" if all(isinstance(v, int) for v in (low, high) + ((step,) if step is not None else ())) else "float"
        out.append(Param(name, kind, float(low), float(high), step, log))
    return out


def _choice(text: str):
    try:
        return _number(text)
    except ValueError:
        return text


def _open_study(run_dir: Path, resume: bool, seed: int):
    optuna = _optuna()
    optuna.logging.set_verbosity(optuna.logging.ERROR)   # rnnkit logs each trial itself
    db = run_dir / STUDY_FILE
    if db.exists() and not resume:
        raise RnnkitError(f"{run_dir} already holds a study ({STUDY_FILE}). Pass --resume to continue it, or a "
                          "new --out directory.")
    storage = f"sqlite:///{db.resolve().as_posix()}"
    return optuna.create_study(
        study_name="rnnkit-tune", storage=storage, load_if_exists=True, direction="minimize",
        sampler=_sampler(seed, 0), pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1))


def _sampler(seed: int, index: int):
    """The sampler of the study's ``index``-th trial (retries of interrupted trials not counted),
    seeded by ``(seed, index)``: a study resumed after a kill draws what the uninterrupted one
    would have (one sampler seeded once would restart its random stream at the resume)."""
    return _optuna().samplers.TPESampler(seed=(seed * 1_000_003 + index) % 2**32, n_startup_trials=5)


def _requeue_interrupted(study, names) -> int:
    """A trial killed or interrupted mid-way (RUNNING, or FAIL marked ``interrupted``) is run
    again on resume, with the same parameters (those it had drawn; a trial killed before it drew
    them all draws them again, alike: see :func:`_sampler`); returns how many. Killed anywhere in
    here, the next resume still retries each such trial once."""
    TrialState = _optuna().trial.TrialState
    done = set(study.user_attrs.get("requeued", []))
    again = []
    for t in study.get_trials(deepcopy=False):
        if t.number in done:
            continue
        if t.state == TrialState.RUNNING:
            study._storage.set_trial_user_attr(t._trial_id, "interrupted", True)
            study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
            again.append(t)
        elif t.state == TrialState.FAIL and t.user_attrs.get("interrupted"):
            again.append(t)
    if again:
        study.set_user_attr("requeued", sorted(done | {t.number for t in again}))
    for t in again:
        study.enqueue_trial(t.params if set(t.params) == set(names) else {}, user_attrs={"retry_of": t.number})
    return len(again)


def _cast(p: Param, v: float):
    return int(v) if p.kind == "int" else float(v)


def _trial_line(t) -> str:
    why = t.system_attrs.get("fail_reason", "") if t.state.name == "FAIL" else ""
    value = "" if t.value is None else f" {t.value:.4f}"
    return f"trial {t.number}: {t.state.name.lower()}{value}{' (' + why.splitlines()[-1][:300] + ')' if why else ''}"


def _counted(study) -> int:
    """Trials that count towards ``--trials``: finished ones (complete, pruned, or failed with an
    error), not those interrupted or killed (they are run again on resume)."""
    TrialState = _optuna().trial.TrialState
    requeued = set(study.user_attrs.get("requeued", []))
    return sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL) and t.number not in requeued
               and not t.user_attrs.get("interrupted") for t in study.get_trials(deepcopy=False))


def _optimize(study, objective, trials: int, seed: int, timeout: float | None, log) -> None:
    """Run trials one at a time until ``trials`` count, each with its own seeded sampler."""
    deadline = None if timeout is None else time.monotonic() + timeout
    for _ in range(trials):
        index = _counted(study)
        if index >= trials or (deadline is not None and time.monotonic() >= deadline):
            return
        study.sampler = _sampler(seed, index)
        study.optimize(objective, n_trials=1, catch=(RnnkitError,), gc_after_trial=True,
                       callbacks=[lambda s, t: log(_trial_line(t))])


def _checked_params(task: TuneTask, base_job, trials, space, timeout, log) -> list:
    """The parameters of ``--space``, every choice and both ends of each range checked as options
    (before anything is written); refuses torchrun, a bad ``--trials`` or ``--timeout``."""
    if env_world_size() > 1:
        raise RnnkitError("rnnkit tune runs its trials one after another in one process; start it without torchrun "
                          "(train the best configuration under torchrun with the command it prints).")
    if not isinstance(trials, int) or isinstance(trials, bool) or trials < 1:
        raise InvalidArgumentError.for_argument("--trials", trials, "a positive number of trials")
    if timeout is not None and not timeout > 0:
        raise InvalidArgumentError.for_argument("--timeout", timeout, "a positive number of seconds")
    params = parse_space(space if space is not None else task.default_space, task.allowed)
    if not params:
        raise InvalidArgumentError.for_argument("--space", space, "at least one NAME=SPEC",
                                                f"e.g. --space {task.default_space}")
    for p in params:
        for value in p.choices if p.kind == "choice" else (_cast(p, p.low), _cast(p, p.high)):
            task.apply(base_job, {p.name: value})
    defaults = type(base_job)()
    given = [p.name for p in params if getattr(base_job, p.name) != getattr(defaults, p.name)]
    if given:
        log(f"note: --space searches {', '.join(given)}: the value(s) given as options are not used")
    return params


def _objective(task: TuneTask, base_job, params):
    """One trial: the job with the trial's parameters, trained; its attributes recorded."""
    def objective(trial):
        t0 = time.perf_counter()
        try:
            job = task.apply(base_job, {p.name: p.suggest(trial) for p in params})
            result = task.train(job, trial)
        except KeyboardInterrupt:
            trial.set_user_attr("interrupted", True)
            raise
        trial.set_user_attr("seconds", round(time.perf_counter() - t0, 2))
        for k, v in result.items():
            if k != "value":
                trial.set_user_attr(k, v)
        return result["value"]
    return objective


def run_tune(task: TuneTask, base_job, *, trials: int, space: str | None, out=None, resume: bool = False,
             timeout: float | None = None, seed: int = 0, final: bool = True, log=print) -> dict:
    """Search ``trials`` trials (counting those of a resumed study), then run the best job once.

    Returns ``{"run_dir", "best_params", "best_value", "best_job", "command", "final"}``."""
    _optuna()                                   # a missing optuna is named before anything is written
    params = _checked_params(task, base_job, trials, space, timeout, log)
    run_dir = create_run_dir(f"tune-{task.name}", out, exist_ok=resume)
    study = _open_study(run_dir, resume, seed)
    if resume:
        again = _requeue_interrupted(study, [p.name for p in params])
        if again:
            log(f"resume: {again} interrupted trial(s) run again with their parameters")
    remaining = trials - _counted(study)
    if remaining > 0:
        log(f"tune {task.name}: {remaining} trial(s) into {run_dir / STUDY_FILE}")
        _optimize(study, _objective(task, base_job, params), trials, seed, timeout, log)
    result = _best(task, base_job, study, params, run_dir, log)
    if final:
        log("\nthe best configuration on the test split (its only use):")
        result["final"] = task.final(result["best_job"], run_dir / "best", resume=resume)
        atomic_write_json(run_dir / "final_metrics.json", result["final"])
    return result


def _best(task: TuneTask, base_job, study, params, run_dir, log) -> dict:
    """The trials' table and plot, and the best trial's job and command, written into ``run_dir``."""
    rows = trial_rows(study, params)
    value_name = getattr(task, "value_name", "val value")
    table = format_table(rows, params, value_name)
    log(table)
    atomic_write_text(run_dir / "trials.txt", table + "\n")
    plot_history(run_dir / "optimization_history.png", rows, title=f"rnnkit tune {task.name}", value=value_name)
    try:
        best = study.best_trial
    except ValueError:
        raise RnnkitError(f"No trial of the study in {run_dir} completed (see the table above: every trial failed or "
                          "was pruned). Widen --space, or check the fixed options.") from None
    best_job = task.apply(base_job, best.params)
    command = task.command(best_job)
    write_best(run_dir, best.params, best_job, command, best.value, value_name)
    log(f"best trial {best.number}: {value_name} {best.value:.4f} with {best.params}\n"
        f"best configuration: {run_dir / 'best_config.json'}\n  {command}")
    return {"run_dir": str(run_dir), "best_params": best.params, "best_value": best.value,
            "best_job": best_job, "command": command, "final": None}


def get_task(name: str) -> TuneTask:
    """The tune task of the registered task ``name`` (its :attr:`~rnnkit.tasks.base.Task.tune`)."""
    tune = registry.TASKS[name].tune if name in registry.TASKS else None
    if tune is None:
        raise InvalidArgumentError.for_argument("task", name, f"one of {sorted(TASKS)}")
    return tune


# the registered tasks that ``rnnkit tune`` searches
TASKS: dict[str, Any] = {n: t.tune for n, t in registry.TASKS.items() if t.tune is not None}
