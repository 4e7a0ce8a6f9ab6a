r"""Greedy decoding and beam search for encoder-decoder models.

Both work with any model that has ``go_id``/``eos_id`` and

- ``encode(src, src_lengths) -> (state, memory)``,
- ``decode_step(tokens (batch,), state, memory) -> (logits (batch, vocab), state)``,
- ``select(state, memory, index) -> (state, memory)`` (rows ``index`` of the batch),

as :class:`rnnkit.models.seq2seq.Seq2Seq`. They return token ids without ``<go>`` and ``<eos>``.

Beam search (per source sentence) keeps the ``beam_size`` best partial translations by total
log-probability; a candidate ending in ``<eos>`` among the ``beam_size`` best of a step is
finished and takes one beam slot for good (so ``beam_size=1`` is exactly greedy decoding).
Finished translations are ranked by :math:`\log p(y) / lp(|y|)` with the GNMT length penalty
:math:`lp(n) = ((5 + n) / 6)^\alpha` (Wu et al. 2016; ``n`` counts ``<eos>``; ``alpha=0``
ranks by log-probability, which favours short outputs). Sequences still open after
``max_len`` tokens end there and compete too.

    >>> import torch
    >>> from rnnkit.models.seq2seq import Seq2Seq, Seq2SeqConfig
    >>> model = Seq2Seq(Seq2SeqConfig(src_vocab=10, tgt_vocab=10, embed=4, units=8)).eval()
    >>> src, lengths = torch.tensor([[4, 5, 6]]), torch.tensor([3])
    >>> greedy_decode(model, src, lengths, max_len=5) == beam_search(model, src, lengths, beam_size=1, max_len=5)
    True
"""
from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.errors import InvalidArgumentError

__all__ = ["greedy_decode", "beam_search", "sequence_log_prob", "length_penalty", "check_decoding"]


def check_decoding(beam_size: int = 1, max_len: int = 1, alpha: float = 0.0) -> None:
    """Refuse ``beam_size`` < 1, ``max_len`` < 1 and a negative length penalty."""
    for name, v in (("beam_size", beam_size), ("max_len", max_len)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise InvalidArgumentError.for_argument(
                name, v, "a positive integer", "Beam size 1 is greedy decoding." if name == "beam_size" else
                "It is the longest output in tokens, e.g. 2 or 3 times the source length.")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha >= 0:
        raise InvalidArgumentError.for_argument("length_penalty", alpha, "a number >= 0 (0 = none, GNMT used 0.6-1)")


def length_penalty(n: int, alpha: float) -> float:
    """GNMT's ``((5 + n) / 6) ** alpha``."""
    return ((5.0 + n) / 6.0) ** alpha


@torch.no_grad()
def greedy_decode(model, src: Tensor, src_lengths: Tensor, max_len: int = 50) -> list[list[int]]:
    """The most probable next token at every step, for the whole batch at once."""
    check_decoding(1, max_len)
    state, memory = model.encode(src, src_lengths)
    B = src.shape[0]
    tokens = torch.full((B,), model.go_id, dtype=torch.long, device=src.device)
    out: list[list[int]] = [[] for _ in range(B)]
    done = [False] * B
    for _ in range(max_len):
        logits, state = model.decode_step(tokens, state, memory)
        tokens = logits.argmax(-1)
        for b, tok in enumerate(tokens.tolist()):
            if done[b]:
                continue
            if tok == model.eos_id:
                done[b] = True
            else:
                out[b].append(tok)
        if all(done):
            break
    return out


@torch.no_grad()
def beam_search(model, src: Tensor, src_lengths: Tensor, beam_size: int = 4, max_len: int = 50,
                alpha: float = 0.0) -> list[list[int]]:
    """The best translation found by a beam of ``beam_size`` for each source row."""
    check_decoding(beam_size, max_len, alpha)
    return [_beam_one(model, src[b:b + 1], src_lengths[b:b + 1], beam_size, max_len, alpha)
            for b in range(src.shape[0])]


def _beam_one(model, src, src_lengths, K: int, max_len: int, alpha: float) -> list[int]:
    state, memory = model.encode(src, src_lengths)
    hyps: list[list[int]] = [[]]
    scores = torch.zeros(1, device=src.device)
    finished: list[tuple[float, list[int]]] = []
    for _ in range(max_len):
        last = torch.tensor([h[-1] if h else model.go_id for h in hyps], device=src.device)
        logits, state = model.decode_step(last, state, memory)
        total = scores.unsqueeze(1) + torch.log_softmax(logits.float(), -1)     # (live, vocab)
        live, V = K - len(finished), total.shape[1]
        top = total.view(-1).topk(min(2 * live, total.numel()))
        candidates = [(score, *divmod(flat, V)) for score, flat in zip(top.values.tolist(), top.indices.tolist())]
        for score, row, tok in candidates[:live]:      # finished among the best `live` candidates
            if tok == model.eos_id:
                finished.append((score / length_penalty(len(hyps[row]) + 1, alpha), hyps[row]))
        slots = K - len(finished)
        grown = [(score, row, tok) for score, row, tok in candidates if tok != model.eos_id][:slots]
        keep = [row for _, row, _ in grown]
        new_hyps = [hyps[row] + [tok] for _, row, tok in grown]
        new_scores = [score for score, _, _ in grown]
        if not new_hyps:
            break
        hyps, scores = new_hyps, torch.tensor(new_scores, device=src.device)
        state, memory = model.select(state, memory, torch.tensor(keep, device=src.device))
    else:
        finished.extend((s / length_penalty(len(h), alpha), h) for s, h in zip(scores.tolist(), hyps))
    return max(finished, key=lambda f: f[0])[1]


@torch.no_grad()
def sequence_log_prob(model, src: Tensor, src_lengths: Tensor, tokens: list[int]) -> float:
    """``log p(tokens <eos> | src)`` under the model (one source row)."""
    state, memory = model.encode(src, src_lengths)
    prev, total = model.go_id, 0.0
    for tok in list(tokens) + [model.eos_id]:
        logits, state = model.decode_step(torch.tensor([prev], device=src.device), state, memory)
        total += torch.log_softmax(logits.float(), -1)[0, tok].item()
        prev = tok
    return total
