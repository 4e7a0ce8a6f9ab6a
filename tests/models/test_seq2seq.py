"""Seq2Seq: teacher-forcing batches, loss without padding (hand-masked cross-entropy), reversed
source, the decoder's initial state from the encoder (torch.nn.LSTM reference), the two decoder
paths (whole sequence / step by step) agreeing, scheduled sampling, bad configs."""
import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from rnnkit.errors import InvalidArgumentError
from rnnkit.models.seq2seq import EOS_ID, GO_ID, PAD_ID, Seq2Seq, Seq2SeqConfig, pad_batch
from rnnkit.training.losses import make_loss

SRC = [[5, 6, 7], [8, 9], [10, 11, 12, 13]]
TGT = [[4, 5], [6, 7, 8, 9], [10]]


def _model(**kw):
    torch.manual_seed(0)
    base = dict(src_vocab=16, tgt_vocab=12, embed=6, units=8)
    return Seq2Seq(Seq2SeqConfig(**{**base, **kw})).eval()


def test_pad_batch_shifts_the_target_one_step():
    (src, lengths, tgt_in), tgt_out = pad_batch(SRC, TGT)
    assert src.tolist() == [[5, 6, 7, 0], [8, 9, 0, 0], [10, 11, 12, 13]] and lengths.tolist() == [3, 2, 4]
    assert tgt_in.tolist() == [[GO_ID, 4, 5, 0, 0], [GO_ID, 6, 7, 8, 9], [GO_ID, 10, 0, 0, 0]]
    assert tgt_out.tolist() == [[4, 5, EOS_ID, 0, 0], [6, 7, 8, 9, EOS_ID], [10, EOS_ID, 0, 0, 0]]
    with pytest.raises(InvalidArgumentError, match="non-empty token lists"):
        pad_batch([[1], []], [[1], [2]])


@pytest.mark.parametrize("attention", ["none", "additive", "dot"])
def test_loss_ignores_padding_like_a_hand_masked_cross_entropy(attention):
    model = _model(attention=attention, bidirectional=attention == "additive")
    (src, lengths, tgt_in), tgt_out = pad_batch(SRC, TGT)
    logits = model(src, lengths, tgt_in)
    loss = make_loss("cross_entropy", ignore_index=PAD_ID)(logits, tgt_out)      # what the trainer uses
    logp, terms = torch.log_softmax(logits, -1), []
    for b, t in enumerate(TGT):
        for i, tok in enumerate(t + [EOS_ID]):
            terms.append(-logp[b, i, tok])
    torch.testing.assert_close(loss, torch.stack(terms).mean())
    # whatever sits in the padding of the source and of the decoder input changes nothing
    src2, tgt_in2 = src.clone(), tgt_in.clone()
    src2[1, 2:], tgt_in2[0, 3:], tgt_in2[2, 2:] = 15, 11, 9
    torch.testing.assert_close(make_loss("cross_entropy", ignore_index=PAD_ID)(model(src2, lengths, tgt_in2), tgt_out),
                               loss)


@pytest.mark.parametrize("attention", ["none", "dot"])
def test_reverse_source_reverses_only_the_valid_tokens(attention):
    rev = _model(attention=attention, reverse_source=True)
    plain = _model(attention=attention)
    (src, lengths, tgt_in), _ = pad_batch(SRC, TGT)
    by_hand = torch.tensor([[7, 6, 5, 0], [9, 8, 0, 0], [13, 12, 11, 10]])
    torch.testing.assert_close(rev(src, lengths, tgt_in), plain(by_hand, lengths, tgt_in))


def test_decoder_starts_from_the_encoders_final_state_at_the_last_valid_token():
    model = _model(layers=2)
    ref = nn.LSTM(6, 8, num_layers=2, batch_first=True)
    ref.load_state_dict(model.encoder.state_dict())
    (src, lengths, _), _ = pad_batch(SRC, TGT)
    packed = pack_padded_sequence(model.src_embed(src), lengths, batch_first=True, enforce_sorted=False)
    _, (h, c) = ref(packed)
    state, memory = model.encode(src, lengths)
    assert memory is None
    torch.testing.assert_close(state[0], h)
    torch.testing.assert_close(state[1], c)


def test_bidirectional_encoder_is_bridged_to_the_decoder_width():
    model = _model(bidirectional=True, cell="gru")
    (src, lengths, _), _ = pad_batch(SRC, TGT)
    _, h = model.encoder(model.src_embed(src), lengths=lengths)          # (2 directions, batch, 8)
    want = torch.tanh(model.bridge_h(torch.cat([h[0], h[1]], -1))).unsqueeze(0)
    torch.testing.assert_close(model.encode(src, lengths)[0], want)


@pytest.mark.parametrize("attention,cell,layers", [("none", "lstm", 2), ("none", "gru", 1), ("additive", "lstm", 2),
                                                   ("dot", "gru", 1), ("general", "lstm", 1)])
def test_whole_sequence_decoder_equals_step_by_step(attention, cell, layers):
    model = _model(attention=attention, cell=cell, layers=layers, bidirectional=layers == 2)
    (src, lengths, tgt_in), _ = pad_batch(SRC, TGT)
    whole = model(src, lengths, tgt_in)
    state, memory = model.encode(src, lengths)
    steps = []
    for t in range(tgt_in.shape[1]):
        logits, state = model.decode_step(tgt_in[:, t], state, memory)
        steps.append(logits)
    torch.testing.assert_close(whole, torch.stack(steps, 1))


def test_attention_never_looks_at_source_padding():
    model = _model(attention="additive")
    seen = []
    model.decoder.cells[0].attention.register_forward_hook(lambda module, args, out: seen.append(out[1]))
    (src, lengths, tgt_in), _ = pad_batch(SRC, TGT)
    model(src, lengths, tgt_in)
    pad = torch.arange(4).unsqueeze(0) >= lengths.unsqueeze(1)
    assert seen and all((w[pad] == 0).all() and torch.allclose(w.sum(-1), torch.ones(3)) for w in seen)


def test_scheduled_sampling_ratio_one_is_teacher_forcing_and_zero_feeds_own_predictions():
    (src, lengths, tgt_in), _ = pad_batch(SRC, TGT)
    forced = _model(attention="dot")
    want = forced(src, lengths, tgt_in)
    sampled = _model(attention="dot", teacher_forcing=0.999999).train()
    torch.manual_seed(1)                       # rand >= 0.999999 never happens here
    torch.testing.assert_close(sampled(src, lengths, tgt_in), want)
    own = _model(attention="dot", teacher_forcing=0.0).train()
    got = own(src, lengths, tgt_in)
    state, memory = own.encode(src, lengths)
    tokens, steps = tgt_in[:, 0], []
    for t in range(tgt_in.shape[1]):
        logits, state = own.decode_step(tokens, state, memory)
        steps.append(logits)
        if t + 1 < tgt_in.shape[1]:
            nxt = tgt_in[:, t + 1]
            tokens = torch.where(nxt == PAD_ID, nxt, logits.argmax(-1))
    torch.testing.assert_close(got, torch.stack(steps, 1))


@pytest.mark.parametrize("field,value", [("attention", "luong"), ("cell", "rnn"), ("dropout", 1.0),
                                         ("src_vocab", 3), ("units", 0), ("teacher_forcing", 1.5)])
def test_bad_config_values_are_named(field, value):
    with pytest.raises(InvalidArgumentError, match=f"`{field}`"):
        Seq2SeqConfig(**{"src_vocab": 10, "tgt_vocab": 10, field: value})
