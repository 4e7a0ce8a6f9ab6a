"""Shared by the CLI tests: tiny training options, a small hourly CSV, a directory snapshot."""
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

TINY = ["--units", "4", "--epochs", "1", "--steps-per-epoch", "2", "--lookback", "12", "--delay", "2",
        "--quiet", "--patience", "1"]


def _csv(path: Path, n=300, **overrides) -> Path:
    t = pd.date_range("2020-01-01", periods=n, freq="h")
    df = pd.DataFrame({"time": t.strftime("%Y-%m-%d %H:%M:%S"),
                       "temp": 10 + 5 * np.sin(np.arange(n) * 2 * np.pi / 24),
                       "wind": np.cos(np.arange(n) / 7)})
    for k, v in overrides.items():
        df[k] = v
    df.to_csv(path, index=False)
    return path


def _snapshot(d: Path) -> dict:
    return {str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(d.rglob("*")) if p.is_file()}
