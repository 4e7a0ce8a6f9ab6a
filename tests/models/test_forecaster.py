"""Forecaster shapes for every body, conv front-end, seq2seq, and the recursive rollout."""
import pytest
import torch

import rnnkit
from rnnkit.errors import InvalidArgumentError
from rnnkit.models import Forecaster, ForecasterConfig


@pytest.mark.parametrize("kw,shape", [
    (dict(cell="gru"), (4, 1)),
    (dict(cell="lstm", layers=2, bidirectional=True, dense_units=8), (4, 1)),
    (dict(cell="rnn", horizon=6), (4, 6)),
    (dict(cell="gru", horizon=3, n_targets=2), (4, 3, 2)),
    (dict(cell="gru", seq2seq=True), (4, 30, 1)),
    (dict(cell="gru", seq2seq=True, horizon=2), (4, 30, 2)),
    (dict(cell="dense", n_steps=30), (4, 1)),
    (dict(cell="conv", layers=2), (4, 1)),
    (dict(cell="gru", conv_filters=8, recurrent_dropout=0.2, dropout=0.1), (4, 1)),
])
def test_output_shapes_and_gradients(kw, shape):
    model = Forecaster(ForecasterConfig(n_features=5, **kw))
    y = model(torch.randn(4, 30, 5))
    assert tuple(y.shape) == shape
    y.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_gru_body_is_an_rnnkit_layer_with_lengths():
    model = Forecaster(ForecasterConfig(n_features=2, units=4))
    assert isinstance(model.body, rnnkit.GRU)
    x = torch.randn(3, 10, 2)
    full = model(x[1:2, :4])
    padded = model(x, lengths=torch.tensor([10, 4, 7]))
    torch.testing.assert_close(padded[1], full[0])


def test_rollout_feeds_predictions_back():
    """A dense model wired to predict last target value + 1 rolls out 6, 7, 8."""
    model = Forecaster(ForecasterConfig(n_features=2, n_steps=3, cell="dense", units=1))
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.body[1].weight[0, 2 * 2 + 0] = 1.0  # flattened (step 2, feature 0)
        model.head[0].weight.fill_(1.0)
        model.head[0].bias.fill_(1.0)
    x = torch.tensor([[[3.0, 9.0], [4.0, 9.0], [5.0, 9.0]]])
    torch.testing.assert_close(model.rollout(x, 3, target_index=0), torch.tensor([[6.0, 7.0, 8.0]]))


def test_config_errors():
    with pytest.raises(InvalidArgumentError, match="`cell`"):
        ForecasterConfig(n_features=3, cell="transformer")
    with pytest.raises(InvalidArgumentError, match="n_steps"):
        ForecasterConfig(n_features=3, cell="dense")
    with pytest.raises(InvalidArgumentError, match="`units`"):
        ForecasterConfig(n_features=3, units=0)
    cfg = ForecasterConfig(n_features=3, horizon=2)
    assert ForecasterConfig.from_dict(cfg.to_dict()) == cfg


def test_residual_forecaster_starts_as_persistence():
    """With the head zeroed, a residual model predicts the last observed target value."""
    model = Forecaster(ForecasterConfig(n_features=3, residual_index=1, horizon=2))
    with torch.no_grad():
        model.head[-1].weight.zero_()
        model.head[-1].bias.zero_()
    x = torch.randn(4, 9, 3)
    torch.testing.assert_close(model(x), x[:, -1, 1:2].expand(4, 2))
    lengths = torch.tensor([9, 3, 5, 1])
    torch.testing.assert_close(model(x, lengths=lengths)[:, 0], x[torch.arange(4), lengths - 1, 1])
    seq = Forecaster(ForecasterConfig(n_features=3, residual_index=0, seq2seq=True))
    with torch.no_grad():
        seq.head[-1].weight.zero_()
        seq.head[-1].bias.zero_()
    torch.testing.assert_close(seq(x), x[..., :1])
    with pytest.raises(InvalidArgumentError, match="residual_index"):
        ForecasterConfig(n_features=3, residual_index=3)
