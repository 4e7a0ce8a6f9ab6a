"""``rnnkit compare RUN_DIR...``: the runs' differing configuration fields and test metrics in one
table, their validation curves in one PNG, and the TensorBoard command showing them side by side.

    $ rnnkit compare runs/forecast-20250101-120000 runs/forecast-20250101-130000 --png compare.png

    >>> import argparse
    >>> p = argparse.ArgumentParser(); sub = p.add_subparsers()
    >>> add_commands(sub)
    >>> p.parse_args(["compare", "a", "b"]).runs
    ['a', 'b']
"""
from __future__ import annotations

__all__ = ["add_commands"]


def _compare(args) -> int:
    from rnnkit.tasks.compare import (check_output, compare_table, plot_validation, read_run, tensorboard_command,
                                      unique_names)
    png = check_output(args.png, args.force) if args.png else None
    runs = [read_run(r) for r in args.runs]
    unique_names(runs)
    print(compare_table(runs))
    for r in runs:
        for note in r.notes:
            print(f"note: {note}")
    if png is not None:
        drawn = plot_validation(png, runs, args.curve)
        print(f"validation curves ({args.curve}) of {drawn} run(s): {png}")
    tb = tensorboard_command(runs)
    if tb:
        print(f"side by side in TensorBoard: {tb}")
    return 0


def add_commands(sub) -> None:
    p = sub.add_parser("compare", help="compare run directories: differing options, test metrics, curves",
                       description="One table of the runs' configuration fields that differ and their test metrics; "
                                   "a PNG of their validation curves from history.csv.")
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run directories written by rnnkit training commands")
    p.add_argument("--png", default="compare.png",
                   help="validation-curve PNG (default compare.png; a new file outside the run directories; '' for none)")
    p.add_argument("--curve", default="val_loss", help="history.csv column to plot (default val_loss)")
    p.add_argument("--force", action="store_true", help="overwrite an existing --png")
    p.set_defaults(func=_compare)
