"""Subnormal floats inside the fused kernels (csrc/ftz.h): flushed to zero on the calling thread
and on every worker of torch's thread pool while a kernel runs (in its loops and in the GEMMs of
each backend), and the caller's floating-point mode as it was afterwards.

The floating-point mode of torch's OpenMP workers is inherited: a worker started while its creator
had FTZ on keeps it (tests/test_subnormals.py checks that commands run in-process leave none such).
So these tests run in a fresh interpreter: in the suite, one case runs this
file again in a subprocess (pytest, RNNKIT_FTZ_FRESH=1) and checks that every case passed there."""
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import rnnkit
from rnnkit.layers import fused
from rnnkit.layers.fused import _loader, backends, fused_scan

FRESH = os.environ.get("RNNKIT_FTZ_FRESH") == "1"
pytestmark = pytest.mark.skipif(not fused.available(), reason="fused extension not built here")
in_fresh_process = pytest.mark.skipif(not FRESH, reason="run in a fresh process by test_every_case_in_a_fresh_process")


@pytest.mark.skipif(FRESH, reason="this is the fresh process")
def test_every_case_in_a_fresh_process():
    env = {**os.environ, "RNNKIT_FTZ_FRESH": "1", "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).resolve().parents[1] / "src"), os.environ.get("PYTHONPATH", "")])}
    env.pop("RNNKIT_FTZ", None)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__], env=env,
                          cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and " failed" not in proc.stdout, proc.stdout[-2000:]
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


@in_fresh_process
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


@in_fresh_process
@pytest.mark.skipif(not x86, reason="MXCSR exists on x86 only")
def test_rnnkit_ftz_0_turns_the_guard_off(two_threads, monkeypatch):
    monkeypatch.setenv("RNNKIT_FTZ", "0")
    inside, after = _loader.load().ftz_probe()
    assert inside == [0] * len(inside) and after == [0] * len(after)


@in_fresh_process
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_a_layer_call_leaves_subnormals_alive_for_the_caller(cell, two_threads):
    torch.set_flush_denormal(False)
    layer = {"lstm": rnnkit.LSTM, "gru": rnnkit.GRU}[cell](5, 16, recurrent_dropout=0.2)
    out, _ = layer(torch.randn(4, 7, 5), lengths=torch.tensor([7, 3, 5, 1]))
    out.sum().backward()
    assert survives()


@in_fresh_process
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
