"""The "wide" part of a wide-and-deep text classifier: a linear model on a bag of word n-grams.

Every valid token (unigram) has its own weight row; every pair of neighbouring valid tokens
(bigram) is hashed into one of ``buckets`` rows. The logits of a text are the sum of the rows of
its n-grams divided by the square root of their count (a bag of counts, L2-scaled as TF-IDF
vectors are), times :attr:`NgramBag.GAIN`, plus a bias. The gain is a learning-rate multiplier: under
Adam each step moves a weight by about the learning rate whatever its gradient's size, and a row is
updated only in the batches holding its n-gram, so at the recurrent part's rate (1e-3) the bag
would need thousands of epochs to reach the weights of a logistic regression. Trained jointly with a recurrent body (``SequenceClassifier`` adds the
two logits), the model starts where a bag-of-n-grams logistic regression ends. Padding (steps at
or past ``lengths``) never enters the bag.

    >>> import torch
    >>> bag = NgramBag(vocab_size=10, buckets=16, n_outputs=1)
    >>> ids = torch.tensor([[2, 3, 4], [5, 0, 0]])
    >>> ngram_ids(ids, torch.tensor([3, 1]), vocab_size=10, buckets=16)[1]
    tensor([[ True,  True,  True,  True,  True],
            [ True, False, False, False, False]])
    >>> tuple(bag(ids, torch.tensor([3, 1])).shape)
    (2, 1)
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["NgramBag", "ngram_ids", "bigram_bucket", "HASH_A", "HASH_B"]

# multipliers of the bigram hash (odd, < 2**32, so a * HASH_A + b * HASH_B fits in int64 for ids < 2**31)
HASH_A, HASH_B = 2654435761, 40503


def bigram_bucket(first: Tensor, second: Tensor, buckets: int) -> Tensor:
    """The bucket (0 .. buckets-1) of the bigrams ``(first[i], second[i])`` (int64 tensors)."""
    return (first * HASH_A + second * HASH_B) % buckets


def ngram_ids(ids: Tensor, lengths: Tensor | None, vocab_size: int, buckets: int) -> tuple[Tensor, Tensor]:
    """Rows of the n-gram table used by each text and which of them are valid.

    Returns ``(rows, valid)``, both ``(batch, 2 * time - 1)``: the first ``time`` columns are the
    unigrams (row = token id), the rest the bigrams (row = ``vocab_size`` + bucket); ``valid``
    marks the n-grams lying inside ``lengths``.
    """
    batch, time = ids.shape
    ids = ids.long()
    steps = torch.arange(time, device=ids.device).unsqueeze(0)
    if lengths is None:
        lengths = torch.full((batch,), time, dtype=torch.long, device=ids.device)
    lengths = lengths.to(ids.device).long().unsqueeze(1)
    uni_valid = steps < lengths
    bi = vocab_size + bigram_bucket(ids[:, :-1], ids[:, 1:], buckets)
    bi_valid = steps[:, 1:] < lengths
    return torch.cat([ids, bi], 1), torch.cat([uni_valid, bi_valid], 1)


class NgramBag(nn.Module):
    """Linear logits of a bag of unigrams and hashed bigrams (see the module docstring).

    Args:
        vocab_size: token ids are in ``[0, vocab_size)``.
        buckets: rows shared by the hashed bigrams (e.g. 2**18).
        n_outputs: logits per text (1 for a binary classifier).

    The weights start at zero: an untrained bag adds nothing to the other part's logits.
    """

    GAIN = 30.0

    def __init__(self, vocab_size: int, buckets: int, n_outputs: int):
        super().__init__()
        self.vocab_size, self.buckets = int(vocab_size), int(buckets)
        self.weight = nn.Embedding(self.vocab_size + self.buckets, n_outputs)
        self.bias = nn.Parameter(torch.zeros(n_outputs))
        nn.init.zeros_(self.weight.weight)

    def forward(self, ids: Tensor, lengths: Tensor | None = None) -> Tensor:
        rows, valid = ngram_ids(ids, lengths, self.vocab_size, self.buckets)
        w = self.weight(torch.where(valid, rows, torch.zeros_like(rows)))
        w = torch.where(valid.unsqueeze(-1), w, torch.zeros_like(w))
        count = valid.sum(1, keepdim=True).clamp(min=1).to(w.dtype)
        return w.sum(1) * (self.GAIN / count.sqrt()) + self.bias
