"""Resume: an interrupted run, resumed, ends with bitwise the weights of an uninterrupted run.

Training runs in subprocesses (resume_script.py) that are really killed with SIGKILL."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from training_helpers import dir_digest
from rnnkit.errors import CheckpointError
from rnnkit.training import Callback, TrainConfig, Trainer, load_state, read_history_csv, seed_everything

SCRIPT = Path(__file__).resolve().parent / "resume_script.py"


def run_script(out, *args, check=True):
    proc = subprocess.run([sys.executable, str(SCRIPT), str(out), *args], capture_output=True,
                          text=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"script failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return proc


def without_time(rows):
    return [{k: v for k, v in r.items() if k != "time"} for r in rows]


def in_process(out, mode):
    """Run resume_script's training here, single-threaded as in the subprocess."""
    import resume_script

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        trainer, train, val = resume_script.build(out, mode)
        trainer.fit(train, val, resume=(mode == "resume"))
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    """The uninterrupted reference run (in this process: equality is across processes)."""
    out = tmp_path_factory.mktemp("full") / "run"
    in_process(out, "full")
    return out


def assert_same_run(a: Path, b: Path):
    assert (a / "model.safetensors").read_bytes() == (b / "model.safetensors").read_bytes()
    assert without_time(read_history_csv(a / "history.csv")) == \
        without_time(read_history_csv(b / "history.csv"))


def test_sigkill_after_epoch_then_resume_is_bitwise_identical(full_run, tmp_path):
    out = tmp_path / "run"
    proc = run_script(out, "kill", "3", check=False)
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "model.safetensors").exists()
    assert load_state(out / "checkpoints" / "last.pt")["epoch"] == 3
    in_process(out, "resume")
    assert_same_run(full_run, out)
    assert len(list((out / "tensorboard").glob("events.out.tfevents.*"))) == 2


def test_sigkill_at_an_arbitrary_moment_then_resume(full_run, tmp_path):
    """Killed from outside as soon as a checkpoint exists, wherever the run then is."""
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, str(SCRIPT), str(out), "slow"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    last = out / "checkpoints" / "last.pt"
    while proc.poll() is None and not last.exists():
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    in_process(out, "resume")
    assert_same_run(full_run, out)


class StopAt(Callback):
    def __init__(self, k):
        self.k = k

    def on_epoch_end(self, trainer, epoch, logs):
        if epoch == self.k:
            raise KeyboardInterrupt


def small_trainer(out, callbacks=(), **overrides):
    from training_helpers import TinyGRU, sequence_data
    from torch.utils.data import DataLoader, TensorDataset

    seed_everything(11)
    model = TinyGRU()
    x, y = sequence_data(n=24)
    cfg = TrainConfig(epochs=4, lr=0.01, patience=3, seed=11, quiet=True, tensorboard=False)
    overrides.setdefault("run_config", {"hidden": 5})
    t = Trainer(model, cfg, out, callbacks=callbacks, **overrides)
    loader = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True, generator=t.generator)
    return t, loader


def test_in_process_interrupt_and_resume_and_early_stopped_runs_stay_stopped(tmp_path):
    t_full, data = small_trainer(tmp_path / "full")
    t_full.fit(data, data)
    t, data = small_trainer(tmp_path / "cut", [StopAt(2)])
    with pytest.raises(KeyboardInterrupt):
        t.fit(data, data)
    t, data = small_trainer(tmp_path / "cut")
    t.fit(data, data, resume=True)
    assert_same_run(tmp_path / "full", tmp_path / "cut")
    # resuming a finished run trains no further and rewrites the same weights
    before = (tmp_path / "cut" / "model.safetensors").read_bytes()
    t, data = small_trainer(tmp_path / "cut")
    t.fit(data, data, resume=True)
    assert (tmp_path / "cut" / "model.safetensors").read_bytes() == before


def test_interrupted_before_the_first_checkpoint_then_resume_starts_it_alike(tmp_path):
    """Killed after config.json was written, before the first checkpoint: --resume starts the
    run (config.json at default settings used to read as a different configuration: its
    monitor fields were compared with a fingerprint that leaves them out at their defaults)."""
    t, data = small_trainer(tmp_path / "full")
    t.fit(data, data)

    class Interrupted:
        def __iter__(self):
            raise KeyboardInterrupt
    t, data = small_trainer(tmp_path / "cut")
    with pytest.raises(KeyboardInterrupt):
        t.fit(Interrupted(), data)
    assert (tmp_path / "cut" / "config.json").exists() and not (tmp_path / "cut" / "checkpoints").exists()
    t, data = small_trainer(tmp_path / "cut")
    t.fit(data, data, resume=True)
    assert_same_run(tmp_path / "full", tmp_path / "cut")


def test_resume_with_a_different_config_names_the_difference(tmp_path):
    t, data = small_trainer(tmp_path / "run")
    t.fit(data, data)
    before = dir_digest(tmp_path / "run")
    t, data = small_trainer(tmp_path / "run", lr=0.02)
    with pytest.raises(CheckpointError, match=r"train\.lr: 0\.01 \(checkpoint\) != 0\.02 \(now\).*--out"):
        t.fit(data, data, resume=True)
    t, data = small_trainer(tmp_path / "run", run_config={"hidden": 6})
    with pytest.raises(CheckpointError, match=r"run\.hidden: 5"):
        t.fit(data, data, resume=True)
    assert dir_digest(tmp_path / "run") == before


def test_starting_over_an_existing_run_is_refused(tmp_path):
    t, data = small_trainer(tmp_path / "run")
    t.fit(data, data)
    before = dir_digest(tmp_path / "run")
    t, data = small_trainer(tmp_path / "run")
    with pytest.raises(CheckpointError, match="resume=True"):
        t.fit(data, data)
    assert dir_digest(tmp_path / "run") == before


@pytest.mark.parametrize("keep", [0, 10, 0.5])
def test_truncated_checkpoint_gives_checkpoint_error_and_damages_nothing(tmp_path, keep):
    t, data = small_trainer(tmp_path / "run")
    t.fit(data, data)
    last = tmp_path / "run" / "checkpoints" / "last.pt"
    raw = last.read_bytes()
    last.write_bytes(raw[: int(len(raw) * keep) if isinstance(keep, float) else keep])
    before = dir_digest(tmp_path / "run")
    t, data = small_trainer(tmp_path / "run")
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        t.fit(data, data, resume=True)
    assert dir_digest(tmp_path / "run") == before


def test_resume_without_run_dir_is_an_error():
    with pytest.raises(CheckpointError, match="run_dir"):
        Trainer(torch.nn.Linear(3, 1), quiet=True).fit([(torch.randn(2, 3), torch.randn(2, 1))],
                                                        resume=True)


class PassCountingShuffle:
    """Like rnnkit.data.WindowBatches: the permutation of pass k comes from (seed, k), the
    pass counter lives in the object and set_epoch(k) moves it."""

    def __init__(self, x, y, seed=0):
        self.x, self.y, self.seed, self.epoch, self.calls = x, y, seed, 0, []

    def set_epoch(self, epoch):
        self.calls.append(epoch)
        self.epoch = epoch

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed * 1000 + self.epoch)
        self.epoch += 1
        order = torch.randperm(len(self.x), generator=g)
        for i in range(0, len(order), 8):
            idx = order[i:i + 8]
            yield self.x[idx], self.y[idx]


def test_set_epoch_makes_pass_counting_shufflers_resume_exactly(tmp_path):
    from training_helpers import TinyGRU, sequence_data

    x, y = sequence_data(n=24)

    def run(out, callbacks=(), resume=False):
        seed_everything(5)
        data = PassCountingShuffle(x, y)
        t = Trainer(TinyGRU(), TrainConfig(epochs=4, seed=5, quiet=True, tensorboard=False), out,
                    callbacks=callbacks)
        try:
            t.fit(data, [(x, y)], resume=resume)
        except KeyboardInterrupt:  # raised by StopAt: the run is "killed" after that epoch
            pass
        return data.calls

    assert run(tmp_path / "full") == [0, 1, 2, 3]
    assert run(tmp_path / "cut", [StopAt(2)]) == [0, 1]
    assert run(tmp_path / "cut", resume=True) == [2, 3]
    assert_same_run(tmp_path / "full", tmp_path / "cut")


def test_resume_restores_plateau_scheduler_and_early_stopping_state(tmp_path):
    """Interrupted while ReduceLROnPlateau and early stopping are mid-count: the resumed run
    reduces the LR and stops at the same epochs as the uninterrupted one."""
    from training_helpers import TinyGRU, sequence_data

    x, y = sequence_data(n=16)
    offsets = [3.0, 1.0, 1.5, 2.0, 0.5, 2.5, 3.0, 4.0, 5.0]

    def val(epoch):
        return [(x, y + offsets[epoch - 1])]

    def run(out, callbacks=(), resume=False):
        seed_everything(2)
        cfg = TrainConfig(epochs=9, lr=1e-3, lr_patience=1, lr_factor=0.5, patience=3,
                          seed=2, quiet=True, tensorboard=False)
        t = Trainer(TinyGRU(), cfg, out, callbacks=callbacks)
        try:
            t.fit([(x, y)], val, resume=resume)
        except KeyboardInterrupt:
            pass

    run(tmp_path / "full")
    rows = read_history_csv(tmp_path / "full" / "history.csv")
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4, 5, 6, 7, 8]  # stopped early after 8
    assert len(set(r["lr"] for r in rows)) > 1  # the LR was reduced
    run(tmp_path / "cut", [StopAt(4)])  # epoch 4: scheduler has 2 bad epochs, early stop 2
    run(tmp_path / "cut", resume=True)
    assert_same_run(tmp_path / "full", tmp_path / "cut")
