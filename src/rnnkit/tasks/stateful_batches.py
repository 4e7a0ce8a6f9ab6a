"""Training batches for a model that streams: consecutive non-overlapping windows whose state
carries from one batch to the next (``rnnkit forecast --stateful``, seed 000's stateful RNN).

    >>> import numpy as np
    >>> len(StatefulBatches(np.zeros((100, 1)), np.zeros(100), lookback=5, delay=1, batch_size=4))
    4
"""
from __future__ import annotations

import numpy as np
import torch

from rnnkit.errors import InvalidArgumentError
from rnnkit.models.forecaster import streamable

__all__ = ["StatefulBatches"]


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
            streamable(model)
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
