"""Streamer: fed row by row it gives the batch model's forecast over the whole history so far
(the fused layers, an independent code path); stateful training batches carry exactly the
streamer's state; bad rows and unstreamable models are refused."""
import numpy as np
import pytest
import torch

from rnnkit.errors import InvalidArgumentError
from rnnkit.export.streaming import StatefulBatches, Streamer
from rnnkit.models import Forecaster, ForecasterConfig


def _model(**kw):
    torch.manual_seed(0)
    return Forecaster(ForecasterConfig(n_features=3, **kw)).eval()


@pytest.mark.parametrize("kw", [dict(cell="gru", units=6, layers=2, residual_index=1),
                                dict(cell="lstm", units=5, dense_units=4, horizon=2),
                                dict(cell="rnn", units=4, n_targets=2, horizon=3),
                                dict(cell="gru", units=4, seq2seq=True),
                                dict(cell="gru", units=6, residual_index=2, horizon=2),     # residual in the head
                                dict(cell="lstm", units=5, residual_index=0),
                                dict(cell="rnn", units=4, residual_index=0, dense_units=3),
                                dict(cell="gru", units=4, residual_index=1, quantiles=(0.1, 0.5, 0.9), horizon=2)])
def test_streaming_equals_the_batch_model_on_the_whole_history(kw):
    model = _model(**kw)
    rows = torch.randn(25, 3, generator=torch.Generator().manual_seed(1))
    s = Streamer(model)
    ys = [s.start(rows[:6])] + [s.step(r) for r in rows[6:]]
    with torch.no_grad():
        for t, y in zip(range(6, 26), ys):
            want = model(rows[None, :t])[0]
            if kw.get("seq2seq"):
                want = want[-1]
            torch.testing.assert_close(y, want, atol=1e-5, rtol=1e-5)


def test_several_streams_side_by_side():
    model = _model(cell="lstm", units=4)
    x = torch.randn(3, 12, 3, generator=torch.Generator().manual_seed(2))
    s = Streamer(model)
    s.start(x[:, :4])
    for t in range(4, 12):
        y = s.step(x[:, t])
    with torch.no_grad():
        torch.testing.assert_close(y, model(x), atol=1e-5, rtol=1e-5)


def test_the_carried_state_is_not_a_sliding_window():
    """What the docstring says: after more than lookback rows the streamer has not forgotten the
    oldest row; a window of the last lookback rows gives another forecast."""
    model = _model(cell="gru", units=8)
    rows = torch.randn(40, 3, generator=torch.Generator().manual_seed(3)) * 2
    s = Streamer(model)
    lookback = 10
    y = s.start(rows[:lookback])
    for r in rows[lookback:]:
        y = s.step(r)
    with torch.no_grad():
        window = model(rows[None, -lookback:])[0]
        whole = model(rows[None])[0]
    torch.testing.assert_close(y, whole, atol=1e-5, rtol=1e-5)
    assert (y - window).abs().max() > 1e-4            # far above float error (1e-6)


def test_bad_rows_and_models():
    s = Streamer(_model(cell="gru", units=4))
    s.start(torch.randn(5, 3))
    with pytest.raises(InvalidArgumentError, match=r"`row`.*3 features.*got \(4,\)"):
        s.step(torch.randn(4))
    with pytest.raises(InvalidArgumentError, match="finite"):
        s.step(torch.tensor([0.0, float("nan"), 1.0]))
    with pytest.raises(InvalidArgumentError, match="same batch layout"):
        s.step(torch.randn(2, 3))
    for kw in (dict(cell="gru", bidirectional=True), dict(cell="conv", units=4), dict(cell="gru", conv_filters=2)):
        with pytest.raises(InvalidArgumentError, match="cannot stream"):
            Streamer(_model(**kw))


def test_stateful_batches_carry_the_streamers_state():
    """Training mode for streaming: a stateful body over consecutive non-overlapping windows.
    The model's per-step outputs through the batches equal a streamer fed each stream's rows."""
    model = _model(cell="gru", units=5, seq2seq=True)
    data = np.random.default_rng(4).normal(size=(90, 3)).astype(np.float32)
    batches = StatefulBatches(data, data[:, 0], lookback=5, delay=2, batch_size=3, model=model)
    assert model.body.stateful and len(batches) == 5         # (90 - 2) // 3 // 5 windows per stream
    streams = [Streamer(model) for _ in range(3)]
    with torch.no_grad():
        for k, (x, y) in enumerate(batches):
            np.testing.assert_array_equal(y[:, :, 0].numpy(), data[(torch.arange(3) * 25 + k * 5)[:, None].numpy()
                                                                   + np.arange(5) + 2, 0])
            out = model(x)                                    # (3, 5, 1): carried state inside the layer
            for i, s in enumerate(streams):
                for t in range(5):
                    ys = s.step(x[i, t]) if (k or t) else s.start(x[i, :1])
                    torch.testing.assert_close(ys, out[i, t], atol=1e-5, rtol=1e-5)
    assert model.body._state is None                          # reset after every pass
    with pytest.raises(InvalidArgumentError, match="batch-size"):
        StatefulBatches(data[:10], data[:10, 0], lookback=5, delay=2, batch_size=3)


def test_streamer_from_a_run_starts_at_rnnkit_predicts_forecast(csv_run):
    from rnnkit.load import load_predictor
    from tests.export.test_load_model import _feature_rows
    run, csv = csv_run
    p = load_predictor(run)
    rows = _feature_rows(p, csv)
    s = Streamer(p.model)
    y = s.start(torch.from_numpy(p.scale(rows.iloc[-p.lookback:])))
    got = p.scaler.inverse_transform(y.numpy(), column=p.target)
    np.testing.assert_allclose(got, p.predict(rows), atol=1e-4, rtol=0)


def test_stateful_batches_train_with_the_trainer():
    """The pieces of --stateful training run in rnnkit's Trainer and learn what only a carried
    state can know: the target is a regime (0/1) signalled by a spike only when it switches
    (every ~40 rows), windows are 10 rows. Measured: this reaches MSE ~0.07 in 12 epochs; the
    same model without the carried state stays at ~0.23 (it cannot see a switch 10+ rows back)."""
    from rnnkit.training import TrainConfig, Trainer
    torch.manual_seed(0)
    model = Forecaster(ForecasterConfig(n_features=1, cell="gru", units=8, seq2seq=True)).train()
    rng = np.random.default_rng(5)
    flips = rng.random(4000) < 1 / 40
    regime = (np.cumsum(flips) % 2).astype(np.float32)
    x = np.where(flips, np.where(regime == 1, 1.0, -1.0), 0.0).astype(np.float32)[:, None]
    batches = StatefulBatches(x, regime, lookback=10, delay=1, batch_size=8, model=model)
    config = TrainConfig(epochs=12, lr=0.02, optimizer="adam", loss="mse", quiet=True, patience=None)
    history = Trainer(model, config).fit(batches, batches)
    assert history.rows[-1]["loss"] < 0.15, [r["loss"] for r in history.rows]


def test_gru_without_reset_after_and_relu_rnn():
    import rnnkit
    for body in (rnnkit.GRU(3, 5, num_layers=2, reset_after=False, return_sequences=False, return_state=False),
                 rnnkit.SimpleRNN(3, 5, nonlinearity="relu", return_sequences=False, return_state=False)):
        model = _model(cell="gru", units=5, layers=2 if isinstance(body, rnnkit.GRU) else 1)
        model.body = body.eval()
        rows = torch.randn(15, 3, generator=torch.Generator().manual_seed(6))
        s = Streamer(model)
        s.start(rows[:4])
        for r in rows[4:]:
            y = s.step(r)
        with torch.no_grad():
            torch.testing.assert_close(y, model(rows[None])[0], atol=1e-5, rtol=1e-5)


def test_rows_of_every_kind_and_the_state_between_them():
    """NumPy, float64 and requires-grad rows give the float32 tensor's forecast; reset() and a
    new number of streams start from zeros; ``state`` is a copy of the carried state."""
    model = _model(cell="lstm", units=4, residual_index=0)
    rows = torch.randn(8, 3, generator=torch.Generator().manual_seed(7))
    s = Streamer(model)
    s.start(rows[:3])
    kinds = [rows[3].numpy(), rows[4].double(), rows[5].clone().requires_grad_(), rows[6].tolist()]
    for r in kinds:
        y = s.step(r)
    with torch.no_grad():
        torch.testing.assert_close(y, model(rows[None, :7])[0], atol=1e-5, rtol=1e-5)
    h, c = s.state[0]
    h[:] = 99.0                                           # a copy: the stream is not changed
    torch.testing.assert_close(s.step(rows[7]), model(rows[None])[0].detach(), atol=1e-5, rtol=1e-5)
    s.reset()
    assert s.state is None
    with torch.no_grad():
        torch.testing.assert_close(s.step(rows[0]), model(rows[None, :1])[0], atol=1e-5, rtol=1e-5)
        x = torch.randn(2, 4, 3, generator=torch.Generator().manual_seed(8))
        s.reset()
        for t in range(4):
            y = s.step(x[:, t])
        torch.testing.assert_close(y, model(x), atol=1e-5, rtol=1e-5)
        for t in range(3):                                # three streams now: from zeros
            y = s.step(torch.cat([x[:, t], x[:1, t]]))
        torch.testing.assert_close(y, model(torch.cat([x, x[:1]])[:, :3]), atol=1e-5, rtol=1e-5)
    assert s.state[0][0].shape == (3, 4) and y.shape == (3, 1)
