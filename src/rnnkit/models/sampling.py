"""The next-token distribution for generation: temperature, top-k and top-p (nucleus).

From logits ``z`` over the vocabulary: divide by the temperature ``T`` (``T = 0`` is greedy:
all mass on the argmax, the first one on ties), keep the ``top_k`` largest (ties at the
k-th value kept by position, lowest ids first), softmax, then keep the smallest set of most
probable tokens whose probability sums to at least ``top_p`` and renormalise.

    >>> import torch
    >>> z = torch.log(torch.tensor([0.5, 0.3, 0.15, 0.05]))
    >>> [round(p, 4) for p in next_token_probs(z, top_k=2).tolist()]
    [0.625, 0.375, 0.0, 0.0]
    >>> [round(p, 4) for p in next_token_probs(z, top_p=0.8).tolist()]
    [0.625, 0.375, 0.0, 0.0]
    >>> next_token_probs(z, temperature=0).tolist()
    [1.0, 0.0, 0.0, 0.0]
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from rnnkit.errors import InvalidArgumentError

__all__ = ["check_sampling", "next_token_probs"]


def check_sampling(temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None) -> None:
    """Refuse a negative or non-finite temperature, ``top_k`` < 1 and ``top_p`` outside (0, 1]."""
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) \
            or not math.isfinite(temperature) or temperature < 0:
        raise InvalidArgumentError.for_argument("temperature", temperature, "a number >= 0",
                                                "0 is greedy decoding, 1 samples the model's distribution.")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise InvalidArgumentError.for_argument("top_k", top_k, "a positive integer (or none for no limit)")
    if top_p is not None and (isinstance(top_p, bool) or not isinstance(top_p, (int, float))
                              or not 0 < top_p <= 1):
        raise InvalidArgumentError.for_argument("top_p", top_p, "a number in (0, 1]",
                                                "1 keeps every token; 0.9 keeps the most probable 90% of the mass.")


def next_token_probs(logits: Tensor, temperature: float = 1.0, top_k: int | None = None,
                     top_p: float | None = None) -> Tensor:
    """Probabilities over the last axis of ``logits`` (vocab,) after temperature, top-k and
    top-p, in float32/float64 as ``logits``; rows sum to 1."""
    check_sampling(temperature, top_k, top_p)
    z = logits.float() if logits.dtype not in (torch.float32, torch.float64) else logits
    V = z.shape[-1]
    if temperature == 0:
        return torch.nn.functional.one_hot(z.argmax(-1), V).to(z.dtype)
    z = z / temperature
    if top_k is not None and top_k < V:
        order = torch.sort(z, dim=-1, descending=True, stable=True).indices
        drop = order[..., top_k:]
        z = z.scatter(-1, drop, float("-inf"))
    probs = torch.softmax(z, -1)
    if top_p is not None and top_p < 1:
        sorted_p, order = torch.sort(probs, dim=-1, descending=True, stable=True)
        before = sorted_p.cumsum(-1) - sorted_p          # mass of the more probable tokens
        remove_sorted = before >= top_p                  # the set already reached top_p
        remove = torch.zeros_like(remove_sorted).scatter(-1, order, remove_sorted)
        probs = probs.masked_fill(remove, 0.0)
        probs = probs / probs.sum(-1, keepdim=True)
    return probs
