"""Masked pooling against hand-computed cases and against torch.nn.LSTM on packed sequences."""
import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnkit
from rnnkit.errors import InvalidArgumentError
from rnnkit.models.pooling import last_valid, masked_max, masked_mean


def _x():
    # row 0: steps 1, -2, 3 valid, then padding holding big values and NaN
    x = torch.tensor([[[1., 10.], [-2., 20.], [3., 30.], [100., float("nan")]],
                      [[-5., 1.], [50., 50.], [float("nan"), 7.], [9., 9.]]])
    return x, torch.tensor([3, 1])


def test_hand_computed_cases():
    x, lengths = _x()
    assert last_valid(x, lengths).tolist() == [[3., 30.], [-5., 1.]]
    assert torch.allclose(masked_mean(x, lengths), torch.tensor([[2 / 3, 20.], [-5., 1.]]))
    assert masked_max(x, lengths).tolist() == [[3., 30.], [-5., 1.]]
    # no lengths: every step counts
    full = torch.arange(6.).view(1, 3, 2)
    assert last_valid(full, None).tolist() == [[4., 5.]]
    assert masked_mean(full, None).tolist() == [[2., 3.]]


def test_nan_in_padding_reaches_no_gradient():
    x, lengths = _x()
    x.requires_grad_(True)
    (masked_mean(x, lengths).sum() + masked_max(x, lengths).sum() + last_valid(x, lengths).sum()).backward()
    assert torch.isfinite(x.grad).all()
    assert x.grad[0, 3].abs().sum() == 0 and x.grad[1, 1:].abs().sum() == 0


def test_bad_lengths_refused():
    x, _ = _x()
    for bad in (torch.tensor([0, 1]), torch.tensor([5, 1]), torch.tensor([1])):
        with pytest.raises(InvalidArgumentError, match="lengths"):
            masked_mean(x, bad)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_last_valid_state_matches_packed_torch_lstm(bidirectional):
    torch.manual_seed(0)
    ours = rnnkit.LSTM(3, 5, bidirectional=bidirectional)
    ref = torch.nn.LSTM(3, 5, batch_first=True, bidirectional=bidirectional)
    ref.load_state_dict(ours.state_dict())
    x, lengths = torch.randn(4, 6, 3), torch.tensor([6, 2, 4, 1])
    out, (h, _) = ours(x, lengths=lengths)
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    ref_out, (ref_h, _) = ref(packed)
    ref_out, _ = pad_packed_sequence(ref_out, batch_first=True, total_length=6)
    # the forward half of last_valid(out) is torch's final forward state
    assert torch.allclose(last_valid(out, lengths)[:, :5], ref_h[0], atol=1e-5)
    # mean/max over valid steps equal the same pooling of torch's unpacked outputs by hand
    for i, n in enumerate(lengths.tolist()):
        assert torch.allclose(masked_mean(out, lengths)[i], ref_out[i, :n].mean(0), atol=1e-5)
        assert torch.allclose(masked_max(out, lengths)[i], ref_out[i, :n].max(0).values, atol=1e-5)
