"""rnnkit compare: hand-written run directories (known configs, metrics, histories), damaged ones,
and two trained runs whose TensorBoard events TensorBoard's own reader loads."""
from __future__ import annotations

import json

import pytest

from rnnkit.cli import main
from rnnkit.training.checkpoint import atomic_write_json, atomic_write_text
from rnnkit.training.runs import create_run_dir


def _run(root, name, units, lr, test_mae, val_losses, cs=7.5):
    d = create_run_dir(name, out=root / name)
    atomic_write_json(d / "config.json", {"job": {"units": units, "lr": lr, "cell": "gru", "split": [0.7, 0.15, 0.15]},
                                          "model": {"units": units}, "data": {"rows": 100 + units},
                                          "train": {"lr": lr, "seed": 0}})
    atomic_write_json(d / "metrics.json", {"test": {"model": {"mae": test_mae}, "common_sense": {"mae": cs}}})
    atomic_write_text(d / "history.csv", "epoch,loss,val_loss,lr,time\n" + "".join(
        f"{i + 1},{v + 0.1},{v},{lr},0.5\n" for i, v in enumerate(val_losses)))
    return d


@pytest.fixture
def runs(tmp_path):
    return [_run(tmp_path, "a", 32, 0.001, 6.25, [0.5, 0.4, 0.35]), _run(tmp_path, "b", 64, 0.001, 6.125, [0.6, 0.3])]


def test_table_has_only_differing_fields_and_the_test_metrics(runs, tmp_path, capsys):
    png = tmp_path / "c.png"
    assert main(["compare", *map(str, runs), "--png", str(png)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    header = lines[0].split()
    assert header == ["run", "units", "test", "model.mae"]   # lr, cell, split, seed equal; data.* is not a choice
    assert lines[1].split() == ["a", "32", "6.25"] and lines[2].split() == ["b", "64", "6.125"]
    assert "common_sense.mae 7.5" in out                      # the same in both runs: said once
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "of 2 run(s)" in out


def test_the_png_is_never_written_over_a_file_or_into_a_run(runs, tmp_path, capsys):
    other = tmp_path / "mine.png"
    other.write_bytes(b"not rnnkit's")
    assert main(["compare", *map(str, runs), "--png", str(other)]) == 2
    assert other.read_bytes() == b"not rnnkit's" and "--force" in capsys.readouterr().err
    before = (runs[0] / "manifest.json").read_bytes()
    assert main(["compare", *map(str, runs), "--png", str(runs[0] / "c.png")]) == 2
    assert not (runs[0] / "c.png").exists() and (runs[0] / "manifest.json").read_bytes() == before
    assert "outside every run directory" in capsys.readouterr().err


@pytest.mark.parametrize("damage, needle", [
    (lambda d: (d / "config.json").unlink(), "has no config.json"),
    (lambda d: (d / "config.json").write_text("{not json"), "config.json is not valid JSON"),
    (lambda d: (d / "config.json").write_text("[1, 2]"), "not an object"),
    (lambda d: (d / "history.csv").write_text("epoch,val_loss\n1,0.5\n2,abc\n"), "history.csv, line 3"),
    (lambda d: (d / "history.csv").write_text("epoch,val_loss\n1,0.5,9\n"), "history.csv, line 2"),
    (lambda d: (d / "history.csv").write_text("a,b\n1,2\n"), "no 'epoch' column"),
    (lambda d: (d / "metrics.json").write_bytes(b"\xff\xfe\x00"), "not UTF-8"),
])
def test_damaged_run_dirs_give_a_clear_message(runs, tmp_path, capsys, damage, needle):
    damage(runs[1])
    assert main(["compare", *map(str, runs), "--png", str(tmp_path / "c.png")]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err and str(runs[1]) in err


def test_missing_dir_and_unfinished_run(runs, tmp_path, capsys):
    assert main(["compare", str(runs[0]), str(tmp_path / "nope"), "--png", ""]) == 2
    assert "does not exist" in capsys.readouterr().err
    (runs[1] / "metrics.json").unlink()
    (runs[1] / "history.csv").unlink()
    assert main(["compare", *map(str, runs), "--png", str(tmp_path / "c.png")]) == 0
    out = capsys.readouterr().out
    assert "b: no metrics.json" in out and "b: no history.csv" in out and "of 1 run(s)" in out
    assert out.splitlines()[2].split() == ["b", "64", "-", "-"]     # model.mae, common_sense.mae unknown


def test_runs_with_the_same_folder_name_get_distinct_labels(tmp_path, capsys):
    a = _run(tmp_path / "x", "best", 8, 0.01, 5.0, [0.2])
    b = _run(tmp_path / "y", "best", 16, 0.01, 4.0, [0.1])
    assert main(["compare", str(a), str(b), "--png", ""]) == 0
    rows = capsys.readouterr().out.splitlines()[1:3]
    assert rows[0].startswith("x/best") and rows[1].startswith("y/best")


def test_tensorboard_reads_every_trained_run_side_by_side(tmp_path, capsys):
    import torch
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from rnnkit.training.trainer import Trainer
    x = torch.randn(32, 3)
    data = [(x[i:i + 8], x[i:i + 8].sum(1, keepdim=True)) for i in range(0, 32, 8)]
    dirs = []
    for lr in (0.01, 0.1):
        d = create_run_dir("r", out=tmp_path / f"lr{lr}")
        Trainer(torch.nn.Linear(3, 1), epochs=3, lr=lr, loss="mse", quiet=True, run_dir=d,
                run_config={"lr": lr}).fit(data, data)
        dirs.append(d)
    assert main(["compare", *map(str, dirs), "--png", str(tmp_path / "c.png")]) == 0
    out = capsys.readouterr().out
    assert "tensorboard --logdir_spec" in out and out.splitlines()[0].split()[:2] == ["run", "lr"]
    for d in dirs:
        acc = EventAccumulator(str(d / "tensorboard"))
        acc.Reload()
        history = [json.loads(json.dumps(r)) for r in (d / "history.csv").read_text().splitlines()[1:]]
        assert [e.step for e in acc.Scalars("val_loss")] == [1, 2, 3] and len(history) == 3
