"""Streaming inference: one new observation and the carried state in, the next forecast out,
O(1) per observation (one step of each recurrent layer and the head; nothing is re-read).

``Streamer(model)`` wraps a recurrent :class:`~rnnkit.models.Forecaster` (SimpleRNN/LSTM/GRU
body, one direction, no conv front-end) in eval mode. ``start(history)`` runs the model over a
history of rows and keeps the state; every ``step(row)`` advances the state by one row and
returns the forecast after it. Several independent streams run side by side when rows carry a
batch dimension. The step is torch.nn's equations (which the layers match) in NumPy, on buffers
allocated once (:mod:`rnnkit.export.stream_kernels`).

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
    >>> s.step(torch.randn(3))
    Traceback (most recent call last):
    ...
    rnnkit.errors.InvalidArgumentError: Received an invalid value for argument `row`, expected ...
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from rnnkit.errors import InvalidArgumentError
from rnnkit.export.stateful_batches import StatefulBatches
from rnnkit.export.stream_kernels import HeadKernel, LayerKernel

__all__ = ["Streamer", "StatefulBatches", "streamable"]


def streamable(model) -> None:
    """Raise a clear :class:`~rnnkit.errors.InvalidArgumentError` unless ``model`` is a Forecaster
    that can be stepped one row at a time (a one-direction recurrent body, no conv front-end)."""
    from rnnkit.models import Forecaster
    if not isinstance(model, Forecaster):
        raise InvalidArgumentError.for_argument("model", type(model).__name__, "an rnnkit Forecaster")
    c = model.config
    why = ("its body is not recurrent" if c.cell not in ("rnn", "lstm", "gru") else
           "it is bidirectional (the reverse direction needs the future)" if c.bidirectional else
           "its conv front-end pools several rows into one step" if c.conv_filters else None)
    if why:
        raise InvalidArgumentError.for_argument(
            "model", f"a Forecaster with cell={c.cell!r}, bidirectional={c.bidirectional}, "
            f"conv_filters={c.conv_filters}", "a one-direction recurrent forecaster without a conv front-end",
            f"It cannot stream one row at a time: {why}. Re-run the window for each new row instead.")


_streamable = streamable        # the name used before


_F32 = np.dtype(np.float32)


def _f32(t) -> np.ndarray | None:
    return None if t is None else t.detach().cpu().to(torch.float32).numpy().copy()


class Streamer:
    """One recurrent forecaster, stepped one row at a time (see the module docstring).

    A step is a few matrix-vector products: it runs in NumPy on float32 copies of the weights
    taken when the streamer is made, into buffers allocated once per batch size (eager PyTorch
    spends more on dispatching its ops than on this arithmetic). Make a new streamer after
    changing the model's weights. Rows may be float32 CPU tensors or NumPy arrays (the fastest
    path); other dtypes are converted.

    Args:
        model: a :class:`~rnnkit.models.Forecaster` with a one-direction recurrent body.
    Attributes:
        state: per layer ``(h,)`` (or ``(h, c)`` for LSTM), NumPy (batch, units) copies; None
            before :meth:`start` / after :meth:`reset`.
        n_features: features per row.
    """

    def __init__(self, model):
        streamable(model)
        self.model = model.eval()
        body, c = model.body, model.config
        self.mode, self.hidden, self.n_features = body.mode, body.hidden_size, c.n_features
        self.kernels = [LayerKernel(body.mode, *(_f32(w) for w in body._weights(layer, 0)),
                                    reset_after=body.reset_after, relu=body.nonlinearity == "relu",
                                    checksum=layer == 0)
                        for layer in range(body.num_layers)]
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

    def _bad_row(self):
        raise InvalidArgumentError.for_argument("row", "a non-finite value", "finite (scaled) values")

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
        x0, advance = self._x0, self._advance
        for t in range(x.shape[-2] - 1):
            x0[...] = x[:, t] if batched else x[t]
            advance()
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

    def _forecast(self) -> Tensor:
        """The head on the top layer's h, plus the residual level; a fresh tensor."""
        y = self._head()
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
