"""Word-level language models: a pre-tokenised corpus read as it is (hand-computed ids), the adaptive
softmax against torch's own module, tied weights sharing one tensor, defaults chosen by the level
and recorded, special tokens never sampled, and the character defaults left as they were."""
import json
import math
import random

import pytest
import torch
from torch import nn

from rnnkit.errors import InvalidArgumentError
from rnnkit.models.language_model import LanguageModel
from rnnkit.tasks.lm import LMConfig, load_lm, run_lm
from rnnkit.tasks.lm_defaults import ADAPTIVE_FROM, default_cutoffs, with_defaults
from rnnkit.tasks.lm_text import TextCodec, looks_tokenized
from rnnkit.training import TrainConfig, Trainer


pytestmark = pytest.mark.usefixtures("one_thread")   # tests/conftest.py


def corpus(n_lines: int, seed: int) -> str:
    """A PTB-like text: lower-case words, <unk>, one sentence per line with PTB's spaces."""
    rng = random.Random(seed)
    words = ["the", "a", "cat", "dog", "sat", "on", "mat", "'s", "N", "<unk>", "and", "ran"]
    return "".join(" " + " ".join(rng.choice(words) for _ in range(rng.randint(3, 9))) + " \n"
                   for _ in range(n_lines))


def test_tokenized_corpus_is_read_as_it_is():
    text = " the cat 's <unk> \n\n the  dog \n"
    assert looks_tokenized(text) and not looks_tokenized("The cat's <unk>, here")
    c = TextCodec.fit("word", text, tokenized=True)
    # by hand: [PAD], the corpus's own <unk> as the unknown id, then by frequency (ties: first seen):
    # <eos> 3 (three lines), the 2, cat 1, 's 1, dog 1
    assert c.table.tokens == ["[PAD]", "<unk>", "<eos>", "the", "cat", "'s", "dog"]
    # every line (the blank one too) ends with <eos>; an unseen word is the corpus's <unk>
    assert c.encode(text) == [3, 4, 5, 1, 2, 2, 3, 6, 2]
    assert c.encode(" The bird \n") == [1, 1, 2]             # no lower-casing, no re-splitting
    assert c.decode([3, 4, 2, 3, 6, 2]) == "the cat\nthe dog\n"
    assert c.banned() == [0]                                   # <unk> is the corpus's, it may be drawn
    plain = TextCodec.fit("word", "the cat 's dog\n", tokenized=True)
    assert plain.table.tokens[:2] == ["[PAD]", "[UNK]"] and plain.banned() == [0, 1]


def reference_adaptive(model: LanguageModel) -> nn.AdaptiveLogSoftmaxWithLoss:
    ref = nn.AdaptiveLogSoftmaxWithLoss(model.hidden_size, model.vocab_size, list(model.cutoffs), div_value=4.0)
    ref.load_state_dict(model.adaptive.state_dict())
    return ref


def test_adaptive_softmax_equals_torch_and_sums_to_one():
    torch.manual_seed(0)
    lm = LanguageModel(300, embedding_dim=16, hidden_size=24, num_layers=2, cutoffs=(40, 150))
    x, y = torch.randint(0, 300, (3, 7)), torch.randint(0, 300, (3, 7))
    lm.eval()
    feats, _ = lm.features(x)
    ref = reference_adaptive(lm)
    flat = feats.reshape(-1, 24)
    assert torch.allclose(lm.loss(feats, y), ref(flat, y.reshape(-1)).loss)
    full = ref.log_prob(flat)
    assert torch.allclose(full.exp().sum(-1), torch.ones(21), atol=1e-5)        # a distribution over 300 ids
    logits, _ = lm.forward_state(x)
    assert torch.allclose(logits.reshape(-1, 300), full)
    nll, _ = lm.nll(x, y)
    assert nll.item() == pytest.approx(-full.gather(1, y.reshape(-1, 1)).sum().item(), rel=1e-5)


def test_tied_weights_share_one_tensor_and_full_softmax_loss():
    lm = LanguageModel(50, embedding_dim=12, hidden_size=12, tie_weights=True)
    assert lm.decoder.weight is lm.embedding.weight
    assert lm.decoder.weight.data_ptr() == lm.embedding.weight.data_ptr()
    assert sum(p.numel() for p in lm.parameters()) == sum(
        p.numel() for p in LanguageModel(50, embedding_dim=12, hidden_size=12).parameters()) - 50 * 12
    x, y = torch.randint(0, 50, (2, 5)), torch.randint(0, 50, (2, 5))
    lm.eval()
    logits, _ = lm.forward_state(x)
    expected = nn.functional.cross_entropy(logits.reshape(-1, 50), y.reshape(-1))
    assert torch.allclose(lm.loss(logits, y), expected)
    with pytest.raises(Exception, match="tie_weights"):
        LanguageModel(500, embedding_dim=12, hidden_size=12, tie_weights=True, cutoffs=(100,))


def test_special_tokens_are_never_sampled():
    torch.manual_seed(0)
    lm = LanguageModel(6, embedding_dim=4, hidden_size=4, banned=[0, 1])
    with torch.no_grad():
        lm.decoder.bias.copy_(torch.tensor([30.0, 30.0, 0, 0, 0, 0]))     # [PAD]/[UNK] would win every draw
    for temperature in (0, 1.0):
        ids = list(lm.sample([2], 50, temperature=temperature, seed=1))
        assert ids and not {0, 1} & set(ids)


def test_word_defaults_are_chosen_by_the_data_and_char_defaults_stay():
    word, chosen = with_defaults(LMConfig(level="word"), vocab_size=10_001, tokenized=True)
    assert (word.bptt, word.batch_size, word.units, word.embedding_dim, word.dropout) == (35, 20, 200, 200, 0.2)
    assert (word.optimizer, word.lr, word.clip_norm, word.lr_patience, word.lr_factor) == ("sgd", 20.0, 0.25, 0, 0.25)
    assert not word.adaptive_softmax and word.tie_weights and word.tokenized and "bptt" in chosen
    assert word.model_kwargs(10_001)["cutoffs"] is None and default_cutoffs(10_001) == [2000]
    large, _ = with_defaults(LMConfig(level="word"), vocab_size=ADAPTIVE_FROM)
    assert large.adaptive_softmax and not large.tie_weights and large.model_kwargs(ADAPTIVE_FROM)["cutoffs"] == [
        2000, 10000]
    assert not with_defaults(LMConfig(level="word"), vocab_size=ADAPTIVE_FROM - 1)[0].adaptive_softmax
    small, _ = with_defaults(LMConfig(level="word", units=650), vocab_size=3000)
    assert small.tie_weights and small.embedding_dim == 650 and small.dropout == 0.5 and not small.adaptive_softmax
    char, _ = with_defaults(LMConfig(), vocab_size=65)          # a GRU on a cosine schedule (issue 23)
    assert (char.cell, char.bptt, char.batch_size, char.embedding_dim, char.units, char.layers, char.dropout) == (
        "gru", 50, 32, 64, 256, 2, 0.1)
    tc = char.train_config()
    assert (tc.optimizer, tc.lr, tc.clip_norm, tc.lr_patience, tc.lr_factor, tc.patience, tc.lr_schedule) == (
        "adam", 3e-3, 1.0, None, 0.5, None, "cosine")
    assert word.cell == "lstm" and word.train_config().lr_schedule == "plateau"
    assert char.model_kwargs(65)["cutoffs"] is None and not char.tie_weights


def test_lr_schedule_and_lr_patience_choose_each_other():
    plateau, chosen = with_defaults(LMConfig(lr_patience=2), vocab_size=65)    # a plateau asked for
    assert plateau.lr_schedule == "plateau" and "lr_schedule" in chosen and plateau.train_config().lr_patience == 2
    cosine, _ = with_defaults(LMConfig(level="word", lr_schedule="cosine"), vocab_size=1000)
    assert cosine.lr_patience == -1 and cosine.train_config().lr_schedule == "cosine"
    assert with_defaults(LMConfig(lr_patience=-1), vocab_size=65)[0].lr_schedule == "cosine"    # -1 = off
    with pytest.raises(InvalidArgumentError, match="--lr-patience.*--lr-schedule cosine"):
        LMConfig(lr_schedule="cosine", lr_patience=2)
    with pytest.raises(InvalidArgumentError, match="--lr-schedule"):
        LMConfig(lr_schedule="step")


@pytest.fixture(scope="module")
def word_run(tmp_path_factory):
    torch.set_num_threads(1)
    d = tmp_path_factory.mktemp("word")
    for name, n, seed in (("train", 400, 1), ("valid", 40, 2), ("test", 40, 3)):
        (d / f"{name}.txt").write_text(corpus(n, seed))
    out = d / "run"
    logs = []
    res = run_lm(LMConfig(text=str(d / "train.txt"), val=str(d / "valid.txt"), test=str(d / "test.txt"), level="word",
                          epochs=2, windows_per_epoch=3, units=16, adaptive_softmax=True, sample_length=15,
                          out=str(out)), log=logs.append)
    return d, out, res, logs


def test_word_run_records_its_chosen_defaults(word_run):
    d, out, res, logs = word_run
    cfg = json.loads((out / "config.json").read_text())
    job = cfg["job"]
    assert job["tokenized"] is True and (job["bptt"], job["batch_size"], job["optimizer"], job["lr"]) == (35, 20, "sgd", 20.0)
    assert job["adaptive_softmax"] is True and job["tie_weights"] is False and cfg["model"]["cutoffs"] == [2]
    assert {"bptt", "tokenized", "optimizer", "lr"} <= set(cfg["chosen_by_data"]) and "units" not in cfg["chosen_by_data"]
    assert cfg["data"]["vocab_size"] == 14                    # 11 words + <unk> + <eos> + [PAD]
    line = next(s for s in logs if s.startswith("model and schedule"))
    assert "bptt=35*" in line and "units=16," in line and "adaptive_softmax=True," in line
    assert "[PAD]" not in res["sample"]


def test_word_run_perplexity_equals_an_independent_recomputation(word_run):
    d, out, res, _ = word_run
    model, codec, cfg, _ = load_lm(out)
    ids = torch.tensor(codec.encode((d / "test.txt").read_text()))
    # the corpus's own count: white-space tokens + one <eos> per line
    text = (d / "test.txt").read_text()
    assert len(ids) == len(text.split()) + text.count("\n")
    streams = min(20, (len(ids) - 1) // 35)
    n = (len(ids) - 1) // streams
    x, y = ids[:streams * n].view(streams, n), ids[1:streams * n + 1].view(streams, n)
    with torch.no_grad():
        logp, _ = model.forward_state(x)                      # full log-probabilities, one pass over each stream
    nll = -logp.log_softmax(-1).gather(2, y.unsqueeze(2)).sum().item()
    assert res["test"]["perplexity"] == pytest.approx(math.exp(nll / y.numel()), rel=1e-4)


def test_sgd_and_an_lr_drop_at_the_first_epoch_without_progress():
    tc = TrainConfig(optimizer="sgd", lr=20.0, lr_patience=0, lr_factor=0.25, quiet=True, tensorboard=False)
    trainer = Trainer(nn.Linear(2, 1), tc)
    assert isinstance(trainer.optimizer, torch.optim.SGD) and trainer.scheduler.patience == 0
    trainer.scheduler.step(1.0)
    trainer.scheduler.step(2.0)                               # no progress: 20 / 4 at once
    assert trainer.optimizer.param_groups[0]["lr"] == 5.0
