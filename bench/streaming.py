"""Deployment benchmark (issue 11). Run by hand, under the shared lock on a shared machine:

    python bench/streaming.py            # flock /tmp/rnnkit-heavy.lock python bench/streaming.py
    python bench/streaming.py --quick

1. One streaming step (rnnkit.export.streaming.Streamer: one row, carried state) against
   re-running the model over the whole window, for a GRU forecaster with lookback 120 and
   H=64 (the main job's model: 14 input features, recurrent dropout off at inference), and the
   same with an LSTM body. Goal: the step >= 50x cheaper. The step is timed twice: the compiled
   step (one call into the extension; the NumPy one where it is not loaded) and the NumPy step
   (kernel="numpy", the fallback).
2. onnxruntime against eager PyTorch (fused kernels) for the same model exported by
   rnnkit.export.onnx, batch 1 and batch 256, windows of 120 rows with lengths.
Every pair is timed round-robin in the same run (median of --reps; the streaming pair in blocks of
100 steps / 10 windows), ratios printed.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from layers import interleaved  # noqa: E402  (round-robin medians, bench/layers.py)

from rnnkit.export.streaming import Streamer, compiled_step_class  # noqa: E402
from rnnkit.layers import fused  # noqa: E402
from rnnkit.models import Forecaster, ForecasterConfig  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--reps", type=int, default=None)
    a = ap.parse_args()
    reps = a.reps or (20 if a.quick else 60)
    torch.manual_seed(0)
    F, T, H = 14, 120, 64
    model = Forecaster(ForecasterConfig(n_features=F, cell="gru", units=H, residual_index=0)).eval()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU capability "
          f"{torch.backends.cpu.get_cpu_capability()}, layers: {fused.backend()}")
    print(f"GRU (and LSTM) forecaster, {F} features, H={H}, lookback {T}; median of {reps} (ms)\n")

    def block(fn, n):      # n calls back to back: a step right after a multi-threaded window call
        def run():         # would mostly time torch's OpenMP threads still spinning (measured 77 us vs 28)
            for _ in range(n):
                fn()
        return run
    window = torch.randn(1, T, F)
    row = torch.randn(F)
    kernel = "compiled" if compiled_step_class("auto") is not None else "numpy"
    print(f"streaming step: {kernel}" + ("" if kernel == "compiled" else " (the extension's StreamStep is not loaded)"))
    print(f"{'':34s}{'GRU ms':>10s}{'LSTM ms':>10s}")
    res = {}
    for cell in ("gru", "lstm"):
        torch.manual_seed(0)
        m = model if cell == "gru" else Forecaster(ForecasterConfig(n_features=F, cell=cell, units=H,
                                                                    residual_index=0)).eval()
        s, sn = Streamer(m, kernel=kernel), Streamer(m, kernel="numpy")
        s.start(window[0])
        sn.start(window[0])
        with torch.no_grad():
            t = interleaved({"step": block(lambda: s.step(row), 100), "numpy": block(lambda: sn.step(row), 100),
                             "window": block(lambda: m(window), 10)}, reps, warmup=2)
        res[cell] = {"step": t["step"] / 100, "numpy": t["numpy"] / 100, "window": t["window"] / 10}
    g, lstm = res["gru"], res["lstm"]
    print(f"{'streaming step (1 row + state)':34s}{g['step']:>10.4f}{lstm['step']:>10.4f}   {kernel}")
    print(f"{'  the NumPy step (fallback)':34s}{g['numpy']:>10.4f}{lstm['numpy']:>10.4f}")
    print(f"{'re-run the window (120 rows)':34s}{g['window']:>10.4f}{lstm['window']:>10.4f}")
    print(f"{'ratio (window / step)':34s}{g['window'] / g['step']:>9.1f}x{lstm['window'] / lstm['step']:>9.1f}x"
          "   goal >= 50x")
    print(f"{'ratio (window / NumPy step)':34s}{g['window'] / g['numpy']:>9.1f}x"
          f"{lstm['window'] / lstm['numpy']:>9.1f}x\n")

    import onnxruntime as ort
    from rnnkit.export.onnx import export_module
    with tempfile.TemporaryDirectory() as d:
        path = export_module(model, os.path.join(d, "m.onnx"), n_features=F, lengths=True, example_time=T)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = torch.get_num_threads()
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    print(f"{'batch':>6s}{'eager torch':>14s}{'onnxruntime':>14s}{'ort / torch':>14s}{'max |diff|':>12s}")
    for B in (1, 256):
        x = torch.randn(B, T, F)
        lengths = torch.randint(T // 2, T + 1, (B,))
        lengths[0] = T
        feed = {"x": x.numpy(), "lengths": lengths.numpy()}
        with torch.no_grad():
            diff = float((torch.from_numpy(sess.run(["y"], feed)[0]) - model(x, lengths)).abs().max())
            t = interleaved({"torch": lambda: model(x, lengths), "ort": lambda: sess.run(["y"], feed)},
                            reps if B == 256 else reps * 5, warmup=3)
        print(f"{B:>6d}{t['torch']:>14.3f}{t['ort']:>14.3f}{t['ort'] / t['torch']:>13.2f}x{diff:>12.1e}")


if __name__ == "__main__":
    main()
