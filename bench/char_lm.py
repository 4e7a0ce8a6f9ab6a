"""Characters per second of char-LM training: rnnkit's LanguageModel against the same model
built from torch.nn (Embedding + nn.LSTM + Linear, the same weights), in the same run.

    flock /tmp/rnnkit-heavy.lock python bench/char_lm.py [--hidden 256 --layers 2 --batch 64 --bptt 50]

Both train on the embedded Shakespeare with stateful truncated BPTT (the state carried and
detached between windows), Adam, the same windows; timings alternate between the two models
in rounds so that load from other processes hits both alike. Prints chars/s of each and the ratio.
"""
from __future__ import annotations

import argparse
import time

import torch
from torch import nn
from torch.nn import functional as F

from rnnkit.data.shakespeare import load_embedded_shakespeare
from rnnkit.data.streams import StreamBatches
from rnnkit.models.language_model import LanguageModel
from rnnkit.tasks.lm_text import TextCodec


class TorchLM(nn.Module):
    def __init__(self, ref: LanguageModel, dropout: float):
        super().__init__()
        E, H, L = ref.embedding.weight.shape[1], ref.hidden_size, ref.num_layers
        self.embedding = nn.Embedding(ref.vocab_size, E)
        self.rnn = nn.LSTM(E, H, L, batch_first=True, dropout=dropout if L > 1 else 0.0)
        self.decoder = nn.Linear(H, ref.vocab_size)
        self.dropout = dropout
        self.load_state_dict({k: v for k, v in ref.state_dict().items() if k != "_extra_state"})
        self.state = None

    def forward(self, x, reset):
        if bool(reset):
            self.state = None
        out, state = self.rnn(self.embedding(x), self.state)
        self.state = tuple(s.detach() for s in state)
        return self.decoder(F.dropout(out, self.dropout, self.training))


def train_steps(model, windows, opt) -> float:
    model.train()
    t0 = time.perf_counter()
    for (x, reset), y in windows:
        opt.zero_grad(set_to_none=True)
        logits = model(x, reset)
        F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)).backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--embedding", type=int, default=64)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--bptt", type=int, default=50)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--windows", type=int, default=10, help="windows per round and model")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=None)
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    text = load_embedded_shakespeare()
    codec = TextCodec.fit("char", text)
    ids = torch.tensor(codec.encode(text))
    streams = StreamBatches(ids, a.batch, a.bptt, windows_per_epoch=a.windows)
    torch.manual_seed(0)
    ours = LanguageModel(len(codec), a.embedding, a.hidden, a.layers, dropout=a.dropout)
    ref = TorchLM(ours, a.dropout)
    opts = {"rnnkit": torch.optim.Adam(ours.parameters(), 2e-3), "torch.nn": torch.optim.Adam(ref.parameters(), 2e-3)}
    models = {"rnnkit": ours, "torch.nn": ref}
    streams.set_epoch(0)
    for name in models:                                  # warm-up (allocations, kernel choice)
        train_steps(models[name], list(streams)[:2], opts[name])
    seconds = {name: 0.0 for name in models}
    chars = 0
    for r in range(a.rounds):
        streams.set_epoch(r + 1)
        windows = list(streams)
        chars += sum(y.numel() for _, y in windows)
        for name in (models if r % 2 == 0 else list(models)[::-1]):
            seconds[name] += train_steps(models[name], windows, opts[name])
    print(f"char-LM training, {a.layers}x{a.hidden} LSTM, embedding {a.embedding}, vocabulary {len(codec)}, "
          f"{a.batch} streams x {a.bptt} steps, dropout {a.dropout}, {torch.get_num_threads()} threads, "
          f"{chars} characters per model")
    for name, s in seconds.items():
        print(f"  {name:9s} {chars / s:9.0f} chars/s")
    print(f"  ratio rnnkit / torch.nn: {seconds['torch.nn'] / seconds['rnnkit']:.2f}x")


if __name__ == "__main__":
    main()
