"""DistributedDataParallel under torchrun: 2 CPU processes (gloo) against one process.

One ``torchrun --standalone --nproc_per_node 2`` launch of this file (``__main__`` below) runs
three trainings in one process group:

- ``same``: no dropout, 3 epochs, shuffled windows, a batch size that leaves a last batch of one
  window (one rank then has an empty part); compared with the same training in this (single)
  process: same final weights and losses up to float summation order.
- ``split``: with dropout, 2 epochs, then a new Trainer resumes it to 3 epochs;
- ``whole``: the same 3 epochs uninterrupted: bit-identical to ``split`` (each rank's own RNG
  stream is checkpointed and restored).

Rank 1 records, with a Python audit hook, every file it opens for writing, creates, renames or
removes under the test's directory, and prints the list: it must be empty.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from training_helpers import TinyGRU, audit_writes  # noqa: E402

BATCH, N_ROWS = 10, 49           # lookback 8, delay 1 -> 41 windows: batches of 10, 10, 10, 10, 1


def _windows(seed=0):
    """41 windows (span 8 - 1 + 1 + 1 = 9 rows): the last batch has one window."""
    from rnnkit.data.windows import Windows
    g = np.random.default_rng(seed)
    data = g.standard_normal((N_ROWS, 3)).astype(np.float32)
    data[:, 0] = np.cumsum(data[:, 0]) * 0.1
    return Windows(data, target=0, lookback=8, delay=1)


def _trainer(run_dir, dropout, epochs, seed=3):
    from rnnkit.training.config import TrainConfig
    from rnnkit.training.trainer import Trainer
    torch.manual_seed(seed)
    model = TinyGRU(features=3, hidden=6, dropout=dropout)
    cfg = TrainConfig(epochs=epochs, optimizer="adam", lr=0.01, loss="mse", metrics=("mae",), seed=seed,
                      clip_norm=1.0, quiet=True, tensorboard=True)
    return Trainer(model, cfg, run_dir, run_config={"test": "ddp", "dropout": dropout})


def _fit(trainer, resume=False):
    w = _windows()
    return trainer.fit(w.batches(BATCH, shuffle=True, seed=5), w.batches(7), resume=resume)


def worker(root: str) -> None:
    from rnnkit.training import distributed
    from rnnkit.training.runs import create_run_dir
    rank = int(os.environ["RANK"])
    writes: list[str] = []
    if rank == 1:
        audit_writes(root, writes)
    ctx = distributed.context()
    run = distributed.on_main(lambda: create_run_dir("ddp", root=Path(root) / "runs"))
    _fit(_trainer(run, dropout=0.0, epochs=3))
    split, whole = Path(root) / "split", Path(root) / "whole"
    _fit(_trainer(distributed.on_main(lambda: create_run_dir("x", out=split)), dropout=0.3, epochs=2))
    _fit(_trainer(split, dropout=0.3, epochs=3), resume=True)
    _fit(_trainer(distributed.on_main(lambda: create_run_dir("x", out=whole)), dropout=0.3, epochs=3))
    report = {"rank": rank, "world": ctx.world_size, "backend": ctx.backend, "run": str(run), "writes": writes}
    print("REPORT " + json.dumps(report), flush=True)


@pytest.fixture(scope="module")
def ddp(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(
        [str(HERE.parents[1] / "src"), os.environ.get("PYTHONPATH", "")])}
    for k in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(k, None)
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           __file__, str(root)], env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    reports = [json.loads(line[7:]) for line in proc.stdout.splitlines() if line.startswith("REPORT ")]
    return root, {r["rank"]: r for r in reports}, proc.stdout


def _weights(run_dir):
    from rnnkit.training.checkpoint import read_weights
    return read_weights(Path(run_dir) / "model.safetensors")


def test_two_processes_with_gloo(ddp):
    _, reports, _ = ddp
    assert sorted(reports) == [0, 1]
    assert {r["world"] for r in reports.values()} == {2} and {r["backend"] for r in reports.values()} == {"gloo"}
    assert reports[0]["run"] == reports[1]["run"]       # rank 1 was given rank 0's directory


def test_same_weights_as_one_process_at_the_same_global_batch(ddp, tmp_path):
    from rnnkit.training.history import read_history_csv
    root, reports, _ = ddp
    single = _trainer(tmp_path / "one", dropout=0.0, epochs=3)
    hist = _fit(single)
    ddp_w, one_w = _weights(reports[0]["run"]), single.model.state_dict()
    assert set(ddp_w) == set(one_w)
    for k in one_w:
        torch.testing.assert_close(ddp_w[k], one_w[k], rtol=1e-4, atol=2e-5, msg=k)
    # and the run did train: the weights moved away from the (common) initialisation
    init = _trainer(None, dropout=0.0, epochs=1).model.state_dict()
    assert max((ddp_w[k] - init[k]).abs().max().item() for k in init) > 1e-2
    rows = read_history_csv(Path(reports[0]["run"]) / "history.csv")
    for mine, theirs in zip(rows, hist.rows, strict=True):
        for key in ("loss", "val_loss", "val_mae"):
            assert mine[key] == pytest.approx(theirs[key], rel=1e-5), key


def test_one_run_directory_and_no_file_written_by_rank_1(ddp):
    root, reports, _ = ddp
    assert [p.name for p in (root / "runs").iterdir()] == [Path(reports[0]["run"]).name]
    assert reports[1]["writes"] == []
    run = Path(reports[0]["run"])
    names = {str(p.relative_to(run)) for p in run.rglob("*") if p.is_file()}
    assert {"config.json", "history.csv", "model.safetensors", "checkpoints/last.pt", "manifest.json"} <= names
    assert not [n for n in names if n.endswith(".tmp")]


def test_resume_under_ddp_is_exact(ddp):
    root, _, _ = ddp
    split, whole = _weights(root / "split"), _weights(root / "whole")
    for k in whole:
        assert torch.equal(split[k], whole[k]), k
    state = torch.load(root / "whole" / "checkpoints" / "last.pt", weights_only=True)
    assert state["world_size"] == 2 and len(state["rng_ranks"]) == 2
    # the two ranks drew different dropout masks (their torch RNG streams differ)
    assert not torch.equal(state["rng_ranks"][0]["torch"], state["rng_ranks"][1]["torch"])


def test_one_process_refuses_to_resume_a_two_process_checkpoint(ddp):
    from rnnkit.errors import CheckpointError
    root, _, _ = ddp
    before = (root / "split" / "checkpoints" / "last.pt").read_bytes()
    with pytest.raises(CheckpointError, match="nproc_per_node 2"):
        _fit(_trainer(root / "split", dropout=0.3, epochs=4), resume=True)
    assert (root / "split" / "checkpoints" / "last.pt").read_bytes() == before


def test_shards_cover_each_global_batch_once_with_weights_that_restore_its_mean():
    """In-process (no process group needed): rank parts of every batch, WindowBatches and a list."""
    from rnnkit.training.distributed import Context
    w = _windows()
    ranks = [Context(rank=r, world_size=3, local_rank=r, backend="gloo") for r in range(3)]
    count = lambda y: y.shape[0]
    for data in (lambda: w.batches(BATCH, shuffle=True, seed=5), lambda: list(w.batches(BATCH, shuffle=True, seed=5))):
        whole = list(data())
        parts = [list(c.train_batches(data(), count)) for c in ranks]
        assert all(len(p) == len(whole) for p in parts)          # every rank steps with every batch
        for i, (x, y) in enumerate(whole):
            got = [parts[r][i] for r in range(3)]
            kept = [(b, n) for b, wt, n in got if n]
            torch.testing.assert_close(torch.cat([b[0] for b, _ in kept]), x)      # in order, nothing twice
            torch.testing.assert_close(torch.cat([b[1] for b, _ in kept]), y)
            # sum_r weight_r * mean_r / world == the batch mean, for any per-sample values
            v = torch.arange(len(y), dtype=torch.float64)
            lo = 0
            means = []
            for b, wt, n in got:
                means.append(wt * (v[lo:lo + n].mean().item() if n else 123.0))
                lo += n
            assert sum(means) / 3 == pytest.approx(v.mean().item())
    last = [p[-1] for p in (list(c.train_batches(w.batches(BATCH, shuffle=True, seed=5), count)) for c in ranks)]
    assert [n for _, _, n in last] == [1, 0, 0] and [wt for _, wt, _ in last] == [3.0, 0.0, 0.0]


def test_a_dataloader_with_a_distributed_sampler_is_refused():
    from rnnkit.errors import InvalidArgumentError
    from rnnkit.training.distributed import Context
    from torch.utils.data import DataLoader, TensorDataset
    from torch.utils.data.distributed import DistributedSampler
    ds = TensorDataset(torch.zeros(8, 2), torch.zeros(8))
    loader = DataLoader(ds, batch_size=4, sampler=DistributedSampler(ds, num_replicas=2, rank=0))
    with pytest.raises(InvalidArgumentError, match="DistributedSampler"):
        Context(0, 2, 0, "gloo").train_batches(loader, len)


if __name__ == "__main__":
    torch.set_num_threads(1)
    worker(sys.argv[1])
