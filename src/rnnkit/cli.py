"""The ``rnnkit`` command: thin; parses arguments, builds a config, calls training.

    $ rnnkit --version
"""
from __future__ import annotations

import argparse
import sys

import rnnkit


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rnnkit", description="Recurrent neural networks over sequences, on PyTorch.")
    parser.add_argument("--version", action="version", version=f"rnnkit {rnnkit.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser("demo", help="run a tiny layer demo and print a model summary")
    demo.set_defaults(func=_demo)
    return parser


def _demo(args) -> int:
    import torch
    model = torch.nn.Sequential(
        rnnkit.SimpleRNN(14, 16, return_sequences=False, return_state=False), torch.nn.Linear(16, 1))
    rnnkit.summary(model, (240, 14))
    x = torch.randn(4, 240, 14)
    print("prediction shape:", tuple(model(x).shape))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
