"""Subnormal floats in a library user's own training loop (issue 23). Run by hand, under the
shared lock on a shared machine:

    python bench/subnormal.py            # LSTM and GRU, torch's thread count
    python bench/subnormal.py --quick

A forecaster trained in a plain loop (no CLI, nothing but torch and rnnkit): an rnnkit layer over
long windows (500 steps, batch 128, 14 features, H=32), a linear head, Adam. Two kinds of
targets over the same windows:

- subnormal-producing: a target on the last step only (a forecast). The gradient decays as it
  goes back through the window and passes through the subnormal range (below 1.2e-38) on its way
  to zero; Intel cores run the products over such values ~10x slower.
- normal: a target on every step, so every step gets a fresh gradient and none decays that far.

Both run with rnnkit's flush-to-zero guard on (the default) and off (``RNNKIT_FTZ=0``), all four
round-robin in the same process; printed: ms per training step (median), the share of subnormal
values in the gradient reaching the inputs, and the ratio subnormal / normal (goal: <= 1.10 with
the guard on).
"""
from __future__ import annotations

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from layers import interleaved  # noqa: E402  (round-robin medians, bench/layers.py)

import rnnkit  # noqa: E402
from rnnkit.layers import fused  # noqa: E402

TINY = torch.finfo(torch.float32).tiny  # smallest normal float32


def subnormal_share(t: torch.Tensor) -> float:
    a = t.abs()
    return float(((a > 0) & (a < TINY)).float().mean())


def make_step(cell: str, kind: str, guard: bool, B: int, T: int, F: int, H: int, seed: int = 0):
    """One user's training step (closure) and the tensor holding the input gradient."""
    torch.manual_seed(seed)
    layer = {"lstm": rnnkit.LSTM, "gru": rnnkit.GRU}[cell](F, H)
    head = torch.nn.Linear(H, 1)
    opt = torch.optim.Adam(list(layer.parameters()) + list(head.parameters()), lr=1e-3)
    x = torch.randn(B, T, F).requires_grad_()
    y = torch.randn(B, T if kind == "normal" else 1, 1)

    def step():
        os.environ["RNNKIT_FTZ"] = "1" if guard else "0"
        out, _ = layer(x)
        pred = head(out if kind == "normal" else out[:, -1:])
        loss = torch.nn.functional.mse_loss(pred, y)
        opt.zero_grad()
        x.grad = None
        loss.backward()
        opt.step()
    return step, x


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--reps", type=int, default=None)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's)")
    ap.add_argument("--cells", default="lstm,gru")
    ap.add_argument("--time", type=int, default=500, help="window length")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    reps = a.reps or (5 if a.quick else 11)
    B, T, F, H = 128, a.time, 14, 32
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, CPU capability "
          f"{torch.backends.cpu.get_cpu_capability()}, kernels: {fused.backend()}")
    print(f"windows {B} x {T} x {F}, H={H}, Adam; ms per training step, median of {reps}, round-robin")
    print(f"{'cell':5} {'guard':6} {'targets':20} {'ms/step':>9} {'subnormal dx':>13} {'x normal':>9}")
    for cell in a.cells.split(","):
        fns, xs = {}, {}
        for guard in (True, False):
            for kind in ("normal", "subnormal"):
                fns[(guard, kind)], xs[(guard, kind)] = make_step(cell, kind, guard, B, T, F, H)
        t = interleaved(fns, reps)
        os.environ.pop("RNNKIT_FTZ", None)
        for guard in (True, False):
            for kind in ("normal", "subnormal"):
                label = "every step (normal)" if kind == "normal" else "last step (subnorm.)"
                ratio = t[(guard, kind)] / t[(guard, "normal")]
                print(f"{cell:5} {'on' if guard else 'off':6} {label:20} {t[(guard, kind)]:9.1f} "
                      f"{subnormal_share(xs[(guard, kind)].grad):13.4f} {ratio:9.2f}", flush=True)


if __name__ == "__main__":
    main()
