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


# -- the naming rule: a renamed field keeps its former name readable ----------------------------------

def test_a_former_field_name_is_still_read_from_config_json_and_the_command_line():
    """classify's maxlen is max_len, tag's output_dropout is head_dropout (Keras-style names, the
    same in every task): a run directory or a script with the old name still works, both names
    at once is refused in one message."""
    import argparse
    from rnnkit.errors import CheckpointError
    from rnnkit.tasks.classify import ClassifyConfig
    from rnnkit.tasks.config_check import config_from_json
    from rnnkit.tasks.options import add_options
    from rnnkit.tasks.tag import TagConfig
    assert config_from_json(ClassifyConfig, {"maxlen": 7}, "config.json", "rnnkit classify").max_len == 7
    assert config_from_json(TagConfig, {"output_dropout": 0.25}, "config.json", "rnnkit tag").head_dropout == 0.25
    with pytest.raises(CheckpointError, match="both `maxlen` and `max_len`"):
        config_from_json(ClassifyConfig, {"maxlen": 7, "max_len": 8}, "config.json", "rnnkit classify")
    p = argparse.ArgumentParser()
    add_options(p, ClassifyConfig)
    assert p.parse_args(["--maxlen", "20"]).max_len == 20
    assert p.parse_args(["--max-len", "none"]).max_len is None
    assert p.parse_args([]).max_len == 500
    assert "--maxlen" not in p.format_help() and "--max-len" in p.format_help()


def test_the_forecaster_config_reads_its_former_pool():
    from rnnkit.models.forecaster import ForecasterConfig
    old = ForecasterConfig(n_features=2, conv_filters=4, pool_size=2).to_dict()
    old["pool"] = old.pop("pool_size")
    assert ForecasterConfig.from_dict(old).pool_size == 2
