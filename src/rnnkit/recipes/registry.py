"""Named recipes (the seed labs as runnable configurations) and the ``recipes``/``recipe`` commands.

    $ rnnkit recipes                                   # names and one-line descriptions
    $ rnnkit recipe seed001-jena-sequence              # seed 001's model sequence, one table
    $ rnnkit recipe seed001 --quick --models common-sense,dense,gru --stations JFK

A recipe is a :class:`Recipe`: a name (plus aliases), a description, a function adding its own
options to an ``argparse`` parser and a function running it from the parsed options.
``rnnkit recipe NAME ARGS...`` looks the name up (an unknown one raises
:class:`~rnnkit.errors.InvalidArgumentError` listing the names) and parses ``ARGS`` with the
recipe's own parser, so ``rnnkit recipe NAME --help`` shows that recipe's options.

    >>> get_recipe("seed001").name
    'seed001-jena-sequence'
    >>> "seed001-jena-sequence" in list_recipes()
    True
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib

from rnnkit.errors import InvalidArgumentError
from rnnkit.recipes.recipe import Recipe
from rnnkit.tasks.forecast_options import add_data_arguments, data_fields, add_forecast_arguments, forecast_job
from rnnkit.recipes.seed001 import (DEFAULT_JOB, MODEL_NAMES, _units, check_models, format_comparison,
                                   run_seed001)
from rnnkit.recipes.seed001 import DEFAULT_JOB as J
from rnnkit.training import create_run_dir
from rnnkit.training.device import resolve_device
from rnnkit.recipes.stations import compare_station_models
from rnnkit.tasks.forecast_config import ForecastJob
from rnnkit.tasks.options import add_options, check_seed

__all__ = ["Recipe", "RECIPES", "get_recipe", "list_recipes", "recipe_parser", "add_recipe_commands"]


# ---------------------------------------------------------------------------------------------
# seed 001

_SEED001_OPTIONS = ("lookback", "step", "delay", "epochs", "steps_per_epoch", "batch_size", "lr", "patience", "seed",
                    "out", "quiet", "device")


def _seed001_arguments(p: argparse.ArgumentParser) -> None:
    """The data options, then the ForecastJob options a seed 001 run varies, generated from their
    fields with the recipe's defaults (no option is written twice)."""
    add_data_arguments(p, J.split)
    add_options(p, ForecastJob, only=_SEED001_OPTIONS, defaults={n: getattr(J, n) for n in _SEED001_OPTIONS},
                groups={"windows": "windows (in rows; default: 10 days of hourly rows sampled every 2 h, 24 h ahead)",
                        "training": "run"},
                helps={"epochs": "maximum epochs per model", "lr": "RMSprop learning rate",
                       "batch_size": "windows per batch",
                       "steps_per_epoch": "batches per epoch (default: the whole training set; 0 = the same)",
                       "out": "output directory, new or empty (default runs/seed001-jena-sequence-<time>)",
                       "quiet": "print only the comparison table"})
    t = p.add_argument_group("recipe")
    t.add_argument("--models", help="comma-separated subset, in any order, of: " + ", ".join(MODEL_NAMES))
    t.add_argument("--quick", action="store_true",
                   help="smoke test: 1 epoch of 2 batches per model (overrides --epochs/--steps-per-epoch)")


def _seed001_job(args):
    for name in ("epochs", "lookback", "step", "delay", "batch_size"):
        v = getattr(args, name)
        if v < 1:
            raise InvalidArgumentError.for_argument("--" + name.replace("_", "-"), v, "a positive integer")
    if args.steps_per_epoch is not None and args.steps_per_epoch < 0:
        raise InvalidArgumentError.for_argument("--steps-per-epoch", args.steps_per_epoch,
                                                "a positive integer, or 0 for whole epochs")
    epochs, steps = (1, 2) if args.quick else (args.epochs, args.steps_per_epoch or None)
    return dataclasses.replace(
        DEFAULT_JOB, **data_fields(args), lookback=args.lookback, step=args.step,
        delay=args.delay, epochs=epochs, steps_per_epoch=steps, batch_size=args.batch_size, lr=args.lr,
        patience=args.patience, seed=args.seed, quiet=args.quiet, device=args.device)


def _seed001_run(args) -> int:
    base = _seed001_job(args)
    models = check_models(args.models)
    if args.out is None:
        args.out = str(create_run_dir("seed001-jena-sequence", None))
    rows = run_seed001(base, models, out=args.out)
    print(format_comparison(rows, _units(base)))
    print(f"written: comparison.csv, comparison.md, test_mae.png and one run per model in {args.out}")
    return 0


# ---------------------------------------------------------------------------------------------
# seed 000

def _stations_arguments(p: argparse.ArgumentParser) -> None:
    add_forecast_arguments(p)


def _stations_run(args) -> int:
    compare_station_models(forecast_job(args))
    return 0


RECIPES: dict[str, Recipe] = {r.name: r for r in (
    Recipe("seed000-stations",
           "seed 000: one model for all weather stations (with their coordinates) vs one model "
           "per station; test MAE per station beside common sense", _stations_arguments, _stations_run,
           aliases=("seed000",)),
    Recipe("seed001-jena-sequence",
           "seed 001 (Chollet ch. 6.3): common sense, dense, GRU, dropout GRU, stacked GRU, "
           "bidirectional GRU, 1D convnet, Conv1D+GRU; one comparison table",
           _seed001_arguments, _seed001_run, aliases=("seed001",)),
)}

# Modules holding more recipes: each defines ``RECIPES``, a tuple of :class:`Recipe` (imported from
# :mod:`rnnkit.recipes.recipe`, so a recipe module imported first needs nothing of this one).
RECIPE_MODULES = (
    "rnnkit.recipes.seed001_imdb",
    "rnnkit.recipes.seed004_mnist",
    "rnnkit.recipes.japanese_vowels",
    "rnnkit.recipes.wnut_ner",
    "rnnkit.recipes.seed002_shakespeare",
    "rnnkit.recipes.seed004_translate",
)


def _add_recipe_modules() -> None:
    for name in RECIPE_MODULES:
        module = importlib.import_module(name)
        RECIPES.update({r.name: r for r in module.RECIPES})


_add_recipe_modules()


def _aliases() -> dict[str, str]:
    return {a: r.name for r in RECIPES.values() for a in (r.name, *r.aliases)}


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name`` (or one of its aliases); unknown names raise
    :class:`~rnnkit.errors.InvalidArgumentError` listing the recipes."""
    found = _aliases().get(name)
    if found is None:
        names = ", ".join(r.name + (f" (alias {', '.join(r.aliases)})" if r.aliases else "") for r in RECIPES.values())
        raise InvalidArgumentError.for_argument("recipe", name, "one of: " + names,
                                                "List them with `rnnkit recipes`.")
    return RECIPES[found]


def list_recipes() -> str:
    """One line per recipe: name, aliases, description."""
    width = max(len(n) for n in RECIPES)
    return "\n".join(f"{r.name:{width}s}  {r.description}" + (f" (alias: {', '.join(r.aliases)})" if r.aliases else "")
                     for r in RECIPES.values())


def recipe_parser(recipe: Recipe) -> argparse.ArgumentParser:
    """The ``argparse`` parser of ``rnnkit recipe NAME``."""
    p = argparse.ArgumentParser(prog=f"rnnkit recipe {recipe.name}", description=recipe.description)
    recipe.add_arguments(p)
    return p


def _list_command(args) -> int:
    print(list_recipes())
    return 0


def _recipe_command(args) -> int:
    if not args.name:
        print("usage: rnnkit recipe NAME [options]; the recipes are:\n" + list_recipes())
        return 2
    recipe = get_recipe(args.name)
    recipe_args = recipe_parser(recipe).parse_args(args.args)
    check_seed(getattr(recipe_args, "seed", None))      # the recipe's own --seed: as every command's
    if getattr(recipe_args, "device", None) is not None:
        resolve_device(recipe_args.device)              # an absent device: one paragraph, before anything is written
    return recipe.run(recipe_args)


def add_recipe_commands(sub) -> None:
    """Add ``recipes`` and ``recipe`` to the ``rnnkit`` subcommands (``sub``: argparse subparsers)."""
    ls = sub.add_parser("recipes", help="list the named recipes (the seed labs)",
                        description="List the named recipes with a one-line description each.")
    ls.set_defaults(func=_list_command)
    run = sub.add_parser("recipe", help="run a named recipe: rnnkit recipe NAME [options]",
                         description="Run a named recipe. `rnnkit recipe NAME --help` shows its options.",
                         epilog="recipes:\n" + list_recipes(), formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("name", nargs="?", metavar="NAME", help="recipe name (see `rnnkit recipes`)")
    run.add_argument("args", nargs=argparse.REMAINDER, help="the recipe's own options")
    run.set_defaults(func=_recipe_command)
