"""Attention: padded keys never get weight; values against hand-computed small cases."""
import math

import pytest
import torch

from rnnkit.errors import InvalidArgumentError
from rnnkit.layers.attention import AdditiveAttention, DotAttention, make_attention, masked_softmax


@pytest.fixture(autouse=True)
def scan_path():
    """Overrides tests/layers/conftest.py: attention uses no recurrent kernel, run once."""
    return "python"


def test_dot_attention_hand_computed():
    keys = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [9.0, 9.0]]])
    context, w = DotAttention()(torch.tensor([[2.0, 0.0]]), keys, lengths=torch.tensor([2]))
    a = math.exp(2) / (math.exp(2) + 1)
    torch.testing.assert_close(w, torch.tensor([[a, 1 - a, 0.0]]))
    torch.testing.assert_close(context, torch.tensor([[a, 1 - a]]))
    assert w[0, 2].item() == 0.0


def test_scaled_and_general_dot_hand_computed():
    keys = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    q = torch.tensor([[2.0, 0.0]])
    _, w = DotAttention(scale=True)(q, keys)
    a = math.exp(2 / math.sqrt(2)) / (math.exp(2 / math.sqrt(2)) + 1)
    torch.testing.assert_close(w, torch.tensor([[a, 1 - a]]))
    general = DotAttention(2, 2, general=True)
    with torch.no_grad():
        general.weight.weight.copy_(torch.tensor([[0.0, 1.0], [1.0, 0.0]]))   # swaps the key features
    _, w = general(q, keys)                        # scores q . W k = [0, 2]
    b = math.exp(2) / (math.exp(2) + 1)
    torch.testing.assert_close(w, torch.tensor([[1 - b, b]]))


def test_additive_attention_hand_computed():
    att = AdditiveAttention(1, 1, units=1)
    with torch.no_grad():
        att.query_proj.weight.fill_(1.0)
        att.key_proj.weight.fill_(2.0)
        att.key_proj.bias.fill_(0.5)
        att.v.weight.fill_(3.0)
    q = torch.tensor([[0.25]])
    keys = torch.tensor([[[1.0], [-1.0], [7.0]]])
    values = torch.tensor([[[10.0], [20.0], [99.0]]])
    context, w = att(q, keys, values, mask=torch.tensor([[True, True, False]]))
    e = [3 * math.tanh(0.25 + 2 * k + 0.5) for k in (1.0, -1.0)]
    a = [math.exp(x) / sum(math.exp(y) for y in e) for x in e]
    torch.testing.assert_close(w, torch.tensor([[a[0], a[1], 0.0]]))
    torch.testing.assert_close(context, torch.tensor([[10 * a[0] + 20 * a[1]]]))


@pytest.mark.parametrize("kind", ["additive", "dot", "general"])
def test_padding_gets_exactly_zero_weight_and_rows_sum_to_one(kind):
    torch.manual_seed(0)
    att = make_attention(kind, 4, 4)
    q, keys = torch.randn(3, 4), torch.randn(3, 5, 4, requires_grad=True)
    lengths = torch.tensor([5, 2, 1])
    context, w = att(q, keys, lengths=lengths)
    pad = torch.arange(5).unsqueeze(0) >= lengths.unsqueeze(1)
    assert (w[pad] == 0).all()
    torch.testing.assert_close(w.sum(-1), torch.ones(3))
    context.sum().backward()
    assert (keys.grad[pad] == 0).all() and (keys.grad[~pad] != 0).any()
    torch.testing.assert_close(att(q, keys, lengths=lengths, prepared=att.prepare(keys))[1], w)
    other = keys.detach().clone()
    other[pad] = 1e3                                   # whatever sits in the padding
    torch.testing.assert_close(att(q, other, lengths=lengths)[0], context.detach())


def test_masked_softmax_fully_padded_row_is_zero_not_nan():
    w = masked_softmax(torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([[True, False], [False, False]]))
    assert w.tolist() == [[1.0, 0.0], [0.0, 0.0]]


def test_bad_arguments():
    with pytest.raises(InvalidArgumentError, match="key_size equal to query_size"):
        DotAttention()(torch.randn(2, 3), torch.randn(2, 4, 5))
    with pytest.raises(InvalidArgumentError, match="both `lengths` and `mask`"):
        DotAttention()(torch.randn(2, 3), torch.randn(2, 4, 3), lengths=torch.tensor([1, 2]),
                       mask=torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(InvalidArgumentError, match="attention"):
        make_attention("luong", 2, 2)
    with pytest.raises(InvalidArgumentError, match="units"):
        AdditiveAttention(2, 2, units=0)
