"""Tagger: per-step logits as torch.nn.LSTM on packed sentences; the loss ignores padding."""
import math

import pytest

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnkit.errors import InvalidArgumentError
from rnnkit.models.tagger import Tagger, TaggerConfig, pad_tags
from rnnkit.training import TrainConfig, Trainer


def _batch():
    ids = torch.tensor([[3, 4, 5, 6], [7, 8, 0, 0], [9, 0, 0, 0]])
    lengths = torch.tensor([4, 2, 1])
    tags = pad_tags([[0, 1, 2, 0], [2, 1], [1]], width=4)
    return ids, lengths, tags


def test_outputs_match_torch_bidirectional_lstm_packed():
    torch.manual_seed(0)
    model = Tagger(TaggerConfig(vocab_size=10, n_tags=3, embedding_dim=5, units=4)).eval()
    ref = torch.nn.LSTM(5, 4, batch_first=True, bidirectional=True)
    ref.load_state_dict(model.rnn.state_dict())
    ids, lengths, _ = _batch()
    out, _ = ref(pack_padded_sequence(model.embedding(ids), lengths, batch_first=True, enforce_sorted=False))
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=4)
    logits = model(ids, lengths)
    for i, n in enumerate(lengths.tolist()):
        assert torch.allclose(logits[i, :n], model.output(out[i, :n]), atol=1e-5)
    # appending padding changes no logit of a real token
    longer = model(torch.cat([ids, torch.zeros(3, 3, dtype=torch.long)], 1), lengths)
    for i, n in enumerate(lengths.tolist()):
        assert torch.allclose(longer[i, :n], logits[i, :n], atol=1e-6)


def test_trainer_loss_equals_hand_masked_cross_entropy():
    torch.manual_seed(1)
    model = Tagger(TaggerConfig(vocab_size=10, n_tags=3, embedding_dim=5, units=4))
    ids, lengths, tags = _batch()
    trainer = Trainer(model, TrainConfig(loss="cross_entropy", quiet=True))
    got = trainer.evaluate([((ids, lengths), tags)], metrics=["accuracy"])
    logits = model.eval()(ids, lengths)
    terms, hits = [], 0
    for i, n in enumerate(lengths.tolist()):
        for t in range(n):
            p = torch.softmax(logits[i, t], 0)
            terms.append(-math.log(float(p[tags[i, t]].detach())))
            hits += int(logits[i, t].argmax() == tags[i, t])
    assert len(terms) == 7
    assert abs(got["loss"] - sum(terms) / len(terms)) < 1e-5
    assert abs(got["accuracy"] - hits / 7) < 1e-9


def test_pad_tags_truncates_and_fills():
    assert pad_tags([[1, 2, 3], []], width=2).tolist() == [[1, 2], [-100, -100]]


def test_char_cnn_equals_each_token_convolved_alone_and_handles_empty_and_unseen():
    from rnnkit.models.char_features import CharAlphabet, CharCNN
    alphabet = CharAlphabet.build([["Paris", "is", "nice"]])
    chars = torch.from_numpy(alphabet.encode([["Paris", "", "Zürich"], ["nice"]], width=3, max_chars=5))
    assert chars[0, 1].tolist() == [0] * 5                          # the empty token: no character
    assert chars[0, 2].tolist()[:2] == [1, 1] and chars[0, 2, 3].item() == alphabet.index["i"]   # Z, ü unseen
    torch.manual_seed(0)
    cnn = CharCNN(len(alphabet), dim=4, filters=6, kernel=3)
    got = cnn(chars)
    for b in range(2):
        for t in range(3):
            ids = chars[b, t][chars[b, t] != 0]
            if len(ids) == 0:                                           # empty token and padding: zeros
                assert torch.equal(got[b, t], torch.zeros(6))
                continue
            ref = torch.nn.functional.conv1d(cnn.embedding(ids).T[None], cnn.conv.weight, cnn.conv.bias, padding=1)
            assert torch.allclose(got[b, t], ref[0].amax(-1), atol=1e-6)


def test_crf_tagger_loss_is_the_crf_likelihood_per_token_and_decodes_valid_iob2():
    from rnnkit.models.crf import valid_iob2
    names = ["B-LOC", "I-LOC", "O"]
    torch.manual_seed(2)
    model = Tagger(TaggerConfig(vocab_size=10, n_tags=3, embedding_dim=5, units=4, crf=True, tag_names=names,
                                chars=list("abc")))
    ids, lengths, tags = _batch()
    chars = model.encode_chars([["ab", "c", "", "a"], ["b", "zz"], ["c"]], 4)
    scores = model(ids, lengths, chars)
    want = model.crf.nll(scores, tags, lengths) / 7
    assert torch.allclose(model.loss(scores, tags), want)
    best = model.decode(scores, lengths)
    assert all(valid_iob2([names[i] for i in best[b, :n]]) for b, n in enumerate(lengths.tolist()))
    with pytest.raises(InvalidArgumentError, match="chars"):
        model(ids, lengths)
    plain = Tagger(TaggerConfig(vocab_size=10, n_tags=3, embedding_dim=5, units=4))
    logits = plain(ids, lengths)
    ce = torch.nn.functional.cross_entropy(logits.reshape(-1, 3), tags.reshape(-1), ignore_index=-100)
    assert torch.allclose(plain.loss(logits, tags), ce) and torch.equal(plain.decode(logits), logits.argmax(-1))
