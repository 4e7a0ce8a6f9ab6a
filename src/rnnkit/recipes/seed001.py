"""Seed 001 as a recipe: Chollet's Jena temperature-forecasting sequence of models, side by side.

The seed (BST 261 lectures 9-10, after "Deep Learning with Python", 1st ed., ch. 6.3) predicts
the temperature 24 hours ahead from the last 10 days sampled once an hour, and walks through:
the common-sense (persistence) baseline, a densely connected network, a GRU, a GRU with
recurrent dropout, stacked GRUs, a bidirectional GRU, a 1D convnet and a Conv1D front-end before
a GRU that reads a finer (half-step) sequence. :func:`run_seed001` trains each model as a
:class:`~rnnkit.tasks.forecast.ForecastJob` variant through
:func:`~rnnkit.tasks.forecast.run_forecast` (one sub-directory of ``out`` per model) and
writes one comparison: ``comparison.csv``, ``comparison.md`` and ``test_mae.png``.

Default data: the embedded hourly 2013 New York airport weather (temperature in degrees F),
so the 10 days are ``lookback=240`` rows; the seed's 10-minute Jena rows sampled hourly become
hourly rows sampled every 2 hours (``step=2``), which leaves the conv + GRU model a half step to
go to, as in the seed. Chollet's published Jena validation MAEs (normalised units) are printed
beside ours for reference, each marked with where it comes from.

    >>> [m.name for m in MODELS][:3]
    ['common-sense', 'dense', 'gru']
    >>> jobs = seed001_jobs(ForecastJob(lookback=240, step=2), ["gru", "conv-gru"])
    >>> jobs["gru"].cell, jobs["conv-gru"].conv_filters, jobs["conv-gru"].step
    ('gru', 32, 1)
"""
from __future__ import annotations

import csv
import dataclasses
import io
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rnnkit.errors import InvalidArgumentError
from rnnkit.models import Forecaster, ForecasterConfig
from rnnkit.models.baselines import common_sense
from rnnkit.tasks.forecast import ForecastJob, prepare, run_forecast
from rnnkit.training import atomic_write_bytes, atomic_write_text, read_history_csv, create_run_dir
from rnnkit.training.manifest import has_content

__all__ = ["Seed001Model", "MODELS", "MODEL_NAMES", "DEFAULT_JOB", "seed001_jobs", "run_seed001",
           "format_comparison", "write_comparison"]

BASELINE = "common-sense"


@dataclass(frozen=True)
class Seed001Model:
    """One step of the seed's sequence: its ForecastJob overrides and Chollet's Jena result.

    ``reference`` is Chollet's Jena *validation* MAE in normalised units (or what the text says
    when it gives no number) and ``source`` where it is written: ``"seed"`` (the lecture),
    ``"book"`` (Deep Learning with Python, 1st ed., ch. 6.3-6.4, not in the seed).
    """

    name: str
    label: str
    overrides: dict = field(default_factory=dict)
    reference: str = ""
    source: str = "seed"


_NO_DROPOUT = {"dropout": 0.0, "recurrent_dropout": 0.0}
MODELS: tuple[Seed001Model, ...] = (
    Seed001Model(BASELINE, "common sense (persistence)", {}, "0.29 (2.57 C)", "seed"),
    Seed001Model("dense", "dense: Flatten, Dense 32 relu", {"cell": "dense", "units": 32, **_NO_DROPOUT},
                 "above 0.30", "seed"),
    Seed001Model("gru", "GRU 32", {"cell": "gru", "units": 32, **_NO_DROPOUT},
                 "~0.265 (2.35 C)", "book"),
    Seed001Model("gru-dropout", "GRU 32, dropout 0.2/0.2",
                 {"cell": "gru", "units": 32, "dropout": 0.2, "recurrent_dropout": 0.2},
                 "best not much lower than GRU", "seed"),
    Seed001Model("stacked-gru", "2 x GRU 32, dropout 0.1/0.5",
                 {"cell": "gru", "units": 32, "layers": 2, "dropout": 0.1, "recurrent_dropout": 0.5},
                 "no significant gain", "seed"),
    Seed001Model("bidirectional-gru", "bidirectional GRU 32",
                 {"cell": "gru", "units": 32, "bidirectional": True, **_NO_DROPOUT},
                 "about as good as GRU", "seed"),
    Seed001Model("conv1d", "1D convnet: 3 x (Conv1D 32, max-pool)",
                 {"cell": "conv", "units": 32, "layers": 3, **_NO_DROPOUT},
                 "0.40s (worse than common sense)", "book"),
    Seed001Model("conv-gru", "Conv1D 32 + GRU 32 (0.1/0.5), half step",
                 {"cell": "gru", "units": 32, "conv_filters": 32, "dropout": 0.1, "recurrent_dropout": 0.5},
                 "worse than dropout GRU, faster", "seed"),
)
MODEL_NAMES = tuple(m.name for m in MODELS)
_BY_NAME = {m.name: m for m in MODELS}

#: The recipe's defaults: 10 days of hourly rows sampled every 2 h, 24 h ahead, up to 10 full
#: epochs with early stopping (the whole sequence takes ~1.5 min on 2 cores with the fused kernels);
#: the models predict the temperature itself, as in the seed (no residual connection).
DEFAULT_JOB = ForecastJob(lookback=240, step=2, delay=24, epochs=10, residual=False)


def check_models(models) -> list[str]:
    """The requested model names in the seed's order; unknown names raise InvalidArgumentError."""
    if models is None:
        return list(MODEL_NAMES)
    names = [m.strip() for m in (models.split(",") if isinstance(models, str) else models) if m.strip()]
    unknown = [m for m in names if m not in _BY_NAME]
    if unknown or not names:
        raise InvalidArgumentError.for_argument(
            "--models", ",".join(unknown) if unknown else models,
            "comma-separated names among " + ", ".join(MODEL_NAMES), "e.g. --models common-sense,dense,gru.")
    return [m for m in MODEL_NAMES if m in names]


def _half_step(job: ForecastJob) -> dict:
    """The seed's conv + GRU move: half the step (twice as long sequences); with ``step`` 1 or
    odd it reads twice as far back instead (the seed's other option)."""
    if job.step >= 2 and job.step % 2 == 0:
        return {"step": job.step // 2}
    return {"lookback": job.lookback * 2}


def seed001_jobs(base: ForecastJob, models=None) -> dict[str, ForecastJob]:
    """``{name: ForecastJob}`` of the trained models (the baseline needs none), from ``base``."""
    jobs = {}
    for name in check_models(models):
        if name == BASELINE:
            continue
        over = dict(_BY_NAME[name].overrides)
        if name == "conv-gru":
            over.update(_half_step(base))
        jobs[name] = dataclasses.replace(base, name=name, **over)
    return jobs


def _mae(pred, truth) -> float:
    return float(np.abs(np.asarray(pred, np.float64) - np.asarray(truth, np.float64)).mean())


def baseline_row(base: ForecastJob, prepared=None) -> dict:
    """The common-sense row: persistence MAE on the val and test windows of ``base``, in units."""
    prepared = prepare(base) if prepared is None else prepared
    series = prepared.data[:, prepared.target_index]
    inv = prepared.inverse_target
    out = {}
    for part in ("val", "test"):
        w = prepared.windows(part, lookback=base.lookback, step=base.step, delay=base.delay)
        truth = np.concatenate([y.numpy() for _, y in w.batches(batch_size=4096)]).reshape(-1, 1)
        out[part] = _mae(inv(common_sense(w, series)), inv(truth))
    return _row(BASELINE, out["test"], out["val"], out["test"], 0, 0.0, 0) | {"epoch_s_median": 0.0}


def _row(name, test_mae, val_mae, cs_test, params, train_s, epochs, run_dir="") -> dict:
    m = _BY_NAME[name]
    return {"model": name, "description": m.label, "test_mae": test_mae, "val_mae": val_mae,
            "common_sense_test_mae": cs_test, "gain_vs_common_sense_pct": (1 - test_mae / cs_test) * 100,
            "params": params, "train_s": train_s, "epochs": epochs,
            "chollet_jena_val_mae": m.reference, "reference_source": m.source, "run_dir": run_dir}


def count_params(run_dir) -> int:
    """Trainable parameters of the model saved in ``run_dir`` (rebuilt from its config.json)."""
    cfg = json.loads((Path(run_dir) / "config.json").read_text(encoding="utf-8"))["model"]
    return sum(p.numel() for p in Forecaster(ForecasterConfig.from_dict(cfg)).parameters() if p.requires_grad)


def run_seed001(base: ForecastJob = DEFAULT_JOB, models=None, out=None, log=print) -> list[dict]:
    """Run the sequence; returns the comparison rows (also written to ``out``, see module doc).

    ``base`` holds the data, window and training options shared by every model; ``models`` a
    subset of :data:`MODEL_NAMES` (default all); ``out`` the directory (new or empty; default
    ``runs/seed001-jena-sequence-<timestamp>``); ``log`` gets progress lines unless ``base.quiet``.
    """

    names = check_models(models)
    say = (lambda *a: None) if base.quiet else log
    if out is not None and Path(out).is_dir() and has_content(out):
        raise InvalidArgumentError.for_argument("--out", str(out), "a new or empty directory",
                                                "Pass a new --out DIR; the recipe writes one sub-directory per model.")
    out = create_run_dir("seed001-jena-sequence", out)
    prepared = prepare(base)
    cs = baseline_row(base, prepared)
    say(f"data: {prepared}\ncommon sense: test MAE {cs['test_mae']:.3f}, val MAE {cs['val_mae']:.3f} "
        f"({base.target}'s units)")
    rows = [cs] if BASELINE in names else []
    jobs = seed001_jobs(base, names)
    for i, (name, job) in enumerate(jobs.items(), 1):
        job = dataclasses.replace(job, out=str(out / name), quiet=True, resume=False)
        say(f"[{i}/{len(jobs)}] {name}: {_BY_NAME[name].label} ...")
        t0 = time.perf_counter()
        res = run_forecast(job)
        wall = time.perf_counter() - t0
        hist = read_history_csv(Path(res["run_dir"]) / "history.csv")
        times = [float(r["time"]) for r in hist]
        row = _row(name, res["test"]["model"]["mae"], res["val"]["model"]["mae"],
                   res["test"]["common_sense"]["mae"], count_params(res["run_dir"]), sum(times), len(hist),
                   run_dir=name)
        row["epoch_s_median"] = float(np.median(times))
        rows.append(row)
        say(f"      test MAE {row['test_mae']:.3f}, val MAE {row['val_mae']:.3f}, "
            f"{row['gain_vs_common_sense_pct']:+.1f}% vs common sense, {len(hist)} epochs, {wall:.0f} s")
    write_comparison(out, rows, base)
    return rows


# ---------------------------------------------------------------------------------------------
# the comparison: console table, CSV, Markdown, bar chart

_HEAD = ("model", "test MAE", "val MAE", "vs common sense", "params", "train s", "Chollet Jena val MAE")


def _cells(r: dict) -> tuple:
    ref = f"{r['chollet_jena_val_mae']} [{r['reference_source']}]"
    base = r["model"] == BASELINE
    return (r["model"], f"{r['test_mae']:.3f}", f"{r['val_mae']:.3f}",
            "-" if base else f"{r['gain_vs_common_sense_pct']:+.1f}%",
            "0" if base else f"{r['params']:,}", "-" if base else f"{r['train_s']:.0f}", ref)


def format_comparison(rows: list[dict], units: str = "") -> str:
    """The comparison as an aligned text table (what the command prints).

    >>> row = dict(model="common-sense", test_mae=4.0, val_mae=3.5, gain_vs_common_sense_pct=0.0,
    ...            params=0, train_s=0.0, chollet_jena_val_mae="0.29 (2.57 C)", reference_source="seed")
    >>> format_comparison([row]).splitlines()[2].split()
    ['common-sense', '4.000', '3.500', '-', '0', '-', '0.29', '(2.57', 'C)', '[seed]']
    """
    table = [_HEAD] + [_cells(r) for r in rows]
    widths = [max(len(t[i]) for t in table) for i in range(len(_HEAD))]
    widths[0] = max(widths[0], 12)
    fmt = lambda t: "  ".join(c.ljust(w) if i in (0, 6) else c.rjust(w)  # noqa: E731
                              for i, (c, w) in enumerate(zip(t, widths))).rstrip()
    lines = [fmt(table[0]), "-" * len(fmt(table[0]))] + [fmt(t) for t in table[1:]]
    if units:
        lines.append(f"(MAE in {units}; 'vs common sense' on each model's own test windows)")
    return "\n".join(lines)


def _markdown(rows: list[dict], base: ForecastJob, units: str) -> str:
    out = ["# Seed 001: the Jena temperature-forecasting sequence, side by side", "",
           f"Data: {'embedded 2013 New York airport weather' if base.csv is None else Path(base.csv).name}"
           f"{'' if not base.stations else ' (' + ','.join(base.stations) + ')'}; target `{base.target}`, "
           f"{base.delay} rows ahead from {base.lookback} rows sampled every {base.step}. "
           f"Training: {base.optimizer}, lr {base.lr}, {base.loss} loss, up to {base.epochs} epochs"
           f"{'' if not base.steps_per_epoch else f' of {base.steps_per_epoch} steps'}, batch {base.batch_size}, "
           f"seed {base.seed}. MAE in {units}.", "",
           "| " + " | ".join(_HEAD) + " |", "|" + "---|" * len(_HEAD)]
    out += ["| " + " | ".join(_cells(r)) + " |" for r in rows]
    out += ["", "'vs common sense' compares each model with persistence on that model's own test windows "
            "(the conv + GRU model's half step shifts its windows by a row). 'train s' is the wall time of "
            "the training epochs including their validation pass (comparison.csv also has the median "
            "epoch time): on a shared machine it includes other jobs' load and any one-off compile of "
            "rnnkit's fused kernels, so read it as a rough guide.", "",
            "Chollet's column is the *validation* MAE on Jena in normalised units (temperature / its "
            "standard deviation, about 8.9 C = 2.57 / 0.29), not comparable in absolute terms with the MAEs here, only "
            "as an ordering. [seed]: stated in the seed lecture (BST 261, lectures 9-10); [book]: "
            "Deep Learning with Python, 1st ed., ch. 6.3/6.4, not in the seed. Where the text gives no "
            "number its statement is quoted.", ""]
    return "\n".join(out)


def _bar_chart(path: Path, rows: list[dict], units: str) -> None:
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    names = [r["model"] for r in rows]
    maes = [r["test_mae"] for r in rows]
    ref = next((r["test_mae"] for r in rows if r["model"] == BASELINE), rows[0]["common_sense_test_mae"])
    colors = ["0.55" if r["model"] == BASELINE else ("C2" if r["test_mae"] < r["common_sense_test_mae"] else "C3")
              for r in rows]
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(rows) + 1.6))
    y = np.arange(len(rows))[::-1]
    ax.barh(y, maes, color=colors)
    ax.axvline(ref, color="0.3", ls="--", lw=1, label=f"common sense {ref:.2f}")
    for yi, v in zip(y, maes):
        ax.text(v, yi, f" {v:.2f}", va="center", fontsize=9)
    ax.set_yticks(y, names)
    ax.set_xlim(0, max(maes) * 1.15)
    ax.set_xlabel(f"test MAE ({units})")
    ax.set_title("Seed 001 sequence: test MAE per model (green: beats common sense)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), fontsize=9, frameon=False)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


def write_comparison(out, rows: list[dict], base: ForecastJob) -> None:
    """Write ``comparison.csv``, ``comparison.md`` and ``test_mae.png`` into ``out``."""
    out = Path(out)
    units = _units(base)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in r.items()})
    atomic_write_text(out / "comparison.csv", buf.getvalue())
    atomic_write_text(out / "comparison.md", _markdown(rows, base, units))
    _bar_chart(out / "test_mae.png", rows, units)


def _units(base: ForecastJob) -> str:
    if base.csv is None and base.target == "temp":
        return "degrees F"
    return f"{base.target}'s own units"

