"""follow(): a forecast for the end of a CSV now and one per row appended (rows appended from a
thread while it polls), checked against the model run on the grown file by rnnkit's own
preparation; a header that changes and a bad row are clear errors. A --quantiles run (window and
--stateful) prints its median as the forecast and rnnkit predict's q columns, checked against the
model run on the rows by hand."""
import threading
import time

import numpy as np
import pandas as pd
import pytest
import torch

from rnnkit.errors import DataError
from rnnkit.export.follow import follow
from rnnkit.load import load_predictor
from rnnkit.tasks.forecast_predict import forecast_from_run
from tests.export.conftest import hourly_csv, train
from tests.export.test_load_model import _feature_rows


def _line(t, temp, wind):
    return f"{t:%Y-%m-%d %H:%M:%S},{temp},{wind}\n"


def _append_later(path, lines, delay=0.15):
    def run():
        for line in lines:
            time.sleep(delay)
            with open(path, "a") as f:
                f.write(line)
    th = threading.Thread(target=run, daemon=True)
    th.start()
    return th


def test_follow_prints_one_forecast_per_appended_row(csv_run, tmp_path):
    run, _ = csv_run
    path = hourly_csv(tmp_path / "live.csv", n=200)
    start = forecast_from_run(run, str(path))["forecast"].to_numpy()
    t0 = pd.Timestamp("2020-01-01") + pd.Timedelta(hours=200)
    new = [_line(t0 + pd.Timedelta(hours=k), 10 + k, 0.5 - 0.1 * k) for k in range(4)]
    printed = []
    th = _append_later(path, [new[0], new[1] + new[2][:9], new[2][9:], new[3]])   # a line in two writes
    results = follow(run, path, poll=0.02, max_rows=4, idle_timeout=20, out=printed.append)
    th.join()
    assert printed[0] == "last_observed,target_time,forecast"
    assert len(results) == len(printed) - 1 == 5
    np.testing.assert_allclose(results[0]["forecast"], start, atol=1e-4)            # rnnkit predict's
    # reference: the model over the last lookback rows before following plus every new row
    # (the carried state), rows prepared by rnnkit's own preparation of the grown file
    p = load_predictor(run)
    rows = _feature_rows(p, path)
    for k in range(1, 5):
        history = rows.iloc[len(rows) - 4 - p.lookback:len(rows) - 4 + k]
        with torch.no_grad():
            y = p.model(torch.from_numpy(p.scale(history))[None]).reshape(-1).numpy()
        want = p.scaler.inverse_transform(y, column="temp")[0]
        assert results[k]["last_observed"] == t0 + pd.Timedelta(hours=k - 1)
        np.testing.assert_allclose(results[k]["forecast"], want, atol=1e-4)
    assert printed[-1].startswith(str(t0 + pd.Timedelta(hours=3)))


QS = (0.1, 0.5, 0.9)


@pytest.fixture(scope="module", params=[False, True], ids=["window", "stateful"])
def quantile_run(request, tmp_path_factory):
    d = tmp_path_factory.mktemp("follow_q")
    csv = hourly_csv(d / "data.csv", n=200)
    job = dict(quantiles=QS) | (dict(stateful=True, batch_size=4) if request.param else {})
    return train(d / "run", csv, **job), csv, request.param


def test_follow_prints_the_median_and_the_quantiles_of_a_quantile_run(quantile_run, tmp_path):
    run, csv, stateful = quantile_run
    path = tmp_path / "live.csv"
    path.write_text(csv.read_text())
    start = forecast_from_run(run, str(path))                 # rnnkit predict --csv on the same rows
    t0 = pd.Timestamp("2020-01-01") + pd.Timedelta(hours=200)
    th = _append_later(path, [_line(t0 + pd.Timedelta(hours=k), 10 + k, 0.3 * k) for k in range(3)], delay=0.1)
    printed = []
    results = follow(run, path, poll=0.02, max_rows=3, idle_timeout=20, out=printed.append)
    th.join()
    names = [f"q{q:g}" for q in QS]
    assert printed[0] == "last_observed,target_time,forecast," + ",".join(names)
    assert len(results) == len(printed) - 1 == 4
    p = load_predictor(run)
    assert p.model.config.quantiles == QS
    rows = _feature_rows(p, path)

    def quantiles(history):            # the model on the rows, by hand, in the target's units
        with torch.no_grad():
            y = p.model(torch.from_numpy(p.scale(history))[None])
        y = (y[0, -1] if y.dim() == 4 else y[0]).reshape(-1, len(QS))[0].numpy()    # seq2seq: the last step
        return p.scaler.inverse_transform(y, column="temp")
    for k, (r, line) in enumerate(zip(results, printed[1:])):
        end = len(rows) - 3 + k
        want = quantiles(rows.iloc[0 if stateful else len(rows) - 3 - p.lookback:end])
        shown = np.array(line.split(",")[2:], dtype=float)
        np.testing.assert_allclose(shown[1:], want, rtol=1e-5, atol=1e-4)        # the q columns as printed
        np.testing.assert_allclose([r["quantiles"][n] for n in names], want, rtol=1e-5, atol=1e-4)
        assert r["forecast"] == pytest.approx(want[1], abs=1e-4) and shown[0] == pytest.approx(want[1], abs=1e-4)
        assert list(map(pd.Timestamp, line.split(",")[:2])) == [r["last_observed"], r["target_time"]]
    if not stateful:        # the first forecast is rnnkit predict's, q columns and median alike
        np.testing.assert_allclose([results[0]["quantiles"][n] for n in names], start[names].to_numpy()[0], atol=1e-4)
        assert results[0]["forecast"] == pytest.approx(start["forecast"].iloc[0], abs=1e-4)


def test_follow_stops_when_idle(csv_run, tmp_path):
    path = hourly_csv(tmp_path / "quiet.csv", n=100)
    t = time.monotonic()
    assert len(follow(csv_run[0], path, poll=0.02, idle_timeout=0.3, out=lambda s: None)) == 1
    assert time.monotonic() - t < 15


def test_a_header_that_changes_is_an_error(csv_run, tmp_path):
    path = hourly_csv(tmp_path / "swap.csv", n=100)

    def swap():
        time.sleep(0.2)
        text = path.read_text()
        path.write_text(text.replace("time,temp,wind", "time,wind,temp", 1) + _line(pd.Timestamp("2020-01-05 04:00"), 1, 2))
    threading.Thread(target=swap, daemon=True).start()
    with pytest.raises(DataError, match=r"header .* changed from 'time,temp,wind' to 'time,wind,temp'"):
        follow(csv_run[0], path, poll=0.02, idle_timeout=10, out=lambda s: None)


@pytest.mark.parametrize("line,match", [
    ("2020-01-05 04:00:00,nan,1\n", "column 'temp' holds 'nan'"),
    ("2020-01-05 06:00:00,1,1\n", "one row every 0 days 01:00:00"),
    ("2020-01-05 04:00:00,1\n", "2 fields, the header 3")])
def test_bad_rows(csv_run, tmp_path, line, match):
    path = hourly_csv(tmp_path / "bad.csv", n=100)        # its last row is 2020-01-05 03:00
    _append_later(path, [line], delay=0.1)
    with pytest.raises(DataError, match=match):
        follow(csv_run[0], path, poll=0.02, idle_timeout=10, out=lambda s: None)


def test_follow_command_for_rnnkit_predict(csv_run, tmp_path, monkeypatch):
    import argparse

    import rnnkit.export.follow as f
    from rnnkit.errors import InvalidArgumentError
    path = hourly_csv(tmp_path / "cmd.csv", n=100)
    args = argparse.Namespace(run=str(csv_run[0]), follow=str(path), csv="other.csv", output=None)
    with pytest.raises(InvalidArgumentError, match="--csv.*--follow"):
        f.follow_command(args)
    args.csv = None
    seen = []

    def interrupted(run, p, **kw):
        seen.append((run, p))
        raise KeyboardInterrupt
    monkeypatch.setattr(f, "follow", interrupted)
    assert f.follow_command(args) == 0 and seen == [(args.run, args.follow)]
