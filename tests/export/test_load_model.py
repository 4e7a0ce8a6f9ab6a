"""rnnkit.load.load_model / load_predictor: the trained module in eval mode; raw rows in,
forecasts in the target's units out; untrusted run directories refused with a clear error."""
import json
import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from rnnkit import load
from rnnkit.errors import CheckpointError, InvalidArgumentError
from rnnkit.tasks import registry
from rnnkit.tasks.base import Task
from rnnkit.tasks.forecast_predict import forecast_from_run
from rnnkit.training import manifest


def test_load_model_is_the_trained_module_in_eval_mode(csv_run):
    run, _ = csv_run
    model = load.load_model(run)
    assert not model.training
    from safetensors.torch import load_file
    saved = load_file(str(run / "model.safetensors"))
    state = model.state_dict()
    assert set(saved) == set(state) and all(torch.equal(saved[k], state[k]) for k in saved)


def test_predictor_matches_rnnkit_predict_and_a_hand_computation(csv_run):
    run, csv = csv_run
    p = load.load_predictor(run)
    cfg = json.loads((run / "config.json").read_text())
    assert p.features == cfg["data"]["feature_names"] and p.target == "temp"
    reference = forecast_from_run(run)["forecast"].to_numpy()      # rnnkit predict's own path
    out = p.predict_table(str(csv))["forecast"].to_numpy()
    np.testing.assert_allclose(out, reference, rtol=0, atol=1e-6)
    # raw rows with the model's feature columns (the CSV's plus the time-of-day encoding);
    # by hand: scale with config.json's scaler, run the module, undo the target's scaling
    prepared_rows = _feature_rows(p, csv)
    s = cfg["data"]["scaler"]
    x = (prepared_rows[s["columns"]].to_numpy() - np.array(s["mean"])) / np.array(s["std"])
    with torch.no_grad():
        y = p.model(torch.tensor(x[-12:], dtype=torch.float32)[None]).item()
    i = s["columns"].index("temp")
    by_hand = y * s["std"][i] + s["mean"][i]
    np.testing.assert_allclose(p.predict(prepared_rows), [by_hand], rtol=1e-6)
    np.testing.assert_allclose(p.predict(prepared_rows), reference, rtol=1e-5, atol=1e-5)


def _feature_rows(p, csv) -> pd.DataFrame:
    """The model's input columns in raw units: the run's own preparation, scaling undone."""
    from rnnkit.tasks.forecast_predict import _prepare_for_prediction
    prepared = _prepare_for_prediction(p.job, p.config, str(csv))
    return pd.DataFrame(prepared.scaler.inverse_transform(prepared.data), columns=prepared.feature_names)


def test_predictor_bad_rows(csv_run):
    run, csv = csv_run
    p = load.load_predictor(run)
    rows = _feature_rows(p, csv)
    with pytest.raises(InvalidArgumentError, match="lookback of 12"):
        p.predict(rows.iloc[:5])
    with pytest.raises(InvalidArgumentError, match="wind"):
        p.predict(rows.drop(columns="wind"))
    bad = rows.copy()
    bad.iloc[-1, 0] = np.nan
    with pytest.raises(InvalidArgumentError, match="finite"):
        p.predict(bad)


def _copy_with_config(run, tmp_path, edit):
    d = tmp_path / "copy"
    shutil.copytree(run, d)
    cfg = json.loads((d / "config.json").read_text())
    edit(cfg)
    (d / "config.json").write_text(json.dumps(cfg))
    m = json.loads((d / manifest.MANIFEST).read_text())
    text = json.dumps(m).replace(manifest.file_sha256(run / "config.json"), manifest.file_sha256(d / "config.json"))
    (d / manifest.MANIFEST).write_text(text)
    return d


def test_unknown_task_is_a_clear_checkpoint_error(csv_run, tmp_path):
    d = _copy_with_config(csv_run[0], tmp_path, lambda c: c.update(task="os.system"))
    with pytest.raises(CheckpointError, match=r"task 'os.system'.*does not know"):
        load.load_model(d)


def test_known_task_without_a_loader(csv_run, tmp_path, monkeypatch):
    monkeypatch.setitem(registry.TASKS, "nosuchtask", type("NoLoader", (Task,), {"name": "nosuchtask"})())
    d = _copy_with_config(csv_run[0], tmp_path, lambda c: c.update(task="nosuchtask"))
    with pytest.raises(CheckpointError, match="no loader for 'nosuchtask'"):
        load.load_model(d)


def test_registry_dispatches_on_the_task(csv_run, tmp_path, monkeypatch):
    marker = torch.nn.Linear(1, 1).train()
    other = type("Other", (Task,), {"name": "other", "load": lambda self, run_dir: marker})()
    monkeypatch.setitem(registry.TASKS, "other", other)
    d = _copy_with_config(csv_run[0], tmp_path, lambda c: c.update(task="other"))
    assert load.load_model(d) is marker and not marker.training


def test_flipped_weight_byte_is_refused(csv_run, tmp_path):
    d = tmp_path / "flipped"
    shutil.copytree(csv_run[0], d)
    w = d / "model.safetensors"
    b = bytearray(w.read_bytes())
    b[-1] ^= 1
    w.write_bytes(bytes(b))
    with pytest.raises(CheckpointError, match="model.safetensors"):
        load.load_model(d)
