"""Streaming inference: one new observation and the carried state in, the next forecast out,
O(1) per observation (one step of each recurrent layer and the head; nothing is re-read).

``Streamer(model)`` wraps a recurrent :class:`~rnnkit.models.Forecaster` (SimpleRNN/LSTM/GRU
body, one direction, no conv front-end) in eval mode. ``start(history)`` runs the model over a
history of rows and keeps the state; every ``step(row)`` advances the state by one row and
returns the forecast after it. Several independent streams run side by side when rows carry a
batch dimension. The step is torch.nn's equations (which the layers match) in NumPy.

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

import math

import numpy as np
import torch
from torch import Tensor

from rnnkit.errors import InvalidArgumentError

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


try:                                            # one ufunc instead of three
    from scipy.special import expit as _sigmoid
except ImportError:  # pragma: no cover - scipy comes with scikit-learn, not with rnnkit
    def _sigmoid(v):
        return 0.5 * (np.tanh(0.5 * v) + 1.0)  # = 1 / (1 + exp(-v)), without overflow


class Streamer:
    """One recurrent forecaster, stepped one row at a time (see the module docstring).

    A step is a few matrix-vector products: it runs in NumPy on float32 copies of the weights
    taken when the streamer is made (eager PyTorch spends more on dispatching its ops than on
    this arithmetic). Make a new streamer after changing the model's weights.

    Args:
        model: a :class:`~rnnkit.models.Forecaster` with a one-direction recurrent body.
    Attributes:
        state: per layer ``(h,)`` (or ``(h, c)`` for LSTM), NumPy (batch, units); None before
            :meth:`start`.
        n_features: features per row.
    """

    def __init__(self, model):
        _streamable(model)
        self.model = model.eval()
        body = model.body
        self.mode, self.reset_after, self.relu = body.mode, body.reset_after, body.nonlinearity == "relu"
        self.hidden = body.hidden_size
        self.n_features = model.config.n_features
        f32 = lambda t: None if t is None else t.detach().cpu().to(torch.float32).numpy().copy()  # noqa: E731
        H = self.hidden
        G = {"lstm": 4, "gru": 3, "rnn": 1}[self.mode] * H
        self.layers = []       # per layer: [x | h] @ K + k gives every pre-activation in one product
        for layer in range(body.num_layers):
            w_ih, w_hh, b_ih, b_hh = (f32(w) for w in body._weights(layer, 0))
            b_ih = np.zeros(G, np.float32) if b_ih is None else b_ih
            b_hh = np.zeros(G, np.float32) if b_hh is None else b_hh
            if self.mode == "gru" and self.reset_after:     # columns: r, z (x and h), n from x, n from h
                K = np.zeros((w_ih.shape[1] + H, 4 * H), np.float32)
                K[:w_ih.shape[1], :3 * H] = w_ih.T
                K[w_ih.shape[1]:, :2 * H] = w_hh[:2 * H].T
                K[w_ih.shape[1]:, 3 * H:] = w_hh[2 * H:].T
                k = np.concatenate([b_ih[:2 * H] + b_hh[:2 * H], b_ih[2 * H:], b_hh[2 * H:]])
                extra = None
            elif self.mode == "gru":                        # n's recurrent product needs r first
                K = np.concatenate([w_ih.T, np.concatenate([w_hh[:2 * H].T, np.zeros((H, H), np.float32)], 1)])
                k = np.concatenate([b_ih[:2 * H] + b_hh[:2 * H], b_ih[2 * H:] + b_hh[2 * H:]])
                extra = np.ascontiguousarray(w_hh[2 * H:].T)
            else:
                K, k, extra = np.concatenate([w_ih.T, w_hh.T]), b_ih + b_hh, None
            self.layers.append((np.ascontiguousarray(K, np.float32), k.astype(np.float32), extra))
        self.head = []
        for m in model.head:
            if isinstance(m, torch.nn.Linear):
                self.head.append((np.ascontiguousarray(f32(m.weight).T), f32(m.bias)))
            elif isinstance(m, torch.nn.ReLU):
                self.head.append(None)
            else:  # pragma: no cover - Forecaster heads hold only these
                raise InvalidArgumentError.for_argument("model", type(m).__name__, "a head of Linear/ReLU layers")
        c = model.config
        self.horizon, self.n_targets, self.residual = c.horizon, c.n_targets, c.residual_index
        self.state = None
        self._batched = False

    # ------------------------------------------------------------------ input
    def _rows(self, x, name: str, ndim: int) -> np.ndarray:
        if isinstance(x, Tensor):
            x = x.numpy() if x.dtype == torch.float32 and not x.requires_grad and x.device.type == "cpu" \
                else x.detach().cpu().to(torch.float32).numpy()
        x = np.asarray(x, dtype=np.float32)
        if x.ndim not in (ndim, ndim + 1) or x.shape[-1] != self.n_features:
            shape = "(features,) or (batch, features)" if ndim == 1 else "(time, features) or (batch, time, features)"
            raise InvalidArgumentError.for_argument(
                name, tuple(x.shape), f"a tensor of shape {shape} with {self.n_features} features",
                f"The model was trained on {self.n_features} input features per row (in the run's feature order).")
        if not math.isfinite(x.sum()):          # any nan or +-inf makes the sum non-finite
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
        self._batched = x.ndim == 3
        x = x if self._batched else x[None]
        self.state = None
        for t in range(x.shape[1]):
            y = self._advance(x[:, t])
        return torch.from_numpy(y if self._batched else y[0])

    def step(self, row) -> Tensor:
        """Advance by one row ((features,) or (batch, features)); the forecast after it:
        (horizon,) for one target, (horizon, n_targets) for several (a batch dimension first)."""
        x = self._rows(row, "row", 1)
        batched = x.ndim == 2
        if self.state is not None and batched != self._batched:
            raise InvalidArgumentError.for_argument(
                "row", tuple(x.shape), "the same batch layout as the rows before",
                "Call reset() (or start()) before changing between one stream and a batch of streams.")
        self._batched = batched
        y = self._advance(x if batched else x[None])
        return torch.from_numpy(y if batched else y[0])

    def _advance(self, row: np.ndarray) -> np.ndarray:
        """One step of every layer (torch.nn's equations) for rows (batch, features)."""
        B, H = row.shape[0], self.hidden
        if self.state is None or self.state[0][0].shape[0] != B:
            z = np.zeros((B, H), np.float32)
            self.state = [(z, z) if self.mode == "lstm" else (z,) for _ in self.layers]
        inp, new = row, []
        for (K, k, extra), st in zip(self.layers, self.state):
            h = st[0]
            g = np.concatenate([inp, h], 1) @ K + k
            if self.mode == "lstm":
                ifo = _sigmoid(g)          # (the g gate's column block is replaced by its tanh below)
                c = ifo[:, H:2 * H] * st[1] + ifo[:, :H] * np.tanh(g[:, 2 * H:3 * H])
                h = ifo[:, 3 * H:] * np.tanh(c)
                new.append((h, c))
            elif self.mode == "gru":
                rz = _sigmoid(g[:, :2 * H])
                if extra is None:
                    n = np.tanh(g[:, 2 * H:3 * H] + rz[:, :H] * g[:, 3 * H:])
                else:
                    n = np.tanh(g[:, 2 * H:] + (rz[:, :H] * h) @ extra)
                h = n + rz[:, H:] * (h - n)
                new.append((h,))
            else:
                h = np.maximum(g, 0) if self.relu else np.tanh(g)
                new.append((h,))
            inp = h
        self.state = new
        for layer in self.head:
            inp = np.maximum(inp, 0) if layer is None else inp @ layer[0] + layer[1]
        y = inp.reshape(B, self.horizon, self.n_targets) if self.n_targets > 1 else inp
        if self.residual is not None:
            y = y + row[:, self.residual, None]
        return y.astype(np.float32, copy=False)


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
