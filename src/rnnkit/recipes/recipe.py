"""A named, runnable configuration: what ``rnnkit recipe NAME`` runs.

    >>> r = Recipe("demo", "a demo", lambda p: None, lambda args: 0, aliases=("d",))
    >>> r.name, r.aliases
    ('demo', ('d',))
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Callable

__all__ = ["Recipe"]


@dataclass(frozen=True)
class Recipe:
    """A named, runnable configuration.

    Args:
        name: the command-line name, e.g. ``"seed001-jena-sequence"``.
        description: one line, shown by ``rnnkit recipes``.
        add_arguments: adds the recipe's options to an ``argparse.ArgumentParser``.
        run: runs the recipe from the parsed options; returns the exit code.
        aliases: other accepted names, e.g. ``("seed001",)``.
    """

    name: str
    description: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    aliases: tuple[str, ...] = field(default_factory=tuple)
