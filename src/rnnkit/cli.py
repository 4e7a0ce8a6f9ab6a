"""The ``rnnkit`` command: thin; the tasks' commands, ``predict`` and ``export`` dispatch through the
task registry (:mod:`rnnkit.tasks.registry`).

    $ rnnkit forecast                      # the main job on the embedded weather
    $ rnnkit forecast --csv data.csv --time-col time --target T --lookback 72 --delay 6
    $ rnnkit predict --run runs/forecast-... [--csv new.csv | --follow growing.csv]
    $ rnnkit classify --csv reviews.csv --text-col text --label-col label
    $ rnnkit tag --conll train.txt;  rnnkit lm train;  rnnkit translate train --pairs fra.txt
    $ rnnkit export --run DIR --onnx model.onnx;  rnnkit tune forecast --trials 20;  rnnkit compare A B

Bad input ends with one paragraph naming the argument, the value and the fix (exit code 2),
never a traceback. Under ``torchrun`` every process parses and checks the same arguments; only
rank 0 prints the error (or the interrupt hint), the others exit with the same code silently.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys

from rnnkit._subnormals import subnormals_flushed
from rnnkit._version import __version__
from rnnkit.layers import SimpleRNN, summary
from rnnkit.errors import RnnkitError
from rnnkit.training.device import resolve_device
from rnnkit.export import cli as export_cli
from rnnkit.export.follow import follow_command
from rnnkit.recipes.registry import add_recipe_commands
from rnnkit.tasks import compare_cli, registry, tune_cli
from rnnkit.tasks.options import add_device_argument, check_seed
from rnnkit.training import run_lock


def _predict(args) -> int:
    task = registry.task_of(args.run)           # refuses a task rnnkit does not know
    if args.follow and task.followable:
        return follow_command(args)             # the streaming predictor (rnnkit.export) follows a growing file
    return task.predict(args)


def _demo(args) -> int:
    import torch
    model = torch.nn.Sequential(
        SimpleRNN(14, 16, return_sequences=False, return_state=False), torch.nn.Linear(16, 1))
    summary(model, (240, 14))
    print("prediction shape:", tuple(model(torch.randn(4, 240, 14)).shape))
    return 0


# Commands other than the tasks': each module has ``add_commands(sub)`` (``sub``: the argparse
# subparsers of ``rnnkit``); the tasks' commands come from the registry (rnnkit.tasks.registry).
COMMAND_MODULES = (export_cli, tune_cli, compare_cli)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rnnkit", description="Recurrent neural networks over sequences, on PyTorch.")
    parser.add_argument("--version", action="version", version=f"rnnkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for task in registry.TASKS.values():       # forecast, classify, tag, lm, translate, ...
        task.add_commands(sub)
    p = sub.add_parser("predict", help="forecast from the end of each series with a trained run")
    p.add_argument("--run", required=True, help="run directory written by an rnnkit training command")
    p.add_argument("--csv", help="CSV with the training data's columns (default: the run's own data)")
    p.add_argument("--output", help="write the forecasts to this CSV (a new file; never a file of a run)")
    p.add_argument("--force", action="store_true", help="overwrite an existing --output file")
    p.add_argument("--follow", metavar="FILE",
                   help="forecasting runs: print a forecast for the end of FILE, then one per row appended to it "
                        "(Ctrl-C stops)")
    add_device_argument(p, note="; --follow steps on the CPU, one row at a time")
    p.set_defaults(func=_predict)
    demo = sub.add_parser("demo", help="a tiny layer demo: the seed 003 model summary")
    demo.set_defaults(func=_demo)
    for module in COMMAND_MODULES:
        module.add_commands(sub)
    add_recipe_commands(sub)
    return parser


def speaks() -> bool:
    """False on the ranks other than 0 under ``torchrun`` (``WORLD_SIZE`` > 1): read from the
    environment (``RANK``, else ``LOCAL_RANK``), so it holds before ``torch.distributed`` is
    initialised, e.g. for an argument error. True in a single process, and when the
    environment cannot be read (better twice than never).

        >>> speaks()                          # not under torchrun
        True
    """
    try:
        if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
            return True
        return int(os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0"))) == 0
    except ValueError:
        return True


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    quiet = not speaks()
    if quiet:            # torchrun: argparse's errors, --help and --version come from rank 0 alone
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            args = parser.parse_args(argv)
    else:
        args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        if not quiet:
            parser.print_help()
        return 0
    # Subnormal floats are flushed while the command runs (a README job's epoch on an Intel core:
    # 25 s without, 2.5 s with), and the caller's mode is back afterwards on every thread.
    with subnormals_flushed():
        try:
            return _run(args, quiet)
        finally:
            run_lock.release_all()       # the command's run directories (the kernel would at exit)


def _run(args: argparse.Namespace, quiet: bool) -> int:
    """The command of parsed `args`; an RnnkitError or Ctrl-C becomes one paragraph and its exit code."""
    try:
        check_seed(getattr(args, "seed", None))
        if getattr(args, "device", None) is not None:
            resolve_device(args.device)     # a bad or absent device: one paragraph, before the command runs
        return args.func(args)
    except RnnkitError as e:
        if not quiet:
            print(f"rnnkit: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        out = getattr(args, "out", None)
        hint = f" Continue it with the same command plus --resume --out {out}." if out else ""
        if not quiet:
            print(f"rnnkit: interrupted; checkpoints up to the last finished epoch are kept.{hint}",
                  file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
