"""Sphinx extension: the pages generated from the code before Sphinx reads the sources.

- ``api/``: one page per public module of rnnkit (an ``automodule``), and an index that groups
  them by subpackage and lists the names ``rnnkit`` itself exports. A new module is in the
  reference without an edit here.
- ``_generated/recipes_cli.md``: the options of every ``rnnkit recipe NAME`` (cli.md includes it).

Both folders are build products (not committed).
"""
import pkgutil
import sys
import types
from pathlib import Path

import rnnkit
from rnnkit_refs import canonical

API_GROUPS = ("layers", "data", "models", "training", "export", "tasks", "recipes")


def _write_api_pages(app):
    """One page per public module of rnnkit (names starting with ``_`` are private), written
    before Sphinx reads the sources, so a new module is in the reference without an edit here."""
    out = Path(app.srcdir) / "api"
    out.mkdir(exist_ok=True)
    names = ["rnnkit"] + sorted(m.name for m in pkgutil.walk_packages(rnnkit.__path__, "rnnkit.")
                                if not any(p.startswith("_") for p in m.name.split(".")))
    for name in names:
        _write_if_changed(out / f"{name}.rst", f"{name}\n{'=' * len(name)}\n\n.. automodule:: {name}\n")
    index = ["API reference", "=============", "", ".. include:: ../api_intro.rst", ""] + _top_level_names()
    groups = [("rnnkit", [n for n in names if n.count(".") == 0 or n.split(".")[1] not in API_GROUPS])]
    groups += [(f"rnnkit.{g}", [n for n in names if n.split(".")[1:2] == [g]]) for g in API_GROUPS]
    for title, members in groups:
        index += [title, "-" * len(title), "", ".. toctree::", "   :maxdepth: 1", ""]
        index += [f"   {n}" for n in members] + [""]
    _write_if_changed(out / "index.rst", "\n".join(index))


def _top_level_names():
    """``rnnkit.__all__`` grouped by the subpackage that defines each name, linked to it."""
    groups = {}
    for name in rnnkit.__all__:
        obj = getattr(rnnkit, name)
        full = canonical(obj, rnnkit) if not isinstance(obj, str) else None
        if full:
            groups.setdefault(full.split(".")[1], []).append(f":py:obj:`{name} <{full}>`")
    lines = []
    for group, refs in groups.items():
        lines += [f"- ``rnnkit.{group}``: " + ", ".join(refs)]
    return lines + [""]


def _write_recipe_reference(app):
    """``rnnkit recipe NAME`` parses its options with the recipe's own parser, which
    ``build_parser()`` does not hold: each recipe's parser goes into a module made here, and
    one ``argparse`` directive per recipe into ``_generated/recipes_cli.md`` (included by cli.md)."""
    from rnnkit.recipes.registry import RECIPES, recipe_parser
    module = types.ModuleType("rnnkit_docs_recipe_parsers")
    lines = []
    for recipe in RECIPES.values():
        attr = recipe.name.replace("-", "_")
        setattr(module, attr, recipe_parser(recipe))
        aliases = f" (alias: {', '.join(recipe.aliases)})" if recipe.aliases else ""
        lines += [f"### rnnkit recipe {recipe.name}{aliases}", "", "```{argparse}",
                  f":ref: {module.__name__}.{attr}", f":prog: rnnkit recipe {recipe.name}", "```", ""]
    sys.modules[module.__name__] = module
    out = Path(app.srcdir) / "_generated"
    out.mkdir(exist_ok=True)
    _write_if_changed(out / "recipes_cli.md", "\n".join(lines))


def _write_if_changed(path, text):
    if not path.exists() or path.read_text() != text:
        path.write_text(text)



def setup(app):
    app.connect("builder-inited", _write_api_pages)
    app.connect("builder-inited", _write_recipe_reference)
    return {"parallel_read_safe": True}
