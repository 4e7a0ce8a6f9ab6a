"""Translating the test sources and scoring them: :func:`translate_ids` (greedy in batches or
beam search), :func:`score` (sacrebleu's BLEU and chrF of normalised texts), :func:`part_scores`
(the model as configured, greedy beside a beam, and the copy baseline, on the validation or test
pairs) and the ``translations_test.csv`` table.

    >>> score(["the cat sat"], ["the cat sat"])["chrf"]
    100.0
    >>> print(translations_table([("chat", "cat", "cat")]), end="")
    source,reference,hypothesis
    chat,cat,cat
"""
from __future__ import annotations

import csv
import io

import torch

from rnnkit.models.decoding import beam_search, greedy_decode
from rnnkit.models.seq2seq import Seq2Seq, pad_batch
from rnnkit.tasks.translate_config import TranslateConfig
from rnnkit.tasks.translate_data import TranslateData, normalise
from rnnkit.training.device import device_of

__all__ = ["decoding_name", "part_scores", "score", "translate_ids", "translations_table"]


@torch.no_grad()
def translate_ids(model: Seq2Seq, src_ids: list[list[int]], beam: int = 1, max_len: int = 60,
                  alpha: float = 0.0, batch_size: int = 128) -> list[list[int]]:
    """Target ids of each source (greedy in batches of similar length, or beam search)."""
    model.eval()
    order = sorted(range(len(src_ids)), key=lambda i: len(src_ids[i]))
    out: list = [None] * len(src_ids)
    for j in range(0, len(order), batch_size):
        idx = order[j:j + batch_size]
        src, lengths = (t.to(device_of(model)) for t in pad_batch([src_ids[i] for i in idx]))   # where the model is
        hyps = (greedy_decode(model, src, lengths, max_len) if beam == 1
                else beam_search(model, src, lengths, beam, max_len, alpha))
        for i, h in zip(idx, hyps):
            out[i] = h
    return out


def score(hypotheses: list[str], references: list[str]) -> dict:
    """Corpus BLEU and chrF (sacrebleu) of normalised texts: already tokenised, so BLEU splits
    on spaces only (``tokenize="none"``)."""
    import sacrebleu
    return {"bleu": round(sacrebleu.corpus_bleu(hypotheses, [references], tokenize="none", force=True).score, 2),
            "chrf": round(sacrebleu.corpus_chrf(hypotheses, [references]).score, 2)}


def translations_table(rows: list[tuple[str, str, str]]) -> str:
    """``rows`` of (source, reference, hypothesis) as CSV text under their header."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([("source", "reference", "hypothesis"), *rows])
    return buf.getvalue()


def decoding_name(config: TranslateConfig) -> str:
    """How ``config`` decodes, as printed: ``greedy`` or ``beam 4, length penalty 1.0``."""
    return "greedy" if config.beam == 1 else f"beam {config.beam}, length penalty {config.length_penalty:g}"


def part_scores(model: Seq2Seq, data: TranslateData, config: TranslateConfig, part: str) -> tuple[dict, list[str]]:
    """``({"model": {"bleu", "chrf"}, "greedy": {...}, "copy": {...}}, hypotheses)`` on one part's
    pairs: the model's translations decoded as ``config`` says, the same model decoded greedily
    (``"greedy"`` is there only when ``config.beam`` > 1: with beam 1 it is ``"model"``), and the
    copy baseline (the source as its own translation), every side normalised alike."""
    sources = [normalise(s, config.lower) for s, _ in data.texts[part]]
    refs = [normalise(t, config.lower) for _, t in data.texts[part]]

    def decoded(beam: int) -> list[str]:
        hyps = translate_ids(model, data.ids[part][0], beam, config.max_output, config.length_penalty)
        return [normalise(data.target.decode(h), config.lower) for h in hyps]

    outs = decoded(config.beam)
    scores = {"model": score(outs, refs)}
    if config.beam > 1:
        scores["greedy"] = score(decoded(1), refs)
    scores["copy"] = score(sources, refs)
    return scores, outs

