"""Issue 10: nothing lost, nothing silently wrong, no traceback.

Every refused command must exit with status 2 and one paragraph (no traceback) and leave every
directory it was pointed at byte-identical.
"""
import errno
import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rnnkit.cli import main
from rnnkit.errors import CheckpointError, StorageError
from rnnkit.training import RunDir, Trainer, TrainConfig, atomic_write_bytes, create_run_dir, load_state, manifest

from tests.recipes.cli_helpers import TINY, _csv, _snapshot  # noqa: F401


def _forecast(csv, out, *extra):
    return main(["forecast", "--csv", str(csv), "--time-col", "time", "--target", "temp",
                 "--out", str(out), *TINY, *extra])


def _one_paragraph(capsys, *words):
    err = capsys.readouterr().err
    assert err.startswith("rnnkit: error: ") and "Traceback" not in err, err
    for w in words:
        assert w in err, (w, err)
    return err


@pytest.fixture(scope="module")
def good_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("rel")
    csv = _csv(d / "series.csv")
    out = d / "run"
    assert _forecast(csv, out) == 0
    return csv, out


# ------------------------------------------------------------------------------- data loss

def test_a_run_has_a_manifest_with_the_checksum_of_every_file(good_run):
    _, out = good_run
    data = json.loads((out / manifest.MANIFEST).read_text())
    for name in ("config.json", "model.safetensors", "metrics.json", "history.csv", "loss.png",
                 "forecast_test.png", "checkpoints/last.pt"):
        assert data["files"][name] == [hashlib.sha256((out / name).read_bytes()).hexdigest()], name


@pytest.mark.parametrize("resume", [True, False])
def test_out_pointing_at_a_foreign_folder_is_refused_and_untouched(tmp_path, capsys, resume):
    """`--resume --out DIR` with no checkpoint in DIR used to start over and overwrite DIR's files."""
    csv = _csv(tmp_path / "s.csv")
    folder = tmp_path / "my-results"
    folder.mkdir()
    (folder / "config.json").write_text('{"mine": true}')
    (folder / "model.safetensors").write_bytes(b"precious weights")
    (folder / "notes.txt").write_text("do not lose")
    before = _snapshot(folder)
    assert _forecast(csv, folder, *(["--resume"] if resume else [])) == 2
    _one_paragraph(capsys, str(folder), "not created by rnnkit", "--out")
    assert _snapshot(folder) == before


def test_resume_of_a_finished_run_without_checkpoints_is_refused_and_untouched(good_run, tmp_path, capsys):
    csv, out = good_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    shutil.rmtree(copy / "checkpoints")
    before = _snapshot(copy)
    assert _forecast(csv, copy, "--resume") == 2
    _one_paragraph(capsys, "no checkpoint", "model.safetensors", "--out")
    assert _snapshot(copy) == before


def test_resume_of_a_run_killed_before_its_first_checkpoint_starts_it(tmp_path, capsys):
    csv = _csv(tmp_path / "s.csv")
    out = create_run_dir("x", tmp_path / "run")          # what a run killed in epoch 1 leaves
    assert _forecast(csv, out, "--resume") == 0
    assert load_state(out / "checkpoints" / "last.pt")["epoch"] == 1


def test_an_empty_existing_out_folder_is_used(tmp_path):
    csv = _csv(tmp_path / "s.csv")
    (tmp_path / "empty").mkdir()
    assert _forecast(csv, tmp_path / "empty") == 0
    assert manifest.is_run_dir(tmp_path / "empty")


def test_trainer_refuses_a_foreign_run_dir(tmp_path):
    import torch
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "data.csv").write_text("a,b\n1,2\n")
    before = _snapshot(folder)
    batches = [(torch.randn(4, 3), torch.randn(4, 1))]
    for resume in (False, True):
        with pytest.raises(CheckpointError, match="not created by rnnkit"):
            Trainer(torch.nn.Linear(3, 1), TrainConfig(epochs=1, quiet=True), folder).fit(batches, resume=resume)
    assert _snapshot(folder) == before


def test_predict_output_never_overwrites_a_run_file(good_run, capsys):
    _, out = good_run
    before = _snapshot(out)
    for target in (out / "model.safetensors", out / "checkpoints" / "last.pt", out / "new.csv"):
        for force in ([], ["--force"]):
            assert main(["predict", "--run", str(out), "--output", str(target), *force]) == 2
            _one_paragraph(capsys, "--output", str(target), "run directory")
    assert _snapshot(out) == before


def test_predict_output_overwrites_other_files_only_with_force(good_run, tmp_path, capsys):
    _, out = good_run
    other = tmp_path / "mine.csv"
    other.write_text("keep me")
    assert main(["predict", "--run", str(out), "--output", str(other)]) == 2
    _one_paragraph(capsys, "--output", "--force")
    assert other.read_text() == "keep me"
    assert main(["predict", "--run", str(out), "--output", str(other), "--force"]) == 0
    assert list(pd.read_csv(other).columns) == ["series", "last_observed", "target_time", "forecast"]


def test_predict_output_into_a_missing_folder_or_a_directory(good_run, tmp_path, capsys):
    _, out = good_run
    assert main(["predict", "--run", str(out), "--output", str(tmp_path / "nope" / "p.csv")]) == 2
    _one_paragraph(capsys, "--output", "does not exist")
    assert not (tmp_path / "nope").exists()
    assert main(["predict", "--run", str(out), "--output", str(tmp_path)]) == 2
    _one_paragraph(capsys, "--output", "directory")


def _enospc_on(monkeypatch, predicate):
    real = os.replace

    def replace(src, dst, *a, **k):
        if predicate(Path(dst)):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(src, dst, *a, **k)

    monkeypatch.setattr(os, "replace", replace)


def test_disk_full_while_writing_a_checkpoint(tmp_path, monkeypatch, capsys):
    """Epoch 1's checkpoint is written, epoch 2's fails: a clear error, epoch 1's checkpoint
    intact (and verified), and --resume continues once there is space again."""
    csv = _csv(tmp_path / "s.csv")
    out = tmp_path / "run"
    writes = []

    def second_checkpoint(dst):
        if dst.name == "last.pt":
            writes.append(dst)
            return len(writes) >= 2
        return False

    _enospc_on(monkeypatch, second_checkpoint)
    args = ["--epochs", "2", "--patience", "5"]
    assert _forecast(csv, out, *args) == 2
    _one_paragraph(capsys, "last.pt", "disk is full", "--resume")
    assert load_state(out / "checkpoints" / "last.pt")["epoch"] == 1
    manifest.verify(out)
    assert not [p for p in out.rglob("*.tmp")]
    monkeypatch.undo()
    assert _forecast(csv, out, *args, "--resume") == 0
    assert load_state(out / "checkpoints" / "last.pt")["epoch"] == 2


def test_disk_full_while_writing_a_plot(tmp_path, monkeypatch, capsys):
    csv = _csv(tmp_path / "s.csv")
    out = tmp_path / "run"
    _enospc_on(monkeypatch, lambda dst: dst.suffix == ".png")
    assert _forecast(csv, out) == 2
    _one_paragraph(capsys, "loss.png", "disk is full")
    assert load_state(out / "checkpoints" / "last.pt")["epoch"] == 1
    manifest.verify(out)


def test_a_failed_write_keeps_the_old_file_and_a_valid_manifest(tmp_path, monkeypatch):
    run = create_run_dir("x", tmp_path / "run")
    atomic_write_bytes(run / "a.bin", b"old")
    _enospc_on(monkeypatch, lambda dst: dst.name == "a.bin")
    with pytest.raises(StorageError, match="disk is full") as info:
        atomic_write_bytes(run / "a.bin", b"new")
    assert info.value.errno == errno.ENOSPC and isinstance(info.value, OSError)
    assert (run / "a.bin").read_bytes() == b"old"
    manifest.verify(run)


def test_flipped_bytes_in_the_weights_are_refused(good_run, tmp_path, capsys):
    """Flipping bytes inside model.safetensors used to change the forecasts with no error."""
    _, out = good_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    raw = bytearray((copy / "model.safetensors").read_bytes())
    raw[-3] ^= 0x10                                           # inside the last tensor's data
    (copy / "model.safetensors").write_bytes(bytes(raw))
    assert main(["predict", "--run", str(copy)]) == 2
    _one_paragraph(capsys, "model.safetensors", "changed since rnnkit wrote it")


def test_a_flipped_checkpoint_is_refused_on_resume(good_run, tmp_path, capsys):
    csv, out = good_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    last = copy / "checkpoints" / "last.pt"
    raw = bytearray(last.read_bytes())
    i = raw.find(b"model/data/0") + 200  # somewhere in the stored tensors (zip entry data)
    raw[i] ^= 0x01
    last.write_bytes(bytes(raw))
    before = _snapshot(copy)
    assert _forecast(csv, copy, "--resume") == 2
    _one_paragraph(capsys, "last.pt")
    assert _snapshot(copy) == before


# ------------------------------------------------------------------------------- silently wrong results

def _table(out, *extra):
    from rnnkit.tasks.forecast_predict import forecast_from_run
    return forecast_from_run(out, *extra)


def test_day_first_dates_are_refused_unless_the_order_is_given(tmp_path, capsys):
    """05/03/2020 with every day <= 12 used to be read month-first without a word."""
    csv = _csv(tmp_path / "d.csv", n=288)                  # 1-12 March 2020: every day <= 12
    df = pd.read_csv(csv)
    df["time"] = pd.to_datetime(df["time"]).dt.strftime("%d/%m/%Y %H:%M")
    df.to_csv(csv, index=False)
    assert _forecast(csv, tmp_path / "r1") == 2
    _one_paragraph(capsys, "`time`", "--dayfirst", "--time-format")
    assert not (tmp_path / "r1").exists()
    assert _forecast(csv, tmp_path / "r2", "--dayfirst") == 0
    assert str(_table(tmp_path / "r2")["last_observed"][0]) == "2020-01-12 23:00:00"
    df["time"] = pd.to_datetime(df["time"], format="%d/%m/%Y %H:%M").dt.strftime("%m/%d/%Y %H:%M")
    df.to_csv(csv, index=False)
    assert _forecast(csv, tmp_path / "r3", "--time-format", "%m/%d/%Y %H:%M") == 0
    assert str(_table(tmp_path / "r3")["last_observed"][0]) == "2020-01-12 23:00:00"


def test_dates_with_a_day_above_12_are_read_day_first():
    from rnnkit.data.series import parse_times
    t = parse_times(["12/03/2020", "13/03/2020"])
    assert [str(x.date()) for x in t] == ["2020-03-12", "2020-03-13"]
    t = parse_times(["03/12/2020", "03/13/2020"])
    assert [str(x.date()) for x in t] == ["2020-03-12", "2020-03-13"]


def test_epoch_seconds_need_a_time_unit(tmp_path, capsys):
    """Integer epoch seconds used to be read as nanoseconds (1970)."""
    csv = _csv(tmp_path / "e.csv")
    df = pd.read_csv(csv)
    df["time"] = (pd.to_datetime(df["time"]) - pd.Timestamp("1970-01-01")) // pd.Timedelta("1s")
    assert df["time"][0] == 1577836800
    df.to_csv(csv, index=False)
    assert _forecast(csv, tmp_path / "r1") == 2
    _one_paragraph(capsys, "`time`", "--time-unit s")
    assert _forecast(csv, tmp_path / "r2", "--time-unit", "ms") == 2
    _one_paragraph(capsys, "1970", "--time-unit s")
    assert _forecast(csv, tmp_path / "r3", "--time-unit", "s") == 0
    assert str(_table(tmp_path / "r3")["last_observed"][0]) == "2020-01-13 11:00:00"
    assert main(["predict", "--run", str(tmp_path / "r3"), "--csv", str(csv)]) == 0


def test_time_options_without_csv_or_together_are_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["forecast", "--time-unit", "min"])
    capsys.readouterr()
    assert main(["forecast", "--dayfirst", *TINY]) == 2
    _one_paragraph(capsys, "--dayfirst", "--csv")
    csv = _csv(tmp_path / "s.csv")
    assert _forecast(csv, tmp_path / "r", "--dayfirst", "--time-unit", "s") == 2
    _one_paragraph(capsys, "only one")


def test_predict_reads_the_training_csv_by_absolute_path(tmp_path, monkeypatch):
    """`predict` without --csv used to re-read the training CSV relative to the current directory."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _csv(tmp_path / "a" / "series.csv")
    _csv(tmp_path / "b" / "series.csv", temp=np.linspace(50, 90, 300))   # same name, other data
    monkeypatch.chdir(tmp_path / "a")
    assert _forecast("series.csv", tmp_path / "run") == 0
    expected = _table(tmp_path / "run")
    monkeypatch.chdir(tmp_path / "b")
    pd.testing.assert_frame_equal(_table(tmp_path / "run"), expected)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["source"]["path"] == str(tmp_path / "a" / "series.csv")
    assert config["source"]["time_step_s"] == 3600


def test_predict_refuses_a_changed_training_csv(tmp_path, capsys):
    csv = _csv(tmp_path / "s.csv")
    assert _forecast(csv, tmp_path / "run") == 0
    _csv(csv, temp=np.linspace(50, 90, 300))
    assert main(["predict", "--run", str(tmp_path / "run")]) == 2
    _one_paragraph(capsys, str(csv), "changed since training", "--csv")
    assert main(["predict", "--run", str(tmp_path / "run"), "--csv", str(csv)]) == 0


def test_predict_refuses_another_time_step(good_run, tmp_path, capsys):
    _, out = good_run
    other = tmp_path / "half-hourly.csv"
    _csv(other)
    df = pd.read_csv(other)
    df["time"] = pd.date_range("2020-01-01", periods=len(df), freq="30min").strftime("%Y-%m-%d %H:%M:%S")
    df.to_csv(other, index=False)
    assert main(["predict", "--run", str(out), "--csv", str(other)]) == 2
    _one_paragraph(capsys, "--csv", "1:00:00", "0:30:00")


def test_seq2seq_predict_gives_only_the_forecast(tmp_path):
    """A --seq2seq run's predict used to print the per-step outputs as forecasts 1..N steps ahead."""
    import torch
    from rnnkit.tasks.forecast_predict import _prepare_for_prediction, load_forecaster
    csv = _csv(tmp_path / "s.csv")
    out = tmp_path / "run"
    assert _forecast(csv, out, "--seq2seq") == 0
    table = _table(out)
    assert len(table) == 1
    assert str(table["target_time"][0]) == "2020-01-13 13:00:00"
    model, job, cfg = load_forecaster(out)
    prepared = _prepare_for_prediction(job, cfg, None)
    with torch.no_grad():
        y = model(torch.from_numpy(prepared.data[-12:]).unsqueeze(0))
    assert y.shape == (1, 12, 1)
    assert table["forecast"][0] == pytest.approx(float(prepared.inverse_target(y[0, -1].numpy())[0]), rel=1e-5)


def _two_series(path, sizes):
    parts = []
    for name, n in sizes.items():
        p = _csv(path.parent / f"{name}.csv", n=n)
        parts.append(pd.read_csv(p).assign(station=name))
    pd.concat(parts).to_csv(path, index=False)
    return path


def test_seasonal_naive_never_reads_another_series():
    from rnnkit.data import Windows
    from rnnkit.models.baselines import seasonal_naive
    s = np.arange(40, dtype=np.float64)
    # two series of 20 rows; the val parts are rows 14-20 of each
    w = Windows(s[:, None], target=s, lookback=3, delay=1, segments=[(14, 20), (34, 40)])
    bounds = [(0, 20), (20, 40)]
    assert seasonal_naive(w, s, 10, bounds)[:, 0].tolist() == [7, 8, 9, 27, 28, 29]
    with pytest.raises(ValueError, match="own series"):
        seasonal_naive(w, s, 18, bounds)   # the second series' windows would read rows 19-21


def test_seasonal_period_crossing_into_another_series_is_refused(tmp_path, capsys):
    csv = _two_series(tmp_path / "two.csv", {"a": 600, "b": 300})
    code = main(["forecast", "--csv", str(csv), "--time-col", "time", "--target", "temp", "--group-col", "station",
                 *TINY, "--seasonal-period", "250", "--out", str(tmp_path / "r")])
    assert code == 2
    _one_paragraph(capsys, "--seasonal-period", "250")


def test_a_series_too_short_for_any_window_is_reported(tmp_path, capsys, monkeypatch):
    import rnnkit.tasks.forecast_report as f
    plotted = {}
    real = f.plot_forecast
    monkeypatch.setattr(f, "plot_forecast", lambda path, truth, curves, **kw: plotted.update(
        truth=truth, title=kw["title"]) or real(path, truth, curves, **kw))
    csv = _two_series(tmp_path / "two.csv", {"a": 10, "b": 300})
    code = main(["forecast", "--csv", str(csv), "--time-col", "time", "--target", "temp", "--group-col", "station",
                 *TINY, "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "warning: series a has no train window" in err and "no test window" in err
    assert plotted["title"].endswith("of b") and len(plotted["truth"]) > 0


@pytest.mark.parametrize("text", ["inf", "-inf", "1e999"])
def test_infinite_values_are_refused_naming_column_and_row(tmp_path, capsys, text):
    """inf used to pass the reader and end as 'the training loss became nan ... Lower `lr`'."""
    csv = _csv(tmp_path / "s.csv")
    lines = csv.read_text().splitlines()
    cells = lines[6].split(",")
    cells[2] = text                                     # the wind column on line 7 (row 6 after the header)
    lines[6] = ",".join(cells)
    csv.write_text("\n".join(lines) + "\n")
    assert _forecast(csv, tmp_path / "r") == 2
    _one_paragraph(capsys, "'wind'", "line 7")
    assert not (tmp_path / "r").exists()


def test_a_constant_target_is_reported_not_divided_by_zero(tmp_path, capsys):
    csv = _csv(tmp_path / "s.csv", temp=5.0)
    assert main(["forecast", "--csv", str(csv), "--time-col", "time", "--target", "temp",
                 "--out", str(tmp_path / "r"), *[a for a in TINY if a != "--quiet"]]) == 0
    captured = capsys.readouterr()
    assert "n/a" in captured.out and "Traceback" not in captured.err
    assert "constant" in captured.err


# ------------------------------------------------------------------------------- tracebacks instead of errors

def _latin(p):
    _csv(p / "l.csv")
    df = pd.read_csv(p / "l.csv").assign(note="Zürich")
    df.to_csv(p / "l.csv", index=False, encoding="latin-1")
    return p / "l.csv"


def _ragged(p):
    text = _csv(p / "r.csv").read_text().replace("\n2020-01-02 00:00:00,", "\n2020-01-02 00:00:00,1,2,3,", 1)
    (p / "r.csv").write_text(text)
    return p / "r.csv"


def _binary(p):
    (p / "b.csv").write_bytes(bytes(range(256)) * 8)
    return p / "b.csv"


def _dir(p):
    (p / "d.csv").mkdir()
    return p / "d.csv"


def _ok(p):
    return _csv(p / "ok.csv")


CLASS = [  # (label, csv maker, extra args, words the one paragraph must hold)
    ("not UTF-8", _latin, [], ["l.csv", "UTF-8", "--encoding latin-1"]),
    ("ragged rows", _ragged, [], ["r.csv", "ragged", "line 26"]),
    ("binary file", _binary, [], ["b.csv", "binary"]),
    ("directory as --csv", _dir, [], ["--csv", "directory"]),
    ("target is the time column", _ok, ["--target", "time"], ["`target`", "time column"]),
    ("nan in --split", _ok, ["--split", "nan,0.15,0.15"], ["`split`", "nan"]),
    ("--resample 0h", _ok, ["--resample", "0h"], ["`resample`", "0h"]),
    ("negative --conv-filters", _ok, ["--conv-filters", "-1"], ["conv_filters", "-1"]),
    ("negative --dense-units", _ok, ["--dense-units", "-2"], ["dense_units", "-2"]),
    ("seed too large", _ok, ["--seed", str(2**70)], ["`--seed`", str(2**70)]),
    ("model too large for memory", _ok, ["--units", "10000000"], ["--units", "10000000", "GB"]),
    ("--agg without --resample", _ok, ["--agg", "wind=sum"], ["--agg", "--resample"]),
    ("--seasonal-period 0", _ok, ["--seasonal-period", "0"], ["--seasonal-period", "0"]),
    ("unknown --encoding", _latin, ["--encoding", "klingon"], ["--encoding", "klingon"]),
]


@pytest.mark.parametrize("label,make,extra,words", CLASS, ids=[c[0] for c in CLASS])
def test_bad_input_ends_in_one_paragraph(label, make, extra, words, tmp_path, good_run, capsys):
    _, run = good_run
    before = _snapshot(run)
    csv = make(tmp_path)
    args = ["forecast", "--csv", str(csv), "--time-col", "time", *TINY, *extra, "--out", str(tmp_path / "new")]
    if "--target" not in extra:
        args[5:5] = ["--target", "temp"]
    assert main(args) == 2
    _one_paragraph(capsys, *words)
    assert not (tmp_path / "new").exists()
    assert _snapshot(run) == before


def test_encoding_option_reads_a_latin1_csv(tmp_path):
    csv = _latin(tmp_path)
    assert _forecast(csv, tmp_path / "run", "--encoding", "latin-1", "--features", "temp,wind") == 0


def test_na_values_are_read_as_missing(tmp_path, capsys):
    csv = _csv(tmp_path / "s.csv")
    lines = csv.read_text().splitlines()
    lines[10] = lines[10].rsplit(",", 1)[0] + ",nil"
    lines[20] = lines[20].rsplit(",", 1)[0] + ",?"
    csv.write_text("\n".join(lines) + "\n")
    assert _forecast(csv, tmp_path / "r1") == 2
    _one_paragraph(capsys, "'wind'", "nil")
    assert _forecast(csv, tmp_path / "r2", "--na-values", "nil,?") == 0
    assert _forecast(csv, tmp_path / "r3", "--na-values", "nil,?", "--nan", "refuse") == 2
    _one_paragraph(capsys, "'wind': 2")


def test_a_checkpoint_with_fields_of_the_wrong_type_is_refused(good_run, tmp_path, capsys):
    import torch
    from rnnkit.training.checkpoint import save_state
    csv, out = good_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    state = load_state(copy / "checkpoints" / "last.pt")
    state["epoch"] = "1"
    run = RunDir.reopen(copy)                                  # written as rnnkit writes its runs
    save_state(copy / "checkpoints" / "last.pt", state)       # recorded in the manifest: only the type is wrong
    run.release()
    before = _snapshot(copy)
    assert _forecast(csv, copy, "--resume") == 2
    _one_paragraph(capsys, "last.pt", "'epoch'", "str")
    assert _snapshot(copy) == before


@pytest.mark.parametrize("kw", [dict(cell="gru"), dict(cell="lstm", layers=2, bidirectional=True),
                                dict(cell="rnn", conv_filters=3, dense_units=5), dict(cell="conv", layers=2),
                                dict(cell="dense", n_steps=12, horizon=3)])
def test_parameter_estimate_matches_the_built_model(kw):
    from rnnkit.models import Forecaster, ForecasterConfig
    cfg = ForecasterConfig(n_features=4, units=6, **kw)
    assert cfg.estimated_parameters() == sum(p.numel() for p in Forecaster(cfg).parameters())
