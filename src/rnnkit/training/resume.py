"""The trainer's checkpoint of every epoch and the checks that let ``--resume`` continue from it.

After each epoch :func:`save_checkpoint` writes ``checkpoints/last.pt``: the weights, the
optimiser, scheduler and early-stopping states, the RNG states (every rank's under torchrun) and
the history, with the fingerprint of the configuration. :func:`load_for_resume` reads it back as
untrusted input: it refuses a directory that is not a run, a checkpoint of another configuration
and fields of the wrong type, all before anything is written. Checkpoints load on the CPU
(``map_location``), whichever device wrote them; the optimiser moves its state to the model's.

    >>> import tempfile, torch
    >>> from rnnkit.training import Trainer, TrainConfig
    >>> batches = [(torch.randn(8, 3), torch.randn(8, 1))]
    >>> run = tempfile.mkdtemp() + "/run"
    >>> Trainer(torch.nn.Linear(3, 1), TrainConfig(epochs=2, quiet=True), run).fit(batches).rows[-1]["epoch"]
    2
    >>> again = Trainer(torch.nn.Linear(3, 1), TrainConfig(epochs=3, quiet=True), run)
    >>> again.fit(batches, resume=True).rows[-1]["epoch"]        # epoch 3 only: 1 and 2 come from the checkpoint
    3
"""
from __future__ import annotations

import json

from rnnkit.errors import CheckpointError
from rnnkit.training import distributed, manifest
from rnnkit.training.checkpoint import load_state, save_state
from rnnkit.training.config import diff_fingerprints, fingerprint_hash, train_fingerprint
from rnnkit.training.rng import capture_rng_state, restore_rng_state

__all__ = ["LAST", "BEST", "save_checkpoint", "load_for_resume"]

LAST, BEST = "checkpoints/last.pt", "checkpoints/best.safetensors"


def save_checkpoint(trainer, epoch: int, fp: dict) -> None:
    """Write ``checkpoints/last.pt`` for ``epoch`` (rank 0; every rank joins the gathers)."""
    extra = {}
    if trainer.dist is not None and trainer.run_dir is not None:   # every rank's RNG, for exact resume
        extra = {"world_size": trainer.dist.world_size,
                 "rng_ranks": trainer.dist.gather(capture_rng_state(trainer.generator))}
        carried = distributed.extra_states(trainer.model)    # e.g. each rank's streams' hidden state
        if carried:
            extra["extra_state_ranks"] = trainer.dist.gather(carried)
    if trainer._out is None:
        return
    save_state(trainer.run_dir / LAST, {**extra,
        "format": 1,
        "epoch": epoch,
        "config_hash": fingerprint_hash(fp),
        "fingerprint": fp,
        "model": trainer.model.state_dict(),
        "optimizer": trainer.optimizer.state_dict(),
        "scheduler": trainer.scheduler.state_dict() if trainer.scheduler else None,
        "early_stopping": trainer.early_stopping.state_dict() if trainer.early_stopping else None,
        "best_model": trainer.best_state,
        "stopped_early": trainer.stopped_early,
        "stop_reason": trainer.stop_reason,
        "rng": capture_rng_state(trainer.generator),
        "history": trainer.history.rows,
    })


def check_fresh_start(run_dir, fp: dict) -> None:
    """``resume`` without a checkpoint starts the run from epoch 1: only in a directory
    that holds nothing of value (a run killed before its first checkpoint, same config)."""
    done = [n for n in ("model.safetensors", "metrics.json") if (run_dir / n).exists()]
    if done:
        raise CheckpointError(
            f"Cannot resume the run in {run_dir}: it has no checkpoint ({LAST}) to continue from, "
            f"but holds the results of a run ({', '.join(done)}), which starting over would overwrite. "
            "Nothing was changed. Start a new run with a new --out directory.")
    cfg = run_dir / "config.json"
    if cfg.exists():
        try:
            old = json.loads(cfg.read_text(encoding="utf-8"))
            old_fp = train_fingerprint(old.pop("train"), old)    # normalised as fp is
        except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError):
            old_fp = {"run": "<unreadable config.json>"}  # not a run of this configuration
        if fingerprint_hash(old_fp) != fingerprint_hash(fp):
            diffs = diff_fingerprints(old_fp, fp)
            raise CheckpointError(
                f"Cannot resume the run in {run_dir}: its config.json differs from the current "
                f"configuration: {'; '.join(diffs) or 'unknown difference'}. Nothing was changed. Resume "
                "with the same configuration, or start a new run with a new --out directory.")


def load_for_resume(trainer, fp: dict, resume: bool) -> dict | None:
    """The checkpoint to continue from (its states restored into ``trainer``), or None for a
    fresh start; raises :class:`CheckpointError` (writing nothing) when neither is right."""
    run_dir = trainer.run_dir
    if run_dir is None:
        if resume:
            raise CheckpointError("resume=True needs a run directory: pass run_dir (--out).")
        return None
    if run_dir.exists() and not manifest.is_run_dir(run_dir) and (not run_dir.is_dir() or any(run_dir.iterdir())):
        raise manifest.not_a_run(run_dir)
    last = run_dir / LAST
    if not last.exists():
        if resume:
            check_fresh_start(run_dir, fp)
        return None
    if not resume:
        raise CheckpointError(
            f"{run_dir} already holds a training checkpoint ({LAST}). Pass resume=True "
            "(--resume) to continue that run, or choose a new --out directory.")
    state = load_state(last)
    manifest.verify(run_dir, [LAST])
    check_state_types(state, last)
    if state.get("config_hash") != fingerprint_hash(fp):
        diffs = diff_fingerprints(state.get("fingerprint", {}), fp)
        raise CheckpointError(
            f"Cannot resume the run in {run_dir}: its configuration differs from the "
            f"current one: {'; '.join(diffs) or 'unknown difference'}. Resume with the same "
            "configuration, or start a new run with a new --out directory.")
    _restore(trainer, state, last)
    return state


def _restore(trainer, state: dict, last) -> None:
    try:
        trainer.model.load_state_dict(state["model"])
        trainer.optimizer.load_state_dict(state["optimizer"])
        if trainer.scheduler is not None:
            trainer.scheduler.load_state_dict(state["scheduler"])
        if trainer.early_stopping is not None:
            trainer.early_stopping.load_state_dict(state["early_stopping"])
        restore_rng_state(state["rng"], trainer.generator)
        distributed.restore_rank_rng(trainer.dist, state, last, trainer.generator)
        distributed.restore_rank_extra_state(trainer.dist, state, last, trainer.model)
    except (KeyError, RuntimeError, ValueError, TypeError) as e:
        raise CheckpointError(f"Checkpoint {last} does not match this model or trainer "
                              f"({type(e).__name__}: {str(e)[:200]}). Start a new run with a "
                              "new --out directory.") from None
    trainer.best_state = state.get("best_model")
    trainer.stopped_early = bool(state.get("stopped_early"))


_STATE_TYPES = {"epoch": int, "history": list, "model": dict, "optimizer": dict, "rng": dict}


def check_state_types(state: dict, path) -> None:
    """A checkpoint read back is untrusted: every field the trainer uses has its type."""
    for key, kind in _STATE_TYPES.items():
        value = state.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise CheckpointError(
                f"Checkpoint {path} is not a valid rnnkit training checkpoint: its field {key!r} is "
                f"{type(value).__name__ if key in state else 'missing'}, expected {kind.__name__}. Start a new run "
                "with a new --out directory (or delete the checkpoints/ folder of this run).")
    if state["epoch"] < 0 or not all(isinstance(r, dict) for r in state["history"]):
        raise CheckpointError(f"Checkpoint {path} has a negative epoch or history rows that are not records. "
                              "Start a new run with a new --out directory.")
