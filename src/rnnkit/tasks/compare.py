"""Compare run directories: one table of the configuration fields that differ and the test
metrics, and a PNG of the validation curves (from each run's ``history.csv``).

Run directories are untrusted input: each file is size-checked and parsed defensively, and a
missing or garbled ``config.json`` / ``history.csv`` / ``metrics.json`` ends in one clear
:class:`~rnnkit.errors.CheckpointError` naming the file (a run without ``metrics.json`` or
``history.csv`` yet, e.g. one still training, is shown with ``-`` and a note).

    >>> cfgs = [{"job": {"units": 32, "lr": 0.001}}, {"job": {"units": 64, "lr": 0.001}}]
    >>> differing([flatten(c) for c in cfgs])
    ['job.units']
    >>> flatten({"test": {"model": {"mae": 6.4}}, "val": {"model": {"mae": 6.0}}}, only_numbers=True)
    {'test.model.mae': 6.4, 'val.model.mae': 6.0}
"""
from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from rnnkit.errors import CheckpointError, InvalidArgumentError
from rnnkit.training.history import TEXT_COLUMNS
from rnnkit.training.checkpoint import atomic_write_bytes
from rnnkit.training.manifest import run_root

__all__ = ["Run", "read_run", "flatten", "differing", "compare_table", "plot_validation", "tensorboard_command"]

MAX_BYTES = 20 * 2**20          # no run file rnnkit writes is near this; a bigger one is not read
# config parts that describe the data's statistics, not a choice (scaler means, row counts...)
NOT_CHOICES = ("data.", "source.")


@dataclass
class Run:
    """What compare reads from one run directory."""

    path: Path
    config: dict
    metrics: dict = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    label: str = ""

    @property
    def name(self) -> str:
        return self.label or self.path.name


def _read_text(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_BYTES:
            raise CheckpointError(f"{path} is larger than {MAX_BYTES // 2**20} MB: not a file rnnkit wrote. "
                                  "Pass the run directories rnnkit wrote.")
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CheckpointError(f"{path} is not UTF-8 text: not a file rnnkit wrote (or it is corrupt).") from None
    except OSError as e:
        raise CheckpointError(f"{path} cannot be read ({e.strerror or e}).") from None


def _read_json(path: Path) -> dict:
    try:
        value = json.loads(_read_text(path))
    except (ValueError, RecursionError) as e:        # not JSON, nested too deep, a huge number
        where = f"{e.msg} at line {e.lineno}" if isinstance(e, json.JSONDecodeError) else str(e)[:120]
        raise CheckpointError(f"{path} is not valid JSON ({where}): the run directory is "
                              "damaged or was not written by rnnkit. Leave this run out of the comparison.") from None
    if not isinstance(value, dict):
        raise CheckpointError(f"{path} holds a JSON {type(value).__name__}, not an object: not a file rnnkit wrote.")
    return value


def _read_history(path: Path) -> list[dict]:
    text = _read_text(path)
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "epoch" not in reader.fieldnames:
        raise CheckpointError(f"{path} has no 'epoch' column: not a history.csv written by rnnkit. "
                              "Leave this run out of the comparison.")
    rows = []
    for line, r in enumerate(reader, start=2):
        try:
            if None in r or any(v is None for v in r.values()):
                raise ValueError("a row with another number of fields than the header")
            rows.append({k: (v if k in TEXT_COLUMNS else int(v) if k == "epoch" else float(v) if v != "" else math.nan)
                         for k, v in r.items()})
        except ValueError as e:
            raise CheckpointError(f"{path}, line {line}: not a number where rnnkit writes one ({str(e)[:80]}). "
                                  "The history is damaged; leave this run out of the comparison.") from None
    return rows


def read_run(path) -> Run:
    """Read one run directory (CheckpointError naming the file when it cannot be used)."""
    path = Path(path)
    if not path.is_dir():
        raise CheckpointError(f"{path} is not a directory: pass run directories written by rnnkit "
                              "(e.g. runs/forecast-20250101-120000)." if path.exists() else f"{path} does not exist.")
    if not (path / "config.json").is_file():
        raise CheckpointError(f"{path} has no config.json: it is not an rnnkit run directory (or its run never "
                              "started). Pass the directories rnnkit training commands wrote.")
    run = Run(path, _read_json(path / "config.json"))
    if (path / "metrics.json").is_file():
        run.metrics = _read_json(path / "metrics.json")
    else:
        run.notes.append(f"{run.name}: no metrics.json (not finished?): no test metrics")
    if (path / "history.csv").is_file():
        run.history = _read_history(path / "history.csv")
    else:
        run.notes.append(f"{run.name}: no history.csv: no validation curve")
    return run


def flatten(d, prefix: str = "", only_numbers: bool = False) -> dict:
    """Nested dicts as ``{"a.b.c": leaf}`` (lists as text; ``only_numbers`` keeps finite numbers)."""
    out = {}
    for k, v in (d.items() if isinstance(d, dict) else ()):
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + ".", only_numbers))
        elif only_numbers:
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                out[key] = v
        else:
            out[key] = ",".join(map(str, v)) if isinstance(v, list) else v
    return out


def differing(configs: list[dict]) -> list[str]:
    """Keys whose values are not the same in every flattened config (absent counts as a value)."""
    keys = sorted({k for c in configs for k in c if not k.startswith(NOT_CHOICES)})
    missing = object()
    return [k for k in keys if len({json.dumps(c.get(k, missing), default=str) for c in configs}) > 1]


def _cell(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    text = str(v)
    return text if len(text) <= 24 else text[:21] + "..."


def run_test_metrics(run: Run) -> dict:
    """The run's test metrics, flattened (``model.mae``, ``common_sense.mae``, ``model.accuracy``...)."""
    test = run.metrics.get("test", {})
    return flatten(test, only_numbers=True) if isinstance(test, dict) else {}


def compare_table(runs: list[Run]) -> str:
    """The table: one row per run, the differing config fields, then the test metrics."""
    configs = [flatten(r.config) for r in runs]
    keys, seen = [], {}
    for k in differing(configs):      # model.units repeats job.units: one column per choice
        column = (k.rsplit(".", 1)[-1], json.dumps([c.get(k) for c in configs], default=str))
        if column not in seen:
            seen[column] = k
            keys.append(k)
    metrics = [run_test_metrics(r) for r in runs]
    mkeys = sorted({k for m in metrics for k in m}, key=lambda k: (not k.startswith("model."), k))
    same = [k for k in mkeys if not k.startswith("model.") and len(runs) > 1
            and all(k in m for m in metrics) and len({m[k] for m in metrics}) == 1]
    mkeys = [k for k in mkeys if k not in same]
    header = ["run"] + [k.split(".", 1)[1] if k.startswith(("job.", "train.")) else k for k in keys] + \
             [f"test {k}" for k in mkeys]
    rows = [[r.name] + [_cell(c.get(k)) for k in keys] + [_cell(m.get(k)) for k in mkeys]
            for r, c, m in zip(runs, configs, metrics)]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in rows]
    if not keys:
        lines.append("(the configurations are identical)")
    if same:
        lines.append("same test metrics in every run (baselines on the same windows): "
                     + ", ".join(f"{k} {_cell(metrics[0][k])}" for k in same))
    return "\n".join(lines)


def plot_validation(path, runs: list[Run], key: str = "val_loss") -> int:
    """Validation curves of the runs (``key`` per epoch) in one PNG; returns how many were drawn."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    drawn = 0
    for r in runs:
        pts = [(row["epoch"], row.get(key, math.nan)) for row in r.history]
        pts = [(e, v) for e, v in pts if isinstance(v, float) and math.isfinite(v)]
        if pts:
            ax.plot(*zip(*pts), marker="o", ms=3, label=r.name)
            drawn += 1
    from matplotlib.ticker import MaxNLocator
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(key)
    ax.set_title(f"{key} by epoch")
    ax.grid(alpha=0.3)
    if drawn:
        ax.legend(fontsize=8)
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return drawn


def tensorboard_command(runs: list[Run]) -> str:
    """The TensorBoard command showing the runs side by side (each run writes ``tensorboard/``)."""
    import shlex
    spec = ",".join(f"{r.name}:{r.path / 'tensorboard'}" for r in runs if (r.path / "tensorboard").is_dir())
    return f"tensorboard --logdir_spec {shlex.quote(spec)}" if spec else ""


def check_output(path, force: bool) -> Path:
    """The PNG path: a new file in an existing folder, or an existing one only with ``--force``."""
    p = Path(path)
    if p.suffix.lower() != ".png":
        raise InvalidArgumentError.for_argument("--png", str(p), "a path ending in .png")
    if not p.parent.is_dir():
        raise InvalidArgumentError.for_argument("--png", str(p), "a file in an existing folder",
                                                f"Create {p.parent} first.")
    if run_root(p) is not None:
        raise InvalidArgumentError.for_argument("--png", str(p), "a file outside every run directory",
                                                "A run directory holds only what its run wrote; write the plot elsewhere.")
    if p.exists() and not force:
        raise InvalidArgumentError.for_argument("--png", str(p), "a new file", "Pass --force to overwrite it.")
    return p


def unique_names(runs: list[Run]) -> None:
    """Label runs by their folder name, with parent folders added until the labels differ."""
    for depth in range(1, 6):
        labels = ["/".join(r.path.resolve().parts[-depth:]) for r in runs]
        if len(set(labels)) == len(labels):
            break
    for r, label in zip(runs, labels):
        r.label = label
