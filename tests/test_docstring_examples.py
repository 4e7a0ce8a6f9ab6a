"""Every docstring example in rnnkit runs and prints what it says (training has its own file)."""
import doctest
import importlib
import pkgutil

import pytest

import rnnkit

MODULES = sorted(m.name for m in pkgutil.walk_packages(rnnkit.__path__, "rnnkit.")
                 if not m.name.startswith("rnnkit.training"))


@pytest.mark.parametrize("name", ["rnnkit", *MODULES])
def test_docstring_examples(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
