"""Streaming inference: one new observation and the carried state in, the next forecast out,
O(1) per observation (one step of each recurrent layer and the head; nothing is re-read).

``Streamer(model)`` wraps a recurrent :class:`~rnnkit.models.Forecaster` (SimpleRNN/LSTM/GRU
body, one direction, no conv front-end) in eval mode. ``start(history)`` runs the model over a
history of rows and keeps the state; every ``step(row)`` advances the state by one row and
returns the forecast after it. Several independent streams run side by side when rows carry a
batch dimension. The step math is that of :mod:`rnnkit.layers.cells`, the reference every fast
path of the layers is tested against.

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
seed 000) trains exactly the carried-state model a streamer runs.

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

import torch
from torch import Tensor
from torch.nn import functional as F

from rnnkit.errors import InvalidArgumentError
from rnnkit.layers.cells import gru_step, lstm_step, rnn_step

__all__ = ["Streamer", "StatefulBatches"]


def _streamable(model) -> None:
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


class Streamer:
    """One recurrent forecaster, stepped one row at a time (see the module docstring).

    Args:
        model: a :class:`~rnnkit.models.Forecaster` with a one-direction recurrent body.
    Attributes:
        state: per layer ``h`` (batch, units), and ``c`` for LSTM; None before :meth:`start`.
        n_features: features per row.
    """

    def __init__(self, model):
        _streamable(model)
        self.model = model.eval()
        self.body = model.body
        self.n_features = model.config.n_features
        self.state = None
        self._batched = False

    # ------------------------------------------------------------------ input
    def _rows(self, x, name: str, ndim: int) -> Tensor:
        x = torch.as_tensor(x, dtype=self.body.weight_ih_l0.dtype)
        if x.dim() not in (ndim, ndim + 1) or x.shape[-1] != self.n_features:
            shape = "(features,) or (batch, features)" if ndim == 1 else "(time, features) or (batch, time, features)"
            raise InvalidArgumentError.for_argument(
                name, tuple(x.shape), f"a tensor of shape {shape} with {self.n_features} features",
                f"The model was trained on {self.n_features} input features per row (in the run's feature order).")
        if not torch.isfinite(x).all():
            raise InvalidArgumentError.for_argument(name, "a non-finite value", "finite (scaled) values")
        return x

    # ------------------------------------------------------------------ stepping
    def reset(self) -> None:
        """Forget the carried state (the next step starts from zeros)."""
        self.state = None

    def start(self, history) -> Tensor:
        """Run the model over ``history`` ((time, features), or (batch, time, features) for several
        streams), keep the state, return the forecast after its last row."""
        x = self._rows(history, "history", 2)
        self._batched = x.dim() == 3
        x = x if self._batched else x.unsqueeze(0)
        self.state = None
        y = None
        with torch.no_grad():
            for t in range(x.shape[1]):
                y = self._advance(x[:, t])
        return y if self._batched else y[0]

    def step(self, row) -> Tensor:
        """Advance by one row ((features,) or (batch, features)); the forecast after it:
        (horizon,) for one target, (horizon, n_targets) for several (a batch dimension first)."""
        x = self._rows(row, "row", 1)
        batched = x.dim() == 2
        if self.state is not None and batched != self._batched:
            raise InvalidArgumentError.for_argument(
                "row", tuple(x.shape), "the same batch layout as the rows before",
                "Call reset() (or start()) before changing between one stream and a batch of streams.")
        self._batched = batched
        with torch.no_grad():
            y = self._advance(x if batched else x.unsqueeze(0))
        return y if batched else y[0]

    def _advance(self, row: Tensor) -> Tensor:
        """One step of every layer for rows (batch, features); returns the forecast (batch, ...)."""
        body, mode = self.body, self.body.mode
        B, H = row.shape[0], body.hidden_size
        if self.state is None or self.state[0][0].shape[0] != B:
            zeros = row.new_zeros(B, H)
            self.state = [(zeros, zeros) if mode == "lstm" else (zeros,) for _ in range(body.num_layers)]
        inp, new = row, []
        for layer, st in enumerate(self.state):
            w_ih, w_hh, b_ih, b_hh = body._weights(layer, 0)
            gi = F.linear(inp, w_ih, b_ih)
            if mode == "lstm":
                h, c = lstm_step(gi, st[0], st[1], w_hh, b_hh)
                new.append((h, c))
            elif mode == "gru":
                h = gru_step(gi, st[0], w_hh, b_hh, None, body.reset_after)
                new.append((h,))
            else:
                h = rnn_step(gi, st[0], w_hh, b_hh, None, body.nonlinearity)
                new.append((h,))
            inp = h
        self.state = new
        return self._head(inp, row)

    def _head(self, z: Tensor, row: Tensor) -> Tensor:
        c = self.model.config
        y = self.model.head(z)
        if c.n_targets > 1:
            y = y.reshape(-1, c.horizon, c.n_targets)
        if c.residual_index is not None:
            y = y + row[:, c.residual_index].unsqueeze(-1)
        return y


class StatefulBatches:
    """Training batches for a model that streams (``--stateful``, seed 000's stateful RNN):
    each segment of the series is cut into ``batch_size`` contiguous streams; batch ``k`` holds
    the ``k``-th non-overlapping window of ``lookback`` rows of every stream, so row ``i`` of
    batch ``k + 1`` continues row ``i`` of batch ``k``. With a ``stateful`` recurrent body the
    state carried from one batch to the next is the one a :class:`Streamer` carries; the state
    is reset at the start of every pass and every segment (series never run into each other).
    Targets are per step (seq2seq, ``delay`` rows ahead, horizon 1): the model learns to forecast
    after every row, which is what a streamer asks of it. Batches are never shuffled.

    Args:
        data: (rows, features) scaled inputs; ``target``: (rows,) scaled target.
        segments: ``[(begin, end)]`` row ranges that windows never cross (default: all rows).
        model: the Forecaster being trained (its body is switched to ``stateful``).

        >>> import numpy as np
        >>> b = StatefulBatches(np.arange(40.0)[:, None], np.arange(40.0), lookback=4, delay=1, batch_size=2)
        >>> [x[:, :, 0].tolist() for x, _ in b][:2]
        [[[0.0, 1.0, 2.0, 3.0], [16.0, 17.0, 18.0, 19.0]], [[4.0, 5.0, 6.0, 7.0], [20.0, 21.0, 22.0, 23.0]]]
        >>> next(iter(b))[1][0, :, 0].tolist()          # the row delay=1 after each input row
        [1.0, 2.0, 3.0, 4.0]
    """

    def __init__(self, data, target, *, lookback: int, delay: int, batch_size: int, segments=None, model=None):
        import numpy as np
        for name, v in (("lookback", lookback), ("delay", delay), ("batch_size", batch_size)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InvalidArgumentError.for_argument(name, v, "a positive integer")
        self.data = torch.as_tensor(np.asarray(data, np.float32))
        self.target = torch.as_tensor(np.asarray(target, np.float32))
        self.lookback, self.delay, self.batch_size = lookback, delay, batch_size
        self.model = model
        if model is not None:
            _streamable(model)
            model.body.stateful = True
        self.plan = []          # per segment: (begin, windows per stream)
        for a, b in segments or [(0, len(self.data))]:
            k = (b - a - delay) // batch_size // lookback
            if k > 0:
                self.plan.append((a, k))
        if not self.plan:
            raise InvalidArgumentError.for_argument(
                "batch_size", batch_size, f"streams of at least one window of {lookback} rows",
                "The series is too short for that many streams: use a smaller --batch-size.")

    def __len__(self) -> int:
        return sum(k for _, k in self.plan)

    def set_epoch(self, epoch: int) -> None:       # the trainer's hook; the order never changes
        pass

    def __iter__(self):
        span = self.lookback
        for a, k in self.plan:
            if self.model is not None:
                self.model.body.reset_state()
            starts = a + torch.arange(self.batch_size) * k * span
            for w in range(k):
                rows = (starts + w * span).unsqueeze(1) + torch.arange(span)      # (batch, lookback)
                yield self.data[rows], self.target[rows + self.delay].unsqueeze(-1)
        if self.model is not None:
            self.model.body.reset_state()
