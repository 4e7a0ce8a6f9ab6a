"""Epoch time of the main forecast job with 1 and 2 processes (DDP, gloo) and the gradient bytes
all-reduced per step.

Run by hand, under the shared lock:  flock /tmp/rnnkit-heavy.lock python bench/distributed.py [--epochs 3]

The job is ``rnnkit forecast``'s (embedded weather, 3 stations, GRU 64 units with dropout,
batch 128): training epochs only (no validation), timed by the trainer; the first epoch is
warm-up and the others are averaged. Configurations:

- 1 process, 1 thread; 1 process, 2 threads (torch's default here);
- 2 processes x 1 thread (``torchrun --standalone --nproc_per_node 2``), global batch 128
  (each rank 64 windows per step).

Communication is measured, not computed: a DDP communication hook counts the bytes of every
gradient bucket it all-reduces (then runs the ordinary all-reduce), per step and rank. A ring
all-reduce sends and receives about ``2 (W - 1) / W`` times that per rank.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time


def _job():
    from rnnkit.tasks.forecast import ForecastJob
    return ForecastJob(quiet=True)


def train_epochs(epochs: int, steps: int | None = None) -> dict:
    """Train the main job's model for ``epochs`` epochs in this process (or this rank)."""
    import torch
    from rnnkit.models.forecaster import Forecaster
    from rnnkit.tasks.forecast import prepare
    from rnnkit.training.trainer import Trainer
    job = _job()
    prepared = prepare(job)
    kw = dict(lookback=job.lookback, step=job.step, delay=job.delay, horizon=job.horizon)
    train_w = prepared.windows("train", **kw)
    torch.manual_seed(job.seed)
    model = Forecaster(job.model_config(prepared.input_size(), prepared.feature_names.index(prepared.target)))
    cfg = job.train_config()
    cfg.epochs, cfg.patience, cfg.lr_patience, cfg.tensorboard = epochs, None, None, False
    cfg.steps_per_epoch = steps
    cpu = []

    class CpuTime:          # CPU seconds of this process per epoch (robust to other load)
        last = time.process_time()

        def on_epoch_end(self, trainer, epoch, logs):
            now = time.process_time()
            cpu.append(now - CpuTime.last)
            CpuTime.last = now
    trainer = Trainer(model, cfg, callbacks=[CpuTime()])
    counted = {"bytes": 0, "buckets": 0}
    if trainer.dist is not None:
        from torch.distributed.algorithms.ddp_comm_hooks.default_hooks import allreduce_hook

        def count(state, bucket):
            buf = bucket.buffer()
            counted["bytes"] += buf.numel() * buf.element_size()
            counted["buckets"] += 1
            return allreduce_hook(state, bucket)
        trainer._step_model.register_comm_hook(None, count)
    batches = train_w.batches(job.batch_size, shuffle=True, seed=job.seed)
    hist = trainer.fit(batches)
    steps = min(len(batches), cfg.steps_per_epoch or len(batches)) * epochs
    return {"epoch_s": [r["time"] for r in hist.rows], "cpu_s": cpu, "steps_per_epoch": min(len(batches), cfg.steps_per_epoch or len(batches)), "windows": len(train_w),
            "params": sum(p.numel() for p in model.parameters()),
            "grad_bytes_per_step": counted["bytes"] / steps, "buckets_per_step": counted["buckets"] / steps,
            "threads": torch.get_num_threads(), "world": 1 if trainer.dist is None else trainer.dist.world_size}


def _clean_env() -> dict:
    return {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}


def _single(threads: int, epochs: int, steps=None) -> dict:
    here = os.path.dirname(os.path.abspath(__file__))
    code = (f"import json, sys, torch; sys.path.insert(0, {here!r}); torch.set_num_threads({threads}); "
            f"import distributed as b; print('RESULT', json.dumps(b.train_epochs({epochs}, {steps})))")
    out = subprocess.run([sys.executable, "-c", code], env=_clean_env(), capture_output=True, text=True,
                         check=True).stdout
    return json.loads(next(line for line in out.splitlines() if line.startswith("RESULT "))[7:])


def _ddp(epochs: int, steps=None) -> dict:
    env = {**_clean_env(), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           os.path.abspath(__file__), "--worker", "--epochs", str(epochs)]
                          + (["--steps", str(steps)] if steps else []),
                          env=env, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(proc.stdout[-2000:] + proc.stderr[-4000:])
    results = [json.loads(line[7:]) for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if len(results) != 2:
        raise SystemExit("the 2-process run printed no results:\n" + proc.stdout[-2000:] + proc.stderr[-4000:])
    first = min(results, key=lambda r: r["rank"])
    first["cpu_s"] = [sum(c) for c in zip(*(r["cpu_s"] for r in results))]     # both ranks
    return first


def _mean(values):
    return sum(values) / len(values)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--steps", type=int, help="batches per epoch (default: all)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        import torch
        torch.set_num_threads(1)
        r = train_epochs(a.epochs, a.steps)
        r["rank"] = int(os.environ["RANK"])
        os.write(1, ("RESULT " + json.dumps(r) + "\n").encode())     # one write: ranks never interleave
        return
    t0 = time.perf_counter()
    load = os.getloadavg()[0]
    rows = [("1 process x 1 thread", _single(1, a.epochs, a.steps)), ("1 process x 2 threads", _single(2, a.epochs, a.steps)),
            ("2 processes x 1 thread (DDP, gloo)", _ddp(a.epochs, a.steps))]
    one = rows[0][1]
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; main forecast job, "
          f"{one['windows']} train windows, {one['steps_per_epoch']} steps of 128 per epoch, "
          f"{one['params']:,} parameters; epochs 2..{a.epochs} averaged")
    ref = _mean(one["epoch_s"][1:])
    cpu_ref = _mean(one["cpu_s"][1:])
    print(f"{'configuration':38s}{'epoch s':>9s}{'speed-up':>10s}{'CPU s/epoch':>13s}{'CPU vs 1x1':>12s}")
    for name, r in rows:
        t, c = _mean(r["epoch_s"][1:]), _mean(r["cpu_s"][1:])
        print(f"{name:38s}{t:>9.2f}{ref / t:>9.2f}x{c:>13.2f}{c / cpu_ref:>11.2f}x")
    print("(CPU s/epoch: CPU time of all processes together; wall-clock speed-ups mean little while other "
          "jobs share the 2 cores)")
    d = rows[2][1]
    print(f"gradient all-reduced per step and rank: {d['grad_bytes_per_step']:,.0f} bytes in "
          f"{d['buckets_per_step']:.0f} bucket(s) ({one['params']:,} float32 parameters x 4 = {one['params'] * 4:,} "
          f"bytes); {d['grad_bytes_per_step'] * d['steps_per_epoch'] / 2**20:.1f} MiB per epoch; a ring all-reduce "
          "at 2 ranks sends and receives about that much per rank")
    print(f"(total {time.perf_counter() - t0:.0f} s; load average {load:.1f} before, {os.getloadavg()[0]:.1f} after)")


if __name__ == "__main__":
    main()
