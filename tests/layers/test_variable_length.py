"""Variable-length batches: the seed 004 example and hypothesis properties."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import rnnkit

# seed 004, "Variable Length Input Sequences": 4 instances, 2 steps, instance 1 has length 1
X_BATCH = np.array([
    [[0, 1, 2], [9, 8, 7]],  # instance 0
    [[3, 4, 5], [0, 0, 0]],  # instance 1 (padded with a zero vector)
    [[6, 7, 8], [6, 5, 4]],  # instance 2
    [[9, 0, 1], [3, 2, 1]],  # instance 3
], dtype=np.float32)
SEQ_LENGTH = np.array([2, 1, 2, 2])


@pytest.mark.parametrize("cls", [rnnkit.SimpleRNN, rnnkit.GRU, rnnkit.LSTM])
def test_seed_004_example(cls):
    torch.manual_seed(0)
    layer = cls(3, 5)
    out, state = layer(torch.from_numpy(X_BATCH), lengths=torch.from_numpy(SEQ_LENGTH))
    h = state[0] if isinstance(state, tuple) else state
    assert torch.all(out[1, 1] == 0)                     # output at the padded step is zero
    assert torch.equal(h[0, 1], out[1, 0])              # final state of instance 1 = its t=0 output
    for b in (0, 2, 3):
        assert torch.equal(h[0, b], out[b, 1])
    # the padded step changes nothing: instance 1 alone, one step long, gives the same
    alone, _ = layer(torch.from_numpy(X_BATCH[1:2, :1]))
    torch.testing.assert_close(alone[0, 0], out[1, 0])


def test_mask_equals_lengths():
    layer = rnnkit.LSTM(3, 4, bidirectional=True)
    x = torch.randn(3, 5, 3)
    lengths = torch.tensor([5, 2, 1])
    mask = torch.arange(5).unsqueeze(0) < lengths.unsqueeze(1)
    a, (ha, ca) = layer(x, lengths=lengths)
    b, (hb, cb) = layer(x, mask=mask)
    assert torch.equal(a, b) and torch.equal(ha, hb) and torch.equal(ca, cb)


@settings(max_examples=40, deadline=None)
@given(kind=st.sampled_from(["rnn", "lstm", "gru"]), batch=st.integers(1, 6), time=st.integers(1, 9),
       inp=st.integers(1, 5), hidden=st.integers(1, 6), layers=st.integers(1, 2),
       bidirectional=st.booleans(), data=st.data())
def test_length_properties(kind, batch, time, inp, hidden, layers, bidirectional, data):
    cls = {"rnn": rnnkit.SimpleRNN, "lstm": rnnkit.LSTM, "gru": rnnkit.GRU}[kind]
    lengths = torch.tensor(data.draw(st.lists(st.integers(1, time), min_size=batch, max_size=batch)))
    layer = cls(inp, hidden, num_layers=layers, bidirectional=bidirectional)
    x = torch.randn(batch, time, inp)
    out, state = layer(x, lengths=lengths)
    h = state[0] if isinstance(state, tuple) else state
    D = 2 if bidirectional else 1
    assert out.shape == (batch, time, D * hidden)
    assert h.shape == (layers * D, batch, hidden)
    for b, L in enumerate(lengths.tolist()):
        assert torch.all(out[b, L:] == 0)
        assert torch.equal(h[-D, b], out[b, L - 1, :hidden])        # forward: last valid step
        if bidirectional:
            assert torch.equal(h[-1, b], out[b, 0, hidden:])          # reverse: ends at step 0
        # garbage in the padding changes nothing
    noisy = x.clone()
    for b, L in enumerate(lengths.tolist()):
        noisy[b, L:] = 1e3
    out2, _ = layer(noisy, lengths=lengths)
    torch.testing.assert_close(out2, out)
    # each sequence run alone, unpadded, gives the same
    b = data.draw(st.integers(0, batch - 1))
    L = int(lengths[b])
    alone, _ = layer(x[b:b + 1, :L])
    torch.testing.assert_close(alone[0], out[b, :L], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("cls", [rnnkit.LSTM, rnnkit.GRU, rnnkit.SimpleRNN])
@pytest.mark.parametrize("junk", [float("nan"), float("inf")])
def test_nan_or_inf_in_the_padding_reaches_no_output_and_no_gradient(cls, junk):
    """Issue 10: padding must never reach the arithmetic (select, do not multiply)."""
    torch.manual_seed(0)
    layer = cls(3, 5, num_layers=2, bidirectional=True, init="torch")
    lengths = torch.tensor([6, 2, 4])
    clean = torch.randn(3, 6, 3)
    clean = torch.where((torch.arange(6) < lengths.unsqueeze(1)).unsqueeze(-1), clean, 0.0)
    dirty = clean.clone()
    dirty[1, 2:] = junk
    dirty[2, 4:] = -junk
    results = []
    for x in (clean, dirty):
        x = x.clone().requires_grad_()
        out, _ = layer(x, lengths=lengths)
        layer.zero_grad()
        out.square().sum().backward()
        results.append([out.detach(), x.grad] + [p.grad.clone() for p in layer.parameters()])
    for a, b in zip(*results):
        assert torch.isfinite(b).all()
        torch.testing.assert_close(a, b)
