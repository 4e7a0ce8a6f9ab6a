"""Merge modes, return switches, stateful state, init, penalties, GRU forms, summary, errors."""
import math

import numpy as np
import pytest
import torch

import rnnkit
from rnnkit.errors import InvalidArgumentError, RnnkitError


@pytest.mark.parametrize("mode,fn", [("sum", lambda a, b: a + b), ("mul", lambda a, b: a * b),
                                     ("ave", lambda a, b: (a + b) / 2)])
def test_merge_modes(mode, fn):
    torch.manual_seed(0)
    concat = rnnkit.GRU(3, 4, bidirectional=True, num_layers=2)
    merged = rnnkit.GRU(3, 4, bidirectional=True, num_layers=2, merge_mode=mode)
    merged.load_state_dict(concat.state_dict())
    x = torch.randn(2, 6, 3)
    c, hc = concat(x)
    m, hm = merged(x)
    torch.testing.assert_close(m, fn(c[..., :4], c[..., 4:]))
    assert torch.equal(hm, hc)


def test_keras_style_stacking_in_sequential():
    model = torch.nn.Sequential(
        rnnkit.LSTM(3, 8, return_state=False),
        rnnkit.GRU(8, 6, bidirectional=True, return_state=False, return_sequences=False),
        torch.nn.Linear(12, 1))
    assert model(torch.randn(5, 7, 3)).shape == (5, 1)


def test_return_sequences_false_is_last_valid_step():
    layer = rnnkit.SimpleRNN(3, 4, return_sequences=False)
    full = rnnkit.SimpleRNN(3, 4)
    full.load_state_dict(layer.state_dict())
    x, lengths = torch.randn(3, 6, 3), torch.tensor([6, 2, 4])
    last, _ = layer(x, lengths=lengths)
    out, _ = full(x, lengths=lengths)
    torch.testing.assert_close(last, out[torch.arange(3), lengths - 1])


@pytest.mark.parametrize("cls", [rnnkit.LSTM, rnnkit.GRU])
def test_stateful_continues_across_calls(cls):
    torch.manual_seed(0)
    layer = cls(3, 5, num_layers=2, stateful=True).eval()
    x = torch.randn(4, 10, 3)
    ref = cls(3, 5, num_layers=2).eval()
    ref.load_state_dict(layer.state_dict())
    whole, st_whole = ref(x)
    a, _ = layer(x[:, :6])
    b, st = layer(x[:, 6:])
    torch.testing.assert_close(torch.cat([a, b], 1), whole, atol=1e-6, rtol=1e-5)
    for s, w in zip(st if isinstance(st, tuple) else (st,), st_whole if isinstance(st_whole, tuple) else (st_whole,)):
        torch.testing.assert_close(s, w, atol=1e-6, rtol=1e-5)
    kept = layer._state if isinstance(layer._state, tuple) else (layer._state,)
    assert all(k.grad_fn is None for k in kept)  # carried state is detached
    with pytest.raises(InvalidArgumentError, match="reset_state"):
        layer(torch.randn(2, 3, 3))
    layer.reset_state()
    fresh, _ = layer(x[:, :6])
    torch.testing.assert_close(fresh, a)


def test_keras_init():
    layer = rnnkit.LSTM(6, 5, num_layers=2, bidirectional=True)
    for name, p in layer.named_parameters():
        if name.startswith("weight_hh"):
            torch.testing.assert_close(p.T @ p, torch.eye(5), atol=1e-5, rtol=0)  # orthogonal
        elif name.startswith("weight_ih"):
            fan_in, fan_out = p.shape[1], p.shape[0]
            assert p.abs().max() <= math.sqrt(6 / (fan_in + fan_out))
        elif name.startswith("bias_ih"):
            expected = torch.zeros(20)
            expected[5:10] = 1.0  # forget gate
            assert torch.equal(p, expected)
        else:
            assert torch.equal(p, torch.zeros(20))
    t = rnnkit.GRU(6, 5, init="torch")
    assert all(p.abs().max() <= 1 / math.sqrt(5) for p in t.parameters())
    assert t.bias_ih_l0.abs().sum() > 0


def test_penalty_hand_computed():
    layer = rnnkit.SimpleRNN(2, 2, kernel_l1=0.1, kernel_l2=0.01, recurrent_l2=0.5)
    with torch.no_grad():
        layer.weight_ih_l0.copy_(torch.tensor([[1.0, -2.0], [0.5, 0.0]]))
        layer.weight_hh_l0.copy_(torch.tensor([[1.0, 1.0], [0.0, -1.0]]))
    expected = 0.1 * 3.5 + 0.01 * (1 + 4 + 0.25) + 0.5 * 3
    assert layer.penalty().item() == pytest.approx(expected)
    layer.penalty().backward()
    assert layer.weight_hh_l0.grad is not None


def test_gru_reset_before_matches_keras_formula_in_numpy():
    """reset_after=False is Keras' GRU(reset_after=False) and seed 001's h~ = tanh(W.[r*h, x])."""
    torch.manual_seed(0)
    I, H, T = 3, 4, 5
    layer = rnnkit.GRU(I, H, reset_after=False, init="torch")
    x = torch.randn(2, T, I)
    out, _ = layer(x)
    W = layer.weight_ih_l0.detach().numpy().T     # Keras kernel (I, 3H), gates r, z, n
    U = layer.weight_hh_l0.detach().numpy().T     # Keras recurrent_kernel (H, 3H)
    b = (layer.bias_ih_l0 + layer.bias_hh_l0).detach().numpy()
    sig = lambda v: 1 / (1 + np.exp(-v))
    h = np.zeros((2, H))
    for t in range(T):
        xt = x[:, t].numpy()
        r = sig(xt @ W[:, :H] + h @ U[:, :H] + b[:H])
        z = sig(xt @ W[:, H:2 * H] + h @ U[:, H:2 * H] + b[H:2 * H])
        hh = np.tanh(xt @ W[:, 2 * H:] + (r * h) @ U[:, 2 * H:] + b[2 * H:])
        h = z * h + (1 - z) * hh
        np.testing.assert_allclose(out[:, t].detach().numpy(), h, atol=1e-5)


def test_summary_seed_003_has_513_parameters(capsys):
    model = torch.nn.Sequential(rnnkit.SimpleRNN(14, 16, return_sequences=False, return_state=False),
                                torch.nn.Linear(16, 1))
    total = rnnkit.summary(model, (240, 14))
    assert total == (16 * 14 + 16 * 16 + 16) + (16 * 1 + 1) == 513  # the seed's own arithmetic
    text = capsys.readouterr().out
    assert "Total params: 513" in text and "(None, 16)" in text and "(None, 1)" in text


@pytest.mark.parametrize("kwargs,match", [
    (dict(input_size=3, hidden_size=0), "`hidden_size`, expected a positive integer, got 0"),
    (dict(input_size=3, hidden_size=4, recurrent_dropout=1.0), "`recurrent_dropout`"),
    (dict(input_size=3, hidden_size=4, merge_mode="max"), "`merge_mode`"),
    (dict(input_size=3, hidden_size=4, batch_first=False), "always batch-first"),
])
def test_bad_constructor_arguments(kwargs, match):
    with pytest.raises(InvalidArgumentError, match=match):
        rnnkit.GRU(**kwargs)


@pytest.mark.parametrize("call,match", [
    (lambda l: l(torch.randn(2, 4, 3), lengths=torch.tensor([0, 4])), "at least 1"),
    (lambda l: l(torch.randn(2, 4, 3), lengths=torch.tensor([5, 4])), "only 4 time steps"),
    (lambda l: l(torch.randn(2, 4, 3), lengths=torch.tensor([4])), "shape \\(2,\\)"),
    (lambda l: l(torch.randn(2, 4, 3), lengths=torch.tensor([2.0, 4.0])), "integer"),
    (lambda l: l(torch.randn(2, 4, 3), mask=torch.tensor([[1, 0, 1, 1], [1, 1, 1, 1]]).bool()),
     "not right-padded"),
    (lambda l: l(torch.randn(4, 3)), "\\(batch, time, 3\\)"),
    (lambda l: l(torch.randn(2, 4, 5)), "\\(batch, time, 3\\)"),
    (lambda l: l(torch.randn(2, 4, 3), state=torch.zeros(1, 3, 4)), "\\(1, 2, 4\\)"),
])
def test_bad_call_arguments(call, match):
    layer = rnnkit.GRU(3, 4)
    with pytest.raises(RnnkitError, match=match):
        call(layer)


def test_summary_counts_parameters_a_container_owns():
    class Scaled(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = torch.nn.Parameter(torch.ones(3))  # owned by the container itself
            self.rnn = rnnkit.GRU(2, 3, return_state=False, return_sequences=False)

        def forward(self, x):
            return self.rnn(x) * self.scale

    # GRU: 3 * (3*2 + 3*3 + 3) = 54 free (one bias vector per gate counted once), + 3 for `scale`
    assert rnnkit.summary(Scaled(), (5, 2), print_fn=None) == 54 + 3


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_input_works_on_a_cast_layer_or_gets_a_clear_error(dtype):
    torch.manual_seed(0)
    layer = rnnkit.GRU(3, 4)
    x = torch.randn(2, 5, 3)
    with pytest.raises(InvalidArgumentError, match="dtype of the layer's weights"):
        layer(x.to(dtype))
    ref, _ = layer(x, lengths=torch.tensor([5, 2]))
    out, _ = layer.to(dtype)(x.to(dtype), lengths=torch.tensor([5, 2]))
    assert out.dtype == dtype
    torch.testing.assert_close(out.float(), ref, rtol=0, atol=0.05)
