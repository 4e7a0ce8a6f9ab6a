"""The compiled streaming step (one call into the extension) and the NumPy step it falls back to:
each, fed row by row, gives the batch model's forecast over the whole history (the fused layers,
an independent code path), they agree with each other, and bad input is refused the same way.
Both paths are forced by ``kernel=`` (the compiled one is skipped where the extension is not
loaded)."""
import numpy as np
import pytest
import torch

import rnnkit
from rnnkit.errors import InvalidArgumentError
from rnnkit.export.streaming import Streamer, compiled_step_class
from rnnkit.models import Forecaster, ForecasterConfig

HAVE_COMPILED = compiled_step_class("auto") is not None
KERNELS = ["numpy", pytest.param("compiled", marks=pytest.mark.skipif(
    not HAVE_COMPILED, reason="the compiled extension (StreamStep) is not loaded here"))]


def _model(n_features=3, **kw):
    torch.manual_seed(0)
    return Forecaster(ForecasterConfig(n_features=n_features, **kw)).eval()


def _whole_history(model, rows, start, kernel):
    """The streamer's forecasts after rows start.. and the batch model's over rows[:t]."""
    s = Streamer(model, kernel=kernel)
    assert s.kernel == kernel
    got = [s.start(rows[..., :start, :])] + [s.step(rows[..., t, :]) for t in range(start, rows.shape[-2])]
    with torch.no_grad():
        want = [model(rows[..., :t, :] if rows.dim() == 3 else rows[None, :t])
                for t in range(start, rows.shape[-2] + 1)]
    return got, [w if rows.dim() == 3 else w[0] for w in want]


CASES = [dict(cell="gru", units=6, layers=2, residual_index=1),
         dict(cell="gru", units=70, n_features=14, residual_index=0),     # 64-wide blocks and a tail
         dict(cell="lstm", units=64, n_features=14, layers=2),
         dict(cell="lstm", units=5, dense_units=4, horizon=2),
         dict(cell="rnn", units=4, n_targets=2, horizon=3),
         dict(cell="rnn", units=7, layers=3, dense_units=3),
         dict(cell="gru", units=4, residual_index=1, quantiles=(0.1, 0.5, 0.9), horizon=2)]


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("kw", CASES)
def test_each_step_equals_the_batch_model_on_the_whole_history(kw, kernel):
    kw = dict(kw)
    model = _model(kw.pop("n_features", 3), **kw)
    rows = torch.randn(20, model.config.n_features, generator=torch.Generator().manual_seed(1))
    got, want = _whole_history(model, rows, 5, kernel)
    for y, w in zip(got, want):
        torch.testing.assert_close(y, w, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kernel", KERNELS)
def test_gru_without_reset_after_and_relu_rnn(kernel):
    for body in (rnnkit.GRU(3, 5, num_layers=2, reset_after=False, return_sequences=False, return_state=False),
                 rnnkit.SimpleRNN(3, 5, nonlinearity="relu", return_sequences=False, return_state=False)):
        model = _model(cell="gru", units=5, layers=2 if isinstance(body, rnnkit.GRU) else 1)
        model.body = body.eval()
        rows = torch.randn(15, 3, generator=torch.Generator().manual_seed(6))
        got, want = _whole_history(model, rows, 4, kernel)
        for y, w in zip(got, want):
            torch.testing.assert_close(y, w, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_several_streams_side_by_side(cell, kernel):
    model = _model(cell=cell, units=6, layers=2, residual_index=0)
    x = torch.randn(3, 12, 3, generator=torch.Generator().manual_seed(2))
    got, want = _whole_history(model, x, 4, kernel)
    for y, w in zip(got, want):
        assert y.shape == (3, 1)
        torch.testing.assert_close(y, w, atol=1e-5, rtol=1e-5)


@pytest.mark.skipif(not HAVE_COMPILED, reason="the compiled extension (StreamStep) is not loaded here")
def test_the_compiled_step_equals_the_numpy_step_and_shares_the_state():
    model = _model(cell="lstm", units=9, layers=2, residual_index=2, n_features=4)
    rows = torch.randn(30, 4, generator=torch.Generator().manual_seed(3)) * 3
    a, b = Streamer(model, kernel="compiled"), Streamer(model, kernel="numpy")
    torch.testing.assert_close(a.start(rows[:10]), b.start(rows[:10]), atol=1e-5, rtol=1e-5)
    for r in rows[10:]:
        torch.testing.assert_close(a.step(r), b.step(r), atol=1e-5, rtol=1e-5)
    for (ha, ca), (hb, cb) in zip(a.state, b.state):
        np.testing.assert_allclose(ha, hb, atol=1e-5)
        np.testing.assert_allclose(ca, cb, atol=1e-5)
    a.reset()
    with torch.no_grad():
        torch.testing.assert_close(a.step(rows[0].double()), model(rows[None, :1])[0], atol=1e-5, rtol=1e-5)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")   # NumPy's dot on the nan row
@pytest.mark.parametrize("kernel", KERNELS)
def test_bad_input_is_refused_and_leaves_the_state(kernel):
    model = _model(cell="gru", units=4, layers=2)
    rows = torch.randn(6, 3, generator=torch.Generator().manual_seed(9))
    s = Streamer(model, kernel=kernel)
    s.start(rows[:3])
    with pytest.raises(InvalidArgumentError, match=r"`row`.*3 features.*got \(4,\)"):
        s.step(torch.randn(4))
    for bad in ([0.0, float("nan"), 1.0], [0.0, float("inf"), 1.0], [float("-inf"), 0.0, 0.0],
                [float("-inf"), float("inf"), 0.0]):
        with pytest.raises(InvalidArgumentError, match="finite"):
            s.step(torch.tensor(bad))
        with pytest.raises(InvalidArgumentError, match="finite"):
            s.step(np.array(bad, np.float32))
    with pytest.raises(InvalidArgumentError, match="same batch layout"):
        s.step(torch.randn(2, 3))
    for r in rows[3:]:
        y = s.step(r)
    with torch.no_grad():
        torch.testing.assert_close(y, model(rows[None])[0], atol=1e-5, rtol=1e-5)
    with pytest.raises(InvalidArgumentError, match="history"):
        s.start(torch.tensor([[0.0, float("nan"), 1.0]]))


def test_the_kernel_is_chosen_by_argument_or_environment(monkeypatch):
    model = _model(cell="rnn", units=3)
    monkeypatch.setenv("RNNKIT_STREAM_KERNEL", "numpy")
    assert Streamer(model).kernel == "numpy"
    monkeypatch.setenv("RNNKIT_STREAM_KERNEL", "auto")
    assert Streamer(model).kernel == ("compiled" if HAVE_COMPILED else "numpy")
    assert Streamer(model, kernel="numpy").kernel == "numpy"
    with pytest.raises(InvalidArgumentError, match="kernel"):
        Streamer(model, kernel="fast")
    from rnnkit.layers.fused import _loader
    monkeypatch.setattr(_loader, "load", lambda: None)        # as on a machine without the extension
    assert Streamer(model).kernel == "numpy"
    with pytest.raises(InvalidArgumentError, match="compiled streaming step is unavailable"):
        Streamer(model, kernel="compiled")
