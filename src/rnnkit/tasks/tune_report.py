"""What ``rnnkit tune`` writes: the table of trials, the optimisation-history PNG and the best
configuration (``best_config.json`` with the equivalent command line, ``best_command.txt``).

    >>> rows = [{"number": 0, "state": "complete", "value": 2.5, "params": {"units": 32}, "epochs": 2, "seconds": 1.0},
    ...         {"number": 1, "state": "pruned", "value": None, "params": {"units": 64}, "epochs": 1, "seconds": 0.5}]
    >>> print(format_table(rows, [type("P", (), {"name": "units"})()]))
    trial  state       val MAE  epochs  seconds  units
        0  complete     2.5000       2      1.0  32
        1  pruned            -       1      0.5  64
"""
from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from rnnkit.training.checkpoint import atomic_write_bytes, atomic_write_json, atomic_write_text
from rnnkit.errors import InvalidArgumentError

__all__ = ["trial_rows", "format_table", "plot_history", "write_best", "command_line"]


def trial_rows(study, params) -> list[dict]:
    """One dict per trial: number, state, value (None unless complete), params, epochs, seconds."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        rows.append({"number": t.number, "state": t.state.name.lower(), "value": t.value if t.state.name == "COMPLETE" else None,
                     "params": dict(t.params), "epochs": t.user_attrs.get("epochs", len(t.intermediate_values)),
                     "seconds": t.user_attrs.get("seconds")})
    return rows


def _cell(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "none" if v is None else str(v)


def format_table(rows: list[dict], params, value: str = "val MAE") -> str:
    names = [p.name for p in params]
    head = f"{'trial':>5s}  {'state':10s}{value:>9s}{'epochs':>8s}{'seconds':>9s}  " + "  ".join(names)
    lines = [head]
    for r in rows:
        value = "-" if r["value"] is None else f"{r['value']:.4f}"
        secs = "-" if r["seconds"] is None else f"{r['seconds']:.1f}"
        lines.append(f"{r['number']:>5d}  {r['state']:10s}{value:>9s}{r['epochs']:>8}{secs:>9s}  "
                     + "  ".join(_cell(r["params"].get(n)).ljust(len(n)) for n in names).rstrip())
    return "\n".join(lines)


def plot_history(path, rows: list[dict], title: str = "optimisation history", value: str = "validation MAE") -> None:
    """Validation value of every completed trial and the best so far, by trial number."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import io

    done = [(r["number"], r["value"]) for r in rows if r["value"] is not None and math.isfinite(r["value"])]
    fig, ax = plt.subplots(figsize=(7, 4))
    if done:
        xs, ys = zip(*done)
        best = [min(ys[:i + 1]) for i in range(len(ys))]
        ax.plot(xs, ys, "o", label=f"trial ({value})")
        ax.step(xs, best, where="post", color="tab:red", label="best so far")
    pruned = [r["number"] for r in rows if r["state"] == "pruned"]
    if pruned and done:
        ax.plot(pruned, [max(v for _, v in done)] * len(pruned), "x", color="gray", label="pruned")
    ax.set_xlabel("trial")
    ax.set_ylabel(value)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if done:
        ax.legend()
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


def write_best(run_dir, params: dict, job, command: str, value: float, value_name: str = "val MAE") -> None:
    """``best_config.json`` (the searched values, the whole job, the command) and ``best_command.txt``."""
    fields = {k: v for k, v in dataclasses.asdict(job).items() if k not in ("out", "resume", "quiet")}
    atomic_write_json(Path(run_dir) / "best_config.json",
                      {"value": value, "value_name": value_name, "params": params, "job": fields, "command": command})
    atomic_write_text(Path(run_dir) / "best_command.txt", command + "\n")


def command_line(words: list[str], parser, job, rebuild, skip=("out", "resume", "quiet")) -> str:
    """``words`` + the options of ``parser`` whose values in ``job`` differ from the defaults,
    checked: ``rebuild(parser.parse_args(argv))`` must give ``job`` back (else an error)."""
    import argparse
    import shlex
    defaults = vars(parser.parse_args([]))
    argv = []
    for action in parser._actions:
        if not action.option_strings or action.dest in (*skip, "help") or not hasattr(job, action.dest):
            continue
        value, default = getattr(job, action.dest), defaults.get(action.dest)
        if _same(value, default):
            continue
        if isinstance(action, argparse.BooleanOptionalAction):
            argv.append(action.option_strings[0] if value else action.option_strings[1])
        elif isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
            argv.append(action.option_strings[-1])
        elif isinstance(value, dict):
            argv += [action.option_strings[-1], ",".join(f"{k}={v}" for k, v in value.items())]
        elif isinstance(value, (list, tuple)):
            argv += [action.option_strings[-1], ",".join(map(str, value))]
        else:
            argv += [action.option_strings[-1], "none" if value is None else str(value)]
    back = rebuild(parser.parse_args(argv))
    names = [f.name for f in dataclasses.fields(job) if f.name not in skip]
    diff = [n for n in names if not _same(getattr(back, n), getattr(job, n))]
    if diff:
        raise InvalidArgumentError.for_argument("job", diff, "fields the command line can express")
    return shlex.join([*words, *argv])


def _same(a, b) -> bool:
    norm = (lambda v: list(v) if isinstance(v, tuple) else v)
    return norm(a) == norm(b)
