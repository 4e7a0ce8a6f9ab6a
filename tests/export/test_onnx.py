"""ONNX export checked by onnxruntime: variable lengths (zeros past a length, final state at the
last valid step, reverse direction) against torch.nn modules with packed sequences; forecasters
against the PyTorch model; a consumer with onnxruntime + numpy only; the CLI and its bad input."""
import json
import shutil

import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest
import torch

import rnnkit
from rnnkit.cli import main
from rnnkit.export.onnx import export_module
from rnnkit.layers import fused
from rnnkit.models import Forecaster, ForecasterConfig

pytestmark = pytest.mark.skipif(not fused.available(), reason="ONNX export needs the fused kernels")


def _session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _random_batch(gen, n_features, B=6, T=11):
    x = torch.randn(B, T, n_features, generator=gen)
    lengths = torch.randint(1, T + 1, (B,), generator=gen)
    lengths[0] = T
    return x, lengths


class _Outputs(torch.nn.Module):
    """A layer's outputs and final hidden state side by side, for the exporter's single output y."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, x, lengths):
        out, state = self.layer(x, lengths=lengths)
        h = state[0] if isinstance(state, tuple) else state            # (L * D, B, H)
        return torch.cat([out.flatten(1), h.permute(1, 0, 2).flatten(1)], 1)   # (B, T * D * H + L * D * H)


@pytest.mark.parametrize("cls,nn_cls,kw", [
    (rnnkit.SimpleRNN, torch.nn.RNN, {}), (rnnkit.GRU, torch.nn.GRU, {"bidirectional": True, "num_layers": 2}),
    (rnnkit.LSTM, torch.nn.LSTM, {"bidirectional": True})])
def test_variable_lengths_in_the_graph_match_packed_torch_nn(cls, nn_cls, kw, tmp_path):
    torch.manual_seed(0)
    layer = cls(3, 5, **kw).eval()
    ref = nn_cls(3, 5, batch_first=True, **kw).eval()
    ref.load_state_dict(layer.state_dict())
    path = export_module(_Outputs(layer), tmp_path / "layer.onnx", n_features=3, lengths=True)
    sess = _session(path)
    out_width = 5 * (2 if kw.get("bidirectional") else 1)
    gen = torch.Generator().manual_seed(1)
    for T in (4, 11, 17):
        x, lengths = _random_batch(gen, 3, T=T)
        y = sess.run(["y"], {"x": x.numpy(), "lengths": lengths.numpy()})[0]
        n_out = T * out_width
        y_out, y_h = y[:, :n_out].reshape(len(x), T, out_width), y[:, n_out:]
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        with torch.no_grad():
            out, state = ref(packed)
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=T)
        h = state[0] if isinstance(state, tuple) else state
        np.testing.assert_allclose(y_out, out.numpy(), atol=1e-5, rtol=0)
        np.testing.assert_allclose(y_h, h.permute(1, 0, 2).flatten(1).numpy(), atol=1e-5, rtol=0)
        for b, n in enumerate(lengths.tolist()):
            assert (y_out[b, n:] == 0).all()                              # exact zeros past a length


@pytest.mark.parametrize("config", [
    dict(cell="lstm", units=8, horizon=3, residual_index=0),
    dict(cell="gru", units=8, layers=2, dense_units=4),
    dict(cell="gru", units=6, conv_filters=4, conv_kernel=3, pool_size=2),
    dict(cell="lstm", units=5, conv_filters=3, conv_kernel=4, pool_size=3, residual_index=1),
    dict(cell="conv", units=4, conv_kernel=3, pool_size=2, layers=2, n_steps=12),
    dict(cell="dense", units=4, n_steps=12)])
def test_forecaster_parity_with_onnxruntime(config, tmp_path):
    torch.manual_seed(0)
    model = Forecaster(ForecasterConfig(n_features=4, **config)).eval()
    recurrent = config["cell"] not in ("conv", "dense")
    dynamic = config["cell"] != "dense"            # the dense body flattens exactly the trained window
    path = export_module(model, tmp_path / "f.onnx", n_features=4, lengths=recurrent, example_time=12,
                         dynamic_time=dynamic)
    sess = _session(path)
    assert [i.name for i in sess.get_inputs()] == (["x", "lengths"] if recurrent else ["x"])
    assert sess.get_inputs()[0].shape[1] == ("time" if dynamic else 12)
    gen = torch.Generator().manual_seed(2)
    worst = 0.0
    for B, T in ((1, 1), (2, 2), (1, 9), (7, 24), (32, 13), (3, 41)):   # time lengths other than the trained 12
        T = T if dynamic else 12
        x, lengths = _random_batch(gen, 4, B=B, T=T)      # random lengths, a conv front-end's included
        feed = {"x": x.numpy(), **({"lengths": lengths.numpy()} if recurrent else {})}
        with torch.no_grad():
            want = model(x, lengths) if recurrent else model(x)
        got = sess.run(["y"], feed)[0]
        assert got.shape == tuple(want.shape)
        worst = max(worst, float(np.abs(got - want.numpy()).max()))
    assert worst <= 1e-4


def test_export_run_and_consume_with_onnxruntime_and_numpy_only(csv_run, tmp_path, capsys):
    run, csv = csv_run
    out = tmp_path / "model.onnx"
    assert main(["export", "--run", str(run), "--onnx", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    # the consumer: onnxruntime, numpy, the CSV's raw rows and the model's metadata only
    sess = _session(out)
    meta = {k: json.loads(v) for k, v in sess.get_modelmeta().custom_metadata_map.items() if k.startswith("rnnkit.")}
    assert "lookback" in meta["rnnkit.usage"]
    scaler, window, features = meta["rnnkit.scaler"], meta["rnnkit.window"], meta["rnnkit.features"]
    df = pd.read_csv(csv, parse_dates=["time"])
    hour = (df["time"].dt.hour + df["time"].dt.minute / 60).to_numpy()
    raw = {"temp": df["temp"].to_numpy(), "wind": df["wind"].to_numpy(),
           "day_sin": np.sin(2 * np.pi * hour / 24), "day_cos": np.cos(2 * np.pi * hour / 24)}
    assert sorted(features) == sorted(raw)
    rows = np.stack([raw[f] for f in features], 1)[-window["lookback"]:][::window["step"]]
    x = ((rows - np.array(scaler["mean"])) / np.array(scaler["std"])).astype(np.float32)[None]
    y = sess.run(["y"], {"x": x, "lengths": np.array([x.shape[1]], np.int64)})[0].reshape(-1)
    i = scaler["columns"].index(meta["rnnkit.target"])
    forecast = y * scaler["std"][i] + scaler["mean"][i]
    reference = rnnkit.load.load_predictor(run).predict_table(str(csv))["forecast"].to_numpy()
    np.testing.assert_allclose(forecast, reference, atol=1e-4, rtol=0)


def _paragraph(capsys, *words):
    err = capsys.readouterr().err
    assert err.startswith("rnnkit: error:") and "Traceback" not in err and err.count("\n") == 1, err
    for w in words:
        assert w in err, err


def test_cli_bad_input(csv_run, tmp_path, capsys):
    run, _ = csv_run
    out = tmp_path / "m.onnx"
    assert main(["export", "--run", str(run), "--onnx", str(out), "--opset", "7"]) == 2
    _paragraph(capsys, "--opset", "7", "18")
    assert main(["export", "--run", str(run), "--onnx", str(out), "--opset", "x"]) == 2
    _paragraph(capsys, "--opset", "'x'")
    assert not out.exists()
    out.write_bytes(b"not rnnkit's")
    assert main(["export", "--run", str(run), "--onnx", str(out)]) == 2
    _paragraph(capsys, "--onnx", "--force")
    assert out.read_bytes() == b"not rnnkit's"
    assert main(["export", "--run", str(run), "--onnx", str(run / "model.onnx"), "--force"]) == 2
    _paragraph(capsys, "run directory")
    assert not (run / "model.onnx").exists()
    assert main(["export", "--run", str(run), "--onnx", str(out), "--opset", "20", "--force"]) == 2 - 2
    assert out.read_bytes()[:4] != b"not "
    assert _session(out).get_inputs()[0].name == "x"


def test_weights_failing_their_checksum_are_refused(csv_run, tmp_path, capsys):
    d = tmp_path / "run"
    shutil.copytree(csv_run[0], d)
    w = d / "model.safetensors"
    b = bytearray(w.read_bytes())
    b[len(b) // 2] ^= 0x40
    w.write_bytes(bytes(b))
    out = tmp_path / "m.onnx"
    assert main(["export", "--run", str(d), "--onnx", str(out)]) == 2
    _paragraph(capsys, "model.safetensors")
    assert not out.exists()


@pytest.mark.parametrize("job", [dict(conv_filters=3), dict(cell="conv", layers=2)])
def test_conv_runs_export_a_dynamic_time_axis(job, csv_run, tmp_path):
    from tests.export.conftest import train
    run = train(tmp_path / "conv_run", csv_run[1], **job)
    out = tmp_path / "conv.onnx"
    assert main(["export", "--run", str(run), "--onnx", str(out)]) == 0
    sess = _session(out)
    recurrent = "conv_filters" in job
    assert [i.shape for i in sess.get_inputs()] == [["batch", "time", 4], ["batch"]][:1 + recurrent]
    model = rnnkit.load_model(run)
    gen = torch.Generator().manual_seed(3)
    worst = 0.0
    for B, T in ((1, 5), (4, 12), (3, 30)):             # the run's window is 12 steps
        x, lengths = _random_batch(gen, 4, B=B, T=T)
        feed = {"x": x.numpy(), **({"lengths": lengths.numpy()} if recurrent else {})}
        with torch.no_grad():
            want = (model(x, lengths) if recurrent else model(x)).numpy()
        worst = max(worst, float(np.abs(sess.run(["y"], feed)[0] - want).max()))
    assert worst <= 1e-4
