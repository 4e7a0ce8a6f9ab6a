"""The arithmetic of one streaming step in NumPy, on buffers allocated once per batch size.

A :class:`~rnnkit.export.streaming.Streamer` step is a few (1 x ~100) @ (~100 x 256)
products and a dozen element-wise passes over 64-256 values: at that size every NumPy call
costs ~0.5-2 us of overhead and almost nothing else, and every array it allocates costs more.
So the step is laid out to make as few calls as possible, all of them writing into buffers
made when the batch size is first seen:

- each layer holds one row buffer ``[x | h | 1]`` per stream; its weights are one matrix
  ``[W_ih^T; W_hh^T; b]`` (the bias as the last row, multiplied by the constant 1), so every
  pre-activation of the layer is one ``np.dot(..., out=g)``;
- the gate columns are reordered so that the sigmoid gates are contiguous (LSTM ``i, f, o, g``),
  one ufunc call each for the sigmoids and the tanh; the GRU (torch's form) has its ``z``
  columns twice, negated once (``sigmoid(-a) = 1 - z``), and writes ``n`` into a scratch block
  just before ``h`` in the row buffer (``[x | n | h | 1]``, zero rows in the matrix), so
  ``h' = (1 - z) * n + z * h`` is one product of ``[1 - z | z]`` and ``[n | h]`` and one sum;
- the new ``h`` is written in place into the layer's row buffer (and copied into the next
  layer's), so the state is already where the next product reads it;
- layer 0 has one more column, the sum of the input row (ones against ``x``, zeros against
  ``h`` and the bias): a non-finite row is caught from that one value, before any state changes;
- the head's Linear layers carry their bias as a last row too, reading ``[h | 1]``.

These are torch.nn's equations (which the layers match; tested against the fused layers and the
cells); float32 throughout.

    >>> import numpy as np, torch
    >>> gru = torch.nn.GRU(3, 4, batch_first=True)
    >>> k = LayerKernel("gru", *(w.detach().numpy() for w in (gru.weight_ih_l0, gru.weight_hh_l0,
    ...                                                        gru.bias_ih_l0, gru.bias_hh_l0)), checksum=True)
    >>> buf = k.buffers(None)                   # one stream: 1-D buffers
    >>> step = k.bind(buf)
    >>> x = torch.randn(5, 3)
    >>> for t in range(5):
    ...     buf.x[:] = x[t].numpy()
    ...     step()
    >>> bool(np.allclose(buf.h, gru(x[None])[1][0, 0].detach().numpy(), atol=1e-6))
    True
"""
from __future__ import annotations

import math

import numpy as np

try:                                            # one ufunc instead of three
    from scipy.special import expit as _sigmoid
except ImportError:  # pragma: no cover - scipy comes with scikit-learn, not with rnnkit
    def _sigmoid(v, out=None):
        out = np.multiply(v, 0.5, out=out)
        np.tanh(out, out=out)
        out += 1.0
        out *= 0.5
        return out                              # = 1 / (1 + exp(-v)), without overflow

__all__ = ["LayerKernel", "LayerBuffers", "HeadKernel"]


class LayerBuffers:
    """One layer's preallocated arrays for ``batch`` streams: ``xh`` = ``[x | h | 1]``, views ``x``,
    ``h`` and ``hb`` (= ``[h | 1]``), the pre-activations ``g``, ``c`` (LSTM cell), ``t``/``u``
    (scratch rows). ``batch=None``: one stream, every array 1-D (NumPy's vector paths are the
    fastest ones)."""

    def __init__(self, batch: int | None, n_in: int, hidden: int, n_cols: int, scratch: int = 0):
        lead, a = () if batch is None else (batch,), n_in + scratch
        self.xh = np.zeros(lead + (a + hidden + 1,), np.float32)     # [x | scratch | h | 1]
        self.xh[..., -1] = 1.0
        self.x, self.h, self.hb = self.xh[..., :n_in], self.xh[..., a:a + hidden], self.xh[..., a:]
        self.sh = self.xh[..., n_in:a + hidden]                       # [scratch | h]
        self.g = np.empty(lead + (n_cols,), np.float32)
        self.c = np.zeros(lead + (hidden,), np.float32)
        self.t = np.empty(lead + (hidden,), np.float32)
        self.u = np.empty(lead + (hidden,), np.float32)
        self.p = np.empty(lead + (2 * hidden,), np.float32)

    def zero(self) -> None:
        """Back to the zero state."""
        self.h[:] = 0.0
        self.c[:] = 0.0


class LayerKernel:
    """One recurrent layer (``mode`` 'rnn', 'lstm' or 'gru') stepped on :class:`LayerBuffers`.

    Args: ``w_ih`` (G*H, I), ``w_hh`` (G*H, H), ``b_ih``/``b_hh`` (G*H,) or None, as torch.nn
    stores them; ``reset_after`` (GRU: True = torch's form), ``relu`` (SimpleRNN nonlinearity),
    ``checksum``: add the input-sum column (layer 0).
    """

    def __init__(self, mode: str, w_ih, w_hh, b_ih=None, b_hh=None, *, reset_after: bool = True,
                 relu: bool = False, checksum: bool = False):
        H, n_in = w_hh.shape[1], w_ih.shape[1]
        G = {"lstm": 4, "gru": 3, "rnn": 1}[mode] * H
        b_ih = np.zeros(G, np.float32) if b_ih is None else np.asarray(b_ih, np.float32)
        b_hh = np.zeros(G, np.float32) if b_hh is None else np.asarray(b_hh, np.float32)
        w_ih, w_hh = np.asarray(w_ih, np.float32), np.asarray(w_hh, np.float32)
        self.mode, self.hidden, self.n_in, self.relu = mode, H, n_in, relu
        self.extra = None                                   # GRU reset_after=False: W_hn^T
        self.scratch = 0                                    # rows [x | scratch | h | 1] of the buffer
        if mode == "gru" and reset_after:   # columns r | -z | z | n from x | n from h; n goes to the scratch
            cols, self.scratch = 5 * H, H   # so that [1 - z | z] * [n | h] is one product, one sum
            K = np.zeros((n_in + 2 * H + 1, cols), np.float32)
            wr, wz = w_ih[:H].T, w_ih[H:2 * H].T
            K[:n_in] = np.concatenate([wr, -wz, wz, w_ih[2 * H:].T, np.zeros((n_in, H), np.float32)], 1)
            hr, hz = w_hh[:H].T, w_hh[H:2 * H].T
            K[n_in + H:n_in + 2 * H] = np.concatenate([hr, -hz, hz, np.zeros((H, H), np.float32), w_hh[2 * H:].T], 1)
            br, bz = b_ih[:H] + b_hh[:H], b_ih[H:2 * H] + b_hh[H:2 * H]
            K[-1] = np.concatenate([br, -bz, bz, b_ih[2 * H:], b_hh[2 * H:]])
        elif mode == "gru":                                 # n's recurrent product needs r first
            cols = 3 * H
            K = np.zeros((n_in + H + 1, cols), np.float32)
            K[:n_in] = w_ih.T
            K[n_in:n_in + H, :2 * H] = w_hh[:2 * H].T
            K[-1] = np.concatenate([b_ih[:2 * H] + b_hh[:2 * H], b_ih[2 * H:] + b_hh[2 * H:]])
            self.extra = np.ascontiguousarray(w_hh[2 * H:].T)
        else:
            order = np.r_[0:2 * H, 3 * H:4 * H, 2 * H:3 * H] if mode == "lstm" else np.arange(G)   # i f o | g
            cols = G
            K = np.concatenate([w_ih.T, w_hh.T, (b_ih + b_hh)[None]])[:, order]
        self.checksum = cols if checksum else None
        if checksum:
            K = np.concatenate([K, np.zeros((len(K), 1), np.float32)], 1)
            K[:n_in, -1] = 1.0
        self.K = np.ascontiguousarray(K, np.float32)

    def buffers(self, batch: int | None) -> LayerBuffers:
        return LayerBuffers(batch, self.n_in, self.hidden, self.K.shape[1], self.scratch)

    def bind(self, b: LayerBuffers, on_bad_row=None):
        """The layer's step on ``b`` as a closure without arguments (every view and ufunc bound
        once, so a call is only the NumPy calls): ``b.h`` (and ``b.c``) become the state after
        the row in ``b.x``. ``on_bad_row`` (layer 0, built with ``checksum``): called when the
        row is not finite, before the state changes (it should raise)."""
        chk = b.g[..., -1:] if self.checksum is not None and on_bad_row is not None else None
        if self.mode == "gru":
            build = self._gru_reset_after_step if self.scratch else self._gru_step
        else:
            build = self._lstm_step if self.mode == "lstm" else self._plain_step
        return build(b, chk, chk is not None and chk.size == 1, on_bad_row)

    def _products(self, b: LayerBuffers, chk, one: bool, on_bad_row):
        """``g = [x | h | 1] K``, then the finiteness check of the row (when ``chk``)."""
        g, K, xh, dot, isfinite = b.g, self.K, b.xh, np.dot, math.isfinite

        def products():
            dot(xh, K, out=g)
            if chk is not None and not isfinite(chk.item() if one else chk.sum()):
                on_bad_row()
        return products

    def _gru_reset_after_step(self, b: LayerBuffers, chk, one: bool, on_bad_row):
        H, g, h, K, xh, dot = self.hidden, b.g, b.h, self.K, b.xh, np.dot
        mul, add, tanh, sig, isfinite = np.multiply, np.add, np.tanh, _sigmoid, math.isfinite
        s, r, nx, nh, zz, n, sh, p = (g[..., :3 * H], g[..., :H], g[..., 3 * H:4 * H], g[..., 4 * H:5 * H],
                                      g[..., H:3 * H], b.xh[..., self.n_in:self.n_in + H], b.sh, b.p)
        p1, p2 = p[..., :H], p[..., H:]

        def step():
            dot(xh, K, g)
            if chk is not None and not isfinite(chk.item() if one else chk.sum()):
                on_bad_row()
            sig(s, s)                       # r | 1 - z | z
            mul(r, nh, nh)                  # r * (W_hn h + b_hn)
            add(nx, nh, n)
            tanh(n, n)                      # n, beside h
            mul(zz, sh, p)                  # (1 - z) * n | z * h
            add(p1, p2, h)                  # h' = (1 - z) * n + z * h
        return step

    def _gru_step(self, b: LayerBuffers, chk, one: bool, on_bad_row):          # reset_after=False
        H, g, h, dot = self.hidden, b.g, b.h, np.dot
        mul, add, sub, tanh, sig = np.multiply, np.add, np.subtract, np.tanh, _sigmoid
        products = self._products(b, chk, one, on_bad_row)
        rz, r, z, n = g[..., :2 * H], g[..., :H], g[..., H:2 * H], g[..., 2 * H:3 * H]
        rh, nh, W = b.t, b.u, self.extra

        def step():
            products()
            sig(rz, rz)
            mul(r, h, rh)
            dot(rh, W, nh)                  # (r * h) W_hn^T
            add(n, nh, n)
            tanh(n, n)
            sub(h, n, h)                    # h' = n + z * (h - n)
            mul(h, z, h)
            add(h, n, h)
        return step

    def _lstm_step(self, b: LayerBuffers, chk, one: bool, on_bad_row):
        H, g, h, K, xh, dot = self.hidden, b.g, b.h, self.K, b.xh, np.dot
        mul, add, tanh, sig, isfinite = np.multiply, np.add, np.tanh, _sigmoid, math.isfinite
        s, i, f, o, gg, c, t = (g[..., :3 * H], g[..., :H], g[..., H:2 * H], g[..., 2 * H:3 * H],
                                g[..., 3 * H:4 * H], b.c, b.t)

        def step():
            dot(xh, K, g)
            if chk is not None and not isfinite(chk.item() if one else chk.sum()):
                on_bad_row()
            sig(s, s)
            tanh(gg, gg)
            mul(f, c, c)                    # c' = f * c + i * g
            mul(i, gg, gg)
            add(c, gg, c)
            tanh(c, t)
            mul(o, t, h)                    # h' = o * tanh(c')
        return step

    def _plain_step(self, b: LayerBuffers, chk, one: bool, on_bad_row):
        H, h, tanh = self.hidden, b.h, np.tanh
        products = self._products(b, chk, one, on_bad_row)
        pre, act = b.g[..., :H], np.maximum if self.relu else None

        def step():
            products()
            if act is None:
                tanh(pre, out=h)
            else:
                act(pre, 0.0, out=h)
        return step

class HeadKernel:
    """A Forecaster head (Linear/ReLU layers) on ``[h | 1]``: the hidden Linear layers write into
    buffers ``[v | 1]``; the last one returns a fresh array (it is the forecast handed out).

    Args:
        linears: ``(weight (out, in), bias (out,), relu_after)`` per Linear layer.
        residual_from: ``(n_lead, index)`` for a one-Linear head read from a whole row buffer
            ``[x | scratch | h | 1]`` (``n_lead`` columns before ``h``): the matrix gets a row of
            ones at input ``index`` (zeros elsewhere), so the product adds the residual level
            ``x[index]`` to every output.
    """

    def __init__(self, linears: list[tuple[np.ndarray, np.ndarray, bool]], residual_from=None):
        self.W = [np.ascontiguousarray(np.concatenate([w.T, b[None]]), np.float32) for w, b, _ in linears]
        self.relu = [r for _, _, r in linears]
        if residual_from is not None:
            if len(self.W) != 1 or self.relu[0]:
                raise ValueError("residual_from needs a head of one Linear layer")
            n_lead, index = residual_from
            x_rows = np.zeros((n_lead, self.W[0].shape[1]), np.float32)
            x_rows[index] = 1.0
            self.W[0] = np.ascontiguousarray(np.concatenate([x_rows, self.W[0]]))

    def bind(self, inp: np.ndarray, residual: np.ndarray | None = None):
        """A closure returning the head's output on the current ``inp`` (``[h | 1]``, or the
        whole row buffer with ``residual_from``) as a fresh array, ``residual`` added; 1-D
        views in, 1-D out."""
        dot, add, maximum = np.dot, np.add, np.maximum
        hidden = []
        for W, relu in zip(self.W[:-1], self.relu[:-1]):
            vb = np.ones(inp.shape[:-1] + (W.shape[1] + 1,), np.float32)
            out = np.empty(inp.shape[:-1] + (W.shape[1],), np.float32)
            hidden.append((inp, W, out, vb[..., :-1], relu))
            inp = vb
        W, relu = self.W[-1], self.relu[-1]

        def head():
            for v, Wh, out, dst, r in hidden:
                dot(v, Wh, out=out)
                maximum(out, 0.0, out=dst) if r else np.copyto(dst, out)
            y = dot(inp, W)
            if relu:
                maximum(y, 0.0, out=y)
            if residual is not None:
                add(y, residual, out=y)
            return y
        return head
