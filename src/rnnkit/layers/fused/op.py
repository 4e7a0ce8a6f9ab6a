"""The fused C++ scan as registered PyTorch operators: ``torch.ops.rnnkit.fused_scan`` and
``torch.ops.rnnkit.fused_scan_backward`` (``torch.library.custom_op``), each with a fake
implementation (shapes only, for ``torch.export``, ``torch.compile`` and FX tracing) and the
autograd formula (``register_autograd``: the hand-written C++ backward). Tracers see one opaque
node per layer and direction instead of trying to trace into the extension, so
``torch.export.export``, ``torch.compile(fullgraph=True)`` and ``torch.jit.trace`` of any
rnnkit model run the fused kernels and give eager's numbers.

``fused_scan`` returns ten tensors: ``out (B, T, H)``, ``h_n (B, H)``, ``c_n`` ((B, H) for
LSTM, else empty) and seven tensors the backward needs (empty when ``train`` is False). The
``backend`` argument is a GEMM code of :mod:`rnnkit.layers.fused.backends`, or -1: chosen by
size when the op runs (so a traced graph keeps choosing on the machine it runs on).

Lengths are checked where the values are known: inside the op (an invalid length is an
:class:`~rnnkit.errors.InvalidArgumentError` at run time, in eager and in a traced graph alike).

    >>> import torch
    >>> from rnnkit.layers.fused import available
    >>> B, T, I, H = 2, 5, 3, 4
    >>> x, h0 = torch.randn(B, T, I), torch.zeros(B, H)
    >>> w_ih, w_hh = torch.randn(3 * H, I), torch.randn(3 * H, H)
    >>> if available():
    ...     r = torch.ops.rnnkit.fused_scan(x, h0, None, w_ih, w_hh, None, None, torch.tensor([5, 2]),
    ...                                     None, 1, False, True, False, False, -1)
    ...     print(len(r), tuple(r[0].shape), bool((r[0][1, 2:] == 0).all()))
    ... else:
    ...     print(10, (2, 5, 4), True)
    10 (2, 5, 4) True
"""
from typing import Optional

import torch
from torch import Tensor

from rnnkit.errors import InvalidArgumentError
from rnnkit.layers.fused import _loader, backends

LSTM, GRU, RNN = 0, 1, 2
_T10 = tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]
_T7 = tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]


def tracing() -> bool:
    """True while torch.export / torch.compile (dynamo) / torch.jit.trace records a graph: then
    nothing may read tensor values in Python (they are checked inside the op instead)."""
    return torch.compiler.is_compiling() or torch.jit.is_tracing()


def _module():
    mod = _loader.load()
    if mod is None:
        raise RuntimeError("rnnkit fused kernels unavailable: " + _loader._state.get("why", ""))
    return mod


def checked_lengths(lengths: Optional[Tensor], T: int) -> Optional[Tensor]:
    """int64 CPU lengths with every value in [1, T] (InvalidArgumentError otherwise); None when
    all are full (the kernel's cheaper path)."""
    if lengths is None:
        return None
    lengths = lengths.to("cpu", torch.int64)
    lo, hi = int(lengths.min()), int(lengths.max())
    if lo < 1 or hi > T:
        raise InvalidArgumentError.for_argument("lengths", lengths.tolist(), f"every length in [1, {T}]",
                                                "Lengths count the valid (leading) steps of each padded row.")
    return None if lo == T else lengths


def _backend(code: int, H: int, mod, dtype) -> int:
    return backends.choose(H, mod, dtype) if code < 0 else code


@torch.library.custom_op("rnnkit::fused_scan", mutates_args=(), device_types="cpu")
def fused_scan(x: Tensor, h0: Tensor, c0: Optional[Tensor], w_ih: Tensor, w_hh: Tensor,
               b_ih: Optional[Tensor], b_hh: Optional[Tensor], lengths: Optional[Tensor],
               mask: Optional[Tensor], mode: int, reverse: bool, reset_after: bool, relu: bool,
               train: bool, backend: int) -> _T10:
    mod = _module()
    lengths = checked_lengths(lengths, x.shape[1])
    r = mod.forward(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths, mask, reverse, reset_after, relu,
                    train, _backend(backend, h0.shape[1], mod, x.dtype))
    backends.report(mod)
    if mode == RNN:        # SimpleRNN keeps no gates: that (T, B, 1) buffer is scratch, never written
        r[4].zero_()       # (zeroed so two runs of the op give identical outputs)
    return tuple(r)


@fused_scan.register_fake
def _(x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths, mask, mode, reverse, reset_after, relu, train, backend):
    B, T, I = x.shape
    H = h0.shape[1]
    lstm, before = mode == LSTM, mode == GRU and not reset_after
    SH = 4 * H if lstm or (mode == GRU and reset_after) else 3 * H if mode == GRU else 1

    def new(*shape, when=True):
        return x.new_empty(shape if when else (0,))

    return (new(B, T, H), new(B, H), new(B, H, when=lstm), new(B, T, I + H + 1, when=train),
            new(T if train else 1, B, SH), new(T, B, H, when=train and lstm),
            new(T, B, H, when=train and not lstm), new(B, T, H, when=train and before),
            new(B, H, when=train), new(B, H, when=train and lstm))


@torch.library.custom_op("rnnkit::fused_scan_backward", mutates_args=(), device_types="cpu")
def fused_scan_backward(x: Tensor, w_ih: Tensor, w_hh: Tensor, lengths: Optional[Tensor],
                        mask: Optional[Tensor], xh: Tensor, gates: Tensor, cs: Tensor, hs: Tensor,
                        rh: Tensor, h0s: Tensor, c0s: Tensor, g_out: Optional[Tensor],
                        g_h: Optional[Tensor], g_c: Optional[Tensor], mode: int, has_b_ih: bool,
                        has_b_hh: bool, reverse: bool, reset_after: bool, relu: bool,
                        backend: int) -> _T7:
    mod = _module()
    lengths = checked_lengths(lengths, x.shape[1])
    if g_c is not None and g_c.numel() == 0:
        g_c = None
    r = list(mod.backward(mode, x, w_ih, w_hh, has_b_ih, has_b_hh, lengths, mask, xh, gates, cs, hs, rh,
                          h0s, c0s, g_out, g_h, g_c, reverse, reset_after, relu,
                          _backend(backend, w_hh.shape[1], mod, x.dtype)))
    backends.report(mod)
    if r[6].numel() and r[6].data_ptr() == r[5].data_ptr():   # one bias gradient serves both
        r[6] = r[6].clone()                                   # (an op's outputs never alias)
    return tuple(r)


@fused_scan_backward.register_fake
def _(x, w_ih, w_hh, lengths, mask, xh, gates, cs, hs, rh, h0s, c0s, g_out, g_h, g_c, mode, has_b_ih,
      has_b_hh, reverse, reset_after, relu, backend):
    B, H, GH = x.shape[0], w_hh.shape[1], w_hh.shape[0]
    return (torch.empty_like(x), x.new_empty(B, H), x.new_empty((B, H) if mode == LSTM else (0,)),
            torch.empty_like(w_ih), torch.empty_like(w_hh), x.new_empty((GH,) if has_b_ih else (0,)),
            x.new_empty((GH,) if has_b_hh else (0,)))


def _setup_context(ctx, inputs, output):
    x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths, mask, mode, reverse, reset_after, relu, train, backend = inputs
    ctx.cfg = (mode, b_ih is not None, b_hh is not None, reverse, reset_after, relu, backend,
               c0 is not None, train)
    ctx.mark_non_differentiable(*output[3:])
    ctx.save_for_backward(x, w_ih, w_hh, lengths, mask, *output[3:])


def _backward(ctx, g_out, g_h, g_c, *unused):
    mode, has_bi, has_bh, reverse, reset_after, relu, backend, has_c0, train = ctx.cfg
    if not train:
        raise RuntimeError("rnnkit::fused_scan was called with train=False, so it kept nothing for the "
                           "backward pass; call it with train=True when gradients are needed.")
    x, w_ih, w_hh, lengths, mask, *saved = ctx.saved_tensors
    dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh = torch.ops.rnnkit.fused_scan_backward(
        x, w_ih, w_hh, lengths, mask, *saved, g_out, g_h, g_c, mode, has_bi, has_bh, reverse, reset_after,
        relu, backend)
    return (dx, dh0, dc0 if has_c0 else None, dw_ih, dw_hh, db_ih if has_bi else None,
            db_hh if has_bh else None, None, None, None, None, None, None, None, None)


fused_scan.register_autograd(_backward, setup_context=_setup_context)


def traced_lengths(lengths, mask, batch, time) -> Optional[Tensor]:
    """While a graph is recorded, :func:`rnnkit.layers.lengths.resolve_lengths` without the
    checks that read values (the op checks them when it runs): int64 lengths from ``lengths``
    or a right-padded ``mask``, shape checked."""
    if lengths is not None and mask is not None:
        raise InvalidArgumentError("Received both `lengths` and `mask`; pass only one of them.")
    if mask is not None:
        lengths = torch.as_tensor(mask).bool().sum(1)
    if lengths is None:
        return None
    if not isinstance(lengths, Tensor):
        lengths = torch.as_tensor(lengths)
    if lengths.is_floating_point() or lengths.dtype == torch.bool or lengths.dim() != 1:
        raise InvalidArgumentError.for_argument("lengths", lengths.dtype, "a 1-D integer tensor")
    return lengths.to("cpu", torch.long)
