"""GEMM backends of the fused kernels (issue 7): the probe, forcing a backend, and falling back
when a backend fails at the probe or in the middle of a run, on any CPU.

The backends are made to fail with the extension's test hook; a subprocess also runs the
training step that crashed on AVX2 CPUs with oneDNN capped at AVX2, which reproduces torch's
real refusal on an AVX-512 machine (and is the real thing on an AVX2 one)."""
import os
import subprocess
import sys
import warnings

import pytest
import torch

from rnnkit.errors import InvalidArgumentError
from rnnkit.layers import fused
from rnnkit.layers.fused import _loader, backends, fused_scan
from rnnkit.layers.scan import reference_scan

pytestmark = pytest.mark.skipif(not fused.available(), reason="fused kernels not built")
G = {"lstm": 4, "gru": 3, "rnn": 1}


@pytest.fixture
def mod(monkeypatch):
    monkeypatch.delenv("RNNKIT_GEMM", raising=False)
    m = _loader.load()
    backends.inject_failure(m, ())
    backends.reset()
    yield m
    backends.inject_failure(m, ())
    backends.reset()


def _case(mode, B=6, T=7, I=5, H=9, seed=0):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: (torch.randn(*s, generator=g) * 0.4).requires_grad_()  # noqa: E731
    n = G[mode] * H
    args = [r(B, T, I), r(B, H), r(B, H) if mode == "lstm" else None, r(n, I), r(n, H), r(n), r(n)]
    kw = dict(lengths=torch.tensor([7, 3, 5, 7, 1, 6][:B]),
              rec_mask=(torch.rand(B, H, generator=g) > 0.3).float() / 0.7)
    return args, kw


def _outputs_and_grads(fn, mode, args, kw, **extra):
    out, h, c = fn(mode, *args, **kw, **extra)
    loss = out.pow(2).sum() + h.sin().sum() + (c.cos().sum() if c is not None else 0)
    params = [a for a in args if a is not None]
    return [out, h] + list(torch.autograd.grad(loss, params))


def _assert_matches_reference(mode, reset_after=True, **extra):
    args, kw = _case(mode)
    kw["reset_after"] = reset_after
    got = _outputs_and_grads(fused_scan, mode, args, kw, **extra)
    want = _outputs_and_grads(reference_scan, mode, args, kw)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def _rnnkit_warnings(record):
    return [w for w in record if str(w.message).startswith("rnnkit: ")]   # not "rnnkit" anywhere: a path may hold it


def test_probe_names_every_backend_and_aten_always_runs(mod):
    result = backends.probe(mod)
    assert set(result) == {"aten", "blas", "dnnl"}
    assert result["aten"] is None
    for name, why in result.items():
        assert why is None or (isinstance(why, str) and why), name
    assert "aten" in backends.usable(mod)


@pytest.mark.parametrize("name", ["aten", "blas", "dnnl"])
@pytest.mark.parametrize("mode,reset_after", [("lstm", True), ("gru", True), ("gru", False), ("rnn", True)])
def test_each_backend_that_runs_here_matches_the_reference(mod, name, mode, reset_after):
    why = backends.probe(mod)[name]
    if why is not None:
        pytest.skip(f"{name} does not run on this CPU: {why}")
    _assert_matches_reference(mode, reset_after, gemm=name)


def test_backend_failing_at_the_probe_is_never_chosen(mod):
    backends.inject_failure(mod, ("dnnl",))
    backends.reset()
    assert "inject_failure" in backends.probe(mod)["dnnl"]
    for hidden in (8, 32, 256, 1024):
        code = backends.choose(hidden, mod)
        assert code & 15 != backends.CODES["dnnl"] and (code >> 4) & 15 != backends.CODES["dnnl"]
    with pytest.raises(InvalidArgumentError, match="dnnl"):
        fused_scan("lstm", *_case("lstm")[0], gemm="dnnl")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        _assert_matches_reference("lstm")
    assert _rnnkit_warnings(record) == []  # a backend this CPU lacks is no news at every start


@pytest.mark.parametrize("mode,reset_after", [("lstm", True), ("gru", True), ("gru", False), ("rnn", True)])
@pytest.mark.parametrize("I,H", [(5, 9), (14, 32), (20, 17), (32, 16), (33, 8)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_hand_kernels_for_small_inputs_match_the_reference(mod, mode, reset_after, I, H, dtype):
    """Where oneDNN does not run, x @ W_ih and dx = dgates @ W_ih go through small_gemm.h for an
    input size <= 32 (widths that fill 64-column tiles, 8-lane registers and neither; the
    narrow and the wide dx panel; 33 = BLAS again); compared with the reference loop."""
    backends.inject_failure(mod, ("dnnl",))
    backends.reset()
    g = torch.Generator().manual_seed(I * 100 + H)
    B, T, n = 7, 11, G[mode] * H
    r = lambda *s: (torch.randn(*s, generator=g, dtype=dtype) * 0.4).requires_grad_()  # noqa: E731
    args = [r(B, T, I), r(B, H), r(B, H) if mode == "lstm" else None, r(n, I), r(n, H), r(n), r(n)]
    for lengths in (None, torch.tensor([11, 3, 5, 11, 1, 6, 9])):
        kw = dict(lengths=lengths, reset_after=reset_after)
        got = _outputs_and_grads(fused_scan, mode, args, kw)
        want = _outputs_and_grads(reference_scan, mode, args, kw)
        tol = 1e-4 if dtype == torch.float32 else 1e-12  # float32: summation order
        for a, b in zip(got, want):
            torch.testing.assert_close(a, b, rtol=tol, atol=tol)


@pytest.mark.parametrize("name", ["dnnl", "blas"])
def test_backend_failing_mid_run_falls_back_with_one_warning(mod, name):
    if backends.probe(mod)[name] is not None:
        pytest.skip(f"{name} does not run on this CPU, so it cannot fail mid-run")
    backends.choose(32, mod)  # the choice is made while the backend still works
    backends.inject_failure(mod, (name,))
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        _assert_matches_reference("lstm", gemm=name)  # forward and backward both fail over
        _assert_matches_reference("gru", reset_after=False, gemm=name)
    msgs = [str(w.message) for w in _rnnkit_warnings(record)]
    assert len(msgs) == 1, msgs
    assert f"the {name} GEMM backend failed" in msgs[0] and "inject_failure" in msgs[0]
    assert name not in backends.usable(mod)
    assert all((backends.choose(h, mod) >> k) & 15 != backends.CODES[name]
               for h in (8, 512) for k in (0, 4))


def test_rnnkit_gemm_environment_variable(mod, monkeypatch):
    monkeypatch.setenv("RNNKIT_GEMM", "aten")
    assert backends.choose(32, mod) == backends.CODES["aten"] * 17 | backends.EXACT
    monkeypatch.setenv("RNNKIT_GEMM", "mkl")
    with pytest.raises(InvalidArgumentError, match="RNNKIT_GEMM"):
        backends.choose(32, mod)
    backends.inject_failure(mod, ("blas",))
    backends.reset()
    monkeypatch.setenv("RNNKIT_GEMM", "blas")
    with pytest.warns(UserWarning, match="RNNKIT_GEMM=blas cannot run"):
        _assert_matches_reference("gru")


def test_training_step_with_onednn_capped_at_avx2_runs():
    """The README job died here on AVX2 CPUs: the big GEMMs crossed the size where oneDNN is
    picked and torch's mkldnn_matmul refused the CPU. ONEDNN_MAX_CPU_ISA=AVX2 makes torch
    refuse it on this machine too (or it is already an AVX2 machine)."""
    code = """
import torch, warnings
warnings.simplefilter("error")
from rnnkit.layers import fused
from rnnkit.layers.fused import _loader, backends
from rnnkit.layers.scan import reference_scan
assert fused.backend().startswith("fused-cpp"), fused.backend()
g = torch.Generator().manual_seed(0)
x = torch.randn(64, 120, 14, generator=g, requires_grad=True)
w = [torch.randn(128, 14, generator=g) * .2, torch.randn(128, 32, generator=g) * .2, torch.zeros(128), torch.zeros(128)]
out, h, c = fused.fused_scan("lstm", x, None, None, *w)
out.sum().backward()
ref = reference_scan("lstm", x.detach(), torch.zeros(64, 32), torch.zeros(64, 32), *w)[0]
torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-5)
print("dnnl:", backends.probe(_loader.load())["dnnl"])
"""
    env = dict(os.environ, ONEDNN_MAX_CPU_ISA="AVX2", ATEN_CPU_CAPABILITY="avx2")
    env.pop("RNNKIT_GEMM", None)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.startswith("dnnl:")
