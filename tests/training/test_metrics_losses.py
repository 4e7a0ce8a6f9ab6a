"""Metrics and losses against hand-computed values."""
import math

import numpy as np
import pytest
import torch

from rnnkit.errors import InvalidArgumentError
from rnnkit.training import TrainConfig, Trainer, accuracy, get_metric, mae, make_loss, mape, mse, rmse

PRED = [2.0, 4.0, 6.0]
TRUE = [1.0, 1.0, 1.0]  # errors 1, 3, 5


def test_regression_metrics_by_hand():
    assert mae(PRED, TRUE) == 3.0
    assert mse(PRED, TRUE) == pytest.approx(35 / 3)
    assert rmse(PRED, TRUE) == pytest.approx(math.sqrt(35 / 3))
    assert mape(PRED, TRUE) == pytest.approx(300.0)
    assert mae(torch.tensor(PRED), np.array(TRUE)) == 3.0


def test_accuracy_multiclass_binary_and_padding():
    scores = [[[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]]]
    assert accuracy(scores, [[1, 1, -100]]) == 0.5  # padding skipped
    assert accuracy([0.2, 0.7, 0.6], [0, 1, 0]) == pytest.approx(2 / 3)
    assert accuracy([-1.0, 2.0], [0, 1], threshold=0.0) == 1.0


def test_metric_errors_name_argument():
    with pytest.raises(InvalidArgumentError, match="`pred`"):
        mae([1.0, 2.0], [[1.0, 2.0]])
    with pytest.raises(InvalidArgumentError, match="`metrics`"):
        get_metric("r2-ish")


@pytest.mark.parametrize("name,expected", [("mae", 3.0), ("mse", 35 / 3), ("huber", 2.5)])
def test_losses_by_hand(name, expected):
    # Huber(delta=1): |d|=1 -> 0.5; 3 -> 2.5; 5 -> 4.5; mean 2.5
    assert make_loss(name)(torch.tensor(PRED), torch.tensor(TRUE)).item() == pytest.approx(expected)


def test_classification_losses_by_hand():
    p = torch.tensor([0.8, 0.25])
    bce = -(math.log(0.8) + math.log(0.75)) / 2
    assert make_loss("bce")(p, torch.tensor([1.0, 0.0])).item() == pytest.approx(bce, rel=1e-6)
    logits = torch.log(p / (1 - p))
    assert make_loss("bce_logits")(logits, torch.tensor([1.0, 0.0])).item() == pytest.approx(bce, rel=1e-5)
    # sequence tagging: (batch, time, classes) logits, (batch, time) ids, -100 = padding
    logits = torch.tensor([[[2.0, 0.0], [0.0, 0.0], [5.0, -5.0]]])
    ce = (-math.log(math.exp(2) / (math.exp(2) + 1)) + math.log(2)) / 2
    got = make_loss("cross_entropy")(logits, torch.tensor([[0, 1, -100]])).item()
    assert got == pytest.approx(ce, rel=1e-6)


def test_evaluate_weights_uneven_batches_by_size():
    model = torch.nn.Linear(1, 1)
    with torch.no_grad():
        model.weight.fill_(2.0)
        model.bias.zero_()
    x = torch.tensor([[1.0], [2.0], [3.0]])
    y = torch.ones(3, 1)
    batches = [(x[:2], y[:2]), (x[2:], y[2:])]
    for loss, expected in [("mae", 3.0), ("mse", 35 / 3), ("huber", 2.5)]:
        res = Trainer(model, TrainConfig(loss=loss, quiet=True)).evaluate(batches, ["mae", "rmse"])
        assert res["loss"] == pytest.approx(expected)
        assert res["mae"] == pytest.approx(3.0)
        assert res["rmse"] == pytest.approx(math.sqrt(35 / 3))


def test_config_rejects_bad_values_naming_them():
    for kwargs, name in [({"epochs": 0}, "epochs"), ({"optimizer": "nadam"}, "optimizer"),
                         ({"loss": "hinge"}, "loss"), ({"clip_norm": -1.0}, "clip_norm"),
                         ({"lr": 0}, "lr"), ({"patience": 0}, "patience")]:
        with pytest.raises(InvalidArgumentError, match=f"`{name}`"):
            TrainConfig(**kwargs)
