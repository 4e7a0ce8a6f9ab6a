"""How the fused kernels are compiled, and whether a compiled copy may run here.

Shared by ``setup.py`` (the build at install) and :mod:`rnnkit.layers.fused._loader` (the
first-use build and the check before loading); imports nothing but the standard library so
``setup.py`` can load it by path.

A build targets a named instruction-set level, never ``-march=native``: on x86-64 the highest
psABI level the building CPU has (``x86-64-v4`` = AVX-512, ``v3`` = AVX2+FMA, ``v2``,
``x86-64``), on aarch64 ``armv8-a``, elsewhere the compiler's default. The level's CPU
features, the torch version and the sources' hash are written beside the library
(``_C.build.json``); the loader refuses a library whose features this CPU lacks (it would die
with SIGILL), or that was built for another torch or other sources, and builds a matching copy
in the cache instead (keyed by the same facts). ``RNNKIT_ISA`` picks a level (``x86-64-v3``,
say, for an image shared with older CPUs); ``RNNKIT_PORTABLE=1`` means the baseline level.

    >>> level_for("x86_64", {"avx2", "fma", "bmi1", "bmi2", "f16c", "movbe", "xsave", "abm",
    ...                      "avx", "sse4_1", "sse4_2", "ssse3", "popcnt", "cx16", "lahf_lm"})
    'x86-64-v3'
    >>> level_for("aarch64", set())
    'armv8-a'
    >>> missing_features("x86-64-v4", {"avx2"})[:2]
    ['abm', 'avx']
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from pathlib import Path

CSRC = Path(__file__).resolve().parent.parent / "csrc"
INFO_SUFFIX = ".build.json"

# CPU flags (as Linux /proc/cpuinfo names them) each x86-64 psABI level needs.
_V2 = ["cx16", "lahf_lm", "popcnt", "sse4_1", "sse4_2", "ssse3"]
_V3 = _V2 + ["abm", "avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "movbe", "xsave"]
_V4 = _V3 + ["avx512bw", "avx512cd", "avx512dq", "avx512f", "avx512vl"]
LEVELS = {"x86_64": [("x86-64-v4", _V4), ("x86-64-v3", _V3), ("x86-64-v2", _V2), ("x86-64", [])],
          "aarch64": [("armv8-a", [])]}
BASE_FLAGS = ["-O3", "-fno-math-errno", "-fno-trapping-math", "-fopenmp-simd"]
# at::parallel_for is a header template: compiled without -fopenmp its `omp parallel` vanishes
# and every parallel loop of the kernels runs on one thread. GCC/clang on Linux link the same
# libgomp torch loads (one OpenMP runtime, torch's thread count); elsewhere the loops stay serial.
OPENMP_FLAGS = ["-fopenmp"] if sys.platform.startswith("linux") else []


def machine() -> str:
    m = platform.machine().lower()
    return {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64"}.get(m, m)


def cpu_features() -> set[str]:
    """The CPU's feature flags from /proc/cpuinfo (Linux); elsewhere the level torch detected
    (when torch is imported), else empty."""
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("flags", "Features"):
                return set(value.split())
    except OSError:
        pass
    torch = sys.modules.get("torch")
    cap = torch.backends.cpu.get_cpu_capability() if torch is not None else ""
    return set(_V4 if cap.startswith("AVX512") else _V3 if cap == "AVX2" else [])


def required(level: str) -> list[str]:
    for levels in LEVELS.values():
        for name, feats in levels:
            if name == level:
                return sorted(feats)
    return []


def missing_features(level: str, features: set[str]) -> list[str]:
    return [f for f in required(level) if f not in features]


def level_for(arch: str, features: set[str]) -> str | None:
    """The highest level of ``arch`` whose features are all in ``features`` (None: no -march)."""
    for name, feats in LEVELS.get(arch, []):
        if all(f in features for f in feats):
            return name
    return None


def target_level(arch: str | None = None, features: set[str] | None = None,
                 env=os.environ) -> str | None:
    """The level to compile for here (``RNNKIT_ISA`` / ``RNNKIT_PORTABLE`` respected)."""
    arch = arch or machine()
    features = cpu_features() if features is None else features
    choice = env.get("RNNKIT_ISA", "").strip()
    if choice:
        known = [n for n, _ in LEVELS.get(arch, [])]
        if choice not in known:
            raise ValueError(f"RNNKIT_ISA={choice!r} is not a level of {arch}; use one of {known}")
        return choice
    if env.get("RNNKIT_PORTABLE", "0") == "1":
        levels = LEVELS.get(arch, [])
        return levels[-1][0] if levels else None
    return level_for(arch, features)


def compile_flags(level: str | None) -> list[str]:
    return BASE_FLAGS + OPENMP_FLAGS + ([f"-march={level}", "-mtune=generic"] if level else [])


def source_hash(csrc=CSRC) -> str:
    """Hash of the C++ sources: a library built from other sources is never loaded."""
    h = hashlib.sha256()
    for p in sorted(Path(csrc).iterdir()):
        if p.suffix in (".cpp", ".h"):
            h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()[:16]


def build_info(torch_version: str, level: str | None, csrc=CSRC) -> dict:
    """What a build was made for; written beside the library, checked before loading it."""
    return {"torch": torch_version, "machine": machine(), "level": level,
            "requires": required(level) if level else [], "src": source_hash(csrc),
            "flags": compile_flags(level)}


def write_info(library: str | os.PathLike, info: dict) -> None:
    Path(str(library) + INFO_SUFFIX).write_text(json.dumps(info, indent=1) + "\n")


def why_not_loadable(info: dict | None, torch_version: str, features: set[str] | None = None,
                     csrc=CSRC) -> str | None:
    """None if a library built as ``info`` says may be loaded here, else the reason."""
    if not info:
        return "it has no build record (built by an older rnnkit)"
    if info.get("machine") != machine():
        return f"it was built for {info.get('machine')}, this is {machine()}"
    if info.get("torch") != torch_version:
        return f"it was built against torch {info.get('torch')}, this is torch {torch_version}"
    if info.get("src") != source_hash(csrc):
        return "it was built from other sources (reinstall rnnkit)"
    features = cpu_features() if features is None else features
    lacking = [f for f in info.get("requires", []) if f not in features]
    if lacking and features:
        return (f"it was built for {info.get('level')} and this CPU lacks "
                f"{', '.join(lacking[:6])} (running it would crash with an illegal instruction)")
    return None


def read_info(library: str | os.PathLike) -> dict | None:
    try:
        return json.loads(Path(str(library) + INFO_SUFFIX).read_text())
    except (OSError, ValueError):
        return None
