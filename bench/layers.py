"""Benchmark the fused recurrent kernels against torch.nn (issue 3). Run by hand:

    python bench/layers.py            # scan level + rnnkit layers if available
    python bench/layers.py --quick    # fewer repeats

Prints, per shape and extra (none, recurrent dropout 0.25, lengths uniform in [T/2, T], both):
ms per training step (forward + backward, median of --reps), the ratio to torch.nn's module
without extras measured in the same run, and GFLOP/s (the GEMM work of forward + backward).
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from rnnkit.layers import fused
from rnnkit.layers.fused import fused_scan

SHAPES = [("A", "lstm", 128, 240, 14, 32, 1), ("B", "lstm", 128, 500, 32, 32, 1),
          ("C", "lstm", 64, 100, 128, 512, 2), ("A-GRU", "gru", 128, 240, 14, 32, 1)]
G = {"lstm": 4, "gru": 3, "rnn": 1}


def median_ms(fn, reps, warmup=2):
    return interleaved({"x": fn}, reps, warmup)["x"]


def interleaved(fns, reps, warmup=2):
    """Median ms of each function, run round-robin so that load from other processes on a
    shared machine hits every candidate alike (the ratios stay meaningful)."""
    for _ in range(warmup):
        for f in fns.values():
            f()
    ts = {k: [] for k in fns}
    for _ in range(reps):
        for k, f in fns.items():
            t = time.perf_counter()
            f()
            ts[k].append((time.perf_counter() - t) * 1e3)
    return {k: statistics.median(v) for k, v in ts.items()}


def flops(mode, B, T, I, H, L):
    """GEMM flops of a training step: forward (x W_ih, h W_hh) and backward (3x that)."""
    g, total, inp = G[mode], 0, I
    for _ in range(L):
        total += 2 * B * T * g * H * (inp + H) * 3
        inp = H
    return total


def make_extras(kind, B, T, H, L, gen):
    lengths = None
    if kind in ("lengths", "both"):
        lengths = torch.randint(T // 2, T + 1, (B,), generator=gen)
    masks = [None] * L
    if kind in ("recdrop", "both"):
        masks = [(torch.rand(B, H, generator=gen) > 0.25).float() / 0.75 for _ in range(L)]
    return lengths, masks


def bench_shape(name, mode, B, T, I, H, L, reps, layers_too):
    gen = torch.Generator().manual_seed(0)
    ref = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[mode](I, H, L, batch_first=True)
    x = torch.randn(B, T, I, generator=gen, requires_grad=True)

    def nn_step():
        out, _ = ref(x)
        out.sum().backward()
    fns = {("torch.nn", "none"): nn_step}
    ws = [[getattr(ref, f"{p}_l{k}") for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
          for k in range(L)]
    for kind in ("none", "recdrop", "lengths", "both"):
        lengths, masks = make_extras(kind, B, T, H, L, gen)

        def step(lengths=lengths, masks=masks):
            h = x
            for k in range(L):
                h, _, _ = fused_scan(mode, h, None, None, *ws[k], lengths=lengths, rec_mask=masks[k])
            h.sum().backward()
        fns[("fused_scan", kind)] = step
    if layers_too:
        import rnnkit
        cls = {"lstm": rnnkit.LSTM, "gru": rnnkit.GRU}[mode]
        for kind in ("none", "recdrop", "lengths", "both"):
            lengths, _ = make_extras(kind, B, T, H, L, gen)
            p = 0.25 if kind in ("recdrop", "both") else 0.0
            layer = cls(I, H, L, recurrent_dropout=p).train()

            def lstep(layer=layer, lengths=lengths):
                out, _ = layer(x, lengths=lengths)
                out.sum().backward()
            fns[(f"rnnkit.{cls.__name__}", kind)] = lstep
    t = interleaved(fns, reps)
    fl = flops(mode, B, T, I, H, L)
    t_nn = t[("torch.nn", "none")]
    return [(name, path, kind, ms, ms / t_nn, fl / ms / 1e6) for (path, kind), ms in t.items()]


def inference_us(mode="lstm", H=32, I=14, reps=2000):
    """Streaming inference: one step of batch 1, no grad, state carried between calls."""
    w = [torch.randn(G[mode] * H, I) * 0.1, torch.randn(G[mode] * H, H) * 0.1, torch.zeros(G[mode] * H),
         torch.zeros(G[mode] * H)]
    x, h, c = torch.randn(1, 1, I), torch.zeros(1, H), torch.zeros(1, H)
    cell = {"lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell}[mode](I, H)
    with torch.no_grad():
        t_f = median_ms(lambda: fused_scan(mode, x, h, c if mode == "lstm" else None, *w), reps, 50) * 1e3
        st = (h, c) if mode == "lstm" else h
        t_c = median_ms(lambda: cell(x[:, 0], st), reps, 50) * 1e3
    return t_f, t_c


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=11)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--shapes", default="A,B,C,A-GRU")
    ap.add_argument("--no-layers", action="store_true", help="scan level only")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's)")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    reps = 5 if a.quick else a.reps
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, CPU capability "
          f"{torch.backends.cpu.get_cpu_capability()}, kernels: {fused.backend()}")
    if fused.available():
        from rnnkit.layers.fused import _loader, backends
        forced = os.environ.get("RNNKIT_GEMM")
        print(backends.describe(_loader.load()) + (f"; forced: RNNKIT_GEMM={forced}" if forced else ""))
    layers_too = not a.no_layers
    if layers_too:
        try:
            import rnnkit  # noqa: F401
            rnnkit.LSTM(2, 2, recurrent_dropout=0.1)
        except Exception as e:  # noqa: BLE001
            print(f"(rnnkit layers unavailable: {e}; scan level only)")
            layers_too = False
    print(f"{'shape':6} {'path':16} {'extras':8} {'ms/step':>9} {'x nn':>6} {'GFLOP/s':>8}")
    for s in SHAPES:
        if s[0] not in a.shapes.split(","):
            continue
        if fused.available():
            from rnnkit.layers.fused import _loader, backends
            print(f"# {s[0]}: {backends.explain(backends.choose(s[5], _loader.load()))}")
        for r in bench_shape(*s, reps, layers_too):
            print(f"{r[0]:6} {r[1]:16} {r[2]:8} {r[3]:9.1f} {r[4]:6.2f} {r[5]:8.1f}", flush=True)
    for mode in ("lstm", "gru"):
        f, c = inference_us(mode)
        print(f"inference single step {mode} H=32 batch 1: fused_scan {f:.1f} us, "
              f"torch.nn.{mode.upper()}Cell {c:.1f} us")


if __name__ == "__main__":
    main()
