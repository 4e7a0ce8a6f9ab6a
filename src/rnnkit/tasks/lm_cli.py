"""``rnnkit lm`` (train; ``rnnkit lm train`` is the same) and ``rnnkit lm generate``.

    $ rnnkit lm                                        # char-GRU on the embedded Shakespeare
    $ rnnkit lm --text train.txt --val valid.txt --test test.txt --level word   # word-level defaults
    $ rnnkit lm train --text corpus.txt --level bpe --vocab-size 4000 --bptt 64 --out runs/mine
    $ rnnkit lm ... --out runs/mine --resume           # continue an interrupted run exactly
    $ rnnkit lm generate --run runs/mine --prompt "ROMEO." --length 400 --temperature 0.7 --top-p 0.9

    >>> import argparse
    >>> p = argparse.ArgumentParser(); add_commands(p.add_subparsers())
    >>> args = p.parse_args(["lm", "train", "--level", "word", "--bptt", "35"])
    >>> train_config(args).level, train_config(args).bptt
    ('word', 35)
    >>> train_config(p.parse_args(["lm", "--level", "word", "--hidden-size", "64"])).units   # older names too
    64
"""
from __future__ import annotations

import argparse

from rnnkit.tasks.options import (add_device_argument, add_options, add_run_arguments, config_from_args, optional_float,
                                  optional_int)
from rnnkit.tasks.lm import LMConfig, LMTask, generate, run_lm
from rnnkit.errors import InvalidArgumentError, as_cli_options

__all__ = ["add_commands", "add_train_options", "predict_command", "train_config"]


def train_config(args):
    return config_from_args(LMConfig, args, resume=bool(args.resume))


def _train(args) -> int:
    run_lm(train_config(args))
    return 0


def _generate(args) -> int:
    with as_cli_options():                 # `--length`, not `length`
        generate(args.run, args.prompt, args.length, args.temperature, args.top_k or None, args.top_p, args.seed,
                 device=args.device)
    return 0


def add_generate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True, help="run directory written by `rnnkit lm train`")
    p.add_argument("--prompt", default="", help="text to start from (default: the run's first training token)")
    p.add_argument("--length", type=int, default=500, help="tokens to generate (default 500)")
    p.add_argument("--temperature", type=float, default=0.8, help="0 = greedy, 1 = the model's distribution (default 0.8)")
    p.add_argument("--top-k", type=optional_int, default=None, help="sample among the k most probable tokens (0 or none: all)")
    p.add_argument("--top-p", type=optional_float, default=None, help="nucleus sampling mass in (0, 1]")
    p.add_argument("--seed", type=int, default=None, help="seed of the draws (default: a fresh one)")
    add_device_argument(p, "generate on")


TRAIN = ("Train an LSTM/GRU language model on one long text (default: the embedded Shakespeare slice), report "
         "nats per token, bits per character or perplexity on validation and test, and write a run directory with "
         "a generated sample. Options left unset are chosen by the level (char or word) and the vocabulary.")


def add_train_options(p: argparse.ArgumentParser, defaults: dict | None = None) -> None:
    """The training options of :class:`LMConfig` (``defaults``: a recipe's), ``--resume``, and
    ``--hidden-size``/``--num-layers``, the older names of ``--units``/``--layers``."""
    add_options(p, LMConfig, defaults=defaults)
    add_run_arguments(p)
    for old, new in (("--hidden-size", "units"), ("--num-layers", "layers")):
        p.add_argument(old, dest=new, type=optional_int, default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def _train_options(p: argparse.ArgumentParser) -> None:
    add_train_options(p)
    p.set_defaults(func=_train)


def add_commands(sub) -> None:
    lm = sub.add_parser("lm", help="language models: train on a long text (rnnkit lm [options]), generate from a run",
                        description=TRAIN + " `rnnkit lm train [options]` is the same command; "
                                            "`rnnkit lm generate --run DIR` generates from a run.")
    _train_options(lm)
    lm_sub = lm.add_subparsers(dest="lm_command", metavar="{train,generate}")
    _train_options(lm_sub.add_parser("train", help="the same as rnnkit lm [options]", description=TRAIN))
    g = lm_sub.add_parser("generate", help="generate text with a trained run, printed as it comes",
                          description="Read the prompt once, then generate one token at a time from the carried state.")
    add_generate_arguments(g)
    g.set_defaults(func=_generate)


def predict_command(args) -> int:
    """``rnnkit predict --run DIR`` on a language-model run: 200 tokens from its default prompt
    (``rnnkit lm generate`` has the options)."""
    if getattr(args, "csv", None) or getattr(args, "output", None):
        raise InvalidArgumentError.for_argument(
            "--csv/--output", args.csv or args.output, "nothing for a language-model run",
            f"Generate text with: rnnkit lm generate --run {args.run} [--prompt TEXT] [--length N].")
    generate(args.run, length=200, seed=0, device=getattr(args, "device", "cpu"))
    return 0


class LMCommands(LMTask):
    """The lm task with its commands, as the registry (:mod:`rnnkit.tasks.registry`) serves it."""

    def predict(self, args) -> int:
        return predict_command(args)

    def add_commands(self, sub) -> None:
        add_commands(sub)

    def train(self, config, log=print, given=None) -> dict:
        return run_lm(config, log)


TASK = LMCommands()
