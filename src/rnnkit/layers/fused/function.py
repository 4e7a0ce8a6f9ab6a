"""The autograd Function around the C++ scan, argument checks, and the switch to the registered
operator ``torch.ops.rnnkit.fused_scan`` (:mod:`rnnkit.layers.fused.op`: the same C++ forward
and backward with a fake implementation and the autograd formula) while torch.export,
torch.compile or torch.jit.trace records a graph. Eager calls go straight to the Function: a
``torch.library`` op costs ~100 us of dispatch per call, more than a small layer's whole step.

    >>> import torch
    >>> from rnnkit.layers.fused import available, fused_scan
    >>> B, T, I, H = 2, 5, 3, 4
    >>> x, h0, c0 = torch.randn(B, T, I), torch.zeros(B, H), torch.zeros(B, H)
    >>> w_ih, w_hh = torch.randn(4 * H, I), torch.randn(4 * H, H)
    >>> if available():
    ...     out, h, c = fused_scan("lstm", x, h0, c0, w_ih, w_hh, None, None, lengths=torch.tensor([5, 2]))
    ...     print(tuple(out.shape), bool((out[1, 2:] == 0).all()))
    ... else:
    ...     print((2, 5, 4), True)
    (2, 5, 4) True
"""
from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.errors import InvalidArgumentError
from rnnkit.layers.fused import _loader, backends
from rnnkit.layers.fused import op as _op

MODES = {"lstm": (0, 4), "gru": (1, 3), "rnn": (2, 1)}


class _FusedScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths, mask, reverse,
                reset_after, relu, backend):
        r = _loader.load().forward(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths, mask,
                                   reverse, reset_after, relu, True, backend)
        backends.report(_loader.load())
        out, h_n, c_n = r[0], r[1], r[2]
        ctx.set_materialize_grads(False)
        ctx.cfg = (mode, b_ih is not None, b_hh is not None, reverse, reset_after, relu, backend,
                   c0 is not None)
        ctx.save_for_backward(x, w_ih, w_hh, lengths, mask, *r[3:])
        return out, h_n, c_n

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g_out, g_h, g_c):
        mode, has_bi, has_bh, reverse, reset_after, relu, backend, has_c0 = ctx.cfg
        x, w_ih, w_hh, lengths, mask, xh, gates, cs, hs, rh, h0s, c0s = ctx.saved_tensors
        if g_c is not None and g_c.numel() == 0:
            g_c = None
        dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh = _loader.load().backward(
            mode, x, w_ih, w_hh, has_bi, has_bh, lengths, mask, xh, gates, cs, hs, rh, h0s, c0s,
            g_out, g_h, g_c, reverse, reset_after, relu, backend)
        backends.report(_loader.load())
        return (None, dx, dh0, dc0 if has_c0 else None, dw_ih, dw_hh,
                db_ih if has_bi else None, db_hh if has_bh else None,
                None, None, None, None, None, None)


def _check(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths, rec_mask, nonlinearity):
    bad = InvalidArgumentError.for_argument
    if mode not in MODES:
        raise bad("mode", mode, "one of 'lstm', 'gru', 'rnn'")
    if nonlinearity not in ("tanh", "relu"):
        raise bad("nonlinearity", nonlinearity, "'tanh' or 'relu'")
    if not isinstance(x, Tensor) or x.dim() != 3:
        raise bad("x", getattr(x, "shape", x), "a (batch, time, features) tensor")
    if x.dtype not in (torch.float32, torch.float64) or x.device.type != "cpu":
        raise bad("x", f"{x.dtype} on {x.device}", "a float32/float64 CPU tensor",
                  "Use rnnkit.layers.scan.scan, which falls back to the reference path.")
    B, T, I = x.shape
    G = MODES[mode][1]
    H = w_hh.shape[1] if w_hh.dim() == 2 else -1
    if T == 0 or B == 0:
        raise bad("x", tuple(x.shape), "batch and time of at least 1")
    if tuple(w_hh.shape) != (G * H, H):
        raise bad("w_hh", tuple(w_hh.shape), f"shape ({G} * hidden, hidden) for mode {mode!r}")
    if tuple(w_ih.shape) != (G * H, I):
        raise bad("w_ih", tuple(w_ih.shape), f"shape ({G * H}, {I})")
    for name, b in (("b_ih", b_ih), ("b_hh", b_hh)):
        if b is not None and tuple(b.shape) != (G * H,):
            raise bad(name, tuple(b.shape), f"shape ({G * H},) or None")
    if h0 is not None and tuple(h0.shape) != (B, H):
        raise bad("h0", tuple(h0.shape), f"shape ({B}, {H})")
    if mode == "lstm" and c0 is not None and tuple(c0.shape) != (B, H):
        raise bad("c0", tuple(c0.shape), f"shape ({B}, {H})")
    if rec_mask is not None and tuple(rec_mask.shape) != (B, H):
        raise bad("rec_mask", tuple(rec_mask.shape), f"shape ({B}, {H}) or None")
    if lengths is not None:
        if lengths.dim() != 1 or lengths.shape[0] != B or lengths.dtype.is_floating_point:
            raise bad("lengths", lengths, f"a 1-D integer tensor of {B} lengths")
        if _op.tracing():      # values unknown while a graph is recorded: the op checks them
            return B, H
        lo, hi = int(lengths.min()), int(lengths.max())
        if lo < 1 or hi > T:
            raise bad("lengths", lengths.tolist(), f"every length in [1, {T}]")
    return B, H


def fused_scan(mode: str, x: Tensor, h0: Tensor | None, c0: Tensor | None, w_ih: Tensor,
               w_hh: Tensor, b_ih: Tensor | None, b_hh: Tensor | None,
               lengths: Tensor | None = None, rec_mask: Tensor | None = None,
               reverse: bool = False, reset_after: bool = True, nonlinearity: str = "tanh",
               gemm: str | None = None) -> tuple[Tensor, Tensor, Tensor | None]:
    """One layer, one direction, on the fused C++ kernel; same contract as
    :func:`rnnkit.layers.scan.reference_scan`. Returns ``(out, h_n, c_n)`` (``c_n`` None unless
    LSTM). ``gemm`` forces the GEMM backend ('aten', 'dnnl', 'blas'); default picks by size.
    Raises ``RuntimeError`` if the extension is unavailable (see :func:`available`)."""
    B, H = _check(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths, rec_mask, nonlinearity)
    if _op.tracing():
        return _traced(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths, rec_mask, reverse, reset_after,
                       nonlinearity, gemm, B, H)
    mod = _loader.load()
    if mod is None:
        raise RuntimeError("rnnkit fused kernels unavailable: " + _loader._state.get("why", ""))
    if h0 is None:
        h0 = x.new_zeros(B, H)
    if mode == "lstm" and c0 is None:
        c0 = x.new_zeros(B, H)
    if mode != "lstm":
        c0 = None
    if lengths is not None:
        lengths = lengths.to("cpu", torch.int64)
        if bool((lengths == x.shape[1]).all()):
            lengths = None
    dt = x.dtype
    cast = lambda t: t if t is None or t.dtype == dt else t.to(dt)  # noqa: E731
    backend = backends.choose(H, mod, x.dtype) if gemm is None else backends.forced(gemm, mod)
    args = (MODES[mode][0], x, cast(h0), cast(c0), cast(w_ih), cast(w_hh), cast(b_ih), cast(b_hh),
            lengths, cast(rec_mask), bool(reverse), bool(reset_after), nonlinearity == "relu")
    if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in args[1:8]):
        out, h_n, c_n = _FusedScan.apply(*args, backend)
    else:  # inference: no autograd node, no tensors kept for backward
        out, h_n, c_n = mod.forward(*args, False, backend)[:3]
        backends.report(mod)
    return out, h_n, (c_n if mode == "lstm" else None)


def _traced(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths, rec_mask, reverse, reset_after, nonlinearity,
            gemm, B, H):
    """:func:`fused_scan` as one ``torch.ops.rnnkit.fused_scan`` node (nothing reads tensor values)."""
    h0 = x.new_zeros(B, H) if h0 is None else h0
    c0 = (x.new_zeros(B, H) if c0 is None else c0) if mode == "lstm" else None
    lengths = None if lengths is None else lengths.to("cpu", torch.int64)
    dt = x.dtype
    cast = lambda t: t if t is None or t.dtype == dt else t.to(dt)  # noqa: E731
    backend = -1 if gemm is None else backends.forced(gemm, _op._module())  # -1: by size, when it runs
    args = (x, cast(h0), cast(c0), cast(w_ih), cast(w_hh), cast(b_ih), cast(b_hh))
    train = torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in args)
    r = torch.ops.rnnkit.fused_scan(*args, lengths, cast(rec_mask), MODES[mode][0], bool(reverse),
                                    bool(reset_after), nonlinearity == "relu", train, backend)
    return r[0], r[1], (r[2] if mode == "lstm" else None)
