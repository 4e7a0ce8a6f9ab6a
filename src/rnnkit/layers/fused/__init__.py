"""Fused CPU kernels for the recurrent layers (issue 3): LSTM, GRU (both ``reset_after``
forms) and SimpleRNN, with lengths, recurrent-dropout masks, reverse direction and initial
state handled inside one C++ loop with a hand-written backward.

``available()`` says whether the compiled extension loaded; ``backend()`` names the path
that runs; ``fused_scan(...)`` has the signature of :func:`rnnkit.layers.scan.reference_scan`.

    >>> from rnnkit.layers import fused
    >>> fused.backend().split(",")[0] in ("fused-cpp (compiled at install",
    ...     "fused-cpp (compiled on first use, cached", "reference (pure PyTorch)")
    True
"""
from rnnkit.layers.fused import _loader
from rnnkit.layers.fused import backends
from rnnkit.layers.fused.function import fused_scan


def available() -> bool:
    """True if the fused C++ kernels are loaded (compiling them once if needed)."""
    return _loader.load() is not None


def backend() -> str:
    """Which path the recurrent layers run: the fused C++ kernels (and how they were built) or
    the pure PyTorch reference."""
    if not available():
        return "reference (pure PyTorch)"
    return f"fused-cpp ({_loader.describe()})"


__all__ = ["available", "backend", "backends", "fused_scan"]
