"""Find the compiled fused-scan extension: built at install, else compiled once and cached.

Order: the module ``rnnkit.layers.fused._C`` built by ``pip install`` (setup.py), if its build
record (:mod:`rnnkit.layers.fused._build`) says it may run here: same machine, same torch,
same sources, and a CPU with every feature it was compiled for; else a copy compiled with
:func:`torch.utils.cpp_extension.load` into a cache directory keyed by those same facts (about
a minute, once); else ``None`` with one warning, and rnnkit runs the pure PyTorch path.
Environment: ``RNNKIT_FUSED=0`` disables the extension; ``RNNKIT_FUSED_JIT=0`` forbids the
first-use compile; ``RNNKIT_CACHE`` moves the cache (default ``~/.cache/rnnkit``).

    >>> from rnnkit.layers.fused._loader import load
    >>> load() is None or hasattr(load(), "forward")
    True
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import warnings
from pathlib import Path

from rnnkit.layers.fused import _build

_state: dict = {}


def sources() -> list[Path]:
    return sorted(_build.CSRC.glob("*.cpp"))


def fingerprint(torch_version: str, level: str | None) -> str:
    """Cache key of a first-use build: torch version, sources, machine, target level, flags."""
    info = _build.build_info(torch_version, level)
    key = "|".join([info["torch"], info["src"], info["machine"], str(level), " ".join(info["flags"])])
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def _jit():
    import torch
    from torch.utils.cpp_extension import load as cpp_load
    level = _build.target_level()
    _state["level"] = level
    tag = fingerprint(torch.__version__, level)
    root = Path(os.environ.get("RNNKIT_CACHE", Path.home() / ".cache" / "rnnkit"))
    build = root / f"fused-{tag}"
    build.mkdir(parents=True, exist_ok=True)
    if not any(build.glob("*.so")):
        warnings.warn("rnnkit: compiling the fused CPU kernels once (about a minute); the result is "
                      f"cached in {build}. Install with setup.py's build to avoid this.", stacklevel=3)
    return cpp_load(name=f"rnnkit_fused_{tag}", sources=[str(s) for s in sources()],
                    extra_cflags=_build.compile_flags(level) + [f"-DRNNKIT_SRC_HASH={_build.source_hash()}"],
                    extra_ldflags=_build.OPENMP_FLAGS, build_directory=str(build), verbose=False)


def _installed():
    """The build from install, or ``(None, reason)`` without importing a library that may not
    run here (importing a library built for a newer CPU can already crash)."""
    import torch
    spec = importlib.util.find_spec("rnnkit.layers.fused._C")
    if spec is None or not spec.origin:
        return None, "no build from install"
    info = _build.read_info(spec.origin)
    why = _build.why_not_loadable(info, torch.__version__)
    wanted = os.environ.get("RNNKIT_ISA", "").strip()
    if not why and wanted and info.get("level") != wanted:
        why = f"it was built for {info.get('level')} and RNNKIT_ISA asks for {wanted}"
    if why:
        return None, f"the build from install is not used: {why}"
    try:
        _state["level"] = info.get("level")
        return importlib.import_module("rnnkit.layers.fused._C"), ""
    except ImportError as e:
        return None, f"the build from install does not load ({e})"


def load():
    """Return the extension module, or ``None`` (after one warning) if it cannot be had."""
    if "mod" in _state:
        return _state["mod"]
    mod, how, why = None, "reference", ""
    if os.environ.get("RNNKIT_FUSED", "1") == "0":
        why = "disabled by RNNKIT_FUSED=0"
    else:
        mod, why = _installed()
        how = "compiled at install"
        if mod is None and os.environ.get("RNNKIT_FUSED_JIT", "1") != "0":
            try:
                mod, how = _jit(), "compiled on first use, cached"
            except Exception as e:  # no compiler, missing headers, ...
                why = f"{why}; first-use compile failed: {str(e).strip().splitlines()[-1][:300]}"
        if mod is None:
            warnings.warn("rnnkit: the fused CPU kernels are unavailable, recurrent layers use the "
                          f"pure PyTorch path (correct but slower). Reason: {why}", stacklevel=3)
    _state.update(mod=mod, how=how, why=why)
    return mod


def describe() -> str:
    """How the loaded kernels were built, e.g. ``compiled at install, x86-64-v3``."""
    load()
    level = _state.get("level")
    return _state["how"] + (f", {level}" if _state["mod"] is not None and level else "")
