"""Options generated from a config dataclass: names, types, defaults, bools, lists, checks."""
import argparse
from dataclasses import dataclass

import pytest

from rnnkit.errors import InvalidArgumentError
from rnnkit.tasks.options import add_options, config_from_args, float_list, option


@dataclass
class Job:
    max_tokens: int = option(10000, "vocabulary size")
    rate: float | None = option(None, "a rate")
    cell: str = option("lstm", "cell", choices=("rnn", "lstm", "gru"))
    bidirectional: bool = option(False, "both ways")
    split: tuple = option((0.8, 0.1, 0.1), "fractions", parse=float_list)
    internal: int = option(3, "not on the command line", cli=False)

    def __post_init__(self):
        if self.max_tokens <= 0:
            raise InvalidArgumentError.for_argument("--max-tokens", self.max_tokens, "a positive integer")


def parser(**kw):
    p = argparse.ArgumentParser(exit_on_error=False)
    add_options(p, Job, **kw)
    return p


def test_defaults_come_from_the_dataclass():
    assert config_from_args(Job, parser().parse_args([])) == Job()


def test_each_field_parses_with_its_type():
    job = config_from_args(Job, parser().parse_args(
        ["--max-tokens", "20", "--rate", "0.5", "--cell", "gru", "--bidirectional", "--split", "0.6,0.2,0.2"]))
    assert job == Job(max_tokens=20, rate=0.5, cell="gru", bidirectional=True, split=(0.6, 0.2, 0.2))
    assert config_from_args(Job, parser().parse_args(["--no-bidirectional"])).bidirectional is False


def test_fields_without_cli_and_skipped_fields_have_no_option():
    with pytest.raises(SystemExit):
        parser().parse_args(["--internal", "4"])
    with pytest.raises(SystemExit):
        parser(skip=("cell",)).parse_args(["--cell", "gru"])


def test_recipe_defaults_replace_the_dataclass_defaults():
    assert config_from_args(Job, parser(defaults={"max_tokens": 5}).parse_args([])).max_tokens == 5


def test_bad_values_are_refused():
    with pytest.raises(argparse.ArgumentError):
        parser().parse_args(["--cell", "xlstm"])
    with pytest.raises(argparse.ArgumentError):
        parser().parse_args(["--split", "a,b"])
    with pytest.raises(InvalidArgumentError, match="max-tokens"):
        config_from_args(Job, parser().parse_args(["--max-tokens", "0"]))


def test_help_shows_the_default():
    assert "(default 10000)" in parser().format_help()
