"""Find the compiled fused-scan extension: built at install, else compiled once and cached.

Order: the module ``rnnkit.layers.fused._C`` built by ``pip install`` (setup.py); else a copy
compiled with :func:`torch.utils.cpp_extension.load` into a cache directory on first use
(about a minute, once); else ``None`` with one warning, and rnnkit runs the pure PyTorch path.
Environment: ``RNNKIT_FUSED=0`` disables the extension; ``RNNKIT_FUSED_JIT=0`` forbids the
first-use compile; ``RNNKIT_CACHE`` moves the cache (default ``~/.cache/rnnkit``).

    >>> from rnnkit.layers.fused._loader import load
    >>> load() is None or hasattr(load(), "forward")
    True
"""
from __future__ import annotations

import hashlib
import importlib
import os
import warnings
from pathlib import Path

CSRC = Path(__file__).resolve().parent.parent / "csrc"
_state: dict = {}


def compile_flags() -> list[str]:
    """C++ flags shared by setup.py and the first-use compile (``RNNKIT_PORTABLE=1``: no -march=native)."""
    flags = ["-O3", "-fno-math-errno", "-fno-trapping-math", "-fopenmp-simd"]
    if os.environ.get("RNNKIT_PORTABLE", "0") != "1":
        flags.append("-march=native")
    return flags


def sources() -> list[Path]:
    return sorted(CSRC.glob("*.cpp"))


def source_hash(csrc=CSRC) -> str:
    """Hash of the C++ sources; setup.py compiles it in, so a stale build is never loaded."""
    h = hashlib.sha256()
    for p in sorted(Path(csrc).iterdir()):
        if p.suffix in (".cpp", ".h"):
            h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()[:16]


def _fingerprint() -> str:
    import torch
    h = hashlib.sha256((torch.__version__ + source_hash()).encode())
    h.update(" ".join(compile_flags()).encode())
    return h.hexdigest()[:12]


def _jit():
    from torch.utils.cpp_extension import load as cpp_load
    tag = _fingerprint()
    root = Path(os.environ.get("RNNKIT_CACHE", Path.home() / ".cache" / "rnnkit"))
    build = root / f"fused-{tag}"
    build.mkdir(parents=True, exist_ok=True)
    if not any(build.glob("*.so")):
        warnings.warn("rnnkit: compiling the fused CPU kernels once (about a minute); the result is "
                      f"cached in {build}. Install with setup.py's build to avoid this.", stacklevel=3)
    return cpp_load(name=f"rnnkit_fused_{tag}", sources=[str(s) for s in sources()],
                    extra_cflags=compile_flags() + [f"-DRNNKIT_SRC_HASH={source_hash()}"],
                    build_directory=str(build), verbose=False)


def load():
    """Return the extension module, or ``None`` (after one warning) if it cannot be had."""
    if "mod" in _state:
        return _state["mod"]
    mod, how, why = None, "reference", ""
    if os.environ.get("RNNKIT_FUSED", "1") == "0":
        why = "disabled by RNNKIT_FUSED=0"
    else:
        try:
            mod = importlib.import_module("rnnkit.layers.fused._C")
            how = "compiled at install"
            if getattr(mod, "SRC_HASH", None) != source_hash():
                mod, why = None, "the build from install is stale (reinstall rnnkit)"
        except ImportError as e:
            why = f"no build from install ({e})"
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
    load()
    return _state["how"]
