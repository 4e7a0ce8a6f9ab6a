"""Drive a cell over time: one layer, one direction.

``reference_scan`` is the readable reference: the input projection for all steps as one
matmul, then the cell's step function (:mod:`rnnkit.layers.cells`) once per step.
``scan`` is the dispatcher the layers call; a fused kernel can take over here without the
layers noticing, and every fast path is tested against ``reference_scan``.

Lengths (right padding): for ``t >= lengths[b]`` the output ``out[b, t]`` is exactly zero and
the state is frozen, so the returned state is the one after step ``lengths[b] - 1``. What the
padding holds (NaN included) reaches no output and no gradient. With
``reverse=True`` row ``b`` is processed from ``t = lengths[b] - 1`` down to ``0`` and each
output is written at its own position ``t``.

Example:
    >>> import torch
    >>> B, T, I, H = 2, 5, 3, 4
    >>> w_ih, w_hh = torch.randn(4 * H, I), torch.randn(4 * H, H)
    >>> out, h, c = reference_scan("lstm", torch.randn(B, T, I), torch.zeros(B, H), torch.zeros(B, H),
    ...                            w_ih, w_hh, None, None, lengths=torch.tensor([5, 2]))
    >>> bool((out[1, 2:] == 0).all()), bool(torch.equal(h[1], out[1, 1]))
    (True, True)
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

from rnnkit.layers.cells import gru_step, lstm_step, rnn_step
from rnnkit.layers.lengths import zero_padding
from rnnkit.layers import fused


def reverse_padded(x: Tensor, lengths: Tensor | None) -> Tensor:
    """Reverse each row's first ``lengths[b]`` steps in place of time (dim 1); padding stays put.

    It is its own inverse. Example:
        >>> reverse_padded(torch.tensor([[1, 2, 3], [4, 5, 0]]).unsqueeze(-1), torch.tensor([3, 2]))[..., 0]
        tensor([[3, 2, 1],
                [5, 4, 0]])
    """
    T = x.shape[1]
    if lengths is None:
        return x.flip(1)
    t = torch.arange(T, device=x.device).unsqueeze(0)
    lens = lengths.to(x.device).unsqueeze(1)
    idx = torch.where(t < lens, lens - 1 - t, t)
    return x.gather(1, idx.unsqueeze(-1).expand_as(x))


def reference_scan(mode: str, x: Tensor, h0: Tensor, c0: Tensor | None, w_ih: Tensor, w_hh: Tensor,
                   b_ih: Tensor | None, b_hh: Tensor | None, lengths: Tensor | None = None,
                   rec_mask: Tensor | None = None, reverse: bool = False, reset_after: bool = True,
                   nonlinearity: str = "tanh") -> tuple[Tensor, Tensor, Tensor | None]:
    """Per-step Python loop over :mod:`rnnkit.layers.cells`; returns ``(out, h_n, c_n)``.

    Shapes: ``x`` (B, T, I); ``h0``/``c0`` (B, H); weights in torch layout for this layer and
    direction; ``lengths`` int64 (B,) or None; ``rec_mask`` (B, H) or None.
    """
    # The loop below multiplies through the padding, so NaN or inf there (``nan * 0`` is
    # ``nan``) is replaced by exact zeros first; the fused kernels never read it.
    x = zero_padding(x, lengths)
    if reverse:
        x = reverse_padded(x, lengths)
    B, T, _ = x.shape
    gi = F.linear(x, w_ih, b_ih)
    steps = gi.unbind(1)  # unbind, not gi[:, t]: indexing makes backward allocate per step
    h, c = h0, c0
    active = None
    if lengths is not None:
        t_ar = torch.arange(T, device=x.device)
        active = t_ar.unsqueeze(0) < lengths.to(x.device).unsqueeze(1)  # (B, T) bool
        T_run = int(lengths.max())
    else:
        T_run = T
    outs = []
    for t in range(T_run):
        if mode == "lstm":
            h_new, c_new = lstm_step(steps[t], h, c, w_hh, b_hh, rec_mask)
        elif mode == "gru":
            h_new = gru_step(steps[t], h, w_hh, b_hh, rec_mask, reset_after)
        else:
            h_new = rnn_step(steps[t], h, w_hh, b_hh, rec_mask, nonlinearity)
        if active is not None:  # select, never multiply: padding may hold NaN
            a = active[:, t:t + 1]
            h_new = torch.where(a, h_new, h)
            if mode == "lstm":
                c_new = torch.where(a, c_new, c)
            outs.append(torch.where(a, h_new, h_new.new_zeros(())))
        else:
            outs.append(h_new)
        h = h_new
        if mode == "lstm":
            c = c_new
    if T_run < T:
        outs.extend([x.new_zeros(B, h.shape[-1])] * (T - T_run))
    out = torch.stack(outs, 1)
    if reverse:
        out = reverse_padded(out, lengths)
    return out, h, (c if mode == "lstm" else None)


def scan(mode: str, x: Tensor, h0: Tensor, c0: Tensor | None, w_ih: Tensor, w_hh: Tensor,
         b_ih: Tensor | None, b_hh: Tensor | None, lengths: Tensor | None = None,
         rec_mask: Tensor | None = None, reverse: bool = False, reset_after: bool = True,
         nonlinearity: str = "tanh") -> tuple[Tensor, Tensor, Tensor | None]:
    """Run one layer in one direction on the fastest available path (same contract as
    :func:`reference_scan`)."""
    if x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64) and fused.available():
        return fused.fused_scan(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths, rec_mask,
                                reverse, reset_after, nonlinearity)
    return reference_scan(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths, rec_mask, reverse,
                          reset_after, nonlinearity)
