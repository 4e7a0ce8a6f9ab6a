"""Dropout in the recurrent layers, tested structurally.

Each network below is wired (weights and biases set by hand) so that a unit's output is
exactly zero at a step if and only if its recurrent-dropout mask entry is zero. A variational
mask then shows as a zero pattern that is the same at every time step.
"""
import pytest
import torch

import rnnkit

H = 64


def _wired(kind, **kw):
    """A layer whose unit j outputs 0 at step t iff the recurrent mask zeroes h_{t-1}[j]."""
    cls = {"rnn": rnnkit.SimpleRNN, "lstm": rnnkit.LSTM, "gru": rnnkit.GRU}[kind]
    layer = cls(3, H, **kw)
    eye = torch.eye(H)
    with torch.no_grad():
        for p in layer.parameters():
            p.zero_()
        if kind == "rnn":
            layer.weight_hh_l0.copy_(3 * eye)
        elif kind == "lstm":  # i=1, f=0, o=1: c' = tanh(3 h*m), h' = tanh(c')
            layer.bias_ih_l0[:H] = 200
            layer.bias_ih_l0[H:2 * H] = -200
            layer.bias_ih_l0[3 * H:] = 200
            layer.weight_hh_l0[2 * H:3 * H] = 3 * eye
        else:  # r=1, z=0: h' = n = tanh(3 h*m)
            layer.bias_ih_l0[:H] = 200
            layer.bias_ih_l0[H:2 * H] = -200
            layer.weight_hh_l0[2 * H:] = 3 * eye
    return layer


def _h0(kind, B):
    h = torch.ones(1, B, H)
    return (h, torch.zeros(1, B, H)) if kind == "lstm" else h


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("with_lengths", [False, True])
def test_recurrent_mask_is_the_same_at_every_step(kind, with_lengths):
    torch.manual_seed(0)
    B, T = 16, 12
    layer = _wired(kind, recurrent_dropout=0.5).train()
    lengths = torch.full((B,), T) if not with_lengths else torch.randint(T // 2, T + 1, (B,))
    lengths[0] = T
    out, _ = layer(torch.randn(B, T, 3), lengths=lengths, state=_h0(kind, B))
    zero = out == 0
    for b in range(B):
        L = int(lengths[b])
        pattern = zero[b, 0]
        assert 0 < pattern.sum() < H  # some units dropped, some kept
        assert torch.equal(zero[b, :L], pattern.expand(L, H)), "mask changed between steps"
    # one mask per sequence: rows differ
    assert not torch.equal(zero[0, 0], zero[1, 0])


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_no_dropout_in_eval_mode(kind):
    layer = _wired(kind, recurrent_dropout=0.5, input_dropout=0.5, weight_drop=0.5).eval()
    out, _ = layer(torch.randn(4, 5, 3), state=_h0(kind, 4))
    assert (out != 0).all()
    out2, _ = layer(torch.randn(4, 5, 3), state=_h0(kind, 4))
    torch.testing.assert_close(out, out2)  # inputs are ignored by the wiring; no randomness left


def test_recurrent_mask_preserves_expected_activation():
    torch.manual_seed(1)
    p = 0.3
    layer = rnnkit.SimpleRNN(3, H, nonlinearity="relu", recurrent_dropout=p).train()
    with torch.no_grad():
        for w in layer.parameters():
            w.zero_()
        layer.weight_hh_l0.copy_(torch.eye(H))
    out, _ = layer(torch.randn(512, 1, 3), state=torch.ones(1, 512, H))
    h1 = out[:, 0]  # = relu(1 * m) = m
    kept = h1[h1 != 0]
    torch.testing.assert_close(kept, torch.full_like(kept, 1 / (1 - p)))
    assert abs(h1.mean().item() - 1.0) < 0.03
    assert abs((h1 == 0).float().mean().item() - p) < 0.02


def test_input_dropout_is_variational_and_unbiased():
    torch.manual_seed(2)
    p = 0.25
    layer = rnnkit.SimpleRNN(H, H, nonlinearity="relu", input_dropout=p).train()
    with torch.no_grad():
        for w in layer.parameters():
            w.zero_()
        layer.weight_ih_l0.copy_(torch.eye(H))
    out, _ = layer(torch.ones(256, 7, H))  # h_t = relu(x_t * m_in) = m_in
    assert torch.equal(out, out[:, :1].expand_as(out)), "input mask changed between steps"
    assert abs(out.mean().item() - 1.0) < 0.03
    assert not torch.equal(out[0, 0], out[1, 0])


def test_weight_drop_masks_recurrent_weights_once_per_call():
    torch.manual_seed(3)
    p = 0.5
    layer = rnnkit.SimpleRNN(3, 8, nonlinearity="relu", weight_drop=p).train()
    with torch.no_grad():
        for w in layer.parameters():
            w.zero_()
        layer.weight_hh_l0.fill_(1.0)
    out, _ = layer(torch.randn(5, 1, 3), state=torch.ones(1, 5, 8))
    h1 = out[:, 0]  # row j = sum_k W_drop[j, k]: the same for every sequence
    assert torch.equal(h1, h1[:1].expand_as(h1))
    assert torch.all(torch.remainder(h1, 1 / (1 - p)) == 0)
    assert h1.min() < 8 / (1 - p)  # something was dropped
    assert torch.equal(layer.weight_hh_l0, torch.ones(8, 8))  # the stored weights are untouched
