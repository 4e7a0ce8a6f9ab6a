"""A command flushes subnormal floats while it runs and leaves the caller's floating-point mode as
it was, on the calling thread and on the workers of torch's thread pool (rnnkit._subnormals).

The mode of a pool worker is copied from the thread that starts it, so each case runs in a fresh
interpreter where the pool has not started yet (the state a notebook or script is in)."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# After the block: how many of 2^20 subnormals a two-thread multiply flushed (half of them ran on
# the worker) and whether the calling thread flushes.
PROBE = """
import torch
from rnnkit._subnormals import flushing
y = torch.full((1 << 20,), 1e-40) * 1.0
print("flushed", int((y == 0).sum()), "caller", flushing())
"""


def _fresh(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code) + PROBE], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "2",
                                                       "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip().splitlines()[-1]


def test_a_command_run_in_process_leaves_no_thread_flushing(tmp_path):
    # the leak this guards against: a command that starts the pool while it flushes left the worker
    # flushing afterwards (half of the probe's values came back 0)
    out = _fresh(f"""
        import torch
        torch.set_num_threads(2)
        from tests.recipes.cli_helpers import _csv
        from rnnkit.cli import main
        csv = _csv(__import__("pathlib").Path({str(tmp_path)!r}) / "s.csv")
        assert main(["forecast", "--csv", str(csv), "--time-col", "time", "--target", "temp", "--lookback", "12",
                     "--delay", "2", "--units", "4", "--epochs", "1", "--steps-per-epoch", "3", "--quiet",
                     "--out", {str(tmp_path / "run")!r}]) == 0
    """)
    assert out == "flushed 0 caller False"


def test_the_block_flushes_inside_and_restores_a_caller_that_flushed_before():
    out = _fresh("""
        import torch
        from rnnkit._subnormals import flushing, subnormals_flushed
        torch.set_num_threads(2)
        assert not flushing()
        with subnormals_flushed():
            assert flushing() and float(torch.tensor([1e-40]) * 1.0) == 0.0
        assert not flushing()
        torch.set_flush_denormal(True)
        with subnormals_flushed():
            pass
        assert flushing()            # the caller's own choice stays
        torch.set_flush_denormal(False)
    """)
    assert out == "flushed 0 caller False"


@pytest.mark.parametrize("before", [False, True])
def test_flushing_reports_this_threads_mode(before):
    import torch
    from rnnkit._subnormals import flushing
    was = flushing()
    torch.set_flush_denormal(before)
    try:
        assert flushing() is before
    finally:
        torch.set_flush_denormal(was)


def test_a_notebook_call_flushes_while_it_runs_and_leaves_no_thread_flushing(tmp_path):
    # rnnkit.classify and Run.predict run as the command does (rnnkit.api._common.flushing_subnormals)
    out = _fresh(f"""
        import torch
        torch.set_num_threads(2)
        import pandas as pd, rnnkit, rnnkit.api.calls as calls, rnnkit.api.run as run_module
        from rnnkit._subnormals import flushing
        seen = []
        train, table = calls.train, run_module.predict_table
        calls.train = lambda *a: (seen.append(flushing()), train(*a))[1]
        run_module.predict_table = lambda *a: (seen.append(flushing()), table(*a))[1]
        reviews = pd.read_csv("tests/tasks/fixtures/tiny_reviews.csv")
        run = rnnkit.classify(reviews, text_col="review", label_col="sentiment", units=4, epochs=1, quiet=True,
                              out={str(tmp_path / "run")!r})
        assert not flushing()
        run.predict(["a fine film"])
        assert seen == [True, True], seen
    """)
    assert out == "flushed 0 caller False"
