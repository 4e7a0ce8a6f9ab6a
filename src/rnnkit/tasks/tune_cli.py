"""``rnnkit tune TASK``: hyperparameter search over a training command's options.

    $ rnnkit tune forecast --trials 20 --epochs 5 --out runs/tune1
    $ rnnkit tune forecast --trials 30 --out runs/tune1 --resume        # continue the study
    $ rnnkit tune forecast --trials 10 --space lookback=48:240:24,units=16:128:log,resample=none|3h

Every option of ``rnnkit forecast`` is accepted and fixed for all trials (except those the
space searches); ``--out`` is the search's directory and ``--resume`` continues its study.

    >>> import argparse
    >>> p = argparse.ArgumentParser(); sub = p.add_subparsers()
    >>> add_commands(sub)
    >>> a = p.parse_args(["tune", "forecast", "--trials", "3", "--epochs", "1"])
    >>> a.trials, a.epochs, a.tune_task
    (3, 1, 'forecast')
"""
from __future__ import annotations

import argparse

from rnnkit.tasks.tune_forecast import FORECAST_SPACE
from rnnkit.tasks.forecast_options import forecast_job, add_forecast_arguments
from rnnkit.tasks.tune import get_task, run_tune
from rnnkit.errors import InvalidArgumentError
from rnnkit.tasks.classify import ClassifyConfig
from rnnkit.tasks.options import config_from_args, add_options, add_run_arguments
from rnnkit.tasks.tune_classify import CLASSIFY_SPACE

__all__ = ["add_commands"]


def _add_tune_options(p: argparse.ArgumentParser, default_space: str) -> None:
    g = p.add_argument_group("search")
    g.add_argument("--trials", type=int, default=20, help="number of trials, counting a resumed study's (default 20)")
    g.add_argument("--timeout", type=float, help="stop starting trials after this many seconds")
    g.add_argument("--space", help="NAME=LOW:HIGH[:STEP|:log] or NAME=a|b|c, comma-separated "
                                   f"(default {default_space.replace('%', '%%')})")
    g.add_argument("--no-final", dest="final", action="store_false",
                   help="do not run the best configuration on the test split at the end")


def _tune_forecast(args) -> int:
    import dataclasses
    job = forecast_job(args)
    base = dataclasses.replace(job, out=None, resume=False)
    result = run_tune(get_task("forecast"), base, trials=args.trials, space=args.space, out=args.out,
                      resume=args.resume, timeout=args.timeout, seed=args.seed, final=args.final)
    print(f"search directory: {result['run_dir']}")
    return 0


def _tune_classify(args) -> int:
    if args.resume and not args.out:
        raise InvalidArgumentError.for_argument("--out", None, "the search directory to resume",
                                                "Pass --out DIR of the interrupted search with --resume.")
    out = args.out
    base = config_from_args(ClassifyConfig, args, out=None, resume=False)
    result = run_tune(get_task("classify"), base, trials=args.trials, space=args.space, out=out,
                      resume=args.resume, timeout=args.timeout, seed=args.seed, final=args.final)
    print(f"search directory: {result['run_dir']}")
    return 0


def add_commands(sub) -> None:
    """``rnnkit tune forecast`` and ``rnnkit tune classify`` (another task adds its
    :class:`rnnkit.tasks.tune.TuneTask` and a subcommand here)."""
    tune = sub.add_parser("tune", help="hyperparameter search (Optuna TPE, median pruning, resumable study)",
                          description="Search hyperparameters of a training command; trials are scored on the "
                                      "validation split, the best configuration alone on the test split.")
    tasks = tune.add_subparsers(dest="tune_task", metavar="TASK")
    f = tasks.add_parser("forecast", help="tune rnnkit forecast",
                         description="Tune rnnkit forecast: every forecast option is fixed for all trials; "
                                     "--out is the search directory (study.db, trials.txt, best_config.json, "
                                     "optimization_history.png, best/).")
    add_forecast_arguments(f)
    _add_tune_options(f, FORECAST_SPACE)
    f.set_defaults(func=_tune_forecast)
    c = tasks.add_parser("classify", help="tune rnnkit classify",
                         description="Tune rnnkit classify: every classify option is fixed for all trials; trials "
                                     "are scored by the validation error (1 - accuracy); --out is the search "
                                     "directory.")
    add_options(c, ClassifyConfig)
    add_run_arguments(c)
    _add_tune_options(c, CLASSIFY_SPACE)
    c.set_defaults(func=_tune_classify)
    tune.set_defaults(func=lambda args: (tune.print_help(), 0)[1])
