"""``rnnkit classify``, ``tag``, ``lm train`` and ``translate train`` under torchrun: 2 CPU processes
(gloo) against one process.

One ``torchrun --standalone --nproc_per_node 2`` launch of this file (``__main__`` below) runs the
real commands (``rnnkit.cli.main``) on the tiny fixtures, without dropout, at global batch sizes
that leave the two ranks parts of different sizes:

- ``classify`` (texts with lengths, a last batch of 3 rows), ``tag`` (token-weighted parts:
  sentences of different lengths, padding ignored; run without ``--out``, so the run directory is
  named by rank 0's clock and must be the only one), ``translate train`` (seq2seq pairs, parts
  weighted by their target tokens) and ``lm train`` (5 streams: 3 on rank 0, 2 on rank 1, the
  hidden state carried across windows and epochs, validation over carried streams);
- ``lm train`` with dropout for 2 epochs, then ``--resume`` to 3, and the same 3 epochs
  uninterrupted: bit-identical (each rank's RNG and its own streams' state are checkpointed).

The same commands in this (single) process give the reference: same final weights and the same
history (training and validation loss) up to float summation order. Rank 1 records with a
Python audit hook every file it opens for writing, creates, renames or removes under the test's
directory, and everything it prints: both must be empty.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "training"))
from training_helpers import audit_writes  # noqa: E402

FIX = Path(__file__).resolve().parent / "fixtures"
COMMANDS = {
    "classify": ["classify", "--csv", str(FIX / "tiny_reviews.csv"), "--text-col", "review", "--label-col",
                 "sentiment", "--units", "8", "--embedding-dim", "8", "--epochs", "3", "--batch-size", "9",
                 "--patience", "0", "--no-baselines", "--maxlen", "20", "--seed", "1", "--dropout", "0",
                 "--head-dropout", "0"],
    "tag": ["tag", "--conll", str(FIX / "tiny_ner.txt"), "--units", "6", "--embedding-dim", "6", "--epochs", "2",
            "--batch-size", "7", "--dropout", "0", "--output-dropout", "0", "--patience", "0", "--seed", "2"],
    "translate": ["translate", "train", "--pairs", str(FIX / "translate" / "fra.txt"), "--embed", "8", "--units",
                  "12", "--epochs", "2", "--batch-size", "5", "--dropout", "0", "--patience", "0",
                  "--max-output", "8"],
    "lm": ["lm", "train", "--text", str(FIX / "lm" / "tiny.txt"), "--bptt", "20", "--batch-size", "5",
           "--windows-per-epoch", "3", "--embedding-dim", "8", "--hidden-size", "12", "--num-layers", "1",
           "--sample-length", "10", "--cell", "lstm", "--epochs", "3", "--dropout", "0"],
}
# for the resume runs, interrupted by the epoch cap (2, then 3): a constant rate (a cosine spans --epochs)
LM_DROPOUT = [*COMMANDS["lm"][:-2], "--dropout", "0.3", "--lr-schedule", "plateau"]


def worker(root: str, reports: str) -> None:
    from rnnkit.cli import main
    from rnnkit.training import distributed
    rank = int(os.environ["RANK"])
    writes: list[str] = []
    if rank == 1:
        audit_writes(root, writes)
    ctx = distributed.context()
    out, codes = io.StringIO(), {}

    def run(argv):      # a rank that failed leaves at once (torchrun then stops the other)
        code = main(argv)
        if code:
            raise SystemExit(f"rank {rank}: rnnkit {' '.join(argv[:2])} exited with {code}")
        return code

    with contextlib.redirect_stdout(out):
        for name in ("classify", "translate", "lm"):
            codes[name] = run([*COMMANDS[name], "--out", str(Path(root) / name)])
        default = Path(root) / "default"
        distributed.on_main(lambda: default.mkdir())
        os.chdir(default)                             # tag without --out: runs/tag-<time> named by rank 0
        codes["tag"] = run(COMMANDS["tag"])
        for name, argv in (("split", [*LM_DROPOUT, "--epochs", "2"]), ("split", [*LM_DROPOUT, "--resume"]),
                           ("whole", LM_DROPOUT)):
            codes.setdefault(name, []).append(run([*argv, "--out", str(Path(root) / name)]))
    report = {"rank": rank, "world": ctx.world_size, "backend": ctx.backend, "codes": codes, "writes": writes,
              "printed": out.getvalue()}
    # one file per rank, outside the audited directory (two ranks' lines on one pipe interleave)
    Path(reports, f"rank{rank}.json").write_text(json.dumps(report))


@pytest.fixture(scope="module")
def ddp(tmp_path_factory):
    root, reports = tmp_path_factory.mktemp("ddp_tasks"), tmp_path_factory.mktemp("ddp_reports")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(
        [str(FIX.parents[2] / "src"), os.environ.get("PYTHONPATH", "")])}
    for k in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(k, None)
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           __file__, str(root), str(reports)], env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return root, {r["rank"]: r for r in (json.loads(p.read_text()) for p in reports.glob("rank*.json"))}


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    """The same commands in one process (the reference)."""
    from rnnkit.cli import main
    root = tmp_path_factory.mktemp("one_process")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            for name, argv in COMMANDS.items():
                assert main([*argv, "--out", str(root / name)]) == 0, name
    finally:
        torch.set_num_threads(threads)
    return root


def _weights(run_dir):
    from rnnkit.training.checkpoint import read_weights
    return read_weights(Path(run_dir) / "model.safetensors")


def _history(run_dir):
    from rnnkit.training.history import read_history_csv
    return read_history_csv(Path(run_dir) / "history.csv")


def _tag_run(root) -> Path:
    runs = list((root / "default" / "runs").iterdir())
    assert len(runs) == 1, runs                  # one run directory, named by rank 0
    return runs[0]


def _ddp_run(root, name) -> Path:
    return _tag_run(root) if name == "tag" else root / name


def test_every_command_ran_on_two_gloo_processes(ddp):
    _, reports = ddp
    assert sorted(reports) == [0, 1]
    assert {r["world"] for r in reports.values()} == {2} and {r["backend"] for r in reports.values()} == {"gloo"}
    for r in reports.values():
        assert r["codes"] == {"classify": 0, "translate": 0, "lm": 0, "tag": 0, "split": [0, 0], "whole": [0]}


@pytest.mark.parametrize("name", list(COMMANDS))
def test_same_weights_and_history_as_one_process_at_the_same_global_batch(ddp, single, name):
    root, _ = ddp
    ddp_w, one_w = _weights(_ddp_run(root, name)), _weights(single / name)
    assert set(ddp_w) == set(one_w)
    for k in one_w:
        if not k.endswith("_extra_state"):    # the LM's carried state: compared per stream below
            torch.testing.assert_close(ddp_w[k], one_w[k], rtol=1e-4, atol=2e-5, msg=f"{name} {k}")
    rows, ref = _history(_ddp_run(root, name)), _history(single / name)
    assert len(rows) == len(ref) and len(rows) >= 2
    for mine, theirs in zip(rows, ref):
        for key in ("loss", "val_loss"):
            assert mine[key] == pytest.approx(theirs[key], rel=1e-5), (name, key)
    assert rows[-1]["loss"] < rows[0]["loss"] or name == "lm"   # it trained (the LM: a new window each epoch)


def test_each_rank_carries_the_state_of_its_own_streams(ddp, single):
    """5 streams: rank 0 trains streams 0-2 and keeps their state, rank 1 streams 3-4."""
    root, _ = ddp
    whole = _weights(single / "lm")["_extra_state"]          # (h, c) x layers x streams x units
    assert tuple(whole.shape) == (2, 1, 5, 12)
    state = torch.load(root / "lm" / "checkpoints" / "last.pt", weights_only=True)
    parts = [s["_extra_state"] for s in state["extra_state_ranks"]]
    assert [tuple(p.shape) for p in parts] == [(2, 1, 3, 12), (2, 1, 2, 12)]
    torch.testing.assert_close(torch.cat(parts, dim=2), whole, rtol=1e-4, atol=2e-5)
    torch.testing.assert_close(_weights(root / "lm")["_extra_state"], parts[0])   # model.safetensors: rank 0's


def test_lm_resume_under_torchrun_is_exact(ddp):
    root, _ = ddp
    split, whole = _weights(root / "split"), _weights(root / "whole")
    for k in whole:
        assert torch.equal(split[k], whole[k]), k
    a, b = (torch.load(root / n / "checkpoints" / "last.pt", weights_only=True) for n in ("split", "whole"))
    for r in range(2):
        assert torch.equal(a["extra_state_ranks"][r]["_extra_state"], b["extra_state_ranks"][r]["_extra_state"])
    assert [r["loss"] for r in _history(root / "split")] == [r["loss"] for r in _history(root / "whole")]
    # dropout drew different masks on the two ranks (their own RNG streams)
    assert not torch.equal(b["rng_ranks"][0]["torch"], b["rng_ranks"][1]["torch"])


def test_rank_0_alone_writes_and_prints(ddp):
    root, reports = ddp
    assert reports[1]["writes"] == [] and reports[1]["printed"] == ""
    printed = reports[0]["printed"]
    assert "run directory:" in printed and "bits/char" in printed and "copy baseline BLEU" in printed
    assert sorted(p.name for p in root.iterdir()) == ["classify", "default", "lm", "split", "translate", "whole"]
    for name, extra in (("classify", ["metrics.json", "confusion_test.png", "misclassified_test.csv", "vocabulary.json"]),
                        ("tag", ["metrics.json", "vocabulary.json"]),
                        ("translate", ["metrics.json", "translations_test.csv", "source_vocabulary.json"]),
                        ("lm", ["metrics.json", "sample.txt", "val_loss_time.png", "vocabulary.json"])):
        run = _ddp_run(root, name)
        names = {str(p.relative_to(run)) for p in run.rglob("*") if p.is_file()}
        assert {"config.json", "history.csv", "model.safetensors", "checkpoints/last.pt", "manifest.json",
                *extra} <= names, name
        assert not [n for n in names if n.endswith(".tmp")]


def test_the_stream_split_in_process():
    """Without a process group: the rank parts of LM windows keep the reset flag whole, cover the
    streams once in order, and stand for the batch's rows; token-weighted parts of padded tags
    restore the global mean and the epoch's row count."""
    from rnnkit.data.streams import StreamBatches
    from rnnkit.training.distributed import Context
    ranks = [Context(rank=r, world_size=2, local_rank=r, backend="gloo") for r in range(2)]
    stream = StreamBatches(torch.arange(101), batch_size=5, bptt=4)
    tokens = lambda y: int((y != -100).sum())
    for rank in ranks:
        for ((x, reset), y), (b, n) in zip(stream, rank.eval_batches(stream, None, tokens)):
            (xr, rr), yr = b
            assert rr.dim() == 0 and bool(rr) == bool(reset)
            lo, hi = (0, 3) if rank.rank == 0 else (3, 5)
            assert torch.equal(xr, x[lo:hi]) and torch.equal(yr, y[lo:hi]) and n == hi - lo
    y = torch.tensor([[1, 2, 3, -100], [1, 2, -100, -100], [4, 5, -100, -100]])
    batch = ((torch.zeros(3, 4), torch.tensor([3, 2, 2])), y)
    got = [next(iter(r.train_batches([batch], tokens))) for r in ranks]      # rows 0-1 | row 2
    assert [wt for _, wt, _ in got] == pytest.approx([5 * 2 / 7, 2 * 2 / 7])  # 5 and 2 of the 7 tokens
    assert [n for _, _, n in got] == pytest.approx([3 * 5 / 7, 3 * 2 / 7])    # the 3 rows in that proportion
    assert [tuple(b[0][1].shape) for b, _, _ in got] == [(2,), (1,)]         # lengths cut with the rows

    class Carried(list):                  # any data that says it carries a state is validated by rows too
        carries_state = True
    parts = [list(r.eval_batches(Carried([batch]), None, tokens)) for r in ranks]
    assert [[tuple(b[1].shape) for b, _ in p] for p in parts] == [[(2, 4)], [(1, 4)]]
    assert [list(r.eval_batches([batch], None, tokens)) for r in ranks] == [[(batch, None)], []]   # else round-robin


if __name__ == "__main__":
    torch.set_num_threads(1)
    worker(sys.argv[1], sys.argv[2])
