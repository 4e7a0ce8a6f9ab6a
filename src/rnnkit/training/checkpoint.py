"""Files of a run directory: atomic writes recorded in its manifest, model weights as
safetensors, and training-state checkpoints.

Every write goes through :mod:`rnnkit._io` (temporary file in the destination's directory,
fsync, :func:`os.replace`): a reader (or a run killed mid-write) sees the old file or the new
one, never half of one; inside a run directory the file's checksum goes into its manifest.

Model weights are stored as safetensors (no pickle). The training state (optimizer, scheduler,
early stopping, RNG states, epoch, history) is a dict of tensors and plain Python values
written with :func:`torch.save` and read back with ``torch.load(..., weights_only=True)``,
which refuses arbitrary pickled objects.

    >>> import tempfile, os, torch
    >>> from rnnkit.training.checkpoint import save_weights, load_weights
    >>> d = tempfile.mkdtemp()
    >>> m = torch.nn.Linear(3, 1)
    >>> save_weights(os.path.join(d, "model.safetensors"), m)
    >>> m2 = torch.nn.Linear(3, 1)
    >>> load_weights(os.path.join(d, "model.safetensors"), m2)
    >>> bool(torch.equal(m.weight, m2.weight))
    True
"""
from __future__ import annotations

import io
import os
import pickle
from pathlib import Path
from typing import Any

import torch

from rnnkit import _io
from rnnkit.errors import CheckpointError
from rnnkit.training import manifest
from rnnkit.training.run_dir import RunDir

__all__ = [
    "atomic_write_bytes", "atomic_write_text", "atomic_write_json",
    "save_weights", "load_weights", "read_weights", "weights_to_bytes",
    "save_state", "load_state",
]


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (:func:`rnnkit._io.atomic_write_bytes`).

    Inside a run directory this process has open (created or reopened, its lock held:
    :meth:`RunDir.owning <rnnkit.training.run_dir.RunDir.owning>`) the write is the run's
    :meth:`~rnnkit.training.run_dir.RunDir.write_bytes`, which records the file's sha256 in the
    manifest; anywhere else, nothing is recorded. A failed write (disk full, no permission...) leaves the old file as it was
    and raises :class:`~rnnkit.errors.StorageError` naming the file and the fix.
    """
    run = None if Path(path).name == manifest.MANIFEST else RunDir.owning(path)
    if run is None:
        _io.atomic_write_bytes(path, data)
    else:
        run.write_bytes(Path(os.path.abspath(path)), data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write a UTF-8 text file atomically (recorded in a run directory's manifest)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented, key-sorted JSON, atomically (recorded in a run directory's manifest)."""
    atomic_write_text(path, _io.json_text(obj))


# ---------------------------------------------------------------------------------------------
# model weights (safetensors)

def weights_to_bytes(state: dict[str, torch.Tensor] | torch.nn.Module) -> bytes:
    """Serialise a module's ``state_dict`` (or a dict of tensors) to safetensors bytes.
    Tied/shared tensors are stored once per name (copied), so loading works with either key."""
    from safetensors.torch import save

    if isinstance(state, torch.nn.Module):
        state = state.state_dict()
    tensors = {}
    for k, v in state.items():
        if not isinstance(v, torch.Tensor):
            raise CheckpointError(f"Cannot save `{k}` as safetensors: it is a {type(v).__name__}, "
                                  "not a tensor.")
        tensors[k] = v.detach().to("cpu").contiguous().clone()
    return save(tensors)


def save_weights(path: str | os.PathLike, model: torch.nn.Module | dict) -> None:
    """Save model weights to ``path`` as safetensors, atomically."""
    atomic_write_bytes(path, weights_to_bytes(model))


def read_weights(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read a safetensors file into a dict of CPU tensors; CheckpointError if it is unreadable."""
    from safetensors.torch import load

    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"Weights file {path} does not exist.") from None
    try:
        return load(data)
    except Exception as e:  # safetensors raises its own error types on a bad header
        raise CheckpointError(
            f"Weights file {path} is corrupt or truncated ({len(data)} bytes; {e}). "
            "Delete it and retrain, or point to another run directory.") from None


def load_weights(path: str | os.PathLike, model: torch.nn.Module, strict: bool = True) -> None:
    """Load safetensors weights from ``path`` into ``model`` (in place)."""
    state = read_weights(path)
    try:
        model.load_state_dict(state, strict=strict)
    except RuntimeError as e:
        raise CheckpointError(
            f"Weights in {path} do not fit this model: {e}. Build the model with the same "
            "configuration as the run (its config.json).") from None


# ---------------------------------------------------------------------------------------------
# training state (torch.save, loaded with weights_only=True)

def save_state(path: str | os.PathLike, state: dict) -> None:
    """Save a training-state dict (tensors and plain Python values only) atomically."""
    buf = io.BytesIO()
    torch.save(state, buf)
    atomic_write_bytes(path, buf.getvalue())


def load_state(path: str | os.PathLike) -> dict:
    """Load a training-state dict saved by :func:`save_state`, refusing arbitrary pickles."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"Checkpoint {path} does not exist.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if "weights_only" not in str(e).lower().replace(" ", "_"):
            raise _corrupt(path, e) from None
        raise CheckpointError(
            f"Checkpoint {path} holds Python objects other than tensors and plain values; rnnkit "
            "refuses to unpickle them (weights_only=True). It was not written by rnnkit: start "
            "a new run with a new --out directory.") from None
    except Exception as e:
        raise _corrupt(path, e) from None
    if not isinstance(state, dict) or "epoch" not in state:
        raise CheckpointError(f"Checkpoint {path} is not an rnnkit training checkpoint.")
    return state


def _corrupt(path: Path, e: Exception) -> CheckpointError:
    return CheckpointError(
        f"Checkpoint {path} is corrupt or truncated ({path.stat().st_size} bytes): "
        f"{type(e).__name__}: {str(e)[:200]}. Resume cannot continue from it: start a new run "
        "with a new --out directory (or delete the checkpoints/ folder of this run).")
