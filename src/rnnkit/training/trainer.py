"""``Trainer``: the one training loop every rnnkit task reuses.

It fits a ``torch.nn.Module`` on an iterable of ``(x, y)`` batches with RMSprop or Adam, a
loss by name, gradient clipping, the sum of the model's ``penalty()`` terms (L1/L2 of rnnkit
layers), early stopping with best-weight restore, ReduceLROnPlateau or a cosine schedule to the
budget, a progress bar, and, given
a run directory, ``history.csv``, TensorBoard events, a loss-curve PNG, ``config.json``,
``model.safetensors`` and a checkpoint after every epoch from which ``resume=True`` continues
bit-for-bit.

    >>> import torch
    >>> from rnnkit.training import Trainer, TrainConfig
    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.randn(64, 3, generator=g); y = x.sum(1, keepdim=True)
    >>> batches = [(x[i:i + 16], y[i:i + 16]) for i in range(0, 64, 16)]
    >>> model = torch.nn.Linear(3, 1)
    >>> trainer = Trainer(model, TrainConfig(epochs=30, lr=0.05, loss="mse", quiet=True))
    >>> history = trainer.fit(batches, val_data=batches)
    >>> history.rows[-1]["val_loss"] < history.rows[0]["val_loss"]
    True
    >>> trainer.evaluate(batches, metrics=["mae"])["mae"] < 0.5
    True
"""
from __future__ import annotations

import copy
import functools
import time
from pathlib import Path
from typing import Callable, Sequence

import torch

from rnnkit.errors import DataError
from rnnkit.training import distributed, schedules, steps, stopping
from rnnkit.training.run_dir import RunDir
from rnnkit.training import resume as resume_
from rnnkit.training.resume import BEST, LAST  # noqa: F401  (names kept here for callers)
from rnnkit.training.callbacks import Callback, EarlyStopping
from rnnkit.training.checkpoint import atomic_write_json, save_weights
from rnnkit.training.device import resolve_device
from rnnkit.training.config import TrainConfig, config_fingerprint
from rnnkit.training.history import History
from rnnkit.training.losses import make_loss
from rnnkit.training.metrics import accuracy, get_metric
from rnnkit.training.progress import format_epoch, print_line, progress_bar, stdout_is_tty
from rnnkit.training.rng import seed_everything
from rnnkit.training.plots import plot_history

__all__ = ["Trainer", "fit"]

ELEMENTWISE = ("mae", "l1", "mse", "huber", "bce", "bce_logits")


class Trainer:
    """Train, evaluate and predict with one model.

    Args:
        model: the ``torch.nn.Module``; called as ``model(*x)`` for a batch ``(x, y)``.
        config: a :class:`TrainConfig` (default ``TrainConfig()``); keyword ``overrides``
            replace its fields, e.g. ``Trainer(model, epochs=5, lr=1e-2)``.
        run_dir: directory for checkpoints, history, TensorBoard, plots, config and weights
            (see :mod:`rnnkit.training.runs`); None trains in memory only.
        run_config: JSON-serialisable description of the model and data. Written to
            ``config.json`` (with the training config under ``"train"``) and compared on resume.
        generator: the ``torch.Generator`` your shuffling uses (e.g.
            ``DataLoader(..., shuffle=True, generator=trainer.generator)``); by default one is
            created from ``config.seed``. Its state is checkpointed and restored on resume.
        callbacks: objects with ``on_epoch_end(trainer, epoch, logs)``, called after the
            epoch's checkpoint is written.

    Data passed to :meth:`fit` / :meth:`evaluate` / :meth:`predict` is a re-iterable of batches
    (a list, a DataLoader) or a callable ``f(epoch) -> iterable`` (epochs count from 1).

    Exact resume needs the shuffling to be reproducible from what the checkpoint holds: shuffle
    with ``trainer.generator`` (DataLoader ``generator=``), or derive the order from the epoch
    (a callable ``f(epoch)``, or an object with ``set_epoch(k)``, which the trainer calls with
    ``k = epoch - 1`` before each training pass, like ``rnnkit.data.WindowBatches``). The torch,
    numpy and Python global RNGs are checkpointed too (dropout draws from torch's).
    """

    def __init__(self, model: torch.nn.Module, config: TrainConfig | None = None, run_dir=None,
                 *, run_config: dict | None = None, generator: torch.Generator | None = None,
                 callbacks: Sequence[Callback] = (), **overrides):
        config = config or TrainConfig()
        if overrides:
            config = TrainConfig(**{**config.__dict__, **overrides})
        self.config = config
        # under torchrun: the process group (None in one process); see rnnkit.training.distributed
        self.device = resolve_device(config.device)      # "auto": CUDA, else MPS, else the CPU
        self.dist = distributed.context(self.device)
        if self.dist is not None:
            self.device = self.dist.device(self.device)
        self.model = model.to(self.device)
        self._step_model = self.dist.wrap(self.model) if self.dist is not None else self.model
        self.run_dir = Path(run_dir) if run_dir is not None else None
        # where files are written: rank 0 only (the other ranks read the run dir to resume)
        self._out = self.run_dir if self.dist is None or self.dist.is_main else None
        self.run_config = dict(run_config or {})
        self._own_generator = generator is None
        self.generator = generator if generator is not None else torch.Generator().manual_seed(config.seed)
        self.callbacks = list(callbacks)
        self.loss_fn = make_loss(config.loss, config.huber_delta, config.ignore_index)
        if isinstance(self.loss_fn, torch.nn.Module):
            self.loss_fn = self.loss_fn.to(self.device)
        self._elementwise = isinstance(config.loss, str) and config.loss.lower() in ELEMENTWISE
        self.history = History(None)
        self.optimizer = self._make_optimizer()
        self.scheduler = schedules.plateau(self.optimizer, config)     # per epoch; None without lr_patience
        self.early_stopping = EarlyStopping(config.patience, config.min_delta) if config.patience else None
        self.best_state: dict | None = None
        self.stopped_early = False
        self.stop_reason: str | None = None
        self.clock = time.perf_counter        # the epoch timer (tests put a fake clock here)

    # ------------------------------------------------------------------ building blocks
    def _make_optimizer(self) -> torch.optim.Optimizer:
        c, params = self.config, [p for p in self.model.parameters() if p.requires_grad]
        if c.optimizer == "adam":
            return torch.optim.Adam(params, lr=c.lr, betas=c.betas, eps=c.eps,
                                    weight_decay=c.weight_decay)
        if c.optimizer == "sgd":
            return torch.optim.SGD(params, lr=c.lr, weight_decay=c.weight_decay)
        return torch.optim.RMSprop(params, lr=c.lr, alpha=c.rho, eps=c.eps,
                                   weight_decay=c.weight_decay)

    def _metric_fns(self, names) -> dict[str, Callable]:
        fns = {}
        for n in names:
            fn = get_metric(n)
            if fn is accuracy:
                thr = 0.0 if self.config.loss == "bce_logits" else 0.5
                fn = functools.partial(accuracy, threshold=thr, ignore_index=self.config.ignore_index)
            fns[n if isinstance(n, str) else getattr(n, "__name__", "metric")] = fn
        return fns

    def _model_device(self) -> torch.device:
        """Where the model's weights are now: evaluation and prediction bring batches (and a loss
        module's tensors) there, so a model a task moved to the CPU after training on a GPU works."""
        p = next(self.model.parameters(), None)
        return self.device if p is None else p.device

    def _path(self, rel: str) -> Path:
        return self.run_dir / rel

    def _count(self, y: torch.Tensor) -> int:
        """What a mean loss averages over in ``y``: samples, or non-ignored tokens for cross-entropy (and
        for a callable loss marked ``mean_over_tokens``, e.g. a CRF tagger's)."""
        if self.config.loss in ("cross_entropy", "ce") or getattr(self.config.loss, "mean_over_tokens", False):
            return int((y != self.config.ignore_index).sum())
        return y.shape[0] if y.ndim else 1

    # ------------------------------------------------------------------ one epoch
    def _train_epoch(self, data, epoch: int, show_bar: bool) -> float:
        c, model = self.config, self.model
        model.train()
        total, count = 0.0, 0
        it = steps.batches(data, epoch, training=True)
        if self.dist is not None:   # items become (batch, loss weight, samples counted)
            it = self.dist.train_batches(it, self._count)
        n_batches = len(it) if hasattr(it, "__len__") else None
        if c.steps_per_epoch and n_batches is not None:
            n_batches = min(n_batches, c.steps_per_epoch)
        bar = progress_bar(it, n_batches, f"epoch {epoch}/{c.epochs}", show_bar)
        try:
            for i, batch in enumerate(bar):
                if c.steps_per_epoch and i >= c.steps_per_epoch:
                    break
                batch, weight, n = batch if self.dist is not None else (batch, None, None)
                x, y = steps.split_batch(batch, self.device)
                if c.lr_schedule == "cosine":
                    self._set_lr(epoch, i, n_batches)
                self.optimizer.zero_grad(set_to_none=True)
                pred = steps.forward(self._step_model, x)
                steps.check_shapes(pred, y, self._elementwise)
                loss = self.loss_fn(pred, y)
                penalty = steps.collect_penalty(model)
                scaled = loss if weight is None else loss * weight
                (scaled if penalty is None else scaled + penalty).backward()
                if c.clip_value is not None:
                    torch.nn.utils.clip_grad_value_(model.parameters(), c.clip_value)
                if c.clip_norm is not None:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), c.clip_norm)
                self.optimizer.step()
                value = loss.item()
                steps.finite_or_raise(value, epoch, i)
                if n is None:
                    n = y.shape[0] if y.ndim else 1
                total, count = total + value * n, count + n
                if show_bar:
                    bar.set_postfix(loss=f"{total / max(count, 1):.4f}", refresh=False)
        finally:
            if show_bar:
                bar.close()
        if self.dist is not None:
            total, count = self.dist.sum(total, count)
        if count == 0:
            raise DataError(f"The training data yielded no batch in epoch {epoch}. Pass a "
                            "re-iterable (a list or a DataLoader), not a one-shot generator, or "
                            "a callable f(epoch) returning a fresh iterable.")
        return total / count

    @torch.no_grad()
    def _run_eval(self, data, metrics: dict[str, Callable], max_steps=None, epoch: int = 0):
        self.model.eval()
        device = self._model_device()
        loss_fn = self.loss_fn.to(device) if isinstance(self.loss_fn, torch.nn.Module) else self.loss_fn
        total, count, preds, targets = 0.0, 0, [], []
        it = steps.batches(data, epoch)
        if self.dist is not None:   # batch i on rank i % world_size (stream data: each rank its streams)
            it, max_steps = self.dist.eval_batches(it, max_steps, self._count), None
        for i, item in enumerate(it):
            if max_steps and i >= max_steps:
                break
            batch, n = item if self.dist is not None else (item, None)
            x, y = steps.split_batch(batch, device)
            pred = steps.forward(self.model, x)
            steps.check_shapes(pred, y, self._elementwise)
            if n is None:
                n = y.shape[0] if y.ndim else 1
            total, count = total + loss_fn(pred, y).item() * n, count + n
            if metrics:
                preds.append(pred.cpu())
                targets.append(y.cpu())
        if self.dist is not None:
            total, count = self.dist.sum(total, count)
            if metrics:
                parts = self.dist.gather((preds, targets))
                preds, targets = [t for p, _ in parts for t in p], [t for _, t in parts for t in t]
        if count == 0:
            raise DataError("The evaluation data yielded no batch.")
        out = {"loss": total / count}
        if metrics:
            p, t = torch.cat(preds), torch.cat(targets)
            out.update({name: float(fn(p, t)) for name, fn in metrics.items()})
        return out

    # ------------------------------------------------------------------ public API
    def evaluate(self, data, metrics: Sequence[str | Callable] | None = None) -> dict[str, float]:
        """Mean loss over ``data`` (eval mode, no gradients) and the given metrics computed on
        all predictions at once, in the model's output units: ``{"loss": ..., "mae": ...}``.
        Under torchrun the batches are shared out and reduced: call it on every rank (or use
        :meth:`predict`, which each rank runs alone on all the data)."""
        names = self.config.metrics if metrics is None else metrics
        return self._run_eval(data, self._metric_fns(names))

    @torch.no_grad()
    def predict(self, data) -> torch.Tensor:
        """Concatenated predictions (CPU) over batches ``(x, y)`` (``y`` ignored) or bare
        input Tensors, in eval mode."""
        self.model.eval()
        device = self._model_device()
        outs = [steps.forward(self.model, steps.split_batch(b, device, with_target=False)[0]).cpu()
                for b in steps.batches(data, 0)]
        if not outs:
            raise DataError("The prediction data yielded no batch.")
        return torch.cat(outs)

    def fit(self, train_data, val_data=None, resume: bool = False) -> History:
        """Train for ``config.epochs`` epochs (fewer with early stopping) and return the
        :class:`History`.

        With a ``run_dir``: ``resume=False`` refuses a directory that already holds a
        checkpoint; ``resume=True`` continues from ``checkpoints/last.pt`` (or starts fresh
        when there is none) and, with the same data and config, ends with exactly the weights
        of an uninterrupted run. Everything is checked before anything is written, so a failing
        resume leaves the directory as it was.
        """
        c = self.config
        fp = config_fingerprint(c, self.run_config)
        start, rows = self._start(fp, resume)   # may raise, writes nothing
        if self.dist is not None:
            self.dist.barrier()     # every rank has checked the run dir before rank 0 writes
        if self._out is not None:
            RunDir.claim(self._out)      # this process writes the run: its lock, its manifest
            atomic_write_json(self._path("config.json"),
                              {**self.run_config, "train": c.to_dict() | {"device": str(self.device)}})
        self.history = History(self._out, c.tensorboard, rows)
        quiet = c.quiet or (self.dist is not None and not self.dist.is_main)
        show_bar = not quiet and stdout_is_tty()
        metric_fns = self._metric_fns(c.metrics) if val_data is not None else {}
        self.stop_reason = stopping.resumed_stop(self.stopped_early, c.max_minutes, rows)
        try:
            for epoch in range(start, c.epochs + 1):
                if self.stop_reason in ("patience", "time"):
                    break
                row = self._epoch(epoch, train_data, val_data, metric_fns, show_bar)
                resume_.save_checkpoint(self, epoch, fp)
                if not quiet:
                    print_line(format_epoch(row, c.epochs), show_bar)
                for cb in self.callbacks:
                    cb.on_epoch_end(self, epoch, row)
            self.stop_reason = self.stop_reason or "epochs"
            self._finish()
            if not quiet:
                print_line(stopping.stop_message(self.stop_info(), c.monitor if val_data is not None else "loss",
                                                 c.epochs), show_bar)
        finally:
            self.history.close()
        return self.history

    def stop_info(self) -> dict:
        """How training ended, for ``metrics.json``: ``stop_reason`` (``"patience"``, ``"time"``
        or ``"epochs"``; see :mod:`rnnkit.training.stopping`), ``epochs_run``, ``train_minutes``,
        ``max_minutes``, ``device`` (the one this trainer used, e.g. ``"cpu"``, ``"cuda:0"``) and,
        with early stopping, ``best_epoch``, ``best_monitored`` and ``best_weights_restored``."""
        info = stopping.stop_info(self.stop_reason, self.history.rows, self.early_stopping,
                                  self.config.restore_best and self.best_state is not None, self.config.max_minutes)
        info["device"] = str(self.device)
        if self.config.monitor_mode == "max" and "best_monitored" in info:
            info["best_monitored"] = -info["best_monitored"]    # minimised negated
        return info

    # ------------------------------------------------------------------ internals of fit
    def _start(self, fp: dict, resume: bool) -> tuple[int, list]:
        """The first epoch to run and the history so far: a checkpoint's (restored into this
        trainer), or epoch 1 with every RNG seeded."""
        c = self.config
        state = resume_.load_for_resume(self, fp, resume)
        if state is not None:
            return state["epoch"] + 1, state["history"]
        seed_everything(c.seed)
        if self.dist is not None:   # each rank its own dropout draws; shuffling stays common
            torch.manual_seed((c.seed + self.dist.rank) % 2**63)
        if self._own_generator:
            self.generator.manual_seed(c.seed)
        return 1, []

    def _epoch(self, epoch: int, train_data, val_data, metric_fns, show_bar: bool) -> dict:
        """Train one epoch, validate, step the schedule and early stopping; the history row
        (appended to ``self.history``)."""
        c = self.config
        t0 = self._t0 = self.clock()
        times = [r.get("time", 0.0) for r in self.history.rows]     # the budget spent (resumes included)
        self._spent, self._last = sum(t for t in times if isinstance(t, (int, float))), (times or [0.0])[-1]
        lr = self.optimizer.param_groups[0]["lr"]
        row = {"epoch": epoch, "loss": self._train_epoch(train_data, epoch, show_bar)}
        if val_data is not None:
            ev = self._run_eval(val_data, metric_fns, c.val_steps, epoch)
            row["val_loss"] = ev.pop("loss")
            row.update({f"val_{k}": v for k, v in ev.items()})
        seconds = self.clock() - t0
        if c.max_minutes and self.dist is not None:     # rank 0's clock decides for every rank
            seconds = self.dist.broadcast(seconds)
        row.update(lr=lr, time=seconds)
        self._end_of_epoch(epoch, self._monitored(row))
        self.stop_reason = stopping.stop_reason(
            stopped_early=self.stopped_early, epoch=epoch, epochs=c.epochs, max_minutes=c.max_minutes,
            times=[r.get("time", 0.0) for r in self.history.rows] + [row["time"]])
        if self.stop_reason:
            row["stop"] = self.stop_reason
        self.history.append(row)
        return row

    def _set_lr(self, epoch: int, step: int, steps_: int | None) -> None:
        """``lr_schedule="cosine"``: this step's rate from the budget used (:mod:`.schedules`); under
        torchrun this epoch's time is counted by step from the last one's (the same on every rank)."""
        c, within = self.config, (step / steps_ if steps_ else 0.0)
        now = self.clock() - self._t0 if self.dist is None else within * float(self._last or 0.0)
        progress = schedules.budget_progress(epoch=epoch, epochs=c.epochs, step=step, steps=steps_,
                                             seconds=self._spent + now, max_minutes=c.max_minutes)
        for group in self.optimizer.param_groups:
            group["lr"] = c.lr * schedules.lr_factor(progress, c.lr_warmup, c.lr_floor)

    def _monitored(self, row: dict) -> float:
        """The value early stopping and the LR schedule minimise: ``config.monitor`` (negated for
        ``monitor_mode`` ``"max"``), the training loss without validation data."""
        if "val_loss" not in row:
            return row["loss"]
        value = row[self.config.monitor]
        return -value if self.config.monitor_mode == "max" else value

    def _end_of_epoch(self, epoch: int, monitored: float) -> None:
        if self.scheduler is not None:
            self.scheduler.step(monitored)
        if self.early_stopping is not None:
            stop = self.early_stopping.step(monitored, epoch)
            if self.early_stopping.improved:
                self.best_state = copy.deepcopy(self.model.state_dict())
                if self._out is not None:
                    save_weights(self._path(BEST), self.best_state)
            self.stopped_early = stop

    def _finish(self) -> None:
        if self.early_stopping is not None and self.config.restore_best and self.best_state:
            self.model.load_state_dict(self.best_state)
        if self._out is not None:
            save_weights(self._path("model.safetensors"), self.model)
            if self.history.rows:
                loss = self.config.loss if isinstance(self.config.loss, str) else "loss"
                plot_history(self._path("loss.png"), self.history, loss_label=f"loss ({loss})",
                             title=self.run_dir.name)


def fit(model: torch.nn.Module, train_data, val_data=None, config: TrainConfig | None = None,
        run_dir=None, resume: bool = False, **kwargs) -> Trainer:
    """Functional shortcut: build a :class:`Trainer`, fit it, return the trainer."""
    trainer = Trainer(model, config, run_dir, **kwargs)
    trainer.fit(train_data, val_data, resume=resume)
    return trainer
