"""The fused GRU step (csrc/gru_step.h: product and cell per block of rows, float32, H a multiple
of 16 up to 128, used by default when no GEMM backend is forced) against the reference loop, in
both reset_after forms: outputs, final states and every gradient, with lengths, a recurrent-dropout
mask, both directions, batches that fill the 4-row blocks and leave remainders (of 1, 2 and 3
rows), and under no_grad (the inference buffers)."""
import pytest
import torch

from rnnkit.layers import fused
from rnnkit.layers.fused import fused_scan
from rnnkit.layers.scan import reference_scan

pytestmark = pytest.mark.skipif(not fused.available(), reason="fused extension not built here")


def _args(B, T, I, H, seed):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s, k=0.5: (torch.randn(*s, generator=g) * k).requires_grad_()  # noqa: E731
    w = 1.5 / H ** 0.5                       # torch.nn's init range 1/sqrt(H), a little wider
    return [r(B, T, I), r(B, H), None, r(3 * H, I, k=w), r(3 * H, H, k=w), r(3 * H, k=w), r(3 * H, k=w)], g


def _run(fn, args, kw):
    out, h, _ = fn("gru", *args, **kw)
    loss = out.pow(2).sum() + h.sin().sum()
    return [out, h] + list(torch.autograd.grad(loss, [a for a in args if a is not None]))


@pytest.mark.parametrize("H", [16, 32, 48, 128])
@pytest.mark.parametrize("B", [8, 11, 6, 3])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("reset_after", [True, False])
def test_fused_gru_step_matches_the_reference_loop(H, B, reverse, reset_after):
    args, g = _args(B, 9, 5, H, seed=H * 10 + B)
    lengths = torch.randint(1, 10, (B,), generator=g)
    lengths[0] = 9
    mask = (torch.rand(B, H, generator=g) > 0.25).float() / 0.75
    for kw in ({}, {"lengths": lengths}, {"lengths": lengths, "rec_mask": mask}):
        kw = dict(kw, reverse=reverse, reset_after=reset_after)
        got, want = _run(fused_scan, args, kw), _run(reference_scan, args, kw)
        for a, b in zip(got, want):
            torch.testing.assert_close(a, b, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("reset_after", [True, False])
def test_fused_gru_step_without_biases_and_with_output_gradient_only(reset_after):
    args, g = _args(7, 6, 3, 32, seed=5)
    args[5] = args[6] = None
    kw = {"lengths": torch.tensor([6, 2, 6, 1, 4, 5, 3]), "reset_after": reset_after}
    got = fused_scan("gru", *args, **kw)[0].sum()
    want = reference_scan("gru", *args, **kw)[0].sum()
    params = [a for a in args if a is not None]
    for a, b in zip(torch.autograd.grad(got, params), torch.autograd.grad(want, params)):
        torch.testing.assert_close(a, b, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("reset_after", [True, False])
def test_fused_gru_step_inference_equals_training_forward(reset_after):
    args, g = _args(10, 13, 7, 32, seed=1)
    lengths = torch.tensor([13, 1, 5, 13, 7, 2, 9, 11, 3, 13])
    with torch.no_grad():
        got = fused_scan("gru", *args, lengths=lengths, reset_after=reset_after)
    want = reference_scan("gru", *args, lengths=lengths, reset_after=reset_after)
    for a, b in zip(got[:2], want[:2]):
        torch.testing.assert_close(a, b.detach(), rtol=2e-5, atol=2e-5)
    assert (got[0][1, 1:] == 0).all()        # outputs after a length are exactly zero
