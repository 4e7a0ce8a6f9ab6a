"""Memory estimated before it is allocated.

Every large thing a command is asked for (padded batches of texts, series or images, a model's
training state with its embedding and softmax layers, the logits of a softmax over a vocabulary,
a beam of hypotheses) is sized first; one that cannot fit is refused with one paragraph (exit 2)
giving the figure it would need, what is available and the option to change, instead of a numpy
or torch allocation error after minutes of work. The budget is half of this machine's memory.

    >>> check_fits(10 * 2**20, "a demo array", "Pass a smaller --demo.", budget=2**30)   # 10 MiB: fine
    >>> try:
    ...     check_fits(3 * 2**40, "padding 6,000 texts to 64,000,000 tokens", "Pass a smaller --maxlen.",
    ...                budget=2**33)
    ... except MemoryBudgetError as e:
    ...     print(e)
    Padding 6,000 texts to 64,000,000 tokens needs about 3.3 TB of memory; 8.6 GB is available (half of this machine's memory). Pass a smaller --maxlen.
    >>> import torch
    >>> parameters_of(lambda: torch.nn.Embedding(10**9, 1000))       # counted, never allocated
    1000000000000
"""
from __future__ import annotations

import os
from typing import Callable

from rnnkit.errors import InvalidArgumentError

__all__ = ["MemoryBudgetError", "budget_bytes", "check_fits", "parameters_of", "check_model", "size_text",
           "BYTES_PER_PARAMETER"]

# training state per parameter: float32 weight, gradient and Adam's two moments
BYTES_PER_PARAMETER = 16


class MemoryBudgetError(InvalidArgumentError):
    """A request that would not fit in memory."""


def budget_bytes() -> int | None:
    """Half of the machine's physical memory (None where it cannot be read)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return None


def size_text(n_bytes: float) -> str:
    """``3.3 TB``, ``512.0 MB``: decimal units, one decimal.

        >>> size_text(1.5e9), size_text(2e12)
        ('1.5 GB', '2.0 TB')
    """
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:,.1f} {unit}"
    return f"{int(n_bytes)} bytes"


def check_fits(need: float, what: str, fix: str, budget: int | None = None) -> None:
    """Raise :class:`MemoryBudgetError` when ``need`` bytes exceed ``budget`` (default
    :func:`budget_bytes`). ``what`` says what would be allocated, ``fix`` which option to change."""
    budget = budget_bytes() if budget is None else budget
    if budget is None or need <= budget:
        return
    raise MemoryBudgetError(
        f"{what[:1].upper()}{what[1:]} needs about {size_text(need)} of memory; {size_text(budget)} is available "
        f"(half of this machine's memory). {fix}")


def parameters_of(build: Callable) -> int:
    """The number of parameters of the module ``build()`` returns, built on torch's ``meta``
    device: shapes only, nothing allocated."""
    import torch
    with torch.device("meta"):
        module = build()
    return sum(p.numel() for p in module.parameters())


def check_model(build: Callable, describe: str, fix: str, budget: int | None = None) -> int:
    """Refuse a model whose training state (16 bytes per parameter) would not fit; returns its
    number of parameters. ``describe`` names the sizes that made it, ``fix`` the options."""
    n = parameters_of(build)
    check_fits(n * BYTES_PER_PARAMETER, f"training the model ({describe}: {n:,} parameters)", fix, budget)
    return n
