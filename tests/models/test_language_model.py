"""LanguageModel against torch.nn references: loss, stateful windows, gradient truncation,
carried state in the state_dict, streaming generation against re-running the prefix."""

import pytest
import torch
from torch.nn import functional as F

from rnnkit.errors import CheckpointError, InvalidArgumentError
from rnnkit.models import language_model as lm_module
from rnnkit.models.language_model import LanguageModel
from rnnkit.training.checkpoint import read_weights, save_weights

V, E, H, L = 11, 6, 7, 2


pytestmark = pytest.mark.usefixtures("one_thread")   # tests/conftest.py


def model(cell="lstm", **kw):
    torch.manual_seed(0)
    return LanguageModel(V, E, H, L, cell, **kw).double()


def torch_reference(m):
    """torch.nn.Embedding + torch.nn.LSTM/GRU + Linear with the model's weights."""
    rnn = (torch.nn.LSTM if m.cell == "lstm" else torch.nn.GRU)(E, H, L, batch_first=True).double()
    rnn.load_state_dict(m.rnn.state_dict())
    emb = torch.nn.Embedding(V, E).double()
    emb.weight.data.copy_(m.embedding.weight.data)
    lin = torch.nn.Linear(H, V).double()
    lin.load_state_dict(m.decoder.state_dict())
    return emb, rnn, lin


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_loss_equals_cross_entropy_over_torch_rnn(cell):
    m = model(cell).eval()
    emb, rnn, lin = torch_reference(m)
    x, y = torch.randint(0, V, (3, 9)), torch.randint(0, V, (3, 9))
    logits, _ = m.forward_state(x)
    ref = lin(rnn(emb(x))[0])
    assert torch.allclose(logits, ref, atol=1e-10)
    ours = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1)).detach()
    want = F.cross_entropy(ref.reshape(-1, V), y.reshape(-1)).detach()
    assert abs(float(ours) - float(want)) < 1e-10
    # and the log-softmax over the vocabulary, by hand
    by_hand = -(ref.log_softmax(-1).gather(-1, y.unsqueeze(-1))).mean().detach()
    assert abs(float(ours) - float(by_hand)) < 1e-10


@pytest.mark.parametrize("training", [False, True])
def test_stateful_windows_equal_one_pass(training):
    m = model()
    m.train(training)
    emb, rnn, lin = torch_reference(m)
    x = torch.randint(0, V, (2, 12))
    full = lin(rnn(emb(x))[0])
    windows = [m(x[:, :5], torch.tensor(True)), m(x[:, 5:9], torch.tensor(False)), m(x[:, 9:], None)]
    assert torch.allclose(torch.cat(windows, 1), full, atol=1e-10)
    # reset starts over from zeros
    again = m(x[:, :5], torch.tensor(True))
    assert torch.allclose(again, full[:, :5], atol=1e-10)


def test_gradients_stop_at_window_boundaries():
    m = model()
    m.train()
    emb, rnn, lin = torch_reference(m)
    x, y = torch.randint(0, V, (2, 10)), torch.randint(0, V, (2, 10))
    m(x[:, :6], torch.tensor(True))
    m.zero_grad()
    F.cross_entropy(m(x[:, 6:]).reshape(-1, V), y[:, 6:].reshape(-1)).backward()
    ours = m.rnn.weight_hh_l0.grad.clone()
    # reference 1: window 2 from the first window's final state as a constant
    with torch.no_grad():
        _, h = rnn(emb(x[:, :6]))
    out2 = lin(rnn(emb(x[:, 6:]), h)[0])
    F.cross_entropy(out2.reshape(-1, V), y[:, 6:].reshape(-1)).backward()
    assert torch.allclose(ours, rnn.weight_hh_l0.grad, atol=1e-10)
    # reference 2: full backpropagation through both windows differs (so the test can fail)
    rnn.zero_grad()
    full = lin(rnn(emb(x))[0])
    F.cross_entropy(full[:, 6:].reshape(-1, V), y[:, 6:].reshape(-1)).backward()
    assert not torch.allclose(ours, rnn.weight_hh_l0.grad, atol=1e-6)


def test_eval_state_is_separate_from_training_state():
    m = model()
    x = torch.randint(0, V, (2, 5))
    m.train()
    m(x, True)
    saved = m.get_extra_state().clone()
    m.eval()
    m(torch.randint(0, V, (2, 5)), True)
    assert torch.equal(m.get_extra_state(), saved)


def test_carried_state_is_in_state_dict_and_safetensors(tmp_path):
    m = model(tie_weights=False)
    m.train()
    x = torch.randint(0, V, (3, 4))
    m(x, True)
    state = m.get_extra_state()
    assert state.shape == (2, L, 3, H)
    save_weights(tmp_path / "w.safetensors", m)
    m2 = model()
    m2.load_state_dict(read_weights(tmp_path / "w.safetensors"))
    assert torch.equal(m2.get_extra_state(), state)
    m.train(), m2.train()
    assert torch.allclose(m(x), m2(x))      # continues from the same carried state
    m3 = model()
    m3.set_extra_state(torch.zeros(0))
    assert m3.get_extra_state().numel() == 0
    with pytest.raises(CheckpointError, match="shape"):
        m3.set_extra_state(torch.zeros(2, L, 3, H + 1))
    with pytest.raises(CheckpointError):
        m3.set_extra_state({"h": 1})


def test_batch_size_change_needs_reset():
    m = model().train()
    m(torch.randint(0, V, (3, 4)), True)
    with pytest.raises(InvalidArgumentError, match="3"):
        m(torch.randint(0, V, (2, 4)))
    assert m(torch.randint(0, V, (2, 4)), True).shape == (2, 4, V)


def test_weight_tying_and_dropouts():
    torch.manual_seed(0)
    m = LanguageModel(V, 8, 8, 1, tie_weights=True)
    assert m.decoder.weight is m.embedding.weight
    assert sum(p.numel() for p in m.parameters()) == V * 8 + m.rnn.weight_ih_l0.numel() * 2 + 2 * 32 + V
    with pytest.raises(InvalidArgumentError, match="tie_weights"):
        LanguageModel(V, 6, 8, tie_weights=True)
    d = LanguageModel(V, 8, 8, 1, embedding_dropout=0.5).train()
    rows = d.embed(torch.arange(V).unsqueeze(0))[0]
    zero = (rows == 0).all(-1)
    assert 0 < int(zero.sum()) < V                      # whole rows dropped
    kept = ~zero
    assert torch.allclose(rows[kept], 2 * d.embedding.weight[kept])   # survivors scaled by 1/(1-p)
    with pytest.raises(InvalidArgumentError):
        LanguageModel(V, 8, 8, dropout=1.0)


def test_streaming_sample_matches_rerunning_the_prefix(monkeypatch):
    m = model("gru")
    seen = []
    real = lm_module.next_token_probs

    def spy(logits, *a):
        seen.append(logits.clone())
        return real(logits, *a)

    monkeypatch.setattr(lm_module, "next_token_probs", spy)
    prompt = [3, 1, 4]
    out = list(m.sample(prompt, 6, temperature=0.9, top_k=5, seed=1))
    assert len(out) == 6 and len(seen) == 6
    for k in range(6):
        ids = torch.tensor([prompt + out[:k]])
        ref = m.forward_state(ids)[0][0, -1]
        assert torch.allclose(seen[k], ref, atol=1e-10)
    assert list(m.sample(prompt, 6, temperature=0.9, top_k=5, seed=1)) == out  # seeded


def test_greedy_is_argmax_and_reads_prompt_once(monkeypatch):
    m = model()
    calls = []
    real = m.rnn.forward
    monkeypatch.setattr(m.rnn, "forward", lambda x, *a, **k: (calls.append(x.shape[1]), real(x, *a, **k))[1])
    out = list(m.sample([1, 2, 3, 4, 5], 5, temperature=0))
    assert calls == [5, 1, 1, 1, 1]           # prompt once, then one step per new token
    ids = [1, 2, 3, 4, 5]
    for tok in out:
        assert tok == int(m.forward_state(torch.tensor([ids]))[0][0, -1].argmax())
        ids.append(tok)


@pytest.mark.parametrize("kw, name", [({"temperature": -0.1}, "temperature"), ({"top_p": 0.0}, "top_p"),
                                      ({"top_p": 1.5}, "top_p"), ({"top_k": 0}, "top_k"),
                                      ({"length": -1}, "length")])
def test_bad_sampling_arguments(kw, name):
    m = model()
    args = {"length": 3, **kw}
    with pytest.raises(InvalidArgumentError, match=name):
        list(m.sample([1], **args))


def test_bad_prompts():
    m = model()
    with pytest.raises(InvalidArgumentError, match="prompt"):
        list(m.sample([], 3))
    with pytest.raises(InvalidArgumentError, match="prompt"):
        list(m.sample([V], 3))
