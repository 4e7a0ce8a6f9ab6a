"""The fused LSTM step (csrc/lstm_step.h: product and cell per block of rows, float32, H a multiple
of 16 up to 128, used by default when no GEMM backend is forced) against the reference loop:
outputs, final states and every gradient, with lengths, a recurrent-dropout mask, both directions,
batches that fill the 4-row blocks and leave remainders, and under no_grad (the inference buffers).
On AVX-512 builds the weight gradients are summed in the backward loop (wgrad_step.h) except at
H=128, whose accumulator is past the 256 KB limit and takes the products over all steps."""
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
    return [r(B, T, I), r(B, H), r(B, H), r(4 * H, I, k=w), r(4 * H, H, k=w), r(4 * H, k=w), r(4 * H, k=w)], g


def _run(fn, args, kw):
    out, h, c = fn("lstm", *args, **kw)
    loss = out.pow(2).sum() + h.sin().sum() + c.cos().sum()
    return [out, h, c] + list(torch.autograd.grad(loss, args))


@pytest.mark.parametrize("H", [16, 32, 48, 128])
@pytest.mark.parametrize("B", [8, 11, 3])
@pytest.mark.parametrize("reverse", [False, True])
def test_fused_lstm_step_matches_the_reference_loop(H, B, reverse):
    args, g = _args(B, 9, 5, H, seed=H * 10 + B)
    lengths = torch.randint(1, 10, (B,), generator=g)
    lengths[0] = 9
    mask = (torch.rand(B, H, generator=g) > 0.25).float() / 0.75
    for kw in ({}, {"lengths": lengths}, {"lengths": lengths, "rec_mask": mask}):
        kw = dict(kw, reverse=reverse)
        got, want = _run(fused_scan, args, kw), _run(reference_scan, args, kw)
        for a, b in zip(got, want):
            torch.testing.assert_close(a, b, rtol=2e-5, atol=2e-5)


def test_fused_lstm_step_inference_equals_training_forward():
    args, g = _args(10, 13, 7, 32, seed=1)
    lengths = torch.tensor([13, 1, 5, 13, 7, 2, 9, 11, 3, 13])
    with torch.no_grad():
        got = fused_scan("lstm", *args, lengths=lengths)
    want = reference_scan("lstm", *args, lengths=lengths)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b.detach(), rtol=2e-5, atol=2e-5)
    assert (got[0][1, 1:] == 0).all()        # outputs after a length are exactly zero
