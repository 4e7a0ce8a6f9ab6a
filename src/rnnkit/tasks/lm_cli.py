"""``rnnkit lm train`` and ``rnnkit lm generate``: the language-model commands.

    $ rnnkit lm train                                  # char-LSTM on the embedded Shakespeare
    $ rnnkit lm train --text corpus.txt --level bpe --vocab-size 4000 --bptt 64 --out runs/mine
    $ rnnkit lm train ... --out runs/mine --resume     # continue an interrupted run exactly
    $ rnnkit lm generate --run runs/mine --prompt "ROMEO." --length 400 --temperature 0.7 --top-p 0.9

    >>> import argparse
    >>> p = argparse.ArgumentParser(); add_commands(p.add_subparsers())
    >>> args = p.parse_args(["lm", "train", "--level", "word", "--bptt", "35"])
    >>> train_config(args).level, train_config(args).bptt
    ('word', 35)
"""
from __future__ import annotations

import argparse

from rnnkit.tasks.options import add_options, add_run_arguments, config_from_args, optional_float, optional_int
from rnnkit.tasks.base import ModuleTask
from rnnkit.tasks.lm import LMConfig, generate, load_model, run_lm
from rnnkit.errors import InvalidArgumentError, as_cli_options

__all__ = ["add_commands", "predict_command", "train_config"]


def train_config(args):
    return config_from_args(LMConfig, args, resume=bool(args.resume))


def _train(args) -> int:
    run_lm(train_config(args))
    return 0


def _generate(args) -> int:
    with as_cli_options():                 # `--length`, not `length`
        generate(args.run, args.prompt, args.length, args.temperature, args.top_k or None, args.top_p, args.seed)
    return 0


def add_generate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True, help="run directory written by `rnnkit lm train`")
    p.add_argument("--prompt", default="", help="text to start from (default: the run's first training token)")
    p.add_argument("--length", type=int, default=500, help="tokens to generate (default 500)")
    p.add_argument("--temperature", type=float, default=0.8, help="0 = greedy, 1 = the model's distribution (default 0.8)")
    p.add_argument("--top-k", type=optional_int, default=None, help="sample among the k most probable tokens (0 or none: all)")
    p.add_argument("--top-p", type=optional_float, default=None, help="nucleus sampling mass in (0, 1]")
    p.add_argument("--seed", type=int, default=None, help="seed of the draws (default: a fresh one)")


def add_commands(sub) -> None:
    lm = sub.add_parser("lm", help="language models: train on a long text, generate from a run",
                        description="Character, word or BPE language models trained with stateful truncated BPTT.")
    lm_sub = lm.add_subparsers(dest="lm_command", metavar="SUBCOMMAND")
    t = lm_sub.add_parser("train", help="train a language model and write a run directory",
                          description="Train an LSTM/GRU language model on one long text (default: the embedded "
                                      "Shakespeare slice), report nats per token, bits per character or perplexity "
                                      "on validation and test, and write a run directory with a generated sample.")
    add_options(t, LMConfig)
    add_run_arguments(t)
    t.set_defaults(func=_train)
    g = lm_sub.add_parser("generate", help="generate text with a trained run, printed as it comes",
                          description="Read the prompt once, then generate one token at a time from the carried state.")
    add_generate_arguments(g)
    g.set_defaults(func=_generate)
    lm.set_defaults(func=lambda args: (lm.print_help(), 0)[1])


def predict_command(args) -> int:
    """``rnnkit predict --run DIR`` on a language-model run: 200 tokens from its default prompt
    (``rnnkit lm generate`` has the options)."""
    if getattr(args, "csv", None) or getattr(args, "output", None):
        raise InvalidArgumentError.for_argument(
            "--csv/--output", args.csv or args.output, "nothing for a language-model run",
            f"Generate text with: rnnkit lm generate --run {args.run} [--prompt TEXT] [--length N].")
    generate(args.run, length=200, seed=0)
    return 0


# the lm task, as the registry (rnnkit.tasks.registry) serves it
TASK = ModuleTask("lm", LMConfig, exporter="onnx_lm", load=load_model, predict=predict_command,
                  add_commands=add_commands, train=lambda config, log=print, given=None: run_lm(config, log))
