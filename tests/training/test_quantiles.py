"""Probabilistic forecasts: pinball loss, monotone quantile heads, interval coverage, the band plot."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnkit.errors import InvalidArgumentError
from rnnkit.models.forecaster import Forecaster, ForecasterConfig, MonotoneQuantiles
from rnnkit.training.losses import PinballLoss, make_loss
from rnnkit.training.quantile_metrics import central_intervals, point_forecast, quantile_metrics

QS = (0.1, 0.5, 0.9)


def test_pinball_by_hand():
    # y = 2.5; predictions 1, 2, 3: errors +1.5, +0.5, -0.5 -> 0.1*1.5, 0.5*0.5, (0.9-1)*(-0.5)
    loss = PinballLoss(QS)(torch.tensor([[1.0, 2.0, 3.0]]), torch.tensor([2.5]))
    assert loss.item() == pytest.approx((0.15 + 0.25 + 0.05) / 3)


def test_pinball_against_the_definition_and_half_mae_at_the_median():
    g = torch.Generator().manual_seed(0)
    qs = (0.05, 0.3, 0.5, 0.77)
    pred, y = torch.randn(7, 2, 4, generator=g), torch.randn(7, 2, generator=g)
    terms = []
    for idx in np.ndindex(7, 2):
        for k, q in enumerate(qs):
            e = float(y[idx] - pred[idx + (k,)])
            terms.append(q * e if e >= 0 else (q - 1) * e)
    assert make_loss("pinball", quantiles=qs)(pred, y).item() == pytest.approx(np.mean(terms), rel=1e-6)
    med = PinballLoss([0.5])(pred[..., 2:3], y)
    assert med.item() == pytest.approx(0.5 * torch.nn.L1Loss()(pred[..., 2], y).item(), rel=1e-6)


def test_minimising_the_pinball_loss_gives_the_empirical_quantiles():
    y = torch.from_numpy(np.random.default_rng(1).exponential(2.0, 4000)).float()
    c = torch.zeros(1, 3, requires_grad=True)
    opt = torch.optim.Adam([c], lr=0.05)
    loss_fn = PinballLoss(QS)
    for _ in range(1500):
        opt.zero_grad()
        loss_fn(c.expand(len(y), 3), y).backward()
        opt.step()
    np.testing.assert_allclose(c.detach().numpy()[0], np.quantile(y.numpy(), QS), atol=0.05)


@pytest.mark.parametrize("bad", [(0.9, 0.1), (0.0, 0.5), (0.5, 1.0), (0.5, 0.5), (), ("a",)])
def test_bad_quantiles_are_refused(bad):
    with pytest.raises(InvalidArgumentError, match="quantiles"):
        PinballLoss(bad)
    with pytest.raises(InvalidArgumentError, match="quantiles"):
        ForecasterConfig(n_features=2, quantiles=bad)


def test_pinball_refuses_a_prediction_without_the_quantile_axis():
    with pytest.raises(InvalidArgumentError, match="quantile axis of 3"):
        PinballLoss(QS)(torch.zeros(4, 1), torch.zeros(4, 1))


def test_monotone_head_for_any_input_and_weights():
    raw = torch.randn(1000, 5) * 30            # increments from softplus(-90) to softplus(90)
    for anchor in range(5):
        out = MonotoneQuantiles(5, anchor)(raw)
        assert (out.diff(dim=-1) >= 0).all() and (out[..., anchor] == raw[..., anchor]).all()
    # by hand: anchor 1 of [a, m, b, c] -> [m - sp(a), m, m + sp(b), m + sp(b) + sp(c)]
    sp = torch.nn.functional.softplus
    r = torch.tensor([0.3, 1.0, -0.2, 2.0])
    torch.testing.assert_close(MonotoneQuantiles(4, 1)(r), torch.stack([1 - sp(r[0]), r[1], 1 + sp(r[2]),
                                                                     1 + sp(r[2]) + sp(r[3])]))
    torch.manual_seed(0)
    for cell, seq2seq in (("gru", False), ("gru", True), ("dense", False)):
        cfg = ForecasterConfig(n_features=3, n_steps=6, cell=cell, units=4, horizon=2, quantiles=QS, seq2seq=seq2seq)
        model = Forecaster(cfg)
        for p in model.parameters():               # arbitrary (large) weights: still ordered
            torch.nn.init.normal_(p, std=5.0)
        y = model(torch.randn(8, 6, 3) * 10)
        assert y.shape == ((8, 6, 2, 3) if seq2seq else (8, 2, 3))
        assert (y.diff(dim=-1) >= 0).all()
        assert sum(p.numel() for p in model.parameters()) == cfg.estimated_parameters()


def test_untrained_median_starts_at_common_sense():
    torch.manual_seed(0)
    model = Forecaster(ForecasterConfig(n_features=3, units=4, quantiles=QS, residual_index=0))
    torch.nn.init.zeros_(model.head[-1].weight)
    torch.nn.init.zeros_(model.head[-1].bias)
    x = torch.randn(6, 5, 3)
    y = model(x)
    torch.testing.assert_close(y[..., 1], x[:, -1, :1])          # median = last observed value
    assert (y[..., 0] < y[..., 1]).all() and (y[..., 2] > y[..., 1]).all()


def test_residual_adds_the_last_level_to_every_quantile():
    torch.manual_seed(0)
    plain = Forecaster(ForecasterConfig(n_features=3, units=4, quantiles=QS))
    res = Forecaster(ForecasterConfig(n_features=3, units=4, quantiles=QS, residual_index=1))
    res.load_state_dict(plain.state_dict())
    x = torch.randn(5, 7, 3)
    torch.testing.assert_close(res(x) - plain(x), x[:, -1, 1][:, None, None].expand(5, 1, 3))


def test_config_without_quantiles_is_unchanged_and_with_them_round_trips():
    assert "quantiles" not in ForecasterConfig(n_features=2).to_dict()
    cfg = ForecasterConfig(n_features=2, quantiles=[0.25, 0.75])
    assert ForecasterConfig.from_dict(cfg.to_dict()) == cfg and cfg.to_dict()["quantiles"] == [0.25, 0.75]


def test_coverage_and_width_by_hand():
    qs = (0.05, 0.25, 0.5, 0.75, 0.95)
    assert central_intervals(qs) == [(0, 4, 0.9), (1, 3, 0.5)]
    pred = np.array([[-2.0, -1.0, 0.0, 1.0, 2.0],       # y = 0.5: in both intervals
                     [-4.0, -1.0, 0.0, 1.0, 4.0],       # y = 3.0: in the 90% one only
                     [0.0, 1.0, 2.0, 3.0, 4.0]])        # y = -1: in neither
    y = np.array([0.5, 3.0, -1.0])
    m = quantile_metrics(pred, y, qs)
    assert m["coverage_90"] == pytest.approx(2 / 3) and m["coverage_50"] == pytest.approx(1 / 3)
    assert m["width_90"] == pytest.approx((4 + 8 + 4) / 3) and m["width_50"] == pytest.approx(2.0)
    assert m["below_0.5"] == pytest.approx(1 / 3) and m["below_0.95"] == 1.0      # all three at or below 2, 4, 4
    np.testing.assert_array_equal(point_forecast(pred, qs), [0.0, 0.0, 2.0])
    assert point_forecast(np.array([[1.0, 3.0]]), (0.1, 0.9)).tolist() == [2.0]


def test_trained_quantiles_cover_about_their_nominal_share():
    from rnnkit.training.trainer import Trainer
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3000, 1, generator=g)
    y = 2 * x[:, 0] + torch.randn(3000, generator=g)                # noise N(0, 1)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(1, 3), MonotoneQuantiles(3))
    batches = [(x[i:i + 250], y[i:i + 250]) for i in range(0, 2000, 250)]
    Trainer(model, epochs=60, optimizer="adam", lr=0.05, loss=PinballLoss(QS), quiet=True).fit(batches)
    with torch.no_grad():
        pred = model(x[2000:]).numpy()
    m = quantile_metrics(pred, y[2000:].numpy(), QS)
    assert 0.74 <= m["coverage_80"] <= 0.86
    assert m["width_80"] == pytest.approx(2 * 1.2816, rel=0.1)       # N(0, 1): q90 - q10
    assert 0.45 <= m["below_0.5"] <= 0.55


def test_forecast_plot_draws_the_band(tmp_path):
    from rnnkit.training.plots import plot_forecast
    t = np.sin(np.arange(60) / 5)
    plot_forecast(tmp_path / "a.png", t, {"GRU": t}, band=(t - 0.2, t + 0.2))
    plot_forecast(tmp_path / "b.png", t, {"GRU": t})
    assert (tmp_path / "a.png").read_bytes() != (tmp_path / "b.png").read_bytes()
    with pytest.raises(InvalidArgumentError, match="band"):
        plot_forecast(tmp_path / "c.png", t, {"GRU": t}, band={"80%": (t[:5], t[:5])})


def test_forecast_cli_with_quantiles_reports_coverage_computed_from_its_own_predictions(tmp_path, capsys):
    import json
    from rnnkit.cli import main
    from rnnkit.tasks.forecast import ForecastJob, prepare
    from rnnkit.training.checkpoint import read_weights
    out = tmp_path / "q"
    argv = ["forecast", "--stations", "JFK", "--units", "4", "--epochs", "1", "--steps-per-epoch", "3",
            "--lookback", "24", "--quantiles", "0.1,0.5,0.9", "--out", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())["test"]["model"]
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["model"]["quantiles"] == [0.1, 0.5, 0.9] and "80% interval (q0.1-q0.9): covers" in text
    # recompute from the saved weights: the model's quantiles on the test windows, by numpy
    job = ForecastJob(stations=["JFK"], units=4, lookback=24, quantiles=(0.1, 0.5, 0.9))
    prepared = prepare(job)
    test_w = prepared.windows("test", lookback=24, delay=24)
    model = Forecaster(ForecasterConfig.from_dict(cfg["model"]))
    model.load_state_dict(read_weights(out / "model.safetensors"))
    model.eval()
    with torch.no_grad():
        q = prepared.inverse_target(torch.cat([model(x) for x, _ in test_w.batches(512)]).numpy())
    y = prepared.inverse_target(np.concatenate([y.numpy() for _, y in test_w.batches(512)]))
    assert metrics["coverage_80"] == pytest.approx(np.mean((q[..., 0] <= y) & (y <= q[..., 2])))
    assert metrics["width_80"] == pytest.approx(np.mean(q[..., 2] - q[..., 0]), rel=1e-6)
    assert metrics["mae"] == pytest.approx(np.mean(np.abs(q[..., 1] - y)), rel=1e-5)     # median as the point
    assert main([*argv[:-1], str(tmp_path / "r"), "--loss", "mse"]) == 2
    assert "--loss" in capsys.readouterr().err and not (tmp_path / "r").exists()


def test_predict_prints_each_quantile_and_the_median_as_the_forecast(tmp_path, capsys):
    from rnnkit.cli import main
    from rnnkit.tasks.forecast import ForecastJob, prepare
    import json
    import pandas as pd
    from rnnkit.training.checkpoint import read_weights
    out = tmp_path / "q"
    assert main(["forecast", "--stations", "JFK", "--units", "4", "--epochs", "1", "--steps-per-epoch", "2",
                 "--lookback", "24", "--horizon", "2", "--quantiles", "0.1,0.5,0.9", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["predict", "--run", str(out), "--output", str(tmp_path / "f.csv")]) == 0
    table = pd.read_csv(tmp_path / "f.csv")
    assert len(table) == 2 and list(table.columns[-4:]) == ["forecast", "q0.1", "q0.5", "q0.9"]
    assert (table["q0.1"] <= table["q0.5"]).all() and (table["q0.5"] <= table["q0.9"]).all()
    assert np.allclose(table["forecast"], table["q0.5"])
    # the same numbers by hand: the model on the last lookback rows, back in the target's units
    cfg = json.loads((out / "config.json").read_text())
    model = Forecaster(ForecasterConfig.from_dict(cfg["model"]))
    model.load_state_dict(read_weights(out / "model.safetensors"))
    prepared = prepare(ForecastJob(stations=["JFK"], lookback=24, split=tuple(cfg["job"]["split"])),
                       scaler=None)
    a, b = prepared.last_segments()[0]
    x = torch.from_numpy(np.ascontiguousarray(prepared.data[b - 24:b]))
    if prepared.static is not None:
        x = torch.cat([x, torch.from_numpy(prepared.static[0]).expand(24, -1)], -1)
    with torch.no_grad():
        q = prepared.inverse_target(model.eval()(x.unsqueeze(0))[0].numpy())
    assert np.allclose(table[["q0.1", "q0.5", "q0.9"]].to_numpy(), q, atol=1e-4)
