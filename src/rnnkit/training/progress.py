"""Console output of a training run: a tqdm bar per epoch on a terminal, a one-line summary.

- ``quiet=True``: nothing is printed.
- stdout is a terminal: a progress bar per epoch, then the epoch summary line.
- stdout is not a terminal (log file, CI, pipe): only the one-line epoch summary.

    >>> from rnnkit.training.progress import format_epoch
    >>> format_epoch({"epoch": 3, "loss": 0.31234, "val_loss": 0.2999, "lr": 0.001, "time": 1.5}, 20)
    'epoch 3/20  loss 0.3123  val_loss 0.2999  lr 0.001  1.5s'
"""
from __future__ import annotations

import math
import sys
from typing import Iterable

__all__ = ["progress_bar", "format_epoch", "print_line", "stdout_is_tty"]


def stdout_is_tty() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def progress_bar(iterable: Iterable, total: int | None, desc: str, enabled: bool):
    """Wrap ``iterable`` in a tqdm bar when ``enabled`` (else return it unchanged)."""
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, leave=False, dynamic_ncols=True, unit="batch")


def format_epoch(row: dict, epochs: int) -> str:
    """The one-line summary of an epoch row."""
    parts = [f"epoch {row['epoch']}/{epochs}"]
    for k, v in row.items():
        if k in ("epoch", "time") or not isinstance(v, (int, float)) or math.isnan(v):
            continue
        parts.append(f"{k} {v:.4g}" if k == "lr" else f"{k} {v:.4f}")
    parts.append(f"{row.get('time', 0.0):.1f}s")
    return "  ".join(parts)


def print_line(text: str, bar_active: bool) -> None:
    """Print a line without breaking an active tqdm bar."""
    if bar_active:
        from tqdm.auto import tqdm

        tqdm.write(text)
    else:
        print(text, flush=True)
