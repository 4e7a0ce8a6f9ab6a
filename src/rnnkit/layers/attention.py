r"""Attention over a padded sequence of keys: additive (Bahdanau) and dot/general (Luong).

Both score every key ``k_s`` (batch, source, key_size) against one query ``q`` (batch,
query_size), turn the scores into weights with a softmax over the valid keys only, and return
the weighted sum of the values (the keys unless ``values`` are given):

.. math::
    \text{additive:}\quad e_s = v^\top \tanh(W_q q + W_k k_s) \qquad
    \text{dot:}\quad e_s = q^\top k_s \qquad \text{general:}\quad e_s = q^\top W k_s

    a = \operatorname{softmax}(e \text{ over } s < \text{length}), \qquad context = \sum_s a_s\, v_s

``mask`` (batch, source) bool marks the valid keys (True) or ``lengths`` gives their number: a
padded key gets a weight of exactly 0 and the weights of each row sum to 1. ``scale=True``
divides dot scores by ``sqrt(key_size)`` (Vaswani et al.).

    >>> import torch
    >>> att = DotAttention()
    >>> keys = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [9.0, 9.0]]])
    >>> context, weights = att(torch.tensor([[2.0, 0.0]]), keys, lengths=torch.tensor([2]))
    >>> [round(w, 4) for w in weights[0].tolist()]
    [0.8808, 0.1192, 0.0]
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from rnnkit.errors import InvalidArgumentError
from rnnkit.layers.cells import check_size

__all__ = ["AdditiveAttention", "DotAttention", "masked_softmax", "make_attention", "ATTENTION"]

ATTENTION = ("additive", "dot", "general")


def masked_softmax(scores: Tensor, mask: Tensor | None) -> Tensor:
    """Softmax over the last axis of ``scores`` (batch, source) counting only ``mask`` True
    positions; masked positions get exactly 0. A row with no valid position is all zeros."""
    if mask is None:
        return torch.softmax(scores, -1)
    mask = mask.to(scores.device, torch.bool)
    any_valid = mask.any(-1, keepdim=True)
    safe = mask | ~any_valid               # a fully padded row: softmax over all, zeroed below
    weights = torch.softmax(scores.masked_fill(~safe, float("-inf")), -1)
    return torch.where(mask, weights, weights.new_zeros(()))


def _mask(keys: Tensor, lengths, mask) -> Tensor | None:
    B, S = keys.shape[:2]
    if lengths is not None and mask is not None:
        raise InvalidArgumentError("Received both `lengths` and `mask`; pass only one of them.")
    if lengths is not None:
        lengths = torch.as_tensor(lengths)
        if lengths.shape != (B,):
            raise InvalidArgumentError.for_argument("lengths", tuple(lengths.shape), f"shape ({B},)")
        return torch.arange(S, device=keys.device).unsqueeze(0) < lengths.to(keys.device).unsqueeze(1)
    if mask is not None:
        mask = torch.as_tensor(mask)
        if tuple(mask.shape) != (B, S):
            raise InvalidArgumentError.for_argument("mask", tuple(mask.shape), f"a bool tensor of shape ({B}, {S})")
    return mask


class _Attention(nn.Module):
    def prepare(self, keys: Tensor) -> Tensor:
        """The part of the score that depends on the keys only (``W_k k_s``, ``W k_s``, or the
        keys): compute it once per source and pass it as ``prepared`` at every decoder step."""
        return keys

    def score(self, query: Tensor, prepared: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, query: Tensor, keys: Tensor, values: Tensor | None = None, *, mask=None,
                lengths=None, prepared: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Return ``(context (batch, value_size), weights (batch, source))``.

        Args:
            query: (batch, query_size). keys: (batch, source, key_size).
            values: (batch, source, value_size), default the keys.
            mask: (batch, source) bool, True for valid keys; or ``lengths`` (batch,) ints.
            prepared: ``self.prepare(keys)`` when already computed (decoding step by step).
        """
        if query.dim() != 2 or keys.dim() != 3 or query.shape[0] != keys.shape[0]:
            raise InvalidArgumentError.for_argument(
                "query/keys", (tuple(query.shape), tuple(keys.shape)),
                "query (batch, query_size) and keys (batch, source, key_size) with the same batch")
        values = keys if values is None else values
        prepared = self.prepare(keys) if prepared is None else prepared
        weights = masked_softmax(self.score(query, prepared), _mask(keys, lengths, mask))
        return torch.bmm(weights.unsqueeze(1), values).squeeze(1), weights


class AdditiveAttention(_Attention):
    """Bahdanau et al. (2015): ``e_s = v^T tanh(W_q q + W_k k_s)``.

    Args:
        query_size, key_size: features of the query and of each key.
        units: width of the hidden layer ``tanh(...)``, default ``key_size``.

    Parameters: ``query_proj`` (Linear query_size -> units, no bias), ``key_proj`` (Linear
    key_size -> units, with bias), ``v`` (Linear units -> 1, no bias).
    """

    def __init__(self, query_size: int, key_size: int, units: int | None = None):
        super().__init__()
        units = check_size("units", units if units is not None else key_size)
        self.query_proj = nn.Linear(check_size("query_size", query_size), units, bias=False)
        self.key_proj = nn.Linear(check_size("key_size", key_size), units)
        self.v = nn.Linear(units, 1, bias=False)

    def prepare(self, keys: Tensor) -> Tensor:
        return self.key_proj(keys)

    def score(self, query: Tensor, prepared: Tensor) -> Tensor:
        return self.v(torch.tanh(self.query_proj(query).unsqueeze(1) + prepared)).squeeze(-1)


class DotAttention(_Attention):
    """Luong et al. (2015): ``dot`` ``e_s = q . k_s`` or, with ``general=True`` (needs the sizes),
    ``e_s = q . (W k_s)``; ``scale`` divides by ``sqrt(key_size)``.

    Parameters (general only): ``weight`` (Linear key_size -> query_size, no bias).
    """

    def __init__(self, query_size: int | None = None, key_size: int | None = None, general: bool = False,
                 scale: bool = False):
        super().__init__()
        self.general = bool(general)
        self.scale = bool(scale)
        if self.general:
            self.weight = nn.Linear(check_size("key_size", key_size), check_size("query_size", query_size),
                                    bias=False)

    def prepare(self, keys: Tensor) -> Tensor:
        k = self.weight(keys) if self.general else keys
        return k / math.sqrt(keys.shape[-1]) if self.scale else k

    def score(self, query: Tensor, prepared: Tensor) -> Tensor:
        if prepared.shape[-1] != query.shape[-1]:
            raise InvalidArgumentError.for_argument(
                "keys", tuple(prepared.shape), f"key_size equal to query_size ({query.shape[-1]}) for dot attention",
                "Use DotAttention(query_size, key_size, general=True) or AdditiveAttention for different sizes.")
        return torch.bmm(prepared, query.unsqueeze(-1)).squeeze(-1)


def make_attention(kind: str, query_size: int, key_size: int) -> _Attention:
    """``"additive"`` -> :class:`AdditiveAttention`, ``"dot"`` -> :class:`DotAttention`,
    ``"general"`` -> ``DotAttention(general=True)``."""
    if kind == "additive":
        return AdditiveAttention(query_size, key_size)
    if kind == "dot":
        return DotAttention(query_size, key_size)
    if kind == "general":
        return DotAttention(query_size, key_size, general=True)
    raise InvalidArgumentError.for_argument("attention", kind, f"one of {ATTENTION}")
