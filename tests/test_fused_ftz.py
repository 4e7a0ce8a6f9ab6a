"""Subnormal floats inside the fused kernels (csrc/ftz.h): flushed to zero on the calling thread
and on every worker of torch's thread pool while a kernel runs (in its loops and in the GEMMs of
each backend), and the caller's floating-point mode as it was afterwards."""
import platform

import pytest
import torch

import rnnkit
from rnnkit.layers import fused
from rnnkit.layers.fused import _loader, backends, fused_scan

pytestmark = pytest.mark.skipif(not fused.available(), reason="fused extension not built here")
x86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")
SUBNORMAL = 1e-40          # below float32's smallest normal, 1.18e-38


@pytest.fixture
def two_threads():
    n = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(n)


def survives() -> bool:
    """Whether a subnormal survives arithmetic on this thread (False: flushed, FTZ/DAZ on)."""
    return bool((torch.tensor([SUBNORMAL]) * 1.0).item() != 0)


@pytest.mark.skipif(not x86, reason="MXCSR exists on x86 only (elsewhere the guard is a no-op)")
@pytest.mark.parametrize("flush_before", [False, True])
def test_every_thread_flushes_inside_and_the_callers_mode_is_restored(flush_before, two_threads, monkeypatch):
    monkeypatch.delenv("RNNKIT_FTZ", raising=False)
    assert torch.set_flush_denormal(flush_before)
    try:
        inside, after = _loader.load().ftz_probe()
        assert inside == [0x8040] * len(inside) and len(inside) == 3   # two pool threads + the caller
        assert after[-1] == (0x8040 if flush_before else 0)             # the caller's bits as they were
        assert survives() is not flush_before
    finally:
        torch.set_flush_denormal(False)


@pytest.mark.skipif(not x86, reason="MXCSR exists on x86 only")
def test_rnnkit_ftz_0_turns_the_guard_off(two_threads, monkeypatch):
    monkeypatch.setenv("RNNKIT_FTZ", "0")
    inside, after = _loader.load().ftz_probe()
    assert inside == [0] * len(inside) and after == [0] * len(after)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_a_layer_call_leaves_subnormals_alive_for_the_caller(cell, two_threads):
    torch.set_flush_denormal(False)
    layer = {"lstm": rnnkit.LSTM, "gru": rnnkit.GRU}[cell](5, 16, recurrent_dropout=0.2)
    out, _ = layer(torch.randn(4, 7, 5), lengths=torch.tensor([7, 3, 5, 1]))
    out.sum().backward()
    assert survives()


@pytest.mark.skipif(not x86, reason="MXCSR exists on x86 only")
@pytest.mark.parametrize("gemm", [None, "aten", "blas", "dnnl"])
def test_subnormal_inputs_are_flushed_in_the_weight_gradient_gemm(gemm, two_threads, monkeypatch):
    """x of subnormals: with the guard dW_ih = x^T dgates is exactly zero (DAZ, on every thread the
    product runs on); with RNNKIT_FTZ=0 it is not (the test would pass vacuously otherwise)."""
    mod = _loader.load()
    if gemm is not None and backends.probe(mod)[gemm] is not None:
        pytest.skip(f"the {gemm} GEMM backend does not run here")
    g = torch.Generator().manual_seed(0)
    B, T, I, H = 64, 40, 8, 32
    x = torch.full((B, T, I), SUBNORMAL)
    w = [(torch.randn(4 * H, n, generator=g) * 0.3).requires_grad_() for n in (I, H)]

    def dw_ih():
        out, _, _ = fused_scan("lstm", x, None, None, *w, None, None, gemm=gemm)
        return torch.autograd.grad(out.sum(), w[0])[0]
    monkeypatch.delenv("RNNKIT_FTZ", raising=False)
    assert (dw_ih() == 0).all()
    monkeypatch.setenv("RNNKIT_FTZ", "0")
    assert (dw_ih() != 0).any()
    assert survives()
