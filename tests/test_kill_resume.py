"""Kill -9 then ``--resume``, for every training command: the final ``model.safetensors`` equals an
uninterrupted run's byte for byte (same seed, one thread).

Each case starts the real command (``python -m rnnkit ...``, ``OMP_NUM_THREADS=1``) in a
subprocess, waits for its first checkpoint (``checkpoints/last.pt``; for ``tune``: a finished
trial in ``study.db`` and the next trial training) and kills it with SIGKILL while it is still
training. The same command with ``--resume`` then finishes the run, and is compared with an
uninterrupted run of the command (both in this process through ``rnnkit.cli.main``, one thread;
the reference runs while the subprocess starts). ``tests/training/test_resume.py`` does this for
the bare ``Trainer``; here it is each command with its data preparation, vocabularies, shuffling,
dropout and, for ``tune``, the Optuna study: the killed trial is run again, the sampler draws what
the uninterrupted study drew, and the best configuration's final run is the same.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from rnnkit.cli import main
from rnnkit.training import load_state, read_history_csv
from tests.recipes.cli_helpers import _csv

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "tasks" / "fixtures"
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1",
       "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
for _k in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
    ENV.pop(_k, None)


def _commands(tmp: Path) -> dict[str, list[str]]:
    """Each training command, tiny, with enough epochs that a kill after the first lands mid-run."""
    csv = _csv(tmp / "series.csv")
    forecast = ["--csv", str(csv), "--time-col", "time", "--target", "temp", "--units", "4",
                "--lookback", "12", "--delay", "2", "--steps-per-epoch", "2", "--patience", "100",
                "--dropout", "0.2", "--quiet", "--seed", "3"]
    return {
        "forecast": ["forecast", *forecast, "--epochs", "12"],
        "classify": ["classify", "--csv", str(FIX / "tiny_reviews.csv"), "--text-col", "review",
                     "--label-col", "sentiment", "--units", "8", "--embedding-dim", "8", "--epochs", "12",
                     "--batch-size", "9", "--patience", "0", "--no-baselines", "--maxlen", "20",
                     "--dropout", "0.2", "--seed", "1"],
        "tag": ["tag", "--conll", str(FIX / "tiny_ner.txt"), "--units", "6", "--embedding-dim", "6",
                "--epochs", "12", "--batch-size", "7", "--patience", "0", "--seed", "2"],
        "lm": ["lm", "train", "--text", str(FIX / "lm" / "tiny.txt"), "--bptt", "20", "--batch-size", "5",
               "--windows-per-epoch", "3", "--embedding-dim", "8", "--hidden-size", "12", "--num-layers", "1",
               "--sample-length", "10", "--epochs", "12", "--dropout", "0.3"],
        "translate": ["translate", "train", "--pairs", str(FIX / "translate" / "fra.txt"), "--embed", "8",
                      "--units", "12", "--epochs", "12", "--batch-size", "5", "--dropout", "0.2",
                      "--patience", "0", "--max-output", "8"],
        "tune": ["tune", "forecast", *forecast, "--epochs", "30", "--steps-per-epoch", "25", "--batch-size", "4", "--trials", "3",
                 "--space", "units=2:8,lr=1e-3:1e-2:log,dropout=0.0:0.3"],
    }


@pytest.fixture(scope="module")
def commands(tmp_path_factory):
    return _commands(tmp_path_factory.mktemp("inputs"))


def _in_process(argv: list[str]) -> str:
    """Run the command here, on one thread as in the subprocess; returns what it printed."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            assert main(argv) == 0, argv
    finally:
        torch.set_num_threads(threads)
    return printed.getvalue()


def _first_checkpoint(name: str, out: Path, proc) -> str:
    """Wait until the run has written its first checkpoint and freeze it there (SIGSTOP); returns
    what was seen. ``tune``: a finished trial, then the next one training; ``tune-final``: the
    first checkpoint of the best configuration's run, in ``best/``."""
    if name == "tune":      # a finished trial is committed before its line is printed
        for line in proc.stdout:
            if line.startswith("trial "):
                return _next_trial_running(out, proc)
        return ""
    if name.endswith("-early"):     # the run's config.json is written, its first epoch not done
        last = out / "config.json"
    else:
        last = (out / "best" if name == "tune-final" else out) / "checkpoints" / "last.pt"
    deadline = time.monotonic() + 300
    while proc.poll() is None and not last.exists() and time.monotonic() < deadline:
        time.sleep(0.002)
    _freeze(proc)
    return str(last)


def _freeze(proc) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGSTOP)
        with contextlib.suppress(ChildProcessError):    # (it ended first: the caller's checks fail)
            os.waitpid(proc.pid, os.WUNTRACED)          # returns once the process is stopped


def _next_trial_running(out: Path, proc) -> str:
    """Wait for a trial that is training, freeze the process (SIGSTOP) and look again: a trial
    still running in the frozen process is where the kill lands; else let it go on and wait."""
    import optuna
    study = optuna.load_study(study_name="rnnkit-tune", storage=f"sqlite:///{out / 'study.db'}")

    def running():
        try:
            return [t.number for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
                    if t.params]
        except Exception:       # the frozen process holds the database's write lock: look again
            return []
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        if running():
            _freeze(proc)
            now = running()
            if now:
                return f"trial {now[0]} running"
            proc.send_signal(signal.SIGCONT)
        time.sleep(0.01)
    return ""


@contextlib.contextmanager
def _killed_after_first_checkpoint(name: str, argv: list[str], out: Path):
    """Start the command in a subprocess and SIGKILL it as soon as its first checkpoint exists (a
    thread watches, so the caller can run the reference meanwhile); checks it died of the kill."""
    errors = out.parent / f"{out.name}.stderr"         # a file: a full pipe would stall the process
    with errors.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "rnnkit", *argv, "--out", str(out)], env=ENV,
                                stdout=subprocess.PIPE if name == "tune" else subprocess.DEVNULL, stderr=err,
                                text=True)
    seen = []

    def watch():
        seen.append(_first_checkpoint(name, out, proc))
        proc.send_signal(signal.SIGKILL)
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield seen
        watcher.join(timeout=120)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL, (name, seen, proc.returncode, errors.read_text()[-2000:])


def _without_time(rows):
    return [{k: v for k, v in r.items() if k != "time"} for r in rows]


TIMING = {"train_minutes", "train_seconds", "wall_seconds", "tokens_per_second"}


def _without_timing(metrics):
    if isinstance(metrics, dict):
        return {k: _without_timing(v) for k, v in metrics.items() if k not in TIMING}
    return metrics


def _trials(run: Path) -> list:
    """The trials of a study that count (a killed trial is retried on resume and is left out),
    in order: state, parameters, value and the validation value after each epoch."""
    import optuna
    study = optuna.load_study(study_name="rnnkit-tune", storage=f"sqlite:///{run / 'study.db'}")
    requeued = set(study.user_attrs.get("requeued", []))
    return [(t.state.name, t.params, t.value, t.intermediate_values) for t in study.trials
            if t.number not in requeued]


def _model_dir(name: str, run: Path) -> Path:
    return run / "best" if name.startswith("tune") else run


def _option(argv: list[str], name: str) -> int:
    return int(argv[argv.index(name) + 1])


def _check_interrupted(name: str, argv: list[str], cut: Path) -> None:
    """The kill landed mid-run: a checkpoint, no final weights (``tune``: finished trials and one
    running; ``tune-final``: every trial finished, the best configuration's run mid-way)."""
    run = _model_dir(name, cut)
    assert not (run / "model.safetensors").exists()
    if name == "tune":
        states = [state for state, *_ in _trials(cut)]
        assert states.count("RUNNING") == 1 and 1 <= len(states) - 1 < _option(argv, "--trials"), states
    else:
        if name == "tune-final":
            assert len(_trials(cut)) == _option(argv, "--trials") and (cut / "best_config.json").exists()
        if name.endswith("-early"):
            assert (run / "config.json").exists() and not (run / "checkpoints" / "last.pt").exists()
        else:
            assert 1 <= load_state(run / "checkpoints" / "last.pt")["epoch"] < _option(argv, "--epochs")


@pytest.fixture(scope="module")
def references(commands, tmp_path_factory):
    """name -> the uninterrupted run of the command (made on first use, in this process)."""
    done = {}

    def get(name: str) -> Path:
        if name not in done:
            done[name] = tmp_path_factory.mktemp(name) / "full"
            _in_process([*commands[name], "--out", str(done[name])])
        return done[name]
    return get


@pytest.mark.parametrize("name", ["forecast", "classify", "tag", "lm", "translate", "tune", "tune-final",
                                  "translate-early"])
def test_kill_9_after_the_first_checkpoint_then_resume_is_byte_identical(name, commands, references, tmp_path):
    """``tune-final``: killed in the best configuration's run; ``translate-early``: killed before
    the first checkpoint (config.json and the vocabularies written), --resume starts the run."""
    command = name.replace("-final", "").replace("-early", "")
    argv = commands[command]
    cut = tmp_path / "cut"
    with _killed_after_first_checkpoint(name, argv, cut):
        full = references(command)          # made while the subprocess starts
    _check_interrupted(name, argv, cut)
    printed = _in_process([*argv, "--out", str(cut), "--resume"])
    a, b = _model_dir(name, full), _model_dir(name, cut)
    assert (a / "model.safetensors").read_bytes() == (b / "model.safetensors").read_bytes()
    assert _without_time(read_history_csv(a / "history.csv")) == _without_time(read_history_csv(b / "history.csv"))
    assert not list(cut.rglob("*.tmp"))               # no temp file of a write the kill cut short
    metrics = [json.loads((run / "metrics.json").read_text()) for run in (a, b)]
    assert _without_timing(metrics[0]) == _without_timing(metrics[1])      # the same test scores
    if name == "translate":         # the training time counts the killed process's epochs too
        assert metrics[1]["train_seconds"] == round(sum(r["time"] for r in read_history_csv(b / "history.csv")), 1)
    if name.startswith("tune"):     # the same trials (a killed one run again), the same best configuration
        assert ("1 interrupted trial(s) run again" in printed) == (name == "tune")
        assert _trials(full) == _trials(cut)
        assert json.loads((full / "best_config.json").read_text()) == json.loads((cut / "best_config.json").read_text())
