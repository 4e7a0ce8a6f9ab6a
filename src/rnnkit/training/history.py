"""Training history: one row per epoch, written to ``history.csv`` and TensorBoard.

The CSV is rewritten atomically from all rows each epoch (it is small), so after a resume it
holds exactly the epochs the checkpoint knows about. TensorBoard events go to
``<run_dir>/tensorboard``; on resume the writer purges events logged after the checkpoint.

    >>> import tempfile
    >>> from rnnkit.training.history import History
    >>> h = History(tempfile.mkdtemp(), tensorboard=False)
    >>> h.append({"epoch": 1, "loss": 0.5, "val_loss": 0.6, "lr": 0.001, "time": 0.1})
    >>> h.column("val_loss")
    [0.6]
    >>> h.close()
"""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from rnnkit.training.checkpoint import atomic_write_text
from rnnkit.errors import CheckpointError

__all__ = ["History", "read_history_csv"]

BASE_COLUMNS = ["epoch", "loss", "val_loss", "lr", "time"]
TEXT_COLUMNS = ("stop",)          # why training stopped after that epoch (rnnkit.training.stopping)


class History:
    """Epoch rows (dicts) kept in memory and mirrored to ``history.csv`` / TensorBoard.

    Args:
        run_dir: directory to write into, or None to keep the history in memory only.
        tensorboard: also write TensorBoard event files (default True).
        rows: rows restored from a checkpoint (resume).
    """

    def __init__(self, run_dir=None, tensorboard: bool = True, rows: list[dict] | None = None):
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.rows: list[dict] = [dict(r) for r in (rows or [])]
        self._writer = None
        if self.run_dir is not None and tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            last = self.rows[-1]["epoch"] if self.rows else 0
            self._writer = SummaryWriter(log_dir=str(self.run_dir / "tensorboard"),
                                         purge_step=last + 1 if self.rows else None)

    def append(self, row: dict) -> None:
        self.rows.append(dict(row))
        if self.run_dir is None:
            return
        self.write_csv()
        if self._writer is not None:
            step = int(row["epoch"])
            for k, v in row.items():
                if k != "epoch" and isinstance(v, (int, float)) and not math.isnan(v):
                    self._writer.add_scalar(k, v, step)
            self._writer.flush()

    @property
    def columns(self) -> list[str]:
        cols = list(BASE_COLUMNS)
        for r in self.rows:
            cols += [k for k in r if k not in cols]
        return cols

    def column(self, name: str) -> list:
        return [r.get(name, math.nan) for r in self.rows]

    def to_csv(self) -> str:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=self.columns, restval="", lineterminator="\n")
        w.writeheader()
        w.writerows(self.rows)
        return buf.getvalue()

    def write_csv(self) -> None:
        atomic_write_text(self.run_dir / "history.csv", self.to_csv())

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def read_history_csv(path) -> list[dict]:
    """Read a ``history.csv`` back into rows of floats (``epoch`` as int, ``stop`` as text: the
    reason training stopped after that epoch, empty before). A file that is not one rnnkit wrote
    raises :class:`~rnnkit.errors.CheckpointError` naming it."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = []
            for r in csv.DictReader(f):
                rows.append({k: (v if k in TEXT_COLUMNS else int(v) if k == "epoch" else float(v) if v != "" else math.nan)
                             for k, v in r.items()})
            return rows
    except (ValueError, TypeError, AttributeError, csv.Error) as e:   # not UTF-8, not numbers, ragged rows
        raise CheckpointError(f"{path} is not a history.csv rnnkit wrote ({type(e).__name__}: {str(e)[:120]}). "
                              "The run directory is damaged: retrain it, or use another run.") from None
