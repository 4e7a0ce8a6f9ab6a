"""Run in a subprocess by test_resume.py: train a tiny GRU in a run directory.

usage: python resume_script.py OUT MODE [K]
  MODE full      train all epochs
  MODE kill K    SIGKILL this process right after the epoch-K checkpoint is written
  MODE slow      sleep a little after each epoch (the test kills it from outside)
  MODE resume    resume=True
"""
import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from training_helpers import TinyGRU, sequence_data  # noqa: E402
from rnnkit.training import Callback, TrainConfig, Trainer, seed_everything  # noqa: E402

EPOCHS = 6


class Hook(Callback):
    def __init__(self, mode, k):
        self.mode, self.k = mode, k

    def on_epoch_end(self, trainer, epoch, logs):
        if self.mode == "kill" and epoch == self.k:
            os.kill(os.getpid(), signal.SIGKILL)
        if self.mode == "slow":
            time.sleep(0.15)


def build(out, mode="full", k=0):
    """The model, trainer and data of this run (also used in-process by the tests)."""
    seed_everything(7)
    model = TinyGRU()
    x, y = sequence_data()
    cfg = TrainConfig(epochs=EPOCHS, optimizer="adam", lr=0.01, loss="huber", clip_norm=1.0,
                      patience=50, lr_patience=1, lr_factor=0.5, metrics=("mae", "rmse"),
                      seed=7, quiet=True, tensorboard=mode != "slow")
    trainer = Trainer(model, cfg, out, run_config={"model": "TinyGRU", "hidden": 5},
                      callbacks=[Hook(mode, k)])
    train = DataLoader(TensorDataset(x[:32], y[:32]), batch_size=8, shuffle=True,
                       generator=trainer.generator)
    val = DataLoader(TensorDataset(x[32:], y[32:]), batch_size=8)
    return trainer, train, val


def main():
    out, mode = sys.argv[1], sys.argv[2]
    k = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    torch.set_num_threads(1)
    trainer, train, val = build(out, mode, k)
    trainer.fit(train, val, resume=(mode == "resume"))


if __name__ == "__main__":
    main()
