"""The Task contract and the one driver, :func:`run`.

A task (forecast, classify, tag, lm, translate, or one of your own) is a :class:`Task`: its
config dataclass and the pieces only it knows: ``prepare`` (data -> batches, vocabulary or
scaler), ``build`` (the model), ``evaluate`` (test metrics beside its baselines), ``report``,
``load``, ``predict`` and the name of its exporter. :func:`run` owns what every task shares:
the ranks under ``torchrun`` (only rank 0 prints, creates the run directory, evaluates and
writes), the run directory and its ``config.json`` (``{"task", "job", "model", ...}``), the
trainer, ``--resume``, saving and printing. The registry (:mod:`rnnkit.tasks.registry`) serves
the CLI, ``rnnkit predict``, :func:`rnnkit.load_model`, ``rnnkit export`` and ``rnnkit tune``.

The order of :func:`run` is fixed: ``prepare`` (every check and every read, before anything is
written), ``resolve`` (defaults chosen by the data), ``build`` (seeds and creates the model), ``fit_data``, the run directory (with
``files``), the trainer's ``fit``, ``after_fit``; then on rank 0 alone ``evaluate``, the saved
model and metrics, ``report``.

    >>> import torch
    >>> from dataclasses import dataclass
    >>> from rnnkit.tasks.options import option
    >>> from rnnkit.training import TrainConfig
    >>> @dataclass
    ... class MeanConfig:
    ...     epochs: int = option(1, "epochs")
    ...     quiet: bool = option(True, "quiet")
    ...     seed: int = option(0, "seed")
    ...     out: str | None = option(None, "run directory")
    ...     resume: bool = option(False, "resume", cli=False)
    ...     name: str = option("mean", "run name", cli=False)
    ...     def to_dict(self): return {"epochs": self.epochs}
    >>> class Mean(Task):
    ...     name, config_class = "mean", MeanConfig
    ...     def prepare(self, config, say, given=None):
    ...         return [(torch.ones(4, 1), torch.full((4, 1), 2.0))]
    ...     def build(self, config, data, log):
    ...         model = torch.nn.Linear(1, 1)
    ...         return model, model
    ...     def model_dict(self, model_config): return {}
    ...     def train_config(self, config, data, model_config, model):
    ...         return TrainConfig(epochs=config.epochs, quiet=True, tensorboard=False)
    ...     def fit_data(self, config, data, model, say): return data, data
    ...     def evaluate(self, config, data, model, trainer):
    ...         return {"test": {"loss": 0.0}}, None
    >>> import tempfile
    >>> sorted(run(Mean(), MeanConfig(out=tempfile.mkdtemp() + "/run")))
    ['run_dir', 'test', 'training']
"""
from __future__ import annotations

from typing import Any

import torch

from rnnkit.tasks.options import add_options, add_run_arguments, config_from_args
from rnnkit.training import Trainer, distributed, save_run
from rnnkit.training.device import resolve_device
from rnnkit.training.run_dir import RunDir

__all__ = ["Task", "run", "silent"]


def silent(*args, **kwargs) -> None:
    """A ``log`` that prints nothing (ranks other than 0, ``--quiet``)."""


class Task:
    """What a task provides; :func:`run` does the rest. Subclasses set :attr:`name` and
    :attr:`config_class` and implement the training pieces; :meth:`train` (the driver by default)
    may add what a task returns beside its metrics.

    Attributes:
        name: the task's name: its command, the ``"task"`` of its runs' ``config.json``.
        help: one line for ``rnnkit --help``.
        description: the paragraph at the top of ``rnnkit NAME --help`` (default: ``help``).
        config_class: its ``<Task>Config`` dataclass (fields made with
            :func:`rnnkit.tasks.options.option`; the CLI options are generated from it).
        exporter: the module of :mod:`rnnkit.export` exporting its runs to ONNX (a name: the
            export floor stands above the tasks), or None.
        tune: its :class:`rnnkit.tasks.tune_trial.TuneTask` when ``rnnkit tune NAME`` searches it.
        followable: its runs forecast a growing file row by row (``rnnkit predict --follow``).
    """

    name: str = ""
    help: str = ""
    description: str = ""
    config_class: type | None = None
    exporter: str | None = None
    tune: Any = None
    followable: bool = False

    # -- training: the pieces run() calls, in this order -------------------------------------
    def prepare(self, config, say, given=None):
        """Read and check the data (``given``: data a recipe passes instead of the config's
        source); nothing is written yet. Returns the task's data object."""
        raise NotImplementedError

    def resolve(self, config, data, say) -> tuple[Any, Any]:
        """``(config, data)`` with the defaults the data choose (e.g. the model for the data's kind
        and size) filled in and printed; the resolved config is the one saved as ``job``."""
        return config, data

    def build(self, config, data, log) -> tuple[torch.nn.Module, Any]:
        """``(model, model_config)``; seeds torch with the config's seed first."""
        raise NotImplementedError

    def job_dict(self, config) -> dict:
        """The ``"job"`` entry of ``config.json``: the config as JSON (``out``, ``quiet`` and
        ``resume`` are replaced by their defaults: they say how a run was started, not what it is)."""
        return config.to_dict()

    def model_dict(self, model_config) -> dict:
        """The ``"model"`` entry of ``config.json``."""
        return model_config.to_dict()

    def train_config(self, config, data, model_config, model):
        """The :class:`~rnnkit.training.TrainConfig` of the run (``model``: for a loss or a
        validation metric of the model's own, e.g. a CRF's likelihood and Viterbi decoding)."""
        raise NotImplementedError

    def fit_data(self, config, data, model, say) -> tuple:
        """``(train_batches, val_batches)`` for :meth:`rnnkit.training.Trainer.fit`."""
        raise NotImplementedError

    def files(self, config, data) -> dict[str, str]:
        """Text files written into a new run directory before training (vocabularies)."""
        return {}

    def run_config(self, config, data) -> dict:
        """Entries of ``config.json`` besides ``task``, ``job`` and ``model`` (``data``, ``source``)."""
        return {}

    def after_fit(self, config, model) -> None:
        """After training, on every rank (e.g. a stateful model forgets its state)."""

    def evaluate(self, config, data, model, trainer) -> tuple[dict, Any]:
        """``(metrics, details)``: metrics as saved in ``metrics.json`` (``val``, ``test`` beside
        the baselines), details for :meth:`report` (predictions for plots and tables)."""
        raise NotImplementedError

    def report(self, config, data, metrics: dict, details, run_dir, log, say) -> None:
        """Print the test table and write the task's plots and tables into ``run_dir``."""

    def train(self, config, log=print, given=None) -> dict:
        """The whole run: :func:`rnnkit.tasks.base.run` by default."""
        return run(self, config, log=log, given=given)

    # -- reading back and commands ------------------------------------------------------------
    def load(self, run_dir) -> torch.nn.Module:
        """The trained module of a run (its directory read as untrusted input)."""
        raise NotImplementedError

    def predict(self, args) -> int:
        """``rnnkit predict --run DIR ...`` for a run of this task."""
        raise NotImplementedError

    def add_commands(self, sub) -> None:
        """Add the task's commands to the ``rnnkit`` subparsers ``sub``; by default one command,
        ``rnnkit NAME``, whose options are generated from :attr:`config_class` (plus ``--resume``)."""
        p = sub.add_parser(self.name, help=self.help, description=self.description or self.help)
        add_options(p, self.config_class)
        add_run_arguments(p)
        p.set_defaults(func=self._train_command)

    def _train_command(self, args) -> int:
        self.train(config_from_args(self.config_class, args, resume=args.resume))
        return 0


def _create(task: Task, config, data):
    run = RunDir.create(config.name, config.out, exist_ok=config.resume)
    for name, text in task.files(config, data).items():
        run.write_text(name, text)
    return run.path


def run(task: Task, config, log=print, given=None) -> dict:
    """Train, evaluate and save one run of ``task`` with ``config``; returns
    ``{"run_dir": path, **metrics}`` (on ranks other than 0 under ``torchrun``: the run
    directory alone). ``log`` prints results (``say``, the progress lines, is silent with
    ``config.quiet``); ``given`` is data a recipe passes instead of the config's source."""
    if not distributed.is_main():           # torchrun: rank 0 prints
        log = silent
    say = silent if config.quiet else log
    resolve_device(getattr(config, "device", "cpu"))   # a device that is not here: refused before any read or write
    data = task.prepare(config, say, given)
    config, data = task.resolve(config, data, say)
    model, model_config = task.build(config, data, log)
    fit_data = task.fit_data(config, data, model, say)
    run_dir = distributed.on_main(lambda: _create(task, config, data))   # rank 0 creates, every rank gets the path
    run_config = {"task": task.name, "job": task.job_dict(config) | {"out": None, "quiet": False, "resume": False},
                  "model": task.model_dict(model_config), **task.run_config(config, data)}
    trainer = Trainer(model, task.train_config(config, data, model_config, model), run_dir, run_config=run_config)
    trainer.fit(*fit_data, resume=config.resume)
    model.cpu()                             # evaluated, saved and reported on the CPU, wherever it trained
    task.after_fit(config, model)
    if not distributed.is_main():           # rank 0 alone evaluates, writes and prints the results
        distributed.finish()
        return {"run_dir": str(run_dir)}
    metrics, details = task.evaluate(config, data, model, trainer)
    metrics["training"] = trainer.stop_info()
    save_run(run_dir, model, metrics=metrics)
    task.report(config, data, metrics, details, run_dir, log, say)
    say(f"run directory: {run_dir}")
    distributed.finish()
    return {"run_dir": str(run_dir), **metrics}

