"""GEMM backends of the fused kernels: which ones run on this CPU, and which one a call uses.

Three backends compute the kernels' matrix products:

- ``blas``: the Fortran ``sgemm_``/``dgemm_`` that torch links (MKL on x86-64 wheels,
  OpenBLAS elsewhere), called directly; least overhead per call, so used per time step.
- ``dnnl``: oneDNN through torch's internal ``at::native::mkldnn_matmul``; the fastest for
  large products on AVX-512 CPUs, but torch 2.13 refuses it (even for float32) on CPUs without
  AVX-512 or AVX-NE-CONVERT.
- ``aten``: ``torch.mm``; always works, the last resort.

:func:`probe` runs a 128x136 @ 136x128 product through each once per process and compares it
with ``torch.mm``; a backend that fails or disagrees is never chosen. If a chosen backend still
throws during a run, the C++ side redoes that product on the next backend
(dnnl -> blas -> aten), switches the failed one off for the rest of the process, and
:func:`report` emits one warning naming it and the reason.

``RNNKIT_GEMM=aten|blas|dnnl`` forces one backend for every product of every size (tests and
benchmarks); ``fused_scan(..., gemm=NAME)`` does the same for one call.

    >>> from rnnkit.layers.fused import _loader
    >>> from rnnkit.layers.fused.backends import probe
    >>> mod = _loader.load()
    >>> mod is None or probe(mod)["aten"] is None   # torch.mm always passes its own probe
    True
"""
from __future__ import annotations

import os
import warnings

import torch

from rnnkit.errors import InvalidArgumentError

CODES = {"aten": 0, "dnnl": 1, "blas": 2}
NAMES = {v: k for k, v in CODES.items()}
EXACT = 256  # C++ flag: the named backend for every size (no size heuristic)
_state: dict = {"probe": None, "choice": {}, "failed": {}}


def probe(mod) -> dict[str, str | None]:
    """``{name: None if it works here, else the reason}``, measured once per process."""
    if _state["probe"] is None:
        gen = torch.Generator().manual_seed(0)
        a, b = torch.randn(128, 136, generator=gen), torch.randn(136, 128, generator=gen)
        ref = torch.mm(a, b)
        result = {}
        for name, code in CODES.items():
            if name == "dnnl" and not torch.backends.mkldnn.is_available():
                result[name] = "torch was built without oneDNN (mkldnn)"
                continue
            if name == "blas" and not mod.has_blas():
                result[name] = "no sgemm_ symbol is loaded in this process"
                continue
            try:
                out = mod.gemm_probe(a, b, code)
                ok = torch.allclose(out, ref, rtol=1e-4, atol=1e-3)
                result[name] = None if ok else "its product differs from torch.mm"
            except Exception as e:  # noqa: BLE001 - any failure means: never choose it
                result[name] = str(e).strip().splitlines()[0][:300] if str(e).strip() else repr(e)
        for name, why in result.items():
            if why is not None and name != "aten":
                mod.switch_off(CODES[name])  # also when a size rule would pick it in C++
        _state["probe"] = result
    return _state["probe"]


def usable(mod) -> list[str]:
    """Names of the backends that passed the probe and have not failed since (``aten``
    always)."""
    return [n for n, why in probe(mod).items() if why is None and n not in _state["failed"]]


def _forced_name() -> str | None:
    name = os.environ.get("RNNKIT_GEMM", "").strip().lower()
    if not name:
        return None
    if name not in CODES:
        raise InvalidArgumentError.for_argument(
            "RNNKIT_GEMM", name, "one of 'aten', 'blas', 'dnnl' (or unset it)")
    return name


def forced(name: str, mod) -> int:
    """Packed backend code that runs every product on ``name``; an error if the probe
    rejected it on this machine (if it failed later, the C++ side falls back, as warned)."""
    if name not in CODES:
        raise InvalidArgumentError.for_argument("gemm", name, "'aten', 'dnnl', 'blas' or None")
    why = probe(mod)[name]
    if why is not None:
        raise InvalidArgumentError.for_argument(
            "gemm", name, f"one of the backends that run on this CPU: {usable(mod)}",
            f"The {name} backend failed its probe here: {why}.")
    return CODES[name] * 17 | EXACT


def choose(hidden_size: int, mod, dtype=torch.float32) -> int:
    """Packed GEMM backends for a layer, ``step | big << 4``. Per-step products (h @ W_hh^T):
    BLAS for small hidden sizes (least per-call overhead), oneDNN from 256 on where it runs.
    The products over all steps (x W_ih, dx, dW): oneDNN where it runs (2-5x faster than MKL
    on these tall-thin shapes on AVX-512), else BLAS, else ATen. ``RNNKIT_GEMM`` overrides."""
    name = _forced_name()
    key = (hidden_size, dtype, name)
    if key not in _state["choice"]:
        ok = usable(mod)
        if name is not None and name not in ok:
            warnings.warn(f"rnnkit: RNNKIT_GEMM={name} cannot run on this CPU "
                          f"({probe(mod)[name] or _state['failed'].get(name)}); using the default "
                          f"choice among {ok}.", stacklevel=4)
        _state["choice"][key] = (CODES[name] * 17 | EXACT if name in ok
                                 else choose_default(hidden_size, ok, dtype))
    return _state["choice"][key]


def choose_default(hidden_size: int, ok: list[str], dtype) -> int:
    """The size rule of :func:`choose` over the usable backends ``ok``."""
    dnnl = dtype == torch.float32 and "dnnl" in ok
    small = CODES["blas"] if "blas" in ok else CODES["aten"]
    step = CODES["dnnl"] if (dnnl and hidden_size >= 256) else small
    return step | ((CODES["dnnl"] if dnnl else small) << 4)


def report(mod) -> None:
    """Warn once for each backend that failed during a run (the C++ side already fell back)."""
    for code, why in mod.take_failures():
        name = NAMES.get(code, str(code))
        _state["failed"][name] = why
        _state["choice"].clear()
        warnings.warn(f"rnnkit: the {name} GEMM backend failed ({why}); the fused kernels use "
                      "the next backend for the rest of this process. Results are unaffected.",
                      RuntimeWarning, stacklevel=4)


def inject_failure(mod, names: tuple[str, ...] = ()) -> None:
    """Test hook: make the named backends throw from now on (``()`` restores all of them and
    forgets earlier failures). Call :func:`reset` to re-run the probe under the new faults."""
    mask = 0
    for n in names:
        mask |= 1 << CODES[n]
    mod.inject_failure(mask)
    if not names:
        mod.take_failures()


def reset() -> None:
    """Forget the probe and the cached choices (tests)."""
    _state.update(probe=None, choice={}, failed={})


def explain(code: int) -> str:
    """``choose``'s packed code in words: ``'per-step blas, all-steps dnnl'``."""
    return f"per-step {NAMES[code & 15]}, all-steps {NAMES[(code >> 4) & 15]}"


def describe(mod) -> str:
    """One line for benchmark headers: which backends run here and which do not (and why)."""
    parts = [n if why is None else f"{n} (off: {why[:80]})" for n, why in probe(mod).items()]
    return "GEMM backends: " + ", ".join(parts)
