"""The runnable examples in the docstrings of rnnkit.training stay runnable."""
import doctest
import importlib

import pytest

MODULES = ["callbacks", "checkpoint", "config", "history", "losses", "manifest", "metrics", "plots",
           "progress", "resume", "rng", "runs", "schedules", "steps", "trainer"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(f"rnnkit.training.{name}")
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
