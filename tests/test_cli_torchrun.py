"""``python -m rnnkit`` under ``torchrun --standalone --nproc_per_node 2``: a bad argument value
(one argparse accepts and rnnkit's checks refuse) is reported once, by rank 0, and every rank
exits with code 2.

Each rank runs this file's ``__main__``, which runs the ``rnnkit`` module exactly as ``-m rnnkit``
does (``runpy``), records its exit code in a file, and (rank 0) waits for rank 1's before leaving:
torchrun stops the other ranks as soon as one fails, and the test must see rank 1 reach the
error, or it would pass whether rank 1 printed or not.
"""
from __future__ import annotations

import os
import runpy
import subprocess
import sys
import time
from pathlib import Path

BAD = ["forecast", "--seasonal-period", "0"]        # passes argparse (an int), refused by forecast_job


def test_a_bad_argument_is_reported_once_and_every_rank_exits_with_2(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).resolve().parents[1] / "src"), os.environ.get("PYTHONPATH", "")])}
    for k in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(k, None)
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           __file__, str(tmp_path), *BAD], env=env, capture_output=True, text=True, timeout=120)
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("rnnkit: error:")]
    assert len(lines) == 1, proc.stderr[-4000:]
    assert "--seasonal-period" in lines[0] and "got 0" in lines[0]
    codes = {p.name: p.read_text() for p in tmp_path.iterdir()}
    assert codes == {"rank0": "2", "rank1": "2"}, proc.stderr[-4000:]
    assert proc.returncode != 0 and "exitcode  : 2" in proc.stderr       # torchrun's own failure report
    frames = [ln for ln in proc.stderr.splitlines() if ln.lstrip().startswith('File "') and "rnnkit" in ln]
    assert frames == []                  # no traceback through rnnkit (torchrun prints its own)


def _rank_main(reports: str, argv: list[str]) -> None:
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


if __name__ == "__main__":
    _rank_main(sys.argv[1], sys.argv[2:])
