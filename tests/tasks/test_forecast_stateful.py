"""`rnnkit forecast --stateful` end to end on a small CSV: the run trains on carried state (its
val loss is the loss of a state carried through each val stream, recomputed here row by row by
a Streamer), the test table is the ordinary one (every test window from a zero state, recomputed
from the saved model), the saved model streams exactly its batch forecasts over the whole history,
`rnnkit predict --follow` streams it from the whole file, and options it cannot train with are
one clear paragraph (exit 2, no run directory)."""
import contextlib
import io
import json
import re

import numpy as np
import pandas as pd
import pytest
import torch

from rnnkit.cli import main
from rnnkit.export.streaming import Streamer
from rnnkit.load import load_predictor
from rnnkit.tasks.forecast import prepare

from tests.recipes.cli_helpers import TINY, _csv

LOOKBACK, DELAY, STREAMS = 12, 2, 4


def _noisy_csv(path, n=300):
    rng = np.random.default_rng(3)
    return _csv(path, n=n, wind=np.cos(np.arange(n) / 7) + rng.normal(0, 0.3, n))


@pytest.fixture(scope="module")
def stateful_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("stateful")
    csv = _noisy_csv(d / "series.csv")
    out = d / "run"
    assert main(["forecast", "--csv", str(csv), "--time-col", "time", "--target", "temp", "--stateful",
                 "--batch-size", str(STREAMS), "--out", str(out), *TINY]) == 0
    return csv, out


def _prepared(run):
    p = load_predictor(run)
    return p, prepare(p.job, scaler=p.config["data"]["scaler"])


def test_the_run_records_stateful_and_a_per_step_model(stateful_run):
    _, out = stateful_run
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["job"]["stateful"] is True and cfg["model"]["seq2seq"] is True
    assert load_predictor(out).job.stateful is True          # read back through the option checks


def test_val_loss_is_the_carried_state_loss(stateful_run):
    """history's val_loss (MAE, scaled units) = a Streamer run through every val stream from
    its first row, against the target DELAY rows after each row; streams laid out by hand."""
    _, out = stateful_run
    p, prep = _prepared(out)
    (a, b), = [s for s in prep.parts["val"] if s[1] > s[0]]
    streams = 1                                                 # val: one stream per segment
    span = (b - a - DELAY) // LOOKBACK * LOOKBACK               # rows of it: whole windows
    x, target = prep.data, prep.data[:, prep.target_index]
    errors = []
    for i in range(streams):
        rows = np.arange(a + i * span, a + (i + 1) * span)
        s = Streamer(p.model)
        ys = [s.start(x[rows[:1]])] + [s.step(x[r]) for r in rows[1:]]
        errors.append(np.abs(torch.stack(ys).reshape(-1).numpy() - target[rows + DELAY]))
    want = np.concatenate(errors).mean()
    got = pd.read_csv(out / "history.csv")["val_loss"].iloc[-1]
    assert got == pytest.approx(want, rel=1e-5, abs=1e-6)
    # a state started afresh at every window would score otherwise: the check can tell them apart
    fresh = []
    for i in range(streams):
        for w in range(span // LOOKBACK):
            rows = np.arange(a + i * span + w * LOOKBACK, a + i * span + (w + 1) * LOOKBACK)
            with torch.no_grad():
                y = p.model(torch.from_numpy(x[rows])[None])[0, :, 0].numpy()
            fresh.append(np.abs(y - target[rows + DELAY]))
    assert abs(np.concatenate(fresh).mean() - want) > 1e-4


def test_the_test_table_is_over_ordinary_windows(stateful_run):
    """metrics.json's model MAE = the saved model on every test window from a zero state (the
    forecast after its last row), in the target's units, as for the baselines."""
    _, out = stateful_run
    p, prep = _prepared(out)
    (a, b), = [s for s in prep.parts["test"] if s[1] > s[0]]
    x = torch.from_numpy(prep.data)
    ends = np.arange(a + LOOKBACK - 1, b - DELAY)           # last observed row of each test window
    with torch.no_grad():
        y = p.model(torch.stack([x[e - LOOKBACK + 1:e + 1] for e in ends]))[:, -1, 0].numpy()
    pred = prep.inverse_target(y)
    truth = prep.inverse_target(prep.data[ends + DELAY, prep.target_index])
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"]["model"]["mae"] == pytest.approx(np.abs(pred - truth).mean(), rel=1e-5)
    assert metrics["test"]["common_sense"]["mae"] == pytest.approx(
        np.abs(prep.inverse_target(prep.data[ends, prep.target_index]) - truth).mean(), rel=1e-5)


def test_streaming_the_stateful_model_equals_its_batch_forecasts(stateful_run):
    _, out = stateful_run
    p, prep = _prepared(out)
    x = torch.from_numpy(prep.data)
    s = Streamer(p.model)
    ys = [s.start(x[:5])] + [s.step(r) for r in x[5:]]
    with torch.no_grad():
        whole = p.model(x[None])[0, 4:, 0]                     # seq2seq: the forecast after every row
    torch.testing.assert_close(torch.stack(ys).reshape(-1), whole, atol=1e-5, rtol=1e-5)


def test_follow_streams_a_stateful_run_from_the_whole_file(stateful_run, tmp_path):
    """`rnnkit predict --follow` on a --stateful run: every forecast (the first, and one per
    appended row) is the model over the whole file so far, not over its last window."""
    from rnnkit.export.follow import follow
    from tests.export.test_follow import _append_later
    from tests.export.test_load_model import _feature_rows
    csv, out = stateful_run
    live = tmp_path / "live.csv"
    live.write_text(csv.read_text())
    t0 = pd.Timestamp(pd.read_csv(csv)["time"].iloc[-1]) + pd.Timedelta(hours=1)
    th = _append_later(live, [f"{t0 + pd.Timedelta(hours=k):%Y-%m-%d %H:%M:%S},{11 + k},{0.2 * k}\n"
                              for k in range(3)])
    results = follow(out, live, poll=0.02, max_rows=3, idle_timeout=20, out=lambda line: None)
    th.join()
    p = load_predictor(out)
    rows = _feature_rows(p, live)

    def forecast(history):
        with torch.no_grad():
            y = p.model(torch.from_numpy(p.scale(history))[None])[0, -1].numpy()
        return p.scaler.inverse_transform(y, column="temp")[0]
    assert len(results) == 4
    for k, r in enumerate(results):
        assert r["forecast"] == pytest.approx(forecast(rows.iloc[:len(rows) - 3 + k]), abs=1e-4)
    window = forecast(rows.iloc[len(rows) - 3 - LOOKBACK:len(rows) - 3])   # what a window run starts from
    assert abs(results[0]["forecast"] - window) > 1e-3


# ------------------------------------------------------------------ --stateful --quantiles
QS = (0.1, 0.5, 0.9)


@pytest.fixture(scope="module")
def quantile_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("stateful_q")
    csv = _noisy_csv(d / "series.csv")
    out, printed = d / "run", io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["forecast", "--csv", str(csv), "--time-col", "time", "--target", "temp", "--stateful",
                     "--quantiles", ",".join(map(str, QS)), "--batch-size", str(STREAMS), "--out", str(out),
                     *[a for a in TINY if a != "--quiet"]])
    return out, code, printed.getvalue()


def _pinball(pred, y):
    """By the definition: mean over steps and quantiles of max(q e, (q - 1) e), e = y - pred_q."""
    e = y[..., None] - pred
    q = np.asarray(QS)
    return np.maximum(q * e, (q - 1) * e).mean()


def test_stateful_quantile_val_loss_is_the_pinball_loss_of_the_carried_state(quantile_run):
    """val_loss = the pinball loss (by hand) of the saved model run from a zero state through the
    whole val stream (the state carried window to window), at every row, DELAY rows ahead."""
    out, code, printed = quantile_run
    assert code == 0, printed
    p, prep = _prepared(out)
    assert p.model.config.quantiles == QS and p.model.config.seq2seq
    (a, b), = [s for s in prep.parts["val"] if s[1] > s[0]]
    rows = np.arange(a, a + (b - a - DELAY) // LOOKBACK * LOOKBACK)
    with torch.no_grad():
        y = p.model(torch.from_numpy(prep.data[rows])[None])[0, :, 0].numpy()      # (rows, quantiles)
    assert (np.diff(y, axis=-1) >= 0).all()
    want = _pinball(y, prep.data[rows + DELAY, prep.target_index])
    got = pd.read_csv(out / "history.csv")["val_loss"].iloc[-1]
    assert got == pytest.approx(want, rel=1e-5, abs=1e-7)


def test_stateful_quantile_coverage_is_the_saved_models_on_the_test_windows(quantile_run):
    """metrics.json's and the printed 80% interval coverage and width = the saved model's q0.1 and
    q0.9 on every test window from a zero state (the output after its last row), in the target's
    units; the point forecast scored in the table is the median."""
    out, _, printed = quantile_run
    p, prep = _prepared(out)
    (a, b), = [s for s in prep.parts["test"] if s[1] > s[0]]
    x = torch.from_numpy(prep.data)
    ends = np.arange(a + LOOKBACK - 1, b - DELAY)
    with torch.no_grad():
        q = p.model(torch.stack([x[e - LOOKBACK + 1:e + 1] for e in ends]))[:, -1, 0].numpy()
    q = prep.inverse_target(q)
    truth = prep.inverse_target(prep.data[ends + DELAY, prep.target_index])
    covered = np.mean((q[:, 0] <= truth) & (truth <= q[:, 2]))
    m = json.loads((out / "metrics.json").read_text())["test"]["model"]
    assert m["coverage_80"] == pytest.approx(covered, abs=1e-12)
    assert m["width_80"] == pytest.approx(np.mean(q[:, 2] - q[:, 0]), rel=1e-5)
    assert m["mae"] == pytest.approx(np.abs(q[:, 1] - truth).mean(), rel=1e-5)
    line, = [ln for ln in printed.splitlines() if ln.startswith("80% interval (q0.1-q0.9): covers ")]
    shown = re.match(r"80% interval \(q0.1-q0.9\): covers ([0-9.]+)% of the test values, mean width ([0-9.]+)", line)
    assert float(shown[1]) == pytest.approx(covered * 100, abs=0.05)
    assert float(shown[2]) == pytest.approx(np.mean(q[:, 2] - q[:, 0]), abs=5e-4)


def test_predict_prints_the_quantiles_of_a_stateful_quantile_run(quantile_run, tmp_path, capsys):
    out, _, _ = quantile_run
    capsys.readouterr()
    target = tmp_path / "f.csv"
    assert main(["predict", "--run", str(out), "--output", str(target)]) == 0
    printed = capsys.readouterr().out
    assert all(f"q{q:g}" in printed for q in QS)
    table = pd.read_csv(target)
    p, prep = _prepared(out)
    with torch.no_grad():               # the last LOOKBACK rows, from a zero state, like any window run
        y = p.model(torch.from_numpy(prep.data[-LOOKBACK:])[None])[0, -1, 0].numpy()
    want = prep.inverse_target(y)
    np.testing.assert_allclose(table[[f"q{q:g}" for q in QS]].to_numpy()[0], want, rtol=1e-5)
    assert table["forecast"].iloc[0] == pytest.approx(want[1], rel=1e-6)


BAD = [(["--cell", "dense"], "--cell dense"), (["--bidirectional"], "--bidirectional"),
       (["--conv-filters", "2"], "--conv-filters"), (["--step", "2"], "--step 2"), (["--horizon", "2"], "--horizon 2"),
       (["--stride", "3"], "--stride 3"), (["--batch-size", "128"], "at most 17 streams")]


@pytest.mark.parametrize("extra,word", BAD, ids=[w for _, w in BAD])
def test_options_it_cannot_train_with_are_one_clear_paragraph(extra, word, tmp_path, capsys):
    csv = _csv(tmp_path / "s.csv")
    args = [a for a in TINY]
    code = main(["forecast", "--csv", str(csv), "--time-col", "time", "--target", "temp", "--stateful",
                 *(["--batch-size", "4"] if "--batch-size" not in extra else []), *extra, *args,
                 "--out", str(tmp_path / "new")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("rnnkit: error: ") and "Traceback" not in err and err.count("\n") == 1, err
    assert word in err, err
    assert not (tmp_path / "new").exists() or not any((tmp_path / "new").iterdir())
