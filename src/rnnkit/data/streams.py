"""One long token sequence as ``B`` parallel streams cut into windows of ``bptt`` steps, for
stateful truncated backpropagation through time (seed 004; seed 000's propagated state).

The ``N`` ids are laid out as ``B`` contiguous streams of ``L = (N - 1) // B`` steps (stream
``b`` reads ids ``b*L .. b*L + L - 1`` and predicts the next id of each); window ``w`` holds
steps ``w*bptt .. (w+1)*bptt - 1`` of every stream at once, so row ``b`` of window ``w + 1``
continues row ``b`` of window ``w`` and a model that carries its state from one window to
the next reads each stream without a break. A batch is ``((x, reset), y)``: ``x`` and ``y``
int64 (B, T), ``y`` the ids one step after ``x``, and ``reset`` a bool scalar tensor, True on
the first window of a pass (the model then starts from a zero state).

:class:`StreamBatches` in training order is resumable: the windows of epoch ``k`` are a pure
function of ``k`` (``set_epoch``), ``windows_per_epoch`` windows continuing where epoch
``k - 1`` stopped, passes over the corpus following one another (each pass shifted by an
offset below ``bptt`` drawn from ``seed`` and the pass number, so window edges move).

    >>> import torch
    >>> s = StreamBatches(torch.arange(21), batch_size=2, bptt=4)
    >>> [(x.tolist(), bool(r), y.tolist()) for (x, r), y in s][:2]
    [([[0, 1, 2, 3], [10, 11, 12, 13]], True, [[1, 2, 3, 4], [11, 12, 13, 14]]), ([[4, 5, 6, 7], [14, 15, 16, 17]], False, [[5, 6, 7, 8], [15, 16, 17, 18]])]
    >>> len(s), s.tokens_per_pass
    (3, 20)
"""
from __future__ import annotations

import math

import torch

from rnnkit.data._checks import check_int
from rnnkit.errors import DataError, InvalidArgumentError

__all__ = ["StreamBatches", "stream_layout"]


def _positive(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidArgumentError.for_argument(name, value, "a positive integer",
                                                "--bptt is the window length in tokens, e.g. 100." if name == "bptt" else None)
    return value


def stream_layout(ids: torch.Tensor, batch_size: int, bptt: int, what: str = "the text") -> torch.Tensor:
    """The ``(B, L + 1)`` matrix of streams (each row overlaps the next by one id, the target
    of its last step); refuses a text too short for one window of ``bptt`` steps per stream."""
    batch_size, bptt = _positive("batch_size", batch_size), _positive("bptt", bptt)
    ids = torch.as_tensor(ids).long().reshape(-1)
    n = ids.numel()
    if n == 0:
        raise DataError(f"{what} is empty (0 tokens): a language model needs text to read. Pass a non-empty file.")
    L = (n - 1) // batch_size
    if L < bptt:
        need = batch_size * bptt + 1
        raise DataError(f"{what} has {n} tokens, shorter than one BPTT window of {bptt} steps for each of "
                        f"{batch_size} streams ({need} tokens). Pass a longer text, or a smaller --bptt or "
                        f"--batch-size.")
    rows = torch.arange(batch_size).unsqueeze(1) * L + torch.arange(L + 1).unsqueeze(0)
    return ids[rows]


class StreamBatches:
    """Windows ``((x, reset), y)`` over ``B`` parallel streams of ``ids``.

    Args:
        ids: 1-D int tensor, the whole text as token ids.
        batch_size: ``B``, the number of parallel streams.
        bptt: window length (truncated BPTT steps).
        windows_per_epoch: training order only: windows per epoch (``set_epoch``), default one
            pass. Without ``set_epoch`` ever called (evaluation), iterating gives one pass from
            the start, the last window shorter when ``L`` is not a multiple of ``bptt``
            (``drop_last`` leaves it out, so every window weighs the same).
        shift: training order only: move each pass's window edges by ``(seed, pass)``.
        seed: the seed of those shifts.
        what: the name of the text in error messages ("the validation text").
    """

    def __init__(self, ids, batch_size: int, bptt: int, *, windows_per_epoch: int | None = None,
                 shift: bool = True, seed: int = 0, drop_last: bool = False, what: str = "the text"):
        self.streams = stream_layout(ids, batch_size, bptt, what)
        self.batch_size, self.bptt = batch_size, bptt
        self.steps = self.streams.shape[1] - 1
        self.shift, self.seed, self.drop_last = bool(shift), int(seed), bool(drop_last)
        spare = bptt - 1 if self.shift else 0   # room for the shift of a pass's window edges
        self.windows_per_pass = max(1, (self.steps - spare) // bptt)
        self.max_offset = min(spare, self.steps - self.windows_per_pass * bptt)
        if windows_per_epoch is not None:
            windows_per_epoch = _positive("windows_per_epoch", windows_per_epoch)
        self.windows_per_epoch = windows_per_epoch or self.windows_per_pass
        self._epoch: int | None = None

    @property
    def tokens_per_pass(self) -> int:
        """Predicted tokens in one evaluation pass (every step of every stream)."""
        return self.batch_size * self.steps

    def __len__(self) -> int:
        if self._epoch is not None:
            return self.windows_per_epoch
        return self.steps // self.bptt if self.drop_last else math.ceil(self.steps / self.bptt)

    def set_epoch(self, epoch: int) -> None:
        """Training order: epoch ``epoch`` (from 0) yields windows ``epoch * windows_per_epoch``
        onwards (called by :class:`rnnkit.training.Trainer` before each training pass)."""
        self._epoch = check_int("epoch", epoch, minimum=0)

    def _offset(self, pass_index: int) -> int:
        if self.max_offset <= 0:
            return 0
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + pass_index)
        return int(torch.randint(0, self.max_offset + 1, (1,), generator=g))

    def window(self, start: int, stop: int, reset: bool):
        x = self.streams[:, start:stop]
        y = self.streams[:, start + 1:stop + 1]
        return (x, torch.tensor(bool(reset))), y

    def __iter__(self):
        if self._epoch is None:
            T = self.bptt
            last = self.steps - (self.steps % T if self.drop_last else 0)
            for i, start in enumerate(range(0, last, T)):
                yield self.window(start, min(start + T, self.steps), i == 0)
            return
        first = self._epoch * self.windows_per_epoch
        for g in range(first, first + self.windows_per_epoch):
            p, w = divmod(g, self.windows_per_pass)
            start = self._offset(p) + w * self.bptt
            yield self.window(start, start + self.bptt, w == 0)
