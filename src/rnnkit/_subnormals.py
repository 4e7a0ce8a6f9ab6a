"""Subnormal floats flushed to zero for the length of a command, and the process's floating-point
mode as it was afterwards, on every thread.

Gradients that decay back through long windows reach subnormal floats, which Intel cores multiply
up to ~10x slower. A command flushes them while it runs (values below 1.2e-38 only). The mode is
per thread, and the workers of torch's OpenMP pool copy it from the thread that starts them: a
pool started inside the command would keep flushing for an in-process caller afterwards. So the
pool is started first, under the caller's own mode; inside the command the fused kernels flush on
the workers themselves (``csrc/ftz.h``).

>>> import torch
>>> with subnormals_flushed():
...     inside = float(torch.tensor([1e-40]) * 1.0)
>>> inside, float(torch.tensor([1e-40]) * 1.0) > 0
(0.0, True)
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

__all__ = ["subnormals_flushed", "flushing"]

_SUBNORMAL = 1e-40      # below float32's smallest normal, 1.18e-38


def flushing() -> bool:
    """Whether this thread flushes subnormal floats to zero now."""
    return float(torch.tensor([_SUBNORMAL]) * 1.0) == 0.0


def _start_thread_pool() -> None:
    # One element-wise op large enough for at::parallel_for to use every thread of the pool
    # (torch's grain is 32,768 elements): the workers start now, copying the caller's mode.
    torch.ones(1 << 17).mul_(1.0)


@contextlib.contextmanager
def subnormals_flushed() -> Iterator[None]:
    """Flush subnormals on this thread inside the block; the mode it had is restored after."""
    before = flushing()
    _start_thread_pool()
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(before)
