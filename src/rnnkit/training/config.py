"""``TrainConfig``: every knob of a training run, validated, JSON-serialisable.

Defaults follow the seed labs (Keras): RMSprop with learning rate 1e-3, ``rho`` 0.9 and
``eps`` 1e-7, MAE loss.

    >>> from rnnkit.training.config import TrainConfig
    >>> cfg = TrainConfig(epochs=5, optimizer="adam", clip_norm=1.0, patience=3)
    >>> cfg.lr, cfg.loss
    (0.001, 'mae')
    >>> TrainConfig(epochs=0)
    Traceback (most recent call last):
    ...
    rnnkit.errors.InvalidArgumentError: Received an invalid value for argument `epochs`, expected a positive integer, got 0.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Callable

from rnnkit.errors import InvalidArgumentError
from rnnkit.training.device import check_device_name
from rnnkit.training.losses import LOSSES
from rnnkit.training.metrics import get_metric
from rnnkit.training.schedules import SCHEDULES

__all__ = ["TrainConfig", "config_fingerprint", "diff_fingerprints"]

OPTIMIZERS = ("rmsprop", "adam", "sgd")
# Fields that do not change the trajectory of the weights: a resume may change them.
NOT_HASHED = ("epochs", "max_minutes", "quiet", "tensorboard", "device")


@dataclass
class TrainConfig:
    """Configuration of :class:`rnnkit.training.Trainer`.

    Args:
        epochs: maximum number of epochs (default 20).
        optimizer: ``"rmsprop"`` (default), ``"adam"`` or ``"sgd"`` (plain, no momentum: the
            word-level language models' lr 20 with clipping).
        lr: learning rate (default 1e-3).
        rho: RMSprop moving-average decay, torch's ``alpha`` (default 0.9, as Keras).
        eps: optimizer epsilon (default 1e-7, as Keras; torch's default is 1e-8).
        betas: Adam betas (default (0.9, 0.999)).
        weight_decay: optimizer weight decay (default 0.0). Prefer layer ``penalty()`` for L1/L2.
        loss: ``"mae"`` (default), ``"mse"``, ``"huber"``, ``"bce"``, ``"bce_logits"``,
            ``"cross_entropy"`` or a callable ``loss(pred, target)``.
        huber_delta: Huber threshold (default 1.0).
        ignore_index: target id skipped by ``cross_entropy`` and ``accuracy`` (default -100).
        metrics: extra validation metrics logged as ``val_<name>`` (e.g. ``("mae", "rmse")``).
        clip_norm: clip the global gradient norm to this value (default None = off).
        clip_value: clip each gradient element to ``[-clip_value, clip_value]`` (default None).
        patience: early stopping after this many epochs without improvement of ``val_loss``
            (of the training ``loss`` when there is no validation data) (default None = off).
        min_delta: smallest change counted as an improvement (default 0.0).
        monitor: what ``patience``, ``restore_best`` and ``lr_patience`` follow: ``"val_loss"``
            (default; the training loss without validation data) or ``"val_<metric>"`` of one of
            ``metrics``, with ``monitor_mode`` ``"max"`` when higher is better (e.g. a tagger's
            entity F1).
        monitor_mode: ``"min"`` (default) or ``"max"``.
        restore_best: at the end, load the weights of the best epoch (default True; only
            with ``patience``).
        lr_patience: ReduceLROnPlateau patience in epochs, on the same monitored loss
            (default None = off; 0 drops the rate after the first epoch without progress).
        lr_factor: ReduceLROnPlateau factor (default 0.1).
        min_lr: ReduceLROnPlateau lower bound (default 0.0).
        lr_schedule: ``"plateau"`` (default: the rate stays at ``lr`` unless ``lr_patience`` drops it)
            or ``"cosine"``: set at every step from the fraction of the budget used, a linear
            warmup over ``lr_warmup`` of it then a cosine down to ``lr * lr_floor`` when the budget
            ends; the budget is the epochs, or ``max_minutes`` of training time when that ends first
            (:mod:`rnnkit.training.schedules`). Not with ``lr_patience``.
        lr_warmup: the cosine schedule's warmup, a fraction of the budget in [0, 1) (default 0.02).
        lr_floor: the cosine schedule's last rate, a fraction of ``lr`` in [0, 1] (default 0.1).
        max_minutes: training-time budget of the whole run, resumes included (default None = none):
            training stops after the first epoch that ends past it (see
            :mod:`rnnkit.training.stopping`). Not part of the resume fingerprint: resuming a run
            stopped by time with a larger budget continues it.
        steps_per_epoch: take at most this many training batches per epoch (default None = all).
        val_steps: take at most this many validation batches (default None = all).
        seed: seeds torch, numpy, ``random`` and the shuffle generator (default 0).
        device: ``"auto"`` (default: a CUDA GPU, else Apple MPS, else the CPU), ``"cpu"``,
            ``"cuda"``, ``"cuda:N"`` or ``"mps"`` (:mod:`rnnkit.training.device`). Not part of the
            resume fingerprint: a run may continue on another device.
        quiet: print nothing (default False).
        tensorboard: write TensorBoard event files in the run directory (default True).
    """

    epochs: int = 20
    optimizer: str = "rmsprop"
    lr: float = 1e-3
    rho: float = 0.9
    eps: float = 1e-7
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    loss: str | Callable = "mae"
    huber_delta: float = 1.0
    ignore_index: int = -100
    metrics: tuple[str, ...] = field(default_factory=tuple)
    clip_norm: float | None = None
    clip_value: float | None = None
    patience: int | None = None
    min_delta: float = 0.0
    restore_best: bool = True
    monitor: str = "val_loss"
    monitor_mode: str = "min"
    lr_patience: int | None = None
    lr_factor: float = 0.1
    min_lr: float = 0.0
    lr_schedule: str = "plateau"
    lr_warmup: float = 0.02
    lr_floor: float = 0.1
    max_minutes: float | None = None
    steps_per_epoch: int | None = None
    val_steps: int | None = None
    seed: int = 0
    device: str = "auto"
    quiet: bool = False
    tensorboard: bool = True

    def __post_init__(self):
        check_device_name(self.device)

        def positive_int(name, optional=False):
            v = getattr(self, name)
            if optional and v is None:
                return
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise InvalidArgumentError.for_argument(
                    name, v, "a positive integer" + (" or None" if optional else ""))

        def positive(name, optional=False, zero_ok=False):
            v = getattr(self, name)
            if optional and v is None:
                return
            ok = isinstance(v, (int, float)) and not isinstance(v, bool) and (
                v >= 0 if zero_ok else v > 0)
            if not ok:
                raise InvalidArgumentError.for_argument(
                    name, v, ("a number >= 0" if zero_ok else "a positive number")
                    + (" or None" if optional else ""))

        positive_int("epochs")
        for n in ("patience", "steps_per_epoch", "val_steps"):
            positive_int(n, optional=True)
        if self.lr_patience is not None and (isinstance(self.lr_patience, bool) or not isinstance(
                self.lr_patience, int) or self.lr_patience < 0):
            raise InvalidArgumentError.for_argument("lr_patience", self.lr_patience, "an integer >= 0 or None")
        for n in ("lr", "eps", "huber_delta"):
            positive(n)
        for n in ("clip_norm", "clip_value", "max_minutes"):
            positive(n, optional=True)
        for n in ("weight_decay", "min_delta", "min_lr"):
            positive(n, zero_ok=True)
        self.optimizer = str(self.optimizer).lower()
        if self.optimizer not in OPTIMIZERS:
            raise InvalidArgumentError.for_argument("optimizer", self.optimizer, f"one of {OPTIMIZERS}")
        if not 0 < self.rho < 1:
            raise InvalidArgumentError.for_argument("rho", self.rho, "a number in (0, 1)")
        if not 0 < self.lr_factor < 1:
            raise InvalidArgumentError.for_argument("lr_factor", self.lr_factor, "a number in (0, 1)")
        self._check_schedule()
        if not callable(self.loss) and str(self.loss).lower() not in LOSSES + ("ce",):
            raise InvalidArgumentError.for_argument(
                "loss", self.loss, f"one of {list(LOSSES)} or a callable loss(pred, target)")
        if isinstance(self.metrics, str):
            self.metrics = (self.metrics,)
        self.metrics = tuple(self.metrics)
        for m in self.metrics:
            get_metric(m)
        names = ["val_" + (m if isinstance(m, str) else getattr(m, "__name__", "metric")) for m in self.metrics]
        if self.monitor != "val_loss" and self.monitor not in names:
            raise InvalidArgumentError.for_argument("monitor", self.monitor, f"'val_loss' or one of {names}")
        if self.monitor_mode not in ("min", "max"):
            raise InvalidArgumentError.for_argument("monitor_mode", self.monitor_mode, "'min' or 'max'")
        self.betas = tuple(self.betas)
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or not 0 <= self.seed < 2**63:
            raise InvalidArgumentError.for_argument("seed", self.seed, "an integer in [0, 2**63)",
                                                    "torch seeds are 64-bit integers; pass a smaller --seed.")

    def _check_schedule(self) -> None:
        if self.lr_schedule not in SCHEDULES:
            raise InvalidArgumentError.for_argument("lr_schedule", self.lr_schedule, f"one of {SCHEDULES}")
        for name, top, closed in (("lr_warmup", 1.0, False), ("lr_floor", 1.0, True)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (0 <= v <= top if closed else 0 <= v < top):
                raise InvalidArgumentError.for_argument(name, v, f"a number in [0, 1{']' if closed else ')'}")
        if self.lr_schedule == "cosine" and self.lr_patience is not None:
            raise InvalidArgumentError.for_argument(
                "lr_patience", self.lr_patience, "None with lr_schedule='cosine'",
                "Both would set the learning rate: pass lr_patience=None, or lr_schedule='plateau'.")

    def to_dict(self) -> dict:
        """JSON-ready dict (a callable loss/metric is stored by its name)."""
        return json.loads(json.dumps(dataclasses.asdict(self), default=_name))


# keys that only bound the training time or say where it runs, left out of the fingerprint
# wherever the run config holds them (a task's job, a schedule chosen by the data size), as the
# TrainConfig's own are: a resume may extend the budget or move to another device
BUDGET = ("epochs", "max_minutes", "device")


def _without_budget(value):
    if isinstance(value, dict):
        return {k: _without_budget(v) for k, v in value.items() if k not in BUDGET}
    return value


def _name(obj: Any) -> str:
    return getattr(obj, "__qualname__", None) or type(obj).__qualname__


def config_fingerprint(config: TrainConfig, run_config: dict | None = None) -> dict:
    """The settings a resumed run must share with the original: the run config plus every
    :class:`TrainConfig` field except ``epochs``, ``quiet`` and ``tensorboard``."""
    return train_fingerprint(config.to_dict(), run_config)


def train_fingerprint(train: dict, run_config: dict | None = None) -> dict:
    """:func:`config_fingerprint` of a training config as a dict (e.g. ``config.json``'s ``"train"``)."""
    train = {k: v for k, v in train.items() if k not in NOT_HASHED}
    run_config = _without_budget(run_config or {})
    if train.get("monitor") == "val_loss" and train.get("monitor_mode") == "min":   # as before they existed
        del train["monitor"], train["monitor_mode"]
    if train.get("lr_schedule", "plateau") == "plateau":   # as before the schedules: the cosine's knobs unused
        for k in ("lr_schedule", "lr_warmup", "lr_floor"):
            train.pop(k, None)
    return json.loads(json.dumps({"run": run_config or {}, "train": train}, sort_keys=True,
                                 default=_name))


def fingerprint_hash(fp: dict) -> str:
    return hashlib.sha256(json.dumps(fp, sort_keys=True).encode()).hexdigest()


def diff_fingerprints(old: dict, new: dict, prefix: str = "") -> list[str]:
    """Human-readable differences ``"train.lr: 0.001 (checkpoint) != 0.01 (now)"``."""
    out = []
    for k in sorted(set(old) | set(new)):
        a, b = old.get(k, "<absent>"), new.get(k, "<absent>")
        if isinstance(a, dict) and isinstance(b, dict):
            out += diff_fingerprints(a, b, f"{prefix}{k}.")
        elif a != b:
            out.append(f"{prefix}{k}: {a!r} (checkpoint) != {b!r} (now)")
    return out
