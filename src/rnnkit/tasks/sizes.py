"""Memory of each task's model and batches, checked before anything is allocated (see
:mod:`rnnkit.memory`): the model's training state (embedding and softmax layers included, counted
on torch's meta device), the logits of a softmax over the vocabulary for one batch (forward,
softmax and gradient: 3 float32 copies), and a beam search's hypotheses. A request that cannot
fit is refused naming the figure and the options to change.

    >>> check_lm(vocab=65, embedding_dim=64, hidden_size=256, num_layers=2, batch_size=64, bptt=100)
    >>> try:
    ...     check_lm(vocab=50_000, embedding_dim=64, hidden_size=256, num_layers=2, batch_size=64, bptt=10**6)
    ... except Exception as e:
    ...     print(type(e).__name__, "--bptt" in str(e))
    MemoryBudgetError True
"""
from __future__ import annotations

import math

from rnnkit.memory import check_fits, check_model
from rnnkit.models.language_model import LanguageModel
from rnnkit.models.tagger import Tagger
from rnnkit.models.seq2seq import Seq2Seq

__all__ = ["check_lm", "check_tagger", "check_seq2seq", "check_beam", "LOGIT_COPIES"]

LOGIT_COPIES = 3          # logits, their softmax / log-softmax, their gradient (float32 each)


def check_lm(vocab: int, batch_size: int, bptt: int, **model_kwargs) -> None:
    """A language model of ``vocab`` tokens (``model_kwargs`` as :class:`LanguageModel`'s) trained
    on ``batch_size`` streams x ``bptt`` tokens."""
    check_model(lambda: LanguageModel(vocab, **model_kwargs),
                f"vocabulary {vocab:,}, embedding {model_kwargs.get('embedding_dim')}, "
                f"{model_kwargs.get('num_layers')} layer(s) of {model_kwargs.get('hidden_size')}",
                "Use a smaller --hidden-size, --embedding-dim, --num-layers or vocabulary (--max-tokens, --vocab-size).")
    check_fits(batch_size * bptt * vocab * 4 * LOGIT_COPIES,
               f"the softmax over {vocab:,} tokens for a batch of {batch_size:,} streams x {bptt:,} tokens",
               "Use a smaller --batch-size or --bptt (or a smaller vocabulary).")


def check_tagger(cfg) -> None:
    """A :class:`~rnnkit.models.tagger.Tagger` of ``cfg`` (its vocabulary and embedding included)."""
    check_model(lambda: Tagger(cfg), f"vocabulary {cfg.vocab_size:,}, embedding {cfg.embedding_dim}, "
                f"{cfg.layers} layer(s) of {cfg.units}",
                "Use a smaller --units, --layers, --embedding-dim or --max-tokens.")


def check_seq2seq(cfg, batch_size: int, max_len: int) -> None:
    """A :class:`~rnnkit.models.seq2seq.Seq2Seq` of ``cfg`` trained on batches of ``batch_size``
    pairs of at most ``max_len`` tokens."""
    check_model(lambda: Seq2Seq(cfg), f"vocabularies {cfg.src_vocab:,} and {cfg.tgt_vocab:,}, embedding "
                f"{cfg.embed}, {cfg.layers} layer(s) of {cfg.units}",
                "Use a smaller --units, --layers, --embed or --vocab-size.")
    check_fits(batch_size * (max_len + 1) * cfg.tgt_vocab * 4 * LOGIT_COPIES,
               f"the softmax over {cfg.tgt_vocab:,} target tokens for a batch of {batch_size:,} pairs x "
               f"{max_len + 1:,} steps", "Use a smaller --batch-size, --max-len or --vocab-size.")


def check_beam(beam: int, max_output: int, tgt_vocab: int, units: int, layers: int, src_len: int,
               beam_option: str = "--beam") -> None:
    """A beam search of ``beam`` hypotheses (at most ``tgt_vocab ** t`` after t steps) over
    ``max_output`` steps: each hypothesis holds its logits (3 float32 copies), its decoder state,
    its copy of the encoder memory (``src_len`` x ``units``) and its tokens."""
    live = beam if max_output * math.log(max(tgt_vocab, 2)) > math.log(beam) else tgt_vocab ** max_output
    per = tgt_vocab * 4 * LOGIT_COPIES + 4 * units * (4 * layers + 2 * max(src_len, 1)) + 8 * max_output
    check_fits(live * per, f"a beam of {beam:,} hypotheses ({tgt_vocab:,} target tokens, up to {max_output:,} "
               f"steps)", f"Use a smaller {beam_option} (4 to 10 is usual) or --max-output.")
