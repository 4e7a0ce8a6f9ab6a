"""The ``rnnkit`` command: thin; parses arguments, builds a job, calls the recipes.

    $ rnnkit forecast                      # the main job on the embedded weather
    $ rnnkit forecast --csv data.csv --time-col time --target T --lookback 72 --delay 6
    $ rnnkit predict --run runs/forecast-... [--csv new.csv]

Bad input ends with one paragraph naming the argument, the value and the fix (exit code 2),
never a traceback.
"""
from __future__ import annotations

import argparse
import sys

import rnnkit
from rnnkit.errors import RnnkitError
from rnnkit.recipes.arguments import add_data_arguments, data_fields


def _forecast_args(p: argparse.ArgumentParser) -> None:
    add_data_arguments(p)
    w = p.add_argument_group("windows (in rows)")
    for name, default in (("lookback", 120), ("step", 1), ("delay", 24), ("horizon", 1), ("stride", 1)):
        w.add_argument(f"--{name}", type=int, default=default, help=f"default {default}")
    w.add_argument("--seasonal-period", type=int, help="rows per season for the seasonal-naive baseline")
    m = p.add_argument_group("model")
    m.add_argument("--cell", default="gru", choices=["gru", "lstm", "rnn", "dense", "conv"])
    m.add_argument("--units", type=int, default=32)
    m.add_argument("--layers", type=int, default=1)
    m.add_argument("--bidirectional", action="store_true")
    m.add_argument("--dropout", type=float, default=0.1, help="variational input dropout")
    m.add_argument("--recurrent-dropout", type=float, default=0.25)
    m.add_argument("--conv-filters", type=int, default=0, help="Conv1D front-end filters (0 = none)")
    m.add_argument("--dense-units", type=int, default=0)
    t = p.add_argument_group("training")
    t.add_argument("--epochs", type=int, default=8)
    t.add_argument("--batch-size", type=int, default=128)
    t.add_argument("--optimizer", default="rmsprop", choices=["rmsprop", "adam"])
    t.add_argument("--lr", type=float, default=2e-3)
    t.add_argument("--loss", default="mae", choices=["mae", "mse", "huber"])
    t.add_argument("--clip-norm", type=float, default=1.0)
    t.add_argument("--patience", type=int, default=3, help="early stopping patience (epochs)")
    t.add_argument("--steps-per-epoch", type=int)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--out", help="run directory (default runs/forecast-<timestamp>)")
    t.add_argument("--resume", action="store_true", help="continue the interrupted run in --out")
    t.add_argument("--quiet", action="store_true")


def _job_from_args(args):
    from rnnkit.errors import InvalidArgumentError
    from rnnkit.recipes.forecast import ForecastJob
    if args.resume and not args.out:
        raise InvalidArgumentError.for_argument("--out", None, "the run directory to resume",
                                                "Pass --out DIR of the interrupted run with --resume.")
    return ForecastJob(
        **data_fields(args), lookback=args.lookback, step=args.step, delay=args.delay,
        horizon=args.horizon, stride=args.stride, seasonal_period=args.seasonal_period, cell=args.cell,
        units=args.units, layers=args.layers, bidirectional=args.bidirectional, dropout=args.dropout,
        recurrent_dropout=args.recurrent_dropout, conv_filters=args.conv_filters,
        dense_units=args.dense_units, epochs=args.epochs, batch_size=args.batch_size,
        optimizer=args.optimizer, lr=args.lr, loss=args.loss, clip_norm=args.clip_norm,
        patience=args.patience, steps_per_epoch=args.steps_per_epoch, seed=args.seed, quiet=args.quiet,
        out=args.out, resume=args.resume)


def _forecast(args) -> int:
    from rnnkit.recipes.forecast import run_forecast
    run_forecast(_job_from_args(args))
    return 0


def _predict(args) -> int:
    from rnnkit.recipes.predict import forecast_from_run
    table = forecast_from_run(args.run, args.csv)
    if args.output:
        table.to_csv(args.output, index=False)
    print(table.to_string(index=False))
    return 0


def _demo(args) -> int:
    import torch
    model = torch.nn.Sequential(
        rnnkit.SimpleRNN(14, 16, return_sequences=False, return_state=False), torch.nn.Linear(16, 1))
    rnnkit.summary(model, (240, 14))
    print("prediction shape:", tuple(model(torch.randn(4, 240, 14)).shape))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rnnkit", description="Recurrent neural networks over sequences, on PyTorch.")
    parser.add_argument("--version", action="version", version=f"rnnkit {rnnkit.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    f = sub.add_parser("forecast", help="train a forecaster and compare it with baselines",
                       description="Train a recurrent forecaster; print the test MAE of the model and "
                                   "of the common-sense, seasonal-naive and mean baselines; write a run dir.")
    _forecast_args(f)
    f.set_defaults(func=_forecast)
    p = sub.add_parser("predict", help="forecast from the end of each series with a trained run")
    p.add_argument("--run", required=True, help="run directory written by `rnnkit forecast`")
    p.add_argument("--csv", help="CSV with the training data's columns (default: the run's own data)")
    p.add_argument("--output", help="write the forecasts to this CSV")
    p.set_defaults(func=_predict)
    demo = sub.add_parser("demo", help="a tiny layer demo: the seed 003 model summary")
    demo.set_defaults(func=_demo)
    try:
        from rnnkit.recipes.registry import add_recipe_commands
    except ImportError:
        pass
    else:
        add_recipe_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except RnnkitError as e:
        print(f"rnnkit: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        out = getattr(args, "out", None)
        hint = f" Continue it with the same command plus --resume --out {out}." if out else ""
        print(f"rnnkit: interrupted; checkpoints up to the last finished epoch are kept.{hint}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
