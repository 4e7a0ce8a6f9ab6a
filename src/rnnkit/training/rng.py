"""Seeding and RNG state capture, so a resumed run continues exactly where it stopped.

    >>> import torch
    >>> from rnnkit.training.rng import seed_everything, capture_rng_state, restore_rng_state
    >>> seed_everything(0)
    >>> s = capture_rng_state()
    >>> a = torch.rand(2)
    >>> restore_rng_state(s)
    >>> bool(torch.equal(a, torch.rand(2)))
    True
"""
from __future__ import annotations

import random

import numpy as np
import torch

__all__ = ["seed_everything", "capture_rng_state", "restore_rng_state"]


def seed_everything(seed: int) -> None:
    """Seed torch (CPU and CUDA), numpy's global RNG and Python's ``random``."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def capture_rng_state(generator: torch.Generator | None = None) -> dict:
    """All RNG states a training run draws from: torch (CPU, and every CUDA GPU's once CUDA is in
    use), numpy, Python ``random`` and the shuffle ``generator``, as tensors and plain values
    (loadable with ``weights_only=True``)."""
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "python": {"version": version, "state": torch.tensor(internal, dtype=torch.int64),
                   "gauss": gauss},
        "numpy": {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached": float(cached)},
    }
    if generator is not None:
        state["generator"] = generator.get_state()
    if torch.cuda.is_initialized():         # dropout on a GPU draws from its own generator
        state["cuda"] = [s.cpu() for s in torch.cuda.get_rng_state_all()]
    return state


def restore_rng_state(state: dict, generator: torch.Generator | None = None) -> None:
    """Inverse of :func:`capture_rng_state` (the generator is restored in place)."""
    torch.set_rng_state(state["torch"])
    py = state["python"]
    random.setstate((py["version"], tuple(int(v) for v in py["state"].tolist()), py["gauss"]))
    n = state["numpy"]
    np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached"]))
    if generator is not None and "generator" in state:
        generator.set_state(state["generator"])
    cuda = state.get("cuda")
    if isinstance(cuda, list) and torch.cuda.is_initialized() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)  # the same GPUs: their dropout continues as it would have
