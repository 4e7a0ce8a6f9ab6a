"""SequenceClassifier against torch.nn modules on packed batches, and padding invariance."""
import itertools

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

from rnnkit.errors import InvalidArgumentError
from rnnkit.models.classifier import ClassifierConfig, SequenceClassifier


def _ids(seed=0, batch=5, time=9, vocab=30):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([9, 3, 1, 6, 2])[:batch]
    ids = torch.randint(1, vocab, (batch, time), generator=g)
    ids[torch.arange(time) >= lengths.unsqueeze(1)] = 0
    return ids, lengths


@pytest.mark.parametrize("cell,bidirectional", [("lstm", False), ("lstm", True), ("gru", True), ("rnn", False)])
def test_last_state_matches_torch_packed(cell, bidirectional):
    torch.manual_seed(0)
    cfg = ClassifierConfig(n_classes=3, vocab_size=30, embedding_dim=6, cell=cell, units=5,
                           bidirectional=bidirectional, layers=2)
    model = SequenceClassifier(cfg).eval()
    ref_rnn = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell](
        6, 5, num_layers=2, batch_first=True, bidirectional=bidirectional)
    ref_rnn.load_state_dict(model.rnn.state_dict())
    ids, lengths = _ids()
    packed = pack_padded_sequence(model.embedding(ids), lengths, batch_first=True, enforce_sorted=False)
    _, h = ref_rnn(packed)
    h = h[0] if cell == "lstm" else h
    z = torch.cat(list(h[-(2 if bidirectional else 1):]), -1)
    expected = model.output(z)
    assert torch.allclose(model(ids, lengths), expected, atol=1e-5)


CASES = [dict(cell=c, pooling=p) for c, p in itertools.product(("rnn", "lstm", "gru"), ("last", "mean", "max"))] + [
    dict(cell="lstm", bidirectional=True, pooling="last"), dict(cell="gru", bidirectional=True, pooling="max"),
    dict(cell="conv", pooling="max", layers=2, conv_kernel=3, pool_size=2),
    dict(cell="conv", pooling="mean", conv_kernel=4),
    dict(cell="gru", conv_filters=4, conv_kernel=3, pool_size=2),
    dict(cell="lstm", conv_filters=4, conv_kernel=5, pool_size=3, pooling="mean", dense_units=3)]


@pytest.mark.parametrize("kw", CASES, ids=lambda kw: "-".join(f"{v}" for v in kw.values()))
def test_padding_never_changes_a_prediction(kw):
    torch.manual_seed(1)
    model = SequenceClassifier(ClassifierConfig(n_classes=2, vocab_size=30, embedding_dim=4, units=3, **kw)).eval()
    ids, lengths = _ids()
    base = model(ids, lengths)
    longer = torch.cat([ids, torch.zeros(5, 7, dtype=torch.long)], 1)
    assert torch.allclose(model(longer, lengths), base, atol=1e-6)
    # each row alone, cut to its own length, gives the same logit as in the batch
    for i, n in enumerate(lengths.tolist()):
        alone = model(ids[i:i + 1, :n], lengths[i:i + 1])
        assert torch.allclose(alone, base[i:i + 1], atol=1e-5), (i, n)


def test_numeric_features_padding_with_nan_is_ignored():
    torch.manual_seed(2)
    model = SequenceClassifier(ClassifierConfig(n_classes=4, n_features=3, cell="gru", units=4,
                                                conv_filters=2, conv_kernel=2, pool_size=1)).eval()
    x, lengths = torch.randn(3, 5, 3), torch.tensor([5, 2, 3])
    base = model(x, lengths)
    assert base.shape == (3, 4)
    x2 = x.clone()
    x2[1, 2:] = float("nan")
    x2[2, 3:] = 1e6
    assert torch.allclose(model(x2, lengths), base, atol=1e-6)
    p = model.predict_proba(x, lengths)
    assert torch.allclose(p.sum(1), torch.ones(3))


@pytest.mark.parametrize("kw", CASES[:3] + CASES[-4:] + [dict(cell="lstm", bidirectional=True, layers=2)])
def test_estimated_parameters_equal_the_built_model(kw):
    for n_classes in (2, 5):
        cfg = ClassifierConfig(n_classes=n_classes, vocab_size=40, embedding_dim=7, units=6, **kw)
        assert cfg.estimated_parameters() == sum(p.numel() for p in SequenceClassifier(cfg).parameters())


def test_pretrained_embedding_frozen_or_trained():
    matrix = torch.randn(30, 4)
    frozen = SequenceClassifier(ClassifierConfig(n_classes=2, vocab_size=30, embedding_dim=4, freeze_embedding=True))
    frozen.load_embedding(matrix)
    assert torch.equal(frozen.embedding.weight[1:], matrix[1:]) and frozen.embedding.weight[0].abs().sum() == 0
    ids, lengths = _ids()
    frozen(ids, lengths).sum().backward()
    assert frozen.embedding.weight.grad is None
    tuned = SequenceClassifier(ClassifierConfig(n_classes=2, vocab_size=30, embedding_dim=4))
    tuned.load_embedding(matrix)
    tuned(ids, lengths).sum().backward()
    assert tuned.embedding.weight.grad.abs().sum() > 0
    with pytest.raises(InvalidArgumentError, match="embedding matrix"):
        tuned.load_embedding(torch.randn(30, 5))


@pytest.mark.parametrize("bad", [dict(n_classes=1), dict(cell="transformer"), dict(pooling="sum"),
                                 dict(units=0), dict(dropout=1.0), dict(n_features=3),
                                 dict(cell="conv", bidirectional=True)])
def test_bad_config_refused(bad):
    kw = dict(n_classes=2, vocab_size=10) | bad
    with pytest.raises(InvalidArgumentError):
        ClassifierConfig(**kw)
