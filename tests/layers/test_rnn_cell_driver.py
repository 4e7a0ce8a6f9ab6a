"""RNN(cell): the generic driver matches torch.nn.LSTM/GRU (packed sequences) and rnnkit.LSTM/GRU
with the same weights, with lengths, stacked and bidirectional; its own contract (stateful, mask,
return switches, constants) against hand-computed cases."""
import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnkit
from rnnkit.errors import InvalidArgumentError
from rnnkit.layers.cells import GRUCell, LSTMCell
from rnnkit.layers.rnn import RNN, TorchCell, reverse_padded


@pytest.fixture(autouse=True)
def scan_path():
    """Overrides tests/layers/conftest.py: the driver runs the cells step by step in Python and
    never touches the fused kernels, so these tests run once, not once per GEMM backend (the
    rnnkit.LSTM/GRU side of the comparisons is tested on every backend in its own files)."""
    return "python"


def _driver_like(torch_rnn, cell_cls):
    """An RNN(cell) stack holding torch_rnn's weights (torch names: weight_ih_l{k}[_reverse])."""
    L, H, D = torch_rnn.num_layers, torch_rnn.hidden_size, 2 if torch_rnn.bidirectional else 1
    fwd, bwd = [], []
    for k in range(L):
        for d, sfx in enumerate(["", "_reverse"][:D]):
            cell = cell_cls(torch_rnn.input_size if k == 0 else H * D, H)
            with torch.no_grad():
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    getattr(cell, name).copy_(getattr(torch_rnn, f"{name}_l{k}{sfx}"))
            (fwd if d == 0 else bwd).append(TorchCell(cell))
    return RNN(fwd, backward_cell=bwd or None)


def _packed(torch_rnn, x, lengths):
    out, state = torch_rnn(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
    return pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])[0], state


@pytest.mark.parametrize("layers,bidirectional", [(1, False), (2, True)])
def test_lstm_cells_match_torch_and_rnnkit_lstm_with_lengths(layers, bidirectional):
    torch.manual_seed(0)
    ref = nn.LSTM(3, 5, num_layers=layers, bidirectional=bidirectional, batch_first=True)
    rnn = _driver_like(ref, LSTMCell)
    ours = rnnkit.LSTM(3, 5, num_layers=layers, bidirectional=bidirectional)
    ours.load_state_dict(ref.state_dict())
    x, lengths = torch.randn(4, 6, 3), torch.tensor([6, 2, 4, 1])
    want, (h, c) = _packed(ref, x, lengths)
    got, state = rnn(x, lengths=lengths)
    torch.testing.assert_close(got, want)
    states = [state] if layers * (2 if bidirectional else 1) == 1 else list(state)
    torch.testing.assert_close(torch.stack([s[0] for s in states]), h)
    torch.testing.assert_close(torch.stack([s[1] for s in states]), c)
    out2, (h2, _) = ours(x, lengths=lengths)
    torch.testing.assert_close(got, out2)
    torch.testing.assert_close(torch.stack([s[0] for s in states]), h2)


def test_gru_cells_match_torch_gru_outputs_and_gradients_with_lengths():
    torch.manual_seed(1)
    ref = nn.GRU(3, 4, batch_first=True, bidirectional=True)
    rnn = _driver_like(ref, GRUCell)
    ours = rnnkit.GRU(3, 4, bidirectional=True)
    ours.load_state_dict(ref.state_dict())
    x, lengths = torch.randn(3, 5, 3), torch.tensor([5, 3, 1])
    want, h = _packed(ref, x, lengths)
    got, state = rnn(x, lengths=lengths)
    torch.testing.assert_close(got, want)
    torch.testing.assert_close(torch.stack(state), h)
    torch.testing.assert_close(got, ours(x, lengths=lengths)[0])
    want.pow(2).sum().backward()
    got.pow(2).sum().backward()
    torch.testing.assert_close(rnn.backward_cells[0].cell.weight_hh.grad, ref.weight_hh_l0_reverse.grad)
    torch.testing.assert_close(rnn.cells[0].cell.weight_ih.grad, ref.weight_ih_l0.grad)


def test_padding_is_zero_nan_never_leaks_and_mask_equals_lengths():
    torch.manual_seed(2)
    rnn = RNN(TorchCell(LSTMCell(2, 3)), backward_cell=TorchCell(LSTMCell(2, 3)))
    x, lengths = torch.randn(2, 4, 2), torch.tensor([4, 2])
    x[1, 2:] = float("nan")
    out, _ = rnn(x, lengths=lengths)
    assert torch.isfinite(out).all() and out[1, 2:].abs().sum() == 0
    mask = torch.tensor([[True] * 4, [True, True, False, False]])
    torch.testing.assert_close(rnn(x, mask=mask)[0], out)
    clean = rnn(x[1:, :2])[0]                     # the short sequence alone, unpadded
    torch.testing.assert_close(out[1:, :2], clean)


def test_return_switches_give_last_valid_step():
    torch.manual_seed(3)
    fwd, bwd = TorchCell(GRUCell(2, 3)), TorchCell(GRUCell(2, 3))
    full = RNN(fwd, backward_cell=bwd, merge_mode="sum")
    last = RNN(fwd, backward_cell=bwd, merge_mode="sum", return_sequences=False, return_state=False)
    x, lengths = torch.randn(2, 5, 2), torch.tensor([5, 3])
    _, (h_f, h_b) = full(x, lengths=lengths)
    torch.testing.assert_close(last(x, lengths=lengths), h_f + h_b)


def test_stateful_two_halves_equal_one_call():
    torch.manual_seed(4)
    cell = TorchCell(LSTMCell(2, 3))
    x = torch.randn(2, 6, 2)
    whole, _ = RNN(cell)(x)
    stateful = RNN(cell, stateful=True)
    first, _ = stateful(x[:, :3])
    second, _ = stateful(x[:, 3:])
    torch.testing.assert_close(torch.cat([first, second], 1), whole)
    stateful.reset_state()
    torch.testing.assert_close(stateful(x[:, :3])[0], first)


class Accumulate(nn.Module):
    """state' = state + x_t * scale; y_t = state' + offset (hand-checkable)."""

    def initial_state(self, batch, device=None, dtype=None):
        return torch.zeros(batch, 1, device=device, dtype=dtype)

    def forward(self, x, state, scale=1.0, offset=0.0):
        new = state + x * scale
        return new + offset, new


def test_custom_cell_with_constants_hand_computed():
    rnn = RNN(Accumulate())
    x = torch.tensor([[[1.0], [2.0], [3.0]], [[4.0], [5.0], [9.0]]])
    out, state = rnn(x, lengths=torch.tensor([3, 2]), constants={"scale": 2.0, "offset": 10.0})
    assert out[..., 0].tolist() == [[12.0, 16.0, 22.0], [18.0, 28.0, 0.0]]
    assert state[:, 0].tolist() == [12.0, 18.0]


def test_reverse_padded_reverses_only_valid_steps():
    x = torch.tensor([[1, 2, 3, 0, 0], [1, 2, 3, 4, 5]])
    assert reverse_padded(x, torch.tensor([3, 5])).tolist() == [[3, 2, 1, 0, 0], [5, 4, 3, 2, 1]]


def test_bad_cells_and_states_are_refused():
    with pytest.raises(InvalidArgumentError, match="initial_state"):
        RNN(nn.Linear(2, 2))
    with pytest.raises(InvalidArgumentError, match="one backward cell per forward cell"):
        RNN([TorchCell(GRUCell(2, 2)), TorchCell(GRUCell(2, 2))], backward_cell=TorchCell(GRUCell(2, 2)))
    rnn = RNN([TorchCell(GRUCell(2, 2)), TorchCell(GRUCell(2, 2))])
    with pytest.raises(InvalidArgumentError, match="one state per cell"):
        rnn(torch.randn(1, 3, 2), state=(torch.zeros(1, 2),))
    with pytest.raises(InvalidArgumentError, match="batch, time, features"):
        rnn(torch.randn(3, 2))
