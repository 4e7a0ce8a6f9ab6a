"""The native path (rnnkit.layers.native: torch's own RNN op, cuDNN on a GPU), forced on the CPU
with RNNKIT_BACKEND=native, against torch.nn.LSTM / GRU / RNN given the same weights (the same op:
outputs and every gradient equal exactly), with lengths (torch.nn through packed sequences),
bidirectional and stacked; rnnkit's own scan agrees to float tolerance; weight drop against a
hand-written AWD-LSTM step; variational dropout keeps the reference scan."""
import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnkit
from rnnkit.layers import native

PAIRS = {"lstm": (rnnkit.LSTM, torch.nn.LSTM), "gru": (rnnkit.GRU, torch.nn.GRU),
         "rnn": (rnnkit.SimpleRNN, torch.nn.RNN)}


@pytest.fixture
def forced(monkeypatch):
    monkeypatch.setenv("RNNKIT_BACKEND", "native")


def _pair(kind, layers, bidirectional, seed=0):
    ours_cls, ref_cls = PAIRS[kind]
    torch.manual_seed(seed)
    ref = ref_cls(5, 6, num_layers=layers, bidirectional=bidirectional, batch_first=True).double()
    ours = ours_cls(5, 6, num_layers=layers, bidirectional=bidirectional).double()
    ours.load_state_dict(ref.state_dict())
    return ours, ref


def _reference(ref, x, lengths):
    if lengths is None:
        return ref(x)
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out, state = ref(packed)
    return pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])[0], state


def _grads(out, state, params, x):
    h = state[0] if isinstance(state, tuple) else state
    loss = out.pow(2).sum() + h.sin().sum() + (state[1].cos().sum() if isinstance(state, tuple) else 0)
    return torch.autograd.grad(loss, [x, *params])


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("with_lengths", [False, True])
def test_forced_native_equals_torch_nn_exactly(kind, layers, bidirectional, with_lengths, forced):
    ours, ref = _pair(kind, layers, bidirectional, seed=layers * 7 + bidirectional)
    g = torch.Generator().manual_seed(3)
    x = torch.randn(4, 7, 5, generator=g, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([7, 3, 1, 5]) if with_lengths else None
    got_out, got_state = ours(x, lengths=lengths)
    want_out, want_state = _reference(ref, x, lengths)
    assert torch.equal(got_out, want_out)
    for a, b in zip(got_state if kind == "lstm" else [got_state], want_state if kind == "lstm" else [want_state]):
        assert torch.equal(a, b)
    for a, b in zip(_grads(got_out, got_state, list(ours.parameters()), x),
                    _grads(want_out, want_state, list(ref.parameters()), x)):
        assert torch.equal(a, b)
    if with_lengths:
        assert (got_out[2, 1:] == 0).all()              # zero past each length, as rnnkit's own paths


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_native_agrees_with_rnnkits_own_scan(kind, monkeypatch):
    ours, _ = _pair(kind, 2, True, seed=1)
    x, n = torch.randn(3, 6, 5, dtype=torch.float64), torch.tensor([6, 2, 4])
    own = ours(x, lengths=n)
    monkeypatch.setenv("RNNKIT_BACKEND", "native")
    nat = ours(x, lengths=n)
    torch.testing.assert_close(nat[0], own[0])
    for a, b in zip(nat[1], own[1]):
        torch.testing.assert_close(a, b)


def test_weight_drop_drops_the_recurrent_matrix_then_runs_the_op(forced):
    ours, ref = _pair("lstm", 1, False, seed=2)
    ours.weight_drop = 0.5
    ours.train()
    x = torch.randn(2, 4, 5, dtype=torch.float64)
    torch.manual_seed(11)
    out = ours(x)[0]
    torch.manual_seed(11)                               # the same DropConnect mask, by hand (AWD-LSTM)
    w_hh = torch.nn.functional.dropout(ref.weight_hh_l0, 0.5, training=True)
    h = c = torch.zeros(2, 6, dtype=torch.float64)
    outs = []
    for t in range(4):
        gates = x[:, t] @ ref.weight_ih_l0.T + ref.bias_ih_l0 + h @ w_hh.T + ref.bias_hh_l0
        i, f, g, o = gates.chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        outs.append(h)
    torch.testing.assert_close(out, torch.stack(outs, 1))


def test_variational_dropout_keeps_the_scan_and_gru_reset_before_is_not_native(forced):
    layer = rnnkit.LSTM(5, 6, recurrent_dropout=0.3).train()
    x = torch.randn(2, 3, 5)
    assert not native.possible(layer, None, x)
    assert native.possible(layer.eval(), None, x)       # at inference there is no mask
    assert not native.possible(rnnkit.GRU(5, 6, reset_after=False), None, x)
    assert not native.possible(rnnkit.GRU(5, 6), torch.tensor([3, 0]), x)   # an empty sequence cannot be packed


def test_native_is_wanted_off_the_cpu_or_when_forced(monkeypatch):
    x = torch.zeros(1, 1, 1)
    monkeypatch.delenv("RNNKIT_BACKEND", raising=False)
    assert not native.wanted(x) and native.wanted(torch.zeros(1, 1, 1, device="meta"))
    monkeypatch.setenv("RNNKIT_BACKEND", "native")
    assert native.wanted(x)


def test_variational_dropout_off_the_cpu_warns_once_what_it_costs(monkeypatch):
    monkeypatch.setattr(native, "_warned", set())
    layer = rnnkit.GRU(5, 6, recurrent_dropout=0.3).train()
    x = torch.zeros(2, 3, 5, device="meta")             # any device but the CPU: nothing is computed here
    with pytest.warns(UserWarning, match=r"^rnnkit: variational .* reference scan") as seen:
        assert not native.possible(layer, None, x) and not native.possible(layer, None, x)
    assert len([w for w in seen if str(w.message).startswith("rnnkit: ")]) == 1


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
def test_weight_drop_stacked_bidirectional_with_lengths_equals_rnnkits_own_scan(kind, monkeypatch):
    """The same DropConnect masks (drawn in the same order: layer, then direction) give the
    native op and rnnkit's reference path the same outputs, states and gradients."""
    ours, _ = _pair(kind, 2, True, seed=5)
    ours.weight_drop = 0.4
    ours.train()
    x = torch.randn(3, 6, 5, dtype=torch.float64, requires_grad=True)
    n = torch.tensor([6, 2, 4])
    results = []
    for backend in ("", "native"):
        monkeypatch.setenv("RNNKIT_BACKEND", backend)
        torch.manual_seed(13)
        out, state = ours(x, lengths=n)
        results.append((out, state, _grads(out, state, list(ours.parameters()), x)))
    (own_out, own_state, own_grads), (nat_out, nat_state, nat_grads) = results
    torch.testing.assert_close(nat_out, own_out)
    for a, b in zip(nat_state if kind == "lstm" else [nat_state], own_state if kind == "lstm" else [own_state]):
        torch.testing.assert_close(a, b)
    for a, b in zip(nat_grads, own_grads):
        torch.testing.assert_close(a, b)
    assert not torch.equal(results[0][0], ours.eval()(x, lengths=n)[0])   # the drop did change the output
