"""Greedy and beam search: a hand-built Markov "model" where greedy misses the best sequence,
exhaustive search as the reference, beam size 1 = greedy on real Seq2Seq models, bad arguments."""
import itertools
import math

import pytest
import torch

from rnnkit.errors import InvalidArgumentError
from rnnkit.models.decoding import beam_search, greedy_decode, length_penalty, sequence_log_prob
from rnnkit.models.seq2seq import Seq2Seq, Seq2SeqConfig

GO, EOS, A, B = 2, 3, 4, 5
# next-token probabilities given the previous token (a tiny decoder that ignores the source)
TABLE = {GO: {A: 0.6, B: 0.4},
         A: {A: 0.4, B: 0.3, EOS: 0.3},
         B: {EOS: 0.9, A: 0.05, B: 0.05}}


class TableModel:
    """The decoding protocol over TABLE: state = the previous token of each row."""
    go_id, eos_id = GO, EOS

    def encode(self, src, src_lengths):
        return torch.full((src.shape[0],), GO), None

    def decode_step(self, tokens, state, memory):
        probs = torch.full((tokens.shape[0], 6), 1e-12)
        for i, t in enumerate(tokens.tolist()):
            for nxt, p in TABLE.get(t, {EOS: 1.0}).items():   # other tokens (p = 1e-12) lead to <eos>
                probs[i, nxt] = p
        return probs.log(), tokens

    def select(self, state, memory, index):
        return state.index_select(0, index), memory


def _prob(seq, max_len):
    """p(seq), seq ending in EOS or cut at max_len tokens."""
    p, prev = 1.0, GO
    for tok in seq:
        p *= TABLE[prev].get(tok, 1e-12)
        prev = tok
    return p


def _exhaustive(max_len, alpha=0.0):
    best, best_seq = -math.inf, None
    for n in range(1, max_len + 1):
        for body in itertools.product((A, B), repeat=n - 1):
            seq = list(body) + [EOS]
            score = math.log(_prob(seq, max_len)) / length_penalty(n, alpha)
            if score > best:
                best, best_seq = score, list(body)
    return best_seq


SRC, LEN = torch.tensor([[7]]), torch.tensor([1])


def test_beam_finds_the_best_sequence_greedy_misses():
    assert greedy_decode(TableModel(), SRC, LEN, max_len=4) == [[A, A, A, A]]   # 0.6 * 0.4^3, no <eos>
    assert _exhaustive(4) == [B]                                                 # 0.4 * 0.9 = 0.36
    assert beam_search(TableModel(), SRC, LEN, beam_size=2, max_len=4) == [[B]]
    assert beam_search(TableModel(), SRC, LEN, beam_size=1, max_len=4) == [[A, A, A, A]]


def test_length_penalty_changes_the_ranking_as_computed_by_hand():
    # the GNMT penalty divides log p by ((5 + n) / 6) ** alpha: longer outputs gain as alpha grows;
    # a wide beam over this table finds the exhaustive-search optimum for each alpha
    for alpha in (0.0, 0.6, 5.0):
        want = _exhaustive(4, alpha)
        got = beam_search(TableModel(), SRC, LEN, beam_size=8, max_len=4, alpha=alpha)[0]
        assert got == want, alpha
    # by hand: log .36 / (7/6)^5 = -0.473 < log(.6 * .4 * .3 * .9) / (9/6)^5 = -0.360
    assert _exhaustive(4, 0.0) == [B] and _exhaustive(4, 5.0) == [A, A, B]


@pytest.mark.parametrize("attention,cell,bidirectional", [("none", "lstm", False), ("additive", "gru", True),
                                                          ("dot", "lstm", True)])
def test_beam_size_one_is_greedy_and_wider_beams_score_at_least_as_well(attention, cell, bidirectional):
    torch.manual_seed(0)
    model = Seq2Seq(Seq2SeqConfig(src_vocab=12, tgt_vocab=9, embed=6, units=8, layers=2, cell=cell,
                                  bidirectional=bidirectional, attention=attention)).eval()
    src = torch.tensor([[4, 5, 6, 7], [8, 9, 0, 0], [10, 0, 0, 0]])
    lengths = torch.tensor([4, 2, 1])
    greedy = greedy_decode(model, src, lengths, max_len=6)
    assert beam_search(model, src, lengths, beam_size=1, max_len=6) == greedy
    wide = beam_search(model, src, lengths, beam_size=4, max_len=6)
    for b in range(3):
        if len(greedy[b]) < 6 and len(wide[b]) < 6:          # both finished with <eos>
            s = src[b:b + 1, :lengths[b]], lengths[b:b + 1]
            assert sequence_log_prob(model, *s, wide[b]) >= sequence_log_prob(model, *s, greedy[b]) - 1e-6


def test_greedy_batch_equals_one_row_at_a_time():
    torch.manual_seed(1)
    model = Seq2Seq(Seq2SeqConfig(src_vocab=12, tgt_vocab=9, embed=6, units=8, attention="dot")).eval()
    src, lengths = torch.tensor([[4, 5, 6], [8, 9, 0]]), torch.tensor([3, 2])
    both = greedy_decode(model, src, lengths, max_len=5)
    assert both[1] == greedy_decode(model, src[1:, :2], lengths[1:], max_len=5)[0]


@pytest.mark.parametrize("kwargs,name", [({"beam_size": 0}, "beam_size"), ({"max_len": 0}, "max_len"),
                                         ({"max_len": -3}, "max_len"), ({"alpha": -1.0}, "length_penalty")])
def test_bad_decoding_arguments(kwargs, name):
    with pytest.raises(InvalidArgumentError, match=f"`{name}`"):
        beam_search(TableModel(), SRC, LEN, **kwargs)
    if "max_len" in kwargs:
        with pytest.raises(InvalidArgumentError, match="`max_len`"):
            greedy_decode(TableModel(), SRC, LEN, max_len=kwargs["max_len"])
