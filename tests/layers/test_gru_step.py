"""The fused GRU step (csrc/gru_step.h: product and cell per block of rows, float32, H a multiple
of 16 up to 128, used by default when no GEMM backend is forced) against the reference loop, in
both reset_after forms: outputs, final states and every gradient, with lengths, a recurrent-dropout
mask, both directions, batches that fill the 4-row blocks and leave remainders (of 1, 2 and 3
rows), and under no_grad (the inference buffers); then rnnkit.GRU at H=32 (2 layers, bidirectional,
lengths, recurrent dropout) against the reference loop and torch.nn.GRU. The weight gradients are
summed inside the step's loop (wgrad_step.h) in all of these."""
import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnkit

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


def _layer_run(layer, x, lengths, seed):
    """Output, final state and every gradient of one training step (masks drawn from `seed`)."""
    layer.zero_grad()
    xr = x.clone().requires_grad_()
    torch.manual_seed(seed)
    out, h = layer(xr, lengths=lengths)
    g = torch.Generator().manual_seed(1)
    (out * torch.randn(out.shape, generator=g)).sum().backward(inputs=[xr, *layer.parameters()])
    return [out, h, xr.grad] + [p.grad.clone() for p in layer.parameters()]


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_layer_on_the_fused_step_equals_the_reference_loop(scan_path, monkeypatch, reset_after):
    """rnnkit.GRU at a size the fused step takes (H=32): 2 layers, bidirectional, lengths,
    variational recurrent dropout (the same masks from the same seed) and the weight gradients
    the step sums in its loop (wgrad_step.h), against the same layer on the reference loop."""
    if scan_path != "fused":
        pytest.skip("compares the fused path with the reference itself")
    from rnnkit.layers import recurrent
    from rnnkit.layers.scan import scan
    layer = rnnkit.GRU(6, 32, num_layers=2, bidirectional=True, recurrent_dropout=0.3,
                       reset_after=reset_after).train()
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in layer.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.1)  # biases not zero
    x = torch.randn(13, 10, 6, generator=g)
    lengths = torch.randint(1, 11, (13,), generator=g)
    monkeypatch.setattr(recurrent, "scan", scan)
    got = _layer_run(layer, x, lengths, seed=11)
    monkeypatch.setattr(recurrent, "scan", reference_scan)
    want = _layer_run(layer, x, lengths, seed=11)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=2e-5, atol=2e-5)


def test_gru_layer_on_the_fused_step_equals_torch_nn_gru(scan_path):
    """The same at H=32 without dropout against torch.nn.GRU over packed sequences."""
    if scan_path != "fused":
        pytest.skip("one comparison of the default fused path is enough")
    ref = torch.nn.GRU(6, 32, num_layers=2, bidirectional=True, batch_first=True)
    layer = rnnkit.GRU(6, 32, num_layers=2, bidirectional=True)
    layer.load_state_dict(ref.state_dict())
    g = torch.Generator().manual_seed(4)
    x = torch.randn(11, 9, 6, generator=g)
    lengths = torch.randint(1, 10, (11,), generator=g)
    got = _layer_run(layer.train(), x, lengths, seed=0)
    xr = x.clone().requires_grad_()
    packed = pack_padded_sequence(xr, lengths, batch_first=True, enforce_sorted=False)
    out, h = ref(packed)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=9)
    (out * torch.randn(out.shape, generator=torch.Generator().manual_seed(1))).sum().backward()
    want = [out, h, xr.grad] + [p.grad for p in ref.parameters()]
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("I,H", [(48, 128), (40, 16)])
@pytest.mark.parametrize("reset_after", [True, False])
def test_fused_gru_step_with_wider_inputs(I, H, reset_after):
    """Past the size where one thread's weight-gradient accumulator stays in cache ((I + H + 2)
    * 3H floats > 256 KB: I=48, H=128) the step still runs and the weight gradients are products
    over all steps; below it a wider input than the other tests' (I=40, H=16) is summed in the
    loop."""
    args, g = _args(6, 5, I, H, seed=9)
    kw = {"lengths": torch.tensor([5, 2, 5, 1, 4, 3]), "reset_after": reset_after,
          "rec_mask": (torch.rand(6, H, generator=g) > 0.25).float() / 0.75}
    got, want = _run(fused_scan, args, kw), _run(reference_scan, args, kw)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=2e-5, atol=2e-5)
