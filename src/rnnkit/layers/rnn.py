"""``RNN(cell)``: drive any one-step cell over time, like Keras ``keras.layers.RNN(cell)``.

A cell is a ``torch.nn.Module`` with

- ``forward(x_t, state, **constants) -> (y_t, new_state)``: one step; ``x_t`` is
  (batch, features), ``y_t`` (batch, out_features), ``state`` a Tensor or a (nested) tuple of
  Tensors whose first dimension is the batch;
- ``initial_state(batch, device, dtype) -> state``: the state before the first step.

:class:`RNN` gives it the contract of the built-in layers (:class:`rnnkit.LSTM`): batch-first
input, ``lengths`` or a right-padded ``mask`` (outputs are exactly zero at and past each length,
the final state is the state after the last valid step, the reverse direction starts at each
sequence's last valid step), ``return_sequences``/``return_state``, ``stateful``, bidirectional
through a second cell (``backward_cell``) and stacking (a list of cells; layer ``k + 1`` reads
the outputs of layer ``k``, both directions concatenated). ``constants`` (a dict given to
:meth:`RNN.forward`) reach every step of every cell as keyword arguments: an attention decoder
reads the encoder outputs that way.

The time loop runs step by step in Python (one cell call per step and direction), so it is
much slower than the fused built-in layers: use :class:`rnnkit.LSTM`/``GRU`` for a plain
LSTM/GRU and this driver for cells they do not have. :class:`TorchCell` adapts the
torch-style cells (``rnnkit.LSTMCell``, ``GRUCell``, ``SimpleRNNCell``, and ``torch.nn``'s)
to the protocol.

    >>> import torch
    >>> from rnnkit.layers.cells import LSTMCell
    >>> rnn = RNN(TorchCell(LSTMCell(3, 5)), backward_cell=TorchCell(LSTMCell(3, 5)))
    >>> out, state = rnn(torch.randn(2, 4, 3), lengths=torch.tensor([4, 2]))
    >>> tuple(out.shape), bool((out[1, 2:] == 0).all())
    ((2, 4, 10), True)
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from rnnkit.errors import InvalidArgumentError
from rnnkit.layers.lengths import resolve_lengths, zero_padding
from rnnkit.layers.merge import MERGE_MODES, merge_directions

__all__ = ["RNN", "TorchCell", "reverse_padded", "map_state"]



def map_state(fn, *states):
    """Apply ``fn`` leaf by leaf to states of the same structure (Tensor or nested tuples)."""
    first = states[0]
    if isinstance(first, Tensor):
        return fn(*states)
    if isinstance(first, (tuple, list)):
        return tuple(map_state(fn, *parts) for parts in zip(*states))
    raise InvalidArgumentError.for_argument(
        "state", type(first).__name__, "a Tensor or a tuple of Tensors (batch first)",
        "A cell's initial_state() and forward() must return Tensors or tuples of them.")


def reverse_padded(x: Tensor, lengths: Tensor | None) -> Tensor:
    """``x`` (batch, time, ...) with the first ``lengths[b]`` steps of each sequence reversed and
    the padding left where it is; applied twice it gives ``x`` back.

    >>> reverse_padded(torch.tensor([[1, 2, 3, 0], [4, 5, 6, 7]]), torch.tensor([3, 4])).tolist()
    [[3, 2, 1, 0], [7, 6, 5, 4]]
    """
    T = x.shape[1]
    if lengths is None:
        return x.flip(1)
    t = torch.arange(T, device=x.device).unsqueeze(0)
    L = lengths.to(x.device).unsqueeze(1)
    index = torch.where(t < L, L - 1 - t, t)
    index = index.view(*index.shape, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(1, index)


class TorchCell(nn.Module):
    """Adapts a torch-style cell (``cell(x, h) -> h`` or ``cell(x, (h, c)) -> (h, c)``, as
    ``rnnkit.LSTMCell``/``GRUCell``/``SimpleRNNCell`` and ``torch.nn.LSTMCell``...) to the
    :class:`RNN` protocol: the output is ``h``, the state is ``h`` or ``(h, c)``, zeros first.

    The wrapped cell is ``self.cell``, so its parameters are named ``cell.weight_ih`` etc.
    """

    def __init__(self, cell: nn.Module):
        super().__init__()
        self.cell = cell
        self.hidden_size = int(cell.hidden_size)
        self.is_lstm = isinstance(cell, nn.LSTMCell) or getattr(cell, "mode", None) == "lstm"

    def initial_state(self, batch: int, device=None, dtype=None):
        z = torch.zeros(batch, self.hidden_size, device=device, dtype=dtype)
        return (z, z.clone()) if self.is_lstm else z

    def forward(self, x: Tensor, state):
        new = self.cell(x, state)
        return (new[0] if self.is_lstm else new), new


def _as_cells(cells, name: str) -> list[nn.Module]:
    cells = list(cells) if isinstance(cells, (list, tuple, nn.ModuleList)) else [cells]
    if not cells:
        raise InvalidArgumentError.for_argument(name, cells, "a cell or a non-empty list of cells")
    for c in cells:
        if not isinstance(c, nn.Module) or not callable(getattr(c, "initial_state", None)):
            raise InvalidArgumentError.for_argument(
                name, type(c).__name__, "a torch.nn.Module with forward(x_t, state) -> (y_t, state) and "
                "initial_state(batch, device, dtype)", "Wrap torch-style cells in rnnkit.layers.rnn.TorchCell.")
    return cells


class RNN(nn.Module):
    """Run a cell (or a stack of cells) over a batch-first sequence.

    Args:
        cell: a cell, or a list of cells stacked bottom to top (see the module docstring).
        backward_cell: None (default, one direction), or a cell / list of cells of the same
            length reading each sequence from its last valid step back to the first.
        merge_mode: how the two directions' outputs are merged: 'concat' (default), 'sum',
            'mul', 'ave'. Between stacked layers they are always concatenated.
        stateful: carry the final state (detached) into the next call, default False.
        return_sequences: True (default) returns every step's output; False the last valid
            step's (the backward direction's output at step 0).
        return_state: True (default) returns ``(output, state)``; False only the output.

    Call arguments: ``x`` (batch, time, features); ``lengths`` (batch,) ints or ``mask``
    (batch, time) right-padded bools; ``state``: the initial state (the structure returned
    below); ``constants``: a dict of keyword arguments passed to every cell call.

    The state is the cell's own state for one cell in one direction; otherwise a tuple with
    one entry per cell, layer by layer, forward before backward (torch's order).
    """

    def __init__(self, cell, backward_cell=None, *, merge_mode: str = "concat", stateful: bool = False,
                 return_sequences: bool = True, return_state: bool = True):
        super().__init__()
        self.cells = nn.ModuleList(_as_cells(cell, "cell"))
        self.backward_cells = None
        if backward_cell is not None:
            back = _as_cells(backward_cell, "backward_cell")
            if len(back) != len(self.cells):
                raise InvalidArgumentError.for_argument(
                    "backward_cell", f"{len(back)} cell(s)", f"one backward cell per forward cell ({len(self.cells)})")
            self.backward_cells = nn.ModuleList(back)
        if merge_mode not in MERGE_MODES:
            raise InvalidArgumentError.for_argument("merge_mode", merge_mode, f"one of {MERGE_MODES}")
        self.merge_mode = merge_mode
        self.stateful = bool(stateful)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self._state = None

    @property
    def bidirectional(self) -> bool:
        return self.backward_cells is not None

    def _all_cells(self) -> list[nn.Module]:
        out = []
        for k, c in enumerate(self.cells):
            out.append(c)
            if self.bidirectional:
                out.append(self.backward_cells[k])
        return out

    def reset_state(self) -> None:
        """Forget the state carried between calls of a ``stateful`` RNN."""
        self._state = None

    def initial_state(self, batch: int, device=None, dtype=None):
        """The initial state of every cell, in the structure :meth:`forward` takes and returns."""
        states = tuple(c.initial_state(batch, device, dtype) for c in self._all_cells())
        return states[0] if len(states) == 1 else states

    def _run(self, cell: nn.Module, x: Tensor, state, lengths: Tensor | None, constants: dict):
        """One direction: outputs (batch, time, out) zero past the lengths, and the final state."""
        valid = None if lengths is None else torch.arange(x.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)
        outs = []
        for t, x_t in enumerate(x.unbind(1)):
            y, new = cell(x_t, state, **constants)
            if valid is None:
                state = new
            else:
                v = valid[:, t].to(x.device)
                state = map_state(lambda n, o: torch.where(v.view(-1, *([1] * (n.dim() - 1))), n, o), new, state)
                y = torch.where(v.view(-1, *([1] * (y.dim() - 1))), y, y.new_zeros(()))
            outs.append(y)
        return torch.stack(outs, 1), state

    def _merge(self, fwd: Tensor, bwd: Tensor) -> Tensor:
        return merge_directions(self.merge_mode, fwd, bwd)

    def _check(self, x) -> Tensor:
        if not isinstance(x, Tensor) or x.dim() != 3 or 0 in x.shape:
            raise InvalidArgumentError.for_argument(
                "x", tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__,
                "a tensor of shape (batch, time, features) with at least one step",
                "RNN is batch-first; add a batch dimension with x.unsqueeze(0).")
        return x

    def forward(self, x: Tensor, lengths=None, state=None, mask=None, constants: dict | None = None):
        """Run every cell over ``x``; see the class docstring for the arguments and results."""
        x = self._check(x)
        B, T = x.shape[:2]
        lengths = resolve_lengths(lengths, mask, B, T)
        x = zero_padding(x, lengths)
        constants = dict(constants or {})
        cells = self._all_cells()
        if state is None and self.stateful and self._state is not None:
            state = self._state
        if state is None:
            states = [c.initial_state(B, x.device, x.dtype) for c in cells]
        else:
            states = [state] if len(cells) == 1 else list(state)
            if len(states) != len(cells):
                raise InvalidArgumentError.for_argument(
                    "state", f"a tuple of {len(states)} states", f"one state per cell ({len(cells)})")
        finals, inp, last = [], x, None
        D = 2 if self.bidirectional else 1
        for k in range(len(self.cells)):
            out, s = self._run(self.cells[k], inp, states[k * D], lengths, constants)
            finals.append(s)
            if self.bidirectional:
                rev, s_b = self._run(self.backward_cells[k], reverse_padded(inp, lengths),
                                     states[k * D + 1], lengths, constants)
                finals.append(s_b)
                back = reverse_padded(rev, lengths)
                last = (out, back)
                out = torch.cat([out, back], -1)
            else:
                last = (out, None)
            inp = out
        new_state = finals[0] if len(finals) == 1 else tuple(finals)
        if self.stateful:
            self._state = map_state(lambda s: s.detach(), new_state)
        fwd, bwd = last
        if self.return_sequences:
            result = self._merge(fwd, bwd) if bwd is not None else fwd
        else:
            idx = (torch.full((B,), T - 1) if lengths is None else lengths - 1).to(x.device)
            top = fwd[torch.arange(B, device=x.device), idx]
            result = self._merge(top, bwd[:, 0]) if bwd is not None else top
        return (result, new_state) if self.return_state else result

    def extra_repr(self) -> str:
        return (f"layers={len(self.cells)}, bidirectional={self.bidirectional}, merge_mode={self.merge_mode!r}, "
                f"stateful={self.stateful}")
