"""A mean/std scaler fitted on the training part only, saved with the model as plain JSON.

>>> import numpy as np
>>> s = Scaler.fit(np.array([[1.0, 10.0], [3.0, 30.0]]), ["a", "b"])
>>> s.transform(np.array([[2.0, 20.0]])).tolist()
[[0.0, 0.0]]
>>> float(s.inverse_transform(np.array([1.0]), column="b")[0])     # back to b's own units
30.0
>>> Scaler.from_dict(s.to_dict()) == s
True
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rnnkit.errors import DataError, InvalidArgumentError

__all__ = ["Scaler"]


@dataclass
class Scaler:
    """Per-column ``(x - mean) / std``. A constant column (std 0) gets std 1.

    Attributes:
        columns: column names, in order.
        mean, std: one float per column.
    """
    columns: list[str]
    mean: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)

    @classmethod
    def fit(cls, values, columns) -> "Scaler":
        """Fit on ``values`` (rows x columns), NaNs ignored."""
        v = np.asarray(values, dtype=np.float64)
        if v.ndim != 2 or v.shape[1] != len(columns) or v.shape[0] == 0:
            raise DataError(f"Cannot fit a scaler on an array of shape {v.shape} with {len(columns)} columns.")
        mean = np.nanmean(v, axis=0)
        std = np.nanstd(v, axis=0)
        std = np.where((std == 0) | ~np.isfinite(std), 1.0, std)
        return cls(list(columns), [float(m) for m in mean], [float(s) for s in std])

    def _index(self, column) -> int:
        if column not in self.columns:
            raise InvalidArgumentError.for_argument(
                "column", column, "one of the scaled columns " + ", ".join(self.columns))
        return self.columns.index(column)

    def transform(self, values) -> np.ndarray:
        """Scale every column (``values`` is rows x columns)."""
        return (np.asarray(values, dtype=np.float64) - np.asarray(self.mean)) / np.asarray(self.std)

    def inverse_transform(self, values, column=None) -> np.ndarray:
        """Undo the scaling: of every column, or of one ``column`` for any-shaped ``values``."""
        v = np.asarray(values.detach().cpu() if hasattr(values, "detach") else values, dtype=np.float64)
        if column is None:
            return v * np.asarray(self.std) + np.asarray(self.mean)
        i = self._index(column)
        return v * self.std[i] + self.mean[i]

    def scale_of(self, column) -> float:
        """The std of ``column``: multiply a scaled MAE by it to get the MAE in column units."""
        return self.std[self._index(column)]

    def to_dict(self) -> dict:
        return {"columns": list(self.columns), "mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_dict(cls, d: dict) -> "Scaler":
        try:
            s = cls(list(d["columns"]), [float(x) for x in d["mean"]], [float(x) for x in d["std"]])
        except (KeyError, TypeError, ValueError) as e:
            raise DataError(f"Not a saved scaler (needs columns, mean, std): {e}") from None
        if not len(s.columns) == len(s.mean) == len(s.std):
            raise DataError("A saved scaler has columns, mean and std of different lengths.")
        return s
