"""The wide part's bag of n-grams against a brute-force count, and the wide-and-deep classifier."""
from __future__ import annotations

import math
from collections import Counter

import torch

from rnnkit.models.classifier import ClassifierConfig, SequenceClassifier
from rnnkit.models.ngram_bag import HASH_A, HASH_B, NgramBag


def _brute_force_logits(bag: NgramBag, ids: list[list[int]], lengths: list[int]) -> torch.Tensor:
    """Count each text's unigrams and bigrams in plain Python, hash the bigrams by the documented
    formula, and add up the weight rows by those counts."""
    w = bag.weight.weight.detach()
    out = []
    for row, n in zip(ids, lengths):
        tokens = row[:n]
        counts = Counter(tokens)
        counts.update(bag.vocab_size + (a * HASH_A + b * HASH_B) % bag.buckets for a, b in zip(tokens, tokens[1:]))
        total = sum(counts.values())
        out.append(sum(c * w[r] for r, c in counts.items()) * NgramBag.GAIN / math.sqrt(total) + bag.bias.detach())
    return torch.stack(out)


def test_bag_of_ngrams_matches_a_brute_force_count():
    g = torch.Generator().manual_seed(0)
    vocab, buckets, time = 7, 11, 9        # few rows: repeated n-grams and hash collisions both occur
    bag = NgramBag(vocab, buckets, n_outputs=3)
    with torch.no_grad():
        bag.weight.weight.normal_(generator=g)
        bag.bias.normal_(generator=g)
    ids = torch.randint(1, vocab, (6, time), generator=g)
    lengths = torch.tensor([9, 1, 2, 5, 9, 3])
    ids[torch.arange(time) >= lengths.unsqueeze(1)] = 0      # right padding
    expected = _brute_force_logits(bag, ids.tolist(), lengths.tolist())
    assert torch.allclose(bag(ids, lengths), expected, atol=1e-5)
    # garbage in the padding changes nothing
    noisy = ids.clone()
    noisy[torch.arange(time) >= lengths.unsqueeze(1)] = 5
    assert torch.allclose(bag(noisy, lengths), expected, atol=1e-5)


def test_wide_and_deep_adds_the_bag_logits_and_starts_at_the_deep_model():
    torch.manual_seed(0)
    cfg = dict(n_classes=3, vocab_size=20, embedding_dim=4, units=3, cell="gru")
    deep = SequenceClassifier(ClassifierConfig(**cfg))
    torch.manual_seed(0)
    wide = SequenceClassifier(ClassifierConfig(**cfg, wide_buckets=32))
    ids = torch.randint(1, 20, (4, 6))
    lengths = torch.tensor([6, 2, 4, 1])
    # the bag starts at zero: the untrained wide-and-deep model is the deep model
    assert torch.allclose(wide(ids, lengths), deep(ids, lengths))
    with torch.no_grad():
        wide.wide.weight.weight.normal_()
    assert torch.allclose(wide(ids, lengths), deep(ids, lengths) + wide.wide(ids, lengths))
    n = sum(p.numel() for p in wide.parameters())
    assert n == ClassifierConfig(**cfg, wide_buckets=32).estimated_parameters()
