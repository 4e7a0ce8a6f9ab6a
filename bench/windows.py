"""Windows per second and peak memory: rnnkit Windows vs keras-style copies vs the seed generator.

Run by hand:  python bench/windows.py [--rows 200000] [--batches 300]

Each method runs in its own subprocess; memory is the peak resident set size (ru_maxrss) of
that process minus its RSS once the data array exists, so it is what the method adds.
- rnnkit: ``Windows`` (views + a gather per batch), shuffled batches of 128.
- keras-copy: every window materialised up front into one (n, lookback/step, features)
  float32 array (what ``timeseries_dataset_from_array(...)`` cached in memory or a hand-made
  ``np.stack`` gives), then shuffled batches sliced from it; its time includes building it.
- seed-001: the seed's ``generator`` (a Python loop per row, float64), chronological.
Windows/s counts windows delivered as float tensors/arrays ready for a model.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np

LOOKBACK, STEP, DELAY, BATCH = 1440, 6, 144, 128


def rss_now_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def seed_generator(data, lookback, delay, min_index, max_index, shuffle=False, batch_size=128, step=6):
    if max_index is None:
        max_index = len(data) - delay - 1
    i = min_index + lookback
    while 1:
        if shuffle:
            rows = np.random.randint(min_index + lookback, max_index, size=batch_size)
        else:
            if i + batch_size >= max_index:
                i = min_index + lookback
            rows = np.arange(i, min(i + batch_size, max_index))
            i += len(rows)
        samples = np.zeros((len(rows), lookback // step, data.shape[-1]))
        targets = np.zeros((len(rows),))
        for j, row in enumerate(rows):
            indices = range(rows[j] - lookback, rows[j], step)
            samples[j] = data[indices]
            targets[j] = data[rows[j] + delay][1]
        yield samples, targets


def run_one(method: str, rows: int, batches: int) -> dict:
    import torch
    torch.set_num_threads(1)
    if method == "rnnkit":
        from rnnkit.data.windows import Windows       # imported before measuring
    data = np.random.default_rng(0).standard_normal((rows, 14)).astype(np.float32)
    base = rss_now_mb()
    t0 = time.perf_counter()
    n_windows = 0
    if method == "rnnkit":
        w = Windows(data, target=data[:, 1], lookback=LOOKBACK, step=STEP, delay=DELAY + STEP)
        for k, (x, y) in enumerate(w.batches(BATCH, shuffle=True, seed=0)):
            n_windows += len(x)
            if k + 1 == batches:
                break
        total = len(w)
    elif method == "keras-copy":
        n = rows - LOOKBACK - DELAY
        steps = LOOKBACK // STEP
        allx = np.empty((n, steps, 14), np.float32)
        ally = data[LOOKBACK - STEP + DELAY + STEP:LOOKBACK + DELAY + n, 1].copy()
        idx = np.arange(steps) * STEP
        for a in range(0, n, 4096):                      # materialise every window
            s = np.arange(a, min(a + 4096, n))
            allx[a:a + len(s)] = data[s[:, None] + idx]
        order = np.random.default_rng(0).permutation(n)
        for k in range(batches):
            sel = np.sort(order[k * BATCH:(k + 1) * BATCH])
            x, y = torch.from_numpy(allx[sel]), torch.from_numpy(ally[sel])
            n_windows += len(x)
        total = n
    elif method == "seed-001":
        d64 = data.astype(np.float64)
        base = rss_now_mb()
        t0 = time.perf_counter()
        gen = seed_generator(d64, LOOKBACK, DELAY, 0, None, batch_size=BATCH, step=STEP)
        for k in range(batches):
            x, y = next(gen)
            n_windows += len(x)
        total = rows - LOOKBACK - DELAY - 1
    else:
        raise SystemExit(f"unknown method {method}")
    dt = time.perf_counter() - t0
    return {"method": method, "seconds": dt, "windows": n_windows, "windows_per_s": n_windows / dt,
            "extra_peak_mb": peak_mb() - base, "total_windows": total}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--batches", type=int, default=300)
    ap.add_argument("--one", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print(json.dumps(run_one(a.one, a.rows, a.batches)))
        return
    print(f"{a.rows} rows x 14 features, lookback {LOOKBACK}, step {STEP}, delay {DELAY}, "
          f"batch {BATCH}, {a.batches} batches per method, 1 torch thread")
    res = []
    for m in ("rnnkit", "keras-copy", "seed-001"):
        out = subprocess.run([sys.executable, __file__, "--one", m, "--rows", str(a.rows),
                              "--batches", str(a.batches)], capture_output=True, text=True, check=True)
        res.append(json.loads(out.stdout.strip().splitlines()[-1]))
    ours = res[0]
    print(f"{'method':<12}{'windows/s':>12}{'ratio':>9}{'extra peak MB':>15}{'mem ratio':>11}{'s':>8}")
    for r in res:
        print(f"{r['method']:<12}{r['windows_per_s']:>12,.0f}{r['windows_per_s'] / ours['windows_per_s']:>9.2f}"
              f"{r['extra_peak_mb']:>15,.1f}{r['extra_peak_mb'] / max(ours['extra_peak_mb'], 1e-9):>11.1f}"
              f"{r['seconds']:>8.2f}")
    print("ratio = method / rnnkit. keras-copy time includes materialising all "
          f"{res[1]['total_windows']:,} windows (one epoch would amortise it over "
          f"{res[1]['total_windows'] // BATCH:,} batches).")


if __name__ == "__main__":
    main()
