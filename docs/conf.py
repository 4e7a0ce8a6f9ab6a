"""Sphinx configuration of the rnnkit documentation.

    .venv/bin/pip install -c constraints.txt -e '.[docs]'
    .venv/bin/python -m sphinx -W --keep-going -n -b html docs docs/_build/html
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "src"), os.path.join(HERE, "_ext")]

import rnnkit  # noqa: E402

project = "rnnkit"
author = "rnnkit authors"
copyright = "rnnkit authors, MIT licence"
release = version = rnnkit.__version__

extensions = [
    "myst_parser",              # pages in Markdown
    "sphinx.ext.autodoc",       # API reference from the docstrings
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "sphinxarg.ext",            # CLI reference from rnnkit.cli.build_parser()
    "rnnkit_pages",             # _ext/: the API and recipe pages generated from the code
    "rnnkit_refs",              # _ext/: references as the docstrings write them
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "_generated", "_ext"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
smartquotes = False            # options keep their "--" (no en dash)

napoleon_use_ivar = True        # "Attributes:" as fields: the attributes themselves are documented
autodoc_default_options = {"members": True, "undoc-members": True, "ignore-module-all": True,
                           "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
add_module_names = False

# The build must not need the network: no intersphinx. References to other projects' objects
# (torch, numpy, pandas, the standard library) cannot be resolved offline and are not errors;
# every reference to rnnkit's own objects must resolve (-n).
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(torch|np|numpy|pd|pandas|pathlib|os|argparse|collections|typing|optuna|onnx|"
               r"onnxruntime|tokenizers|matplotlib|datetime|dataclasses|io|enum)(\..*)?"),
    (r"py:.*", r"(Path|Tensor|Module|Iterable|Iterator|Callable|Sequence|Mapping|Any|Optional|"
               r"ndarray|DataFrame|Series|ArgumentParser|Namespace|Generator|TextIO|BinaryIO)"),
    (r"py:class", r"(int|float|str|bool|bytes|dict|list|tuple|set|object|type|None|"
                  r"ellipsis|NoneType|Literal|.*\.Literal)"),
    (r"py:class", r"(tuple|list|dict|set)\[.*"),
    (r"py:class", r"(rnnkit\..*\.)?_\w+"),   # private classes are not documented
]

html_theme = "furo"
html_title = f"rnnkit {release}"
html_static_path = []
