"""The fused C++ scan against independent references: torch.nn modules (no mask, no lengths)
and rnnkit's per-step reference_scan (lengths, recurrent mask, reverse, GRU forms, relu)."""
import pytest
import torch

from rnnkit.errors import InvalidArgumentError
from rnnkit.layers import fused
from rnnkit.layers.fused import fused_scan
from rnnkit.layers.scan import reference_scan

pytestmark = pytest.mark.skipif(not fused.available(), reason="fused kernels not built")
G = {"lstm": 4, "gru": 3, "rnn": 1}
TOL = dict(rtol=1e-5, atol=1e-5)


def _inputs(mode, B, T, I, H, dtype=torch.float32, bias=True, seed=0):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s, k=0.5: (torch.randn(*s, generator=g, dtype=dtype) * k).requires_grad_()  # noqa: E731
    n, k = G[mode] * H, H ** -0.5  # torch's init scale keeps float32 gradients well conditioned
    return dict(x=r(B, T, I), h0=r(B, H), c0=r(B, H) if mode == "lstm" else None,
                w_ih=r(n, I, k=k), w_hh=r(n, H, k=k), b_ih=r(n, k=k) if bias else None,
                b_hh=r(n, k=k) if bias else None)


def _run(fn, mode, inp, seed=1, **kw):
    out, h, c = fn(mode, inp["x"], inp["h0"], inp["c0"], inp["w_ih"], inp["w_hh"], inp["b_ih"],
                   inp["b_hh"], **kw)
    g = torch.Generator().manual_seed(seed)
    loss = (out * torch.randn(out.shape, generator=g, dtype=out.dtype)).sum()
    loss = loss + (h * torch.randn(h.shape, generator=g, dtype=h.dtype)).sum()
    if c is not None:
        loss = loss + (c * torch.randn(c.shape, generator=g, dtype=c.dtype)).sum()
    params = [v for v in inp.values() if v is not None]
    return [out, h] + ([c] if c is not None else []), torch.autograd.grad(loss, params)


def _close(a, b):
    for u, v in zip(a, b):
        torch.testing.assert_close(u, v, **TOL)


def _torch_module(mode, inp, nonlinearity="tanh"):
    def fn(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh):
        I, H = x.shape[2], h0.shape[1]
        kw = {"nonlinearity": nonlinearity} if mode == "rnn" else {}
        m = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[mode](
            I, H, batch_first=True, bias=b_ih is not None, **kw)
        params = [w_ih, w_hh] + ([b_ih, b_hh] if b_ih is not None else [])
        state = (h0[None], c0[None]) if mode == "lstm" else h0[None]
        out, st = torch.func.functional_call(m, dict(zip([n for n, _ in m.named_parameters()], params)),
                                             (x, state))
        return (out, st[0][0], st[1][0]) if mode == "lstm" else (out, st[0], None)
    return fn


@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("B,T,H", [(1, 1, 3), (7, 6, 5), (7, 13, 16), (1, 9, 33)])
def test_matches_torch_nn(mode, B, T, H):
    inp = _inputs(mode, B, T, 4, H)
    _close(_run(fused_scan, mode, inp)[0], _run(_torch_module(mode, inp), mode, inp)[0])
    _close(_run(fused_scan, mode, inp)[1], _run(_torch_module(mode, inp), mode, inp)[1])


def test_relu_rnn_and_no_bias_match_torch_nn():
    inp = _inputs("rnn", 7, 8, 4, 6, bias=False)
    ref = _torch_module("rnn", inp, "relu")
    a = _run(lambda *a, **k: fused_scan(*a, nonlinearity="relu", **k), "rnn", inp)
    b = _run(ref, "rnn", inp)
    _close(a[0] + list(a[1]), b[0] + list(b[1]))


CASES = [("lstm", {}), ("gru", {"reset_after": True}), ("gru", {"reset_after": False}),
         ("rnn", {}), ("rnn", {"nonlinearity": "relu"})]


@pytest.mark.parametrize("mode,kw", CASES)
@pytest.mark.parametrize("B", [1, 7])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("extras", ["lengths", "mask", "both"])
def test_matches_reference_scan(mode, kw, B, reverse, extras):
    T, H = 9, 12
    inp = _inputs(mode, B, T, 5, H, seed=B + 3 * reverse)
    g = torch.Generator().manual_seed(7)
    lengths = torch.randint(1, T + 1, (B,), generator=g) if extras != "mask" else None
    if lengths is not None and B > 1:
        lengths[0] = T
    mask = None
    if extras != "lengths":
        mask = (torch.rand(B, H, generator=g) > 0.25).float() / 0.75
    kw = dict(kw, lengths=lengths, rec_mask=mask, reverse=reverse)
    a, b = _run(fused_scan, mode, inp, **kw), _run(reference_scan, mode, inp, **kw)
    _close(a[0] + list(a[1]), b[0] + list(b[1]))
    if lengths is not None:
        pad = torch.arange(T)[None, :] >= lengths[:, None]
        assert bool((a[0][0][pad] == 0).all())


@pytest.mark.parametrize("mode,kw", CASES)
def test_gradcheck_float64(mode, kw):
    inp = _inputs(mode, 3, 4, 2, 3, dtype=torch.float64)
    lengths, mask = torch.tensor([4, 2, 3]), torch.tensor([[2.0, 0, 2], [2, 2, 0], [0, 2, 2]],
                                                          dtype=torch.float64)
    names = [k for k, v in inp.items() if v is not None]

    def f(*vals):
        d = dict(inp, **dict(zip(names, vals)))
        o, h, c = fused_scan(mode, d["x"], d["h0"], d["c0"], d["w_ih"], d["w_hh"], d["b_ih"],
                             d["b_hh"], lengths=lengths, rec_mask=mask, **kw)
        return (o, h) if c is None else (o, h, c)
    assert torch.autograd.gradcheck(f, [inp[k] for k in names])


def test_no_grad_inference_matches():
    inp = _inputs("gru", 2, 5, 3, 4)
    with torch.no_grad():
        a = fused_scan("gru", inp["x"], inp["h0"], None, inp["w_ih"], inp["w_hh"], inp["b_ih"], inp["b_hh"])
        b = reference_scan("gru", inp["x"], inp["h0"], None, inp["w_ih"], inp["w_hh"], inp["b_ih"], inp["b_hh"])
    _close(a[:2], b[:2])
    assert fused.backend().startswith("fused-cpp")


@pytest.mark.parametrize("change,arg", [({"mode": "lstmx"}, "mode"), ({"lengths": torch.tensor([0, 3])}, "lengths"),
                                        ({"lengths": torch.tensor([3, 9])}, "lengths"),
                                        ({"rec_mask": torch.ones(2, 5)}, "rec_mask"),
                                        ({"w_hh": torch.ones(16, 3)}, "w_hh")])
def test_bad_arguments_raise_clear_errors(change, arg):
    kw = dict(mode="lstm", x=torch.randn(2, 3, 2), h0=torch.zeros(2, 4), c0=torch.zeros(2, 4),
              w_ih=torch.randn(16, 2), w_hh=torch.randn(16, 4), b_ih=None, b_hh=None)
    kw.update(change)
    with pytest.raises(InvalidArgumentError, match=f"`{arg}`"):
        fused_scan(**kw)


@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn"])
def test_nan_in_the_padding_never_reaches_the_weight_gradients(mode):
    inp = _inputs(mode, 3, 6, 2, 4)
    lengths = torch.tensor([6, 2, 4])
    dirty = dict(inp, x=inp["x"].detach().clone())
    dirty["x"][1, 2:] = float("nan")
    dirty["x"].requires_grad_()
    clean = dict(inp, x=torch.where(torch.isnan(dirty["x"]), 0.0, dirty["x"]).detach().requires_grad_())
    (out_c, grads_c), (out_d, grads_d) = [_run(fused_scan, mode, i, lengths=lengths) for i in (clean, dirty)]
    for a, b in zip(out_c + list(grads_c), out_d + list(grads_d)):
        assert torch.isfinite(b).all()
        torch.testing.assert_close(a, b, **TOL)
