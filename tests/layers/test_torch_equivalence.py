"""rnnkit layers against torch.nn.RNN/LSTM/GRU with the same weights.

Outputs, final states and gradients (input, initial state, every parameter) for every
combination of cell type, 1-3 layers, uni/bidirectional, with and without lengths (torch
side: pack_padded_sequence with enforce_sorted=False), with and without an initial state,
batch sizes 1 and 7; on the whole-stack torch path and on the per-layer scan path, the latter
once on the fused kernels and once on the reference loop (conftest.py).
"""
import itertools

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnkit
from rnnkit.layers.recurrent import RecurrentLayer

KINDS = {
    "rnn_tanh": (rnnkit.SimpleRNN, torch.nn.RNN, {"nonlinearity": "tanh"}),
    "rnn_relu": (rnnkit.SimpleRNN, torch.nn.RNN, {"nonlinearity": "relu"}),
    "lstm": (rnnkit.LSTM, torch.nn.LSTM, {}),
    "gru": (rnnkit.GRU, torch.nn.GRU, {}),
}
T, I, H = 6, 5, 4


def _run_torch(ref, x, lengths, state):
    if lengths is None:
        out, st = ref(x, state)
        return out, st
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out, st = ref(packed, state)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    return out, st


def _flat(state):
    return list(state) if isinstance(state, tuple) else [state]


@pytest.fixture(params=["torch_stack", "per_layer_scan"])
def path(request, monkeypatch):
    """Whole stack in torch's kernel where it applies, or every layer through scan() (the fused
    kernels or the reference loop, per the scan_path fixture in conftest.py)."""
    allowed = RecurrentLayer._uses_fused_torch
    if request.param == "torch_stack":
        monkeypatch.setattr(RecurrentLayer, "_uses_fused_torch", lambda self, lengths, x=None: allowed(self, lengths))
    else:
        monkeypatch.setattr(RecurrentLayer, "_uses_fused_torch", lambda self, lengths, x=None: False)
    return request.param


@pytest.mark.parametrize("kind,num_layers,bidirectional,use_lengths,use_state,batch", list(itertools.product(
    KINDS, [1, 2, 3], [False, True], [False, True], [False, True], [1, 7])))
def test_matches_torch(kind, num_layers, bidirectional, use_lengths, use_state, batch, path):
    ours_cls, ref_cls, extra = KINDS[kind]
    torch.manual_seed(hash((kind, num_layers, bidirectional, use_lengths, use_state, batch)) % 2**31)
    ref = ref_cls(I, H, num_layers=num_layers, bidirectional=bidirectional, batch_first=True, **extra)
    ours = ours_cls(I, H, num_layers=num_layers, bidirectional=bidirectional, **extra)
    ours.load_state_dict(ref.state_dict())
    D = 2 if bidirectional else 1
    x = torch.randn(batch, T, I)
    lengths = None
    if use_lengths:
        lengths = torch.randint(1, T + 1, (batch,))
        lengths[0] = 1 if batch > 1 else 3
        if batch > 2:
            lengths[1] = T
    state = None
    if use_state:
        state = torch.randn(num_layers * D, batch, H)
        if kind == "lstm":
            state = (state, torch.randn(num_layers * D, batch, H))

    def leaves(st):
        return [s.clone().requires_grad_() for s in _flat(st)] if st is not None else []

    xr, xo = x.clone().requires_grad_(), x.clone().requires_grad_()
    sr, so = leaves(state), leaves(state)
    pack = (lambda s: tuple(s) if kind == "lstm" else s[0])
    out_r, st_r = _run_torch(ref, xr, lengths, pack(sr) if sr else None)
    out_o, st_o = ours(xo, lengths=lengths, state=pack(so) if so else None)

    assert out_o.shape == out_r.shape
    torch.testing.assert_close(out_o, out_r, atol=1e-5, rtol=1e-5)
    for a, b in zip(_flat(st_o), _flat(st_r)):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    if lengths is not None:
        for b_, L in enumerate(lengths.tolist()):
            assert torch.all(out_o[b_, L:] == 0)

    g_out = torch.randn_like(out_r)
    g_st = [torch.randn_like(s) for s in _flat(st_r)]

    def loss(out, st):
        return (out * g_out).sum() + sum((s * g).sum() for s, g in zip(_flat(st), g_st))

    loss(out_r, st_r).backward()
    loss(out_o, st_o).backward()
    torch.testing.assert_close(xo.grad, xr.grad, atol=1e-5, rtol=1e-5)
    for a, b in zip(so, sr):
        torch.testing.assert_close(a.grad, b.grad, atol=1e-5, rtol=1e-5)
    ref_params = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        torch.testing.assert_close(p.grad, ref_params[name].grad, atol=1e-5, rtol=1e-5, msg=name)


@pytest.mark.parametrize("kind", list(KINDS))
def test_state_dict_round_trip_both_ways(kind):
    ours_cls, ref_cls, extra = KINDS[kind]
    ours = ours_cls(I, H, num_layers=2, bidirectional=True, **extra)
    ref = ref_cls(I, H, num_layers=2, bidirectional=True, batch_first=True, **extra)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in ref.state_dict().items()}
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(3, T, I)
    ours.eval(), ref.eval()
    torch.testing.assert_close(ours(x)[0], ref(x)[0], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn_tanh"])
def test_cells_match_torch_cells(kind):
    cells = {"lstm": (rnnkit.LSTMCell, torch.nn.LSTMCell), "gru": (rnnkit.GRUCell, torch.nn.GRUCell),
             "rnn_tanh": (rnnkit.SimpleRNNCell, torch.nn.RNNCell)}
    ours_cls, ref_cls = cells[kind]
    ref = ref_cls(I, H)
    ours = ours_cls(I, H)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(7, I)
    h = torch.randn(7, H)
    st = (h, torch.randn(7, H)) if kind == "lstm" else h
    for a, b in zip(_flat(ours(x, st)), _flat(ref(x, st))):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-6)
