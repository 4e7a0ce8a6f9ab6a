"""Streaming inference: one new observation and the carried state in, the next forecast out,
O(1) per observation (one step of each recurrent layer and the head; nothing is re-read).

``Streamer(model)`` wraps a recurrent :class:`~rnnkit.models.Forecaster` (SimpleRNN/LSTM/GRU
body, one direction, no conv front-end) in eval mode. ``start(history)`` runs the model over a
history of rows and keeps the state; every ``step(row)`` advances the state by one row and
returns the forecast after it. Several independent streams run side by side when rows carry a
batch dimension. The step is torch.nn's equations (which the layers match) on buffers allocated
once: one call into the compiled extension (``StreamStep`` of :mod:`rnnkit.layers.fused`, every
layer and the head) when it is loaded, else a chain of NumPy calls
(:mod:`rnnkit.export.stream_kernels`). ``Streamer(model, kernel="numpy")`` (or the environment
variable ``RNNKIT_STREAM_KERNEL=numpy``) forces the NumPy step, ``"compiled"`` the compiled one
(an error if the extension is not loaded); the default ``"auto"`` takes the compiled one if it can.

**How the streaming state differs from a sliding window.** A forecaster trained on windows of
``lookback`` rows starts every window from a zero state and sees only its last ``lookback``
rows: the oldest row drops out as a new one comes in. A streamer carries its state forward and
never forgets a row; that cannot be undone in O(1) for a recurrent network. What holds exactly:
started from a history and fed row by row, the streamer's forecast after each row is the batch
model's forecast over the *whole* history so far (the same model, no truncation); started from
the last ``lookback`` rows, its first forecast is ``rnnkit predict``'s. Later forecasts come from
a state that has run longer than the windows the model was trained on. A model that is meant
to stream should be trained for it: ``--stateful`` training (:class:`StatefulBatches` with a ``stateful``
body: consecutive non-overlapping windows, the state carried from one batch to the next, as in
seed 000) trains exactly the carried-state model a streamer runs; start its streamer from the
whole history (as ``rnnkit predict --follow`` does for a ``--stateful`` run).

    >>> import torch
    >>> from rnnkit.models import Forecaster, ForecasterConfig
    >>> model = Forecaster(ForecasterConfig(n_features=2, cell="gru", units=4)).eval()
    >>> s = Streamer(model)
    >>> rows = torch.randn(10, 2)
    >>> y0 = s.start(rows[:6])
    >>> ys = [s.step(r) for r in rows[6:]]
    >>> torch.allclose(ys[-1], model(rows[None]).reshape(-1), atol=1e-5)
    True
    >>> s.kernel in ("compiled", "numpy"), Streamer(model, kernel="numpy").kernel
    (True, 'numpy')
    >>> s.step(torch.randn(3))
    Traceback (most recent call last):
    ...
    rnnkit.errors.InvalidArgumentError: Received an invalid value for argument `row`, expected ...
"""
from __future__ import annotations

import math
import os

import numpy as np
import torch
from torch import Tensor

from rnnkit.errors import InvalidArgumentError
from rnnkit.models.forecaster import streamable
from rnnkit.tasks.stateful_batches import StatefulBatches
from rnnkit.export.stream_kernels import HeadKernel, LayerKernel
from rnnkit.layers.fused import _loader

__all__ = ["Streamer", "StatefulBatches", "streamable"]


_streamable = streamable        # the name used before


_F32 = np.dtype(np.float32)


def _f32(t) -> np.ndarray | None:
    return None if t is None else t.detach().cpu().to(torch.float32).numpy().copy()


_MODES = {"lstm": 0, "gru": 1, "rnn": 2}       # the extension's Mode enum
KERNELS = ("auto", "compiled", "numpy")


def _bad_row():
    raise InvalidArgumentError.for_argument("row", "a non-finite value", "finite (scaled) values")


def compiled_step_class(kernel: str | None = None):
    """The extension's ``StreamStep`` class for ``kernel`` ('auto', 'compiled', 'numpy'; None: the
    environment variable ``RNNKIT_STREAM_KERNEL``, else 'auto'), or None for the NumPy step.
    'compiled' raises a clear error when the extension (or its StreamStep) is not loaded."""
    kernel = kernel or os.environ.get("RNNKIT_STREAM_KERNEL", "auto") or "auto"
    if kernel not in KERNELS:
        raise InvalidArgumentError.for_argument("kernel", kernel, f"one of {list(KERNELS)}")
    if kernel == "numpy":
        return None
    mod = _loader.load()
    cls = getattr(mod, "StreamStep", None) if mod is not None else None
    if cls is None and kernel == "compiled":
        why = ("the compiled extension is not loaded (see rnnkit.layers.fused.backend())" if mod is None
               else "the loaded extension predates it (reinstall rnnkit)")
        raise InvalidArgumentError.for_argument(
            "kernel", "'compiled'", "'auto' or 'numpy' here",
            f"The compiled streaming step is unavailable: {why}.")
    return cls


class Streamer:
    """One recurrent forecaster, stepped one row at a time (see the module docstring).

    A step is a few matrix-vector products: it runs in NumPy on float32 copies of the weights
    taken when the streamer is made, into buffers allocated once per batch size (eager PyTorch
    spends more on dispatching its ops than on this arithmetic). Make a new streamer after
    changing the model's weights. Rows may be float32 CPU tensors or NumPy arrays (the fastest
    path); other dtypes are converted.

    Args:
        model: a :class:`~rnnkit.models.Forecaster` with a one-direction recurrent body.
        kernel: 'auto' (the compiled step if the extension is loaded, else NumPy), 'compiled' or
            'numpy'; None: ``RNNKIT_STREAM_KERNEL``, else 'auto'.
    Attributes:
        state: per layer ``(h,)`` (or ``(h, c)`` for LSTM), NumPy (batch, units) copies; None
            before :meth:`start` / after :meth:`reset`.
        n_features: features per row.
        kernel: the step that runs: 'compiled' or 'numpy'.
    """

    def __init__(self, model, kernel: str | None = None):
        streamable(model)
        self._compiled = compiled_step_class(kernel)
        self.kernel = "numpy" if self._compiled is None else "compiled"
        self.model = model.eval()
        body, c = model.body, model.config
        self.mode, self.hidden, self.n_features = body.mode, body.hidden_size, c.n_features
        self._reset_after, self._relu = bool(body.reset_after), body.nonlinearity == "relu"
        self._weights = [tuple(_f32(w) for w in body._weights(layer, 0)) for layer in range(body.num_layers)]
        self.kernels = [LayerKernel(body.mode, *w, reset_after=self._reset_after, relu=self._relu,
                                    checksum=layer == 0)
                        for layer, w in enumerate(self._weights)]
        linears, mods = [], list(model.head)
        for i, m in enumerate(mods):
            if isinstance(m, torch.nn.Linear):
                relu = i + 1 < len(mods) and isinstance(mods[i + 1], torch.nn.ReLU)
                linears.append((_f32(m.weight), _f32(m.bias) if m.bias is not None
                                else np.zeros(m.out_features, np.float32), relu))
            elif not isinstance(m, torch.nn.ReLU):  # pragma: no cover - Forecaster heads hold only these
                raise InvalidArgumentError.for_argument("model", type(m).__name__, "a head of Linear/ReLU layers")
        self.horizon, self.n_targets, self.residual = c.horizon, c.n_targets, c.residual_index
        self.quantiles = None if c.quantiles is None else len(c.quantiles)
        fold = (self.residual is not None and self.quantiles is None and len(self.kernels) == 1
                and len(linears) == 1 and not linears[0][2])    # the residual inside the head's product
        self._linears = linears
        self.head = HeadKernel(linears, (self.n_features + self.kernels[0].scratch, self.residual) if fold else None)
        self._fold = fold
        self._bufs = None           # per layer LayerBuffers for the current batch size
        self._batch = 0
        self._batched = False
        self._live = False          # False: the next step starts from the zero state

    # ------------------------------------------------------------------ state
    @property
    def state(self):
        if not self._live:
            return None
        return [(b.h.copy(), b.c.copy()) if self.mode == "lstm" else (b.h.copy(),) for b in self._bufs]

    def reset(self) -> None:
        """Forget the carried state (the next step starts from zeros)."""
        self._live = False

    def _ready(self, batch: int, batched: bool) -> None:
        """Buffers and bound steps for ``batch`` streams (``batched``: rows carry a batch axis; else
        1-D buffers), at the zero state unless a state of that layout is live."""
        if self._bufs is None or (self._batch, self._batched) != (batch, batched):
            bufs = [k.buffers(batch if batched else None) for k in self.kernels]
            if self._compiled is not None:
                self._bind_compiled(bufs, batch, batched)
                self._live = True
                return
            steps = [k.bind(b, self._bad_row if i == 0 else None) for i, (k, b) in enumerate(zip(self.kernels, bufs))]
            if len(steps) == 1:
                advance = steps[0]
            else:
                pairs = [(bufs[i - 1].h, bufs[i].x, steps[i]) for i in range(1, len(steps))]
                first, copyto = steps[0], np.copyto

                def advance():
                    first()
                    for h, x, step in pairs:
                        copyto(x, h)
                        step()
            x0 = bufs[0].x
            inp = bufs[0].xh if self._fold else bufs[-1].hb
            res = None if self._fold or self.residual is None else x0[..., self.residual:self.residual + 1]
            head = self.head.bind(inp, None if self.quantiles else res)
            self._res = None if self.residual is None else x0[..., self.residual]
            self._advance, self._head, self._x0 = advance, head, x0
            self._bufs, self._batch, self._batched = bufs, batch, batched
            self._shape = x0.shape

            def feed(x):
                x0[...] = x
                advance()
            self._feed = feed
            from_numpy = torch.from_numpy
            if self.quantiles is None and self.n_targets == 1:
                def tick(x):
                    x0[...] = x
                    advance()
                    return from_numpy(head())
            else:
                def tick(x):
                    x0[...] = x
                    advance()
                    return self._forecast()
            self._tick = tick
        elif not self._live:
            for b in self._bufs:
                b.zero()
        self._live = True

    def _bind_compiled(self, bufs, batch: int, batched: bool) -> None:
        """The compiled step on ``bufs`` (their h/c arrays are the state it writes, shared)."""
        t = torch.from_numpy
        layers = [(_MODES[self.mode], self._reset_after, self._relu, t(w_ih), t(w_hh),
                   None if b_ih is None else t(b_ih), None if b_hh is None else t(b_hh), t(b.h),
                   t(b.c) if self.mode == "lstm" else None)
                  for (w_ih, w_hh, b_ih, b_hh), b in zip(self._weights, bufs)]
        head = [(t(w), t(b), relu) for w, b, relu in self._linears]
        lead = (batch,) if batched else ()
        simple = self.quantiles is None
        shape = lead + ((self.horizon,) if self.n_targets == 1 else (self.horizon, self.n_targets))
        if not simple:
            shape = lead + (self._linears[-1][0].shape[0],)
        residual = -1 if self.residual is None or not simple else self.residual
        step = self._compiled(layers, head, t(bufs[0].x), list(shape), residual, batched, batch, _bad_row)
        x0 = bufs[0].x
        self._res = None if self.residual is None else x0[..., self.residual]
        self._x0, self._shape = x0, x0.shape
        self._bufs, self._batch, self._batched = bufs, batch, batched
        self._feed, self._step = step.advance, step
        if simple:
            self._tick = step.run                   # one call: the row in, the forecast out
        else:
            run = step.run
            self._tick = lambda x: self._forecast(run(x).numpy())

    _bad_row = staticmethod(_bad_row)

    # ------------------------------------------------------------------ input
    def _rows(self, x, name: str, ndim: int) -> np.ndarray:
        if isinstance(x, Tensor):
            x = x.detach().cpu()
        x = np.asarray(x, dtype=np.float32)
        if x.ndim not in (ndim, ndim + 1) or x.shape[-1] != self.n_features:
            shape = "(features,) or (batch, features)" if ndim == 1 else "(time, features) or (batch, time, features)"
            raise InvalidArgumentError.for_argument(
                name, tuple(x.shape), f"a tensor of shape {shape} with {self.n_features} features",
                f"The model was trained on {self.n_features} input features per row (in the run's feature order).")
        return x

    # ------------------------------------------------------------------ stepping
    def start(self, history) -> Tensor:
        """Run the model over ``history`` ((time, features), or (batch, time, features) for several
        streams), keep the state, return the forecast after its last row."""
        x = self._rows(history, "history", 2)
        if not math.isfinite(x.sum()):          # any nan or +-inf makes the sum non-finite
            raise InvalidArgumentError.for_argument("history", "a non-finite value", "finite (scaled) values")
        if x.shape[-2] == 0:
            raise InvalidArgumentError.for_argument("history", tuple(x.shape), "at least one row")
        batched = x.ndim == 3
        self._live = False
        self._ready(x.shape[0] if batched else 1, batched)
        feed = self._feed
        for t in range(x.shape[-2] - 1):
            feed(x[:, t] if batched else x[t])
        return self._tick(x[:, -1] if batched else x[-1])

    def step(self, row) -> Tensor:
        """Advance by one row ((features,) or (batch, features)); the forecast after it:
        (horizon,) for one target, (horizon, n_targets) for several (a batch dimension first)."""
        x = row
        if type(x) is Tensor:               # the fast path: a float32 CPU tensor without grad
            try:
                x = x.numpy()
            except (RuntimeError, TypeError):
                x = row.detach().cpu().numpy()
        if self._live and type(x) is np.ndarray and x.dtype is _F32 and x.shape == self._shape:
            return self._tick(x)            # raises on a non-finite row before the state changes
        x = self._rows(x, "row", 1)
        batched = x.ndim == 2
        if self._live:
            if batched != self._batched:
                raise InvalidArgumentError.for_argument(
                    "row", tuple(x.shape), "the same batch layout as the rows before",
                    "Call reset() (or start()) before changing between one stream and a batch of streams.")
            if batched and x.shape[0] != self._batch:
                self._live = False          # another number of streams: they start from zeros
        if not self._live:
            self._ready(x.shape[0] if batched else 1, batched)
        return self._tick(x)

    def _forecast(self, y: np.ndarray | None = None) -> Tensor:
        """The head on the top layer's h (or its output ``y``, from the compiled step), plus the
        residual level; a fresh tensor."""
        y = self._head() if y is None else y
        if self.quantiles is not None:
            with torch.no_grad():
                q = self.model.quantile_head(torch.from_numpy(y.reshape(-1, self.horizon, self.quantiles)))
            y = q.numpy()
            if self._res is not None:
                y += self._res.reshape(-1, 1, 1)
            return torch.from_numpy(y if self._batched else y[0])
        if self.n_targets > 1:
            y = y.reshape(y.shape[:-1] + (self.horizon, self.n_targets))
        return torch.from_numpy(y)
