"""rnnkit's character language model against nanoGPT at equal wall time, on the same text and split.

    flock /tmp/rnnkit-heavy.lock python bench/char_lm_vs_nanogpt.py [--minutes 10] [--mode side|alone]

The text is rnnkit's embedded Shakespeare, cut 90/5/5 in order as ``rnnkit lm`` cuts it; its
train and validation parts, encoded with rnnkit's character vocabulary, are written as nanoGPT
reads them (``data/<dataset>/{train,val}.bin`` as uint16 ids and ``meta.pkl``) into a temporary
working directory (with a link to its ``configurator.py``, which ``train.py`` opens there), from
which nanoGPT's unmodified ``train.py`` runs out of ``--peers``
(default ``../shared/peers/`` beside the repository; nothing of it is copied here) with its
README's CPU configuration (4 x 128 transformer, block 64, batch 12, dropout 0, ``--max-iters``
iterations with the cosine decay over them, 20 evaluation batches, compile off). rnnkit runs
``rnnkit recipe seed002-shakespeare --max-minutes MINUTES`` (extra options: ``--rnnkit-args``).

``--mode side`` (default): both at once, one thread each (``taskset -c 0`` for nanoGPT, ``-c 1``
for rnnkit, ``OMP_NUM_THREADS=1``). ``--mode alone``: one after the other, each on two threads
(``taskset -c 0,1``). Each run's validation losses (nats per character) are timed when its line
reaches this script, from the start of its process (imports and data preparation included); the
table shows, at every minute from 2 to ``--minutes``, the last value each had printed by then,
and rnnkit's minus nanoGPT's (negative: rnnkit lower, better). nanoGPT's validation loss is its
own estimate (20 random windows of 64 characters of the validation part, 12 each); rnnkit's is the
whole validation part read as streams with the state carried.
"""
from __future__ import annotations

import argparse
import os
import pickle
import re
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from rnnkit.tasks.lm import LMConfig, prepare  # noqa: E402

NANOGPT_ARGS = ["config/train_shakespeare_char.py", "--device=cpu", "--compile=False", "--eval_iters=20",
                "--log_interval=1", "--block_size=64", "--batch_size=12", "--n_layer=4", "--n_head=4",
                "--n_embd=128", "--dropout=0.0", "--dataset=rnnkit_shakespeare"]
NANOGPT_VAL = re.compile(r"step (\d+): train loss [\d.]+, val loss ([\d.]+)")
RNNKIT_VAL = re.compile(r"^epoch \d+/\d+ .*val_loss ([\d.]+)")


def write_nanogpt_data(work: Path) -> dict:
    """rnnkit's train and validation ids as nanoGPT reads them, under ``work/data/rnnkit_shakespeare``."""
    data = prepare(LMConfig())
    codec, ids = data["codec"], data["ids"]
    folder = work / "data" / "rnnkit_shakespeare"
    folder.mkdir(parents=True)
    for part in ("train", "val"):
        np.asarray(ids[part].numpy(), dtype=np.uint16).tofile(folder / f"{part}.bin")
    itos = {i: codec.piece(i) for i in range(len(codec))}
    with open(folder / "meta.pkl", "wb") as f:
        pickle.dump({"vocab_size": len(codec), "itos": itos, "stoi": {s: i for i, s in itos.items()}}, f)
    return {"vocab": len(codec), "train": int(ids["train"].numel()), "val": int(ids["val"].numel())}


class Job:
    """A process whose stdout lines are timed on arrival and matched against ``pattern``."""

    def __init__(self, name, argv, cwd, cpus, threads, pattern, log: Path):
        self.name, self.argv, self.cwd, self.cpus, self.threads = name, argv, cwd, cpus, threads
        self.pattern, self.log, self.points, self.ended = pattern, log, [], None

    def start(self, t0: float) -> None:
        env = dict(os.environ, OMP_NUM_THREADS=str(self.threads), MKL_NUM_THREADS=str(self.threads),
                   PYTHONUNBUFFERED="1", PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
        argv = ["taskset", "-c", self.cpus] + self.argv
        self.proc = subprocess.Popen(argv, cwd=self.cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, bufsize=1)
        self.t0 = t0
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        with open(self.log, "w", buffering=1) as log:
            for line in self.proc.stdout:
                t = time.perf_counter() - self.t0
                log.write(f"{t:8.1f} {line}")
                m = self.pattern.search(line)
                if m:
                    self.points.append((t, float(m.group(m.lastindex))))
        self.ended = time.perf_counter() - self.t0

    def stop(self, deadline: float) -> None:
        """Wait for the process until ``deadline`` (seconds from its start), then end it."""
        try:
            self.proc.wait(timeout=max(0.0, self.t0 + deadline - time.perf_counter()))
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            self.proc.wait()
        self.reader.join()


def jobs(a, work: Path, cpus: tuple[str, str], threads: int) -> list[Job]:
    peers = Path(a.peers).resolve() / "nanogpt"
    nano = [sys.executable, str(peers / "train.py")] + NANOGPT_ARGS + [
        f"--max_iters={a.max_iters}", f"--lr_decay_iters={a.max_iters}", f"--out_dir={work / 'nanogpt-out'}"]
    nano[2] = str(peers / NANOGPT_ARGS[0])     # its config file, read where it is
    link = work / "configurator.py"             # train.py opens configurator.py in its working folder
    if not link.exists():
        link.symlink_to(peers / "configurator.py")
    ours = [sys.executable, "-m", "rnnkit", "recipe", "seed002-shakespeare", "--max-minutes", str(a.minutes),
            "--out", str(work / "rnnkit-run")] + shlex.split(a.rnnkit_args)
    return [Job("nanoGPT", nano, work, cpus[0], threads, NANOGPT_VAL, work / "nanogpt.log"),
            Job("rnnkit", ours, work, cpus[1], threads, RNNKIT_VAL, work / "rnnkit.log")]


def at(points: list[tuple[float, float]], t: float) -> float | None:
    """The last value printed at or before ``t`` seconds."""
    seen = [v for s, v in points if s <= t]
    return seen[-1] if seen else None


def table(runs: list[Job], minutes: list[float]) -> str:
    nano, ours = runs
    lines = ["| minutes | nanoGPT | rnnkit | rnnkit - nanoGPT |", "|---|---|---|---|"]
    for m in minutes:
        a, b = at(nano.points, 60 * m), at(ours.points, 60 * m)
        diff = f"{b - a:+.3f}" if a is not None and b is not None else "-"
        show = [f"{v:.3f}" if v is not None else "-" for v in (a, b)]
        lines.append(f"| {m:g} | {show[0]} | {show[1]} | {diff} |")
    for j in runs:
        last = f"{j.points[-1][1]:.3f} at {j.points[-1][0]:.0f} s" if j.points else "none"
        lines.append(f"\n{j.name}: {len(j.points)} validation values, last {last}, process ended at "
                     f"{j.ended:.0f} s" if j.ended is not None else f"\n{j.name}: no end")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--peers", default=str(ROOT.parent / "shared" / "peers"), help="folder holding nanogpt/")
    p.add_argument("--minutes", type=float, default=10.0, help="rnnkit's --max-minutes and the table's last row")
    p.add_argument("--max-iters", type=int, default=5000, help="nanoGPT's iterations (and lr_decay_iters)")
    p.add_argument("--mode", choices=("side", "alone"), default="side")
    p.add_argument("--rnnkit-args", default="", help="extra options of the rnnkit recipe, one string")
    p.add_argument("--keep", default=None, help="keep the working folder (logs, runs) here instead of a temp one")
    a = p.parse_args()
    if not (Path(a.peers) / "nanogpt" / "train.py").exists():
        sys.exit(f"nanoGPT's train.py is not under {a.peers}/nanogpt: pass --peers (the folder holding nanogpt/).")
    work = Path(a.keep or tempfile.mkdtemp(prefix="char_lm_vs_nanogpt-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    sizes = write_nanogpt_data(work)
    minutes = [m for m in range(2, int(a.minutes) + 1)]
    deadline = 60 * a.minutes + 90
    import torch
    print(f"char LM vs nanoGPT, mode {a.mode}, CPU capability {torch.backends.cpu.get_cpu_capability()}, "
          f"{os.cpu_count()} CPUs; text: rnnkit's embedded Shakespeare, vocabulary {sizes['vocab']}, "
          f"train {sizes['train']} / val {sizes['val']} characters; work folder {work}", flush=True)
    if a.mode == "side":
        runs = jobs(a, work, ("0", "1"), 1)
        t0 = time.perf_counter()
        for j in runs:
            j.start(t0)
        for j in runs:
            j.stop(deadline)
    else:
        runs = jobs(a, work, ("0,1", "0,1"), 2)
        for j in runs:
            j.start(time.perf_counter())
            j.stop(deadline)
    print(f"validation loss (nats/char) at equal wall time, {'one thread each, side by side' if a.mode == 'side' else 'each alone on two threads'}:")
    print(table(runs, minutes))


if __name__ == "__main__":
    main()
