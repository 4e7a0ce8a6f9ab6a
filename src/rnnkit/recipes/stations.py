"""One model for every station, or one model per station? (seed 000, "working with real world data").

Trains the job once on all series together (with their static features) and once per series on
that series alone, and compares the test MAE per series, with the common-sense baseline beside.
Under ``torchrun`` every rank trains each model (its part of every batch); rank 0 alone creates
the run directories, writes the comparison and prints it (the other ranks return ``{}``).

    >>> from rnnkit.tasks.forecast import ForecastJob
    >>> ForecastJob(stations=["JFK", "LGA"]).stations
    ['JFK', 'LGA']
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from rnnkit.tasks.forecast import ForecastJob, prepare, run_forecast, target_units
from rnnkit.training import atomic_write_json, create_run_dir, distributed


def compare_station_models(job: ForecastJob, log=print) -> dict:
    """``{series: {"one_model": mae, "own_model": mae, "common_sense": mae}}`` on the test part;
    written to ``comparison.json`` in the run directory, with one sub-run per model."""
    root = distributed.on_main(lambda: create_run_dir("stations", job.out))
    quiet = dataclasses.replace(job, quiet=True, resume=False)
    full = prepare(job)
    joint = run_forecast(dataclasses.replace(quiet, out=str(root / "all")), prepared=full)
    table = {}
    for group in full.groups:
        own = run_forecast(dataclasses.replace(quiet, out=str(root / f"only-{group}")), prepared=full.select(group))
        if not distributed.is_main():       # torchrun: only rank 0 has the test metrics
            continue
        j = joint["test_by_series"][str(group)]
        table[str(group)] = {"one_model": j["model"]["mae"], "own_model": own["test"]["model"]["mae"],
                             "common_sense": j["common_sense"]["mae"]}
    if not distributed.is_main():
        return {}
    atomic_write_json(Path(root) / "comparison.json", table)
    if not job.quiet:
        log(format_comparison(table, target_units(job)))
        log(f"run directory: {root}")
    return table


def format_comparison(table: dict, units: str) -> str:
    lines = [f"test MAE ({units})", f"{'series':10s}{'one model':>12s}{'own model':>12s}{'common sense':>14s}"]
    for g, r in table.items():
        lines.append(f"{g:10s}{r['one_model']:>12.3f}{r['own_model']:>12.3f}{r['common_sense']:>14.3f}")
    return "\n".join(lines)
