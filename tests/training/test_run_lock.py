"""Issue 19 item 2: one writer per run directory, with real processes.

A second writer is refused (exit 2, one paragraph naming the directory and the PID holding it)
and leaves the directory byte-identical; the first finishes with one intact run; a writer
killed with SIGKILL leaves no stale lock; readers never take the lock.
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import rnnkit
from rnnkit.cli import main
from rnnkit.training import create_run_dir, load_run, manifest, run_lock
from rnnkit.errors import CheckpointError
from rnnkit.training.run_lock import RunLock, RunLockedError

from tests.recipes.cli_helpers import _csv, _snapshot

pytestmark = pytest.mark.skipif(run_lock.fcntl is None, reason="flock is POSIX-only")

SRC = str(Path(rnnkit.__file__).resolve().parents[1])
# long enough that the first writer is still running when it is stopped; no early stopping
SLOW = ["--units", "4", "--epochs", "12", "--steps-per-epoch", "4", "--lookback", "12", "--delay", "2",
        "--quiet", "--patience", "100"]


def _env():
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _forecast_cmd(csv, out, *extra):
    return [sys.executable, "-m", "rnnkit", "forecast", "--csv", str(csv), "--time-col", "time",
            "--target", "temp", "--out", str(out), *SLOW, *extra]


def _wait_for_lock(out: Path, proc, timeout=120.0):
    """Until ``proc`` has written its PID into ``out/.lock`` (it holds the lock then)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if (out / run_lock.LOCK).read_text().strip() == str(proc.pid):
                return
        except OSError:
            pass
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    raise AssertionError("the writer never took the lock")


def _one_paragraph(err: str, *words):
    assert err.startswith("rnnkit: error: ") and "Traceback" not in err, err
    assert err.strip().count("\n") == 0, err
    for w in words:
        assert w in err, (w, err)


def _holder(path):
    """A process that takes ``path``'s lock and sleeps; returned once it holds it."""
    code = ("import sys, time; from rnnkit.training.run_lock import RunLock; RunLock(sys.argv[1]).acquire(); "
            "print('held', flush=True); time.sleep(600)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(path)], env=_env(), stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def _stop(proc):
    proc.kill()
    proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def test_a_second_writer_is_refused_and_the_first_finishes_one_intact_run(tmp_path):
    csv, out = _csv(tmp_path / "s.csv"), tmp_path / "R"
    first = subprocess.Popen(_forecast_cmd(csv, out), env=_env(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_lock(out, first)
        os.kill(first.pid, signal.SIGSTOP)       # frozen while holding the lock: the tree cannot move
        before = _snapshot(out)
        second = subprocess.run(_forecast_cmd(csv, out, "--resume"), env=_env(), capture_output=True,
                                text=True, timeout=300)
        assert second.returncode == 2, second.stderr
        _one_paragraph(second.stderr, str(out), f"process {first.pid}", "--resume")
        assert _snapshot(out) == before
        # without --resume: refused as well, nothing touched
        third = subprocess.run(_forecast_cmd(csv, out), env=_env(), capture_output=True, text=True, timeout=300)
        assert third.returncode == 2 and _snapshot(out) == before, third.stderr
        _one_paragraph(third.stderr, str(out))
    finally:
        os.kill(first.pid, signal.SIGCONT)
    _, err = first.communicate(timeout=600)
    assert first.returncode == 0, err
    manifest.verify(out)                         # every recorded file has its recorded checksum
    run = load_run(out)
    hist = (out / "history.csv").read_text().splitlines()
    assert len(hist) == 1 + 12 and run["config"]["job"]["epochs"] == 12
    assert not run_lock.held(out)


def test_a_writer_killed_with_sigkill_leaves_no_stale_lock(tmp_path):
    csv, out = _csv(tmp_path / "s.csv"), tmp_path / "R"
    first = subprocess.Popen(_forecast_cmd(csv, out), env=_env(), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    _wait_for_lock(out, first)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=60)
    assert (out / run_lock.LOCK).read_text().strip() == str(first.pid)   # the file stays, the lock does not
    assert main(_forecast_cmd(csv, out, "--resume")[3:]) == 0
    manifest.verify(out)
    assert len((out / "history.csv").read_text().splitlines()) == 1 + 12


def test_create_run_dir_refuses_a_directory_another_process_writes(tmp_path):
    out = tmp_path / "R"
    create_run_dir("x", out)
    run_lock.release(out)
    holder = _holder(out)
    try:
        before = _snapshot(out)
        for exist_ok in (True, False):
            with pytest.raises(RunLockedError) as e:
                create_run_dir("x", out, exist_ok=exist_ok)
            assert str(out) in str(e.value) and f"process {holder.pid}" in str(e.value)
            assert _snapshot(out) == before
    finally:
        _stop(holder)
    assert create_run_dir("x", out, exist_ok=True) == out      # the kernel dropped the lock
    assert (out / run_lock.LOCK).read_text().strip() == str(os.getpid())
    run_lock.release(out)


def test_the_lock_file_is_not_a_run_file(tmp_path):
    out = tmp_path / "R"
    out.mkdir()
    with RunLock(out):                           # an empty folder with only a lock is still empty
        assert not manifest.has_content(out)
    assert create_run_dir("x", out) == out and manifest.is_run_dir(out)
    assert run_lock.LOCK not in manifest._read(out)["files"]
    run_lock.release(out)


def test_a_claim_killed_before_its_manifest_was_in_place_is_taken_over(tmp_path):
    out = tmp_path / "R"
    out.mkdir()
    (out / run_lock.LOCK).write_text("12345\n")               # what kill -9 during the claim leaves
    (out / f".{manifest.MANIFEST}.x1y2.tmp").write_text('{"rnnkit_run": 1, "fi')
    assert create_run_dir("x", out) == out and manifest.is_run_dir(out)
    assert sorted(p.name for p in out.iterdir()) == [run_lock.LOCK, manifest.MANIFEST]
    run_lock.release(out)
    other = tmp_path / "mine"
    other.mkdir()
    (other / run_lock.LOCK).write_text("")
    (other / "notes.txt").write_text("keep")                     # anything else: not rnnkit's, refused
    with pytest.raises(CheckpointError, match="not created by rnnkit"):
        create_run_dir("x", other)


def test_readers_never_take_the_lock(tmp_path, capsys):
    csv, out = _csv(tmp_path / "s.csv"), tmp_path / "R"
    assert main(["forecast", "--csv", str(csv), "--time-col", "time", "--target", "temp", "--out", str(out),
                 "--units", "4", "--epochs", "1", "--steps-per-epoch", "2", "--lookback", "12", "--delay", "2",
                 "--quiet"]) == 0
    holder = _holder(out)
    try:
        before = _snapshot(out)
        model = rnnkit.load_model(out)
        assert sum(p.numel() for p in model.parameters()) > 0
        assert main(["predict", "--run", str(out), "--output", str(tmp_path / "f.csv")]) == 0
        assert (tmp_path / "f.csv").stat().st_size > 0
        assert _snapshot(out) == before
    finally:
        _stop(holder)


FIX = Path(__file__).resolve().parents[1] / "tasks" / "fixtures"


def _writers(csv):
    forecast = ["--csv", str(csv), "--time-col", "time", "--target", "temp", "--units", "4", "--epochs", "1",
                "--steps-per-epoch", "2", "--lookback", "12", "--delay", "2", "--quiet"]
    return {
        "forecast": ["forecast", *forecast],
        "classify": ["classify", "--csv", str(FIX / "tiny_reviews.csv"), "--text-col", "review", "--label-col",
                     "sentiment", "--epochs", "1", "--units", "4", "--quiet"],
        "tag": ["tag", "--conll", str(FIX / "tiny_ner.txt"), "--epochs", "1", "--units", "4", "--quiet"],
        "lm train": ["lm", "train", "--text", str(FIX / "lm" / "tiny.txt"), "--batch-size", "4", "--bptt", "16",
                     "--epochs", "1", "--hidden-size", "8", "--num-layers", "1", "--quiet"],
        "translate train": ["translate", "train", "--pairs", str(FIX / "translate" / "fra.txt"), "--epochs", "1",
                            "--units", "8", "--embed", "4", "--quiet"],
        "tune forecast": ["tune", "forecast", *forecast, "--trials", "1", "--space", "units=4|8"],
        "recipe seed000": ["recipe", "seed000", "--stations", "JFK,LGA", "--units", "4", "--epochs", "1",
                           "--steps-per-epoch", "2", "--lookback", "24", "--batch-size", "8", "--quiet"],
    }


@pytest.mark.parametrize("command", ["forecast", "classify", "tag", "lm train", "translate train", "tune forecast",
                                     "recipe seed000"])
def test_every_writing_command_is_refused_while_another_process_writes_its_directory(command, tmp_path, capsys):
    out = tmp_path / "R"
    out.mkdir()
    argv = _writers(_csv(tmp_path / "s.csv"))[command]
    holder = _holder(out)
    try:
        before = _snapshot(out)
        capsys.readouterr()
        for resume in ([], ["--resume"]) if command not in ("recipe seed000",) else ([],):
            assert main([*argv, "--out", str(out), *resume]) == 2
            _one_paragraph(capsys.readouterr().err, str(out), f"process {holder.pid}")
            assert _snapshot(out) == before
    finally:
        _stop(holder)


def test_a_reader_never_sees_a_file_being_replaced_as_corrupt(tmp_path):
    """A reader verifies a run while another process rewrites one of its files (atomically, its
    checksum recorded before and after): never a false 'has changed' error."""
    out = tmp_path / "R"
    create_run_dir("x", out)
    run_lock.release(out)
    code = ("import sys, time, os; from rnnkit.training.runs import create_run_dir;"
            "from rnnkit.training.checkpoint import atomic_write_bytes; out = sys.argv[1];"
            "create_run_dir('x', out, exist_ok=True); atomic_write_bytes(out + '/w.bin', b'0');"
            "print('held', flush=True); end = time.monotonic() + 4; i = 0\n"
            "while time.monotonic() < end:\n    i += 1; atomic_write_bytes(out + '/w.bin', os.urandom(4096) + bytes([i % 256]))")
    writer = subprocess.Popen([sys.executable, "-c", code, str(out)], env=_env(), stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "held"
        checks = 0
        while writer.poll() is None:
            manifest.verify(out, ["w.bin"])
            checks += 1
        assert checks > 10 and writer.returncode == 0
    finally:
        _stop(writer)
    manifest.verify(out)
    (out / "w.bin").write_bytes(b"edited")          # a real change, with no writer, is still refused at once
    with pytest.raises(CheckpointError, match="has changed"):
        manifest.verify(out, ["w.bin"])


def test_a_file_system_without_locks_writes_with_a_warning(tmp_path, monkeypatch):
    import errno

    def no_locks(fd, op):
        raise OSError(errno.ENOLCK, "No locks available")
    monkeypatch.setattr(run_lock.fcntl, "flock", no_locks)
    with pytest.warns(UserWarning, match="without file locks"):
        assert create_run_dir("x", tmp_path / "R") == tmp_path / "R"
    assert manifest.is_run_dir(tmp_path / "R") and run_lock.held(tmp_path / "R")
    run_lock.release(tmp_path / "R")
    with pytest.warns(UserWarning, match="without file locks"):     # --resume probes the lock first
        assert create_run_dir("x", tmp_path / "R", exist_ok=True) == tmp_path / "R"
    run_lock.release(tmp_path / "R")
