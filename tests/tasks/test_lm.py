"""The language-model task end to end on a 6 KB fixture: metrics against an independent
recomputation, generation from a run, exact resume, and every bad input as a clear error."""
import json
import math
import shutil
from pathlib import Path

import pytest
import torch
from torch.nn import functional as F

from rnnkit.cli import main
from rnnkit.errors import CheckpointError
from rnnkit.tasks.lm import LMConfig, load_lm, run_lm
from rnnkit.tasks.lm_text import TextCodec
from rnnkit.training import resume
from rnnkit.training.checkpoint import load_state

FIX = Path(__file__).resolve().parent / "fixtures" / "lm"
TINY = FIX / "tiny.txt"
SMALL = dict(text=str(TINY), bptt=20, batch_size=4, windows_per_epoch=5, embedding_dim=8, hidden_size=16,
             num_layers=1, sample_length=20, quiet=True)


pytestmark = pytest.mark.usefixtures("one_thread")   # tests/conftest.py


@pytest.fixture(scope="module")
def char_run(tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("lm") / "char"
    result = run_lm(LMConfig(out=str(out), epochs=3, **SMALL), log=lambda *a: None)
    return out, result


def test_char_run_metrics_equal_an_independent_recomputation(char_run):
    out, result = char_run
    metrics = json.loads((out / "metrics.json").read_text())
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["task"] == "lm" and cfg["job"]["level"] == "char"
    for part in ("val", "test"):
        m = metrics[part]
        assert m["bits_per_char"] == pytest.approx(m["loss_nats"] / math.log(2), rel=1e-12)
        assert m["perplexity"] == pytest.approx(math.exp(m["loss_nats"]), rel=1e-12)
    # recompute the validation loss: the same 90/5/5 cut, B streams by hand, one pass each
    model, codec, _, _ = load_lm(out)
    text = TINY.read_text()
    n = len(text)
    a = text.find("\n", int(n * 0.9)) + 1
    b = text.find("\n", int(n * 0.95)) + 1
    ids = torch.tensor([codec.table.token_to_id(c) for c in text[a:b]])
    B = 4
    L = (len(ids) - 1) // B
    x = torch.stack([ids[i * L:(i + 1) * L] for i in range(B)])
    y = torch.stack([ids[i * L + 1:(i + 1) * L + 1] for i in range(B)])
    with torch.no_grad():
        logits = model.forward_state(x)[0]
    want = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).double(), y.reshape(-1)).item()
    assert metrics["val"]["loss_nats"] == pytest.approx(want, rel=1e-6)    # float32 terms, float64 sum
    assert metrics["val"]["tokens"] == B * L
    assert (out / "sample.txt").read_text().strip() and (out / "val_loss_time.png").stat().st_size > 1000
    assert (out / "vocabulary.json").exists()


def test_load_model_of_an_lm_run_is_its_trained_model(char_run):
    import rnnkit
    from safetensors.torch import load_file
    out, _ = char_run
    model = rnnkit.load_model(out)
    assert not model.training
    saved = load_file(str(out / "model.safetensors"))
    params = dict(model.named_parameters())
    assert params and set(params) <= set(saved)
    for name, p in params.items():
        assert torch.equal(p, saved[name]), name
    x = torch.tensor([[1, 2, 3, 4]])
    with torch.no_grad():
        assert torch.equal(model.forward_state(x)[0], load_lm(out)[0].forward_state(x)[0])


def test_generate_streams_greedy_text(char_run, capsys):
    out, _ = char_run
    assert main(["lm", "generate", "--run", str(out), "--prompt", "KING", "--length", "15", "--temperature", "0"]) == 0
    first = capsys.readouterr().out
    assert main(["lm", "generate", "--run", str(out), "--prompt", "KING", "--length", "15", "--temperature", "0"]) == 0
    assert capsys.readouterr().out == first
    model, codec, _, _ = load_lm(out)
    ids = list(model.sample(codec.encode("KING"), 15, temperature=0))
    assert first == "KING" + codec.decode(ids) + "\n"
    assert main(["lm", "generate", "--run", str(out), "--length", "5", "--top-k", "3", "--top-p", "0.9",
                 "--seed", "1"]) == 0
    assert len(capsys.readouterr().out) >= 5
    assert main(["predict", "--run", str(out)]) == 0              # rnnkit predict -> generation
    assert capsys.readouterr().out.strip()


def test_resume_after_interruption_equals_the_uninterrupted_run(char_run, tmp_path, monkeypatch):
    full, _ = char_run
    out = tmp_path / "resumed"
    save = resume.save_checkpoint

    def killed_after_epoch_1(trainer, epoch, fp):       # the same run (its cosine schedule spans 3 epochs)
        save(trainer, epoch, fp)
        if epoch == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(resume, "save_checkpoint", killed_after_epoch_1)
    with pytest.raises(KeyboardInterrupt):
        run_lm(LMConfig(out=str(out), epochs=3, **SMALL), log=lambda *a: None)
    monkeypatch.undo()
    # the checkpoint carries the streams' state (epoch 2 continues the pass without a reset)
    carried = load_state(out / "checkpoints" / "last.pt")["model"]["_extra_state"]
    assert carried.shape == (1, 1, 4, 16)       # the GRU's h (an LSTM's stacks h and c)
    assert not (out / "model.safetensors").exists()
    run_lm(LMConfig(out=str(out), epochs=3, resume=True, **SMALL), log=lambda *a: None)
    assert (out / "model.safetensors").read_bytes() == (full / "model.safetensors").read_bytes()
    assert json.loads((out / "metrics.json").read_text())["val"] == json.loads((full / "metrics.json").read_text())["val"]


def test_word_and_bpe_levels(tmp_path):
    w = run_lm(LMConfig(out=str(tmp_path / "w"), level="word", epochs=1, **{**SMALL, "bptt": 5}), log=lambda *a: None)
    assert w["val"]["bits_per_char"] is None and w["val"]["perplexity"] == pytest.approx(math.exp(w["val"]["loss_nats"]))
    b = run_lm(LMConfig(out=str(tmp_path / "b"), level="bpe", vocab_size=300, epochs=1, **{**SMALL, "bptt": 8}),
               log=lambda *a: None)
    codec = TextCodec.load(tmp_path / "b", "bpe")
    assert codec.decode(codec.encode("To be, or not\n")) == "To be, or not\n"
    assert b["val"]["bits_per_char"] < b["val"]["loss_nats"] / math.log(2)   # > 1 char per token
    with pytest.warns(UserWarning, match="outside the vocabulary"):
        assert main(["lm", "generate", "--run", str(tmp_path / "w"), "--prompt", "the zyzzyva", "--length", "3"]) == 0


def run_cli(args, capsys):
    code = main(args)
    err = capsys.readouterr().err
    return code, err


@pytest.mark.parametrize("args, message", [
    (["--bptt", "0"], "--bptt"),
    (["--bptt", "-5"], "--bptt"),
    (["--temperature", "-1"], "--temperature"),
    (["--top-p", "1.5"], "--top-p"),
    (["--top-p", "0"], "--top-p"),
    (["--val", str(TINY)], "--val and --test together"),
])
def test_bad_training_options(args, message, capsys, tmp_path):
    code, err = run_cli(["lm", "train", "--text", str(TINY), "--out", str(tmp_path / "r"), *args], capsys)
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_bad_texts(capsys, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    code, err = run_cli(["lm", "train", "--text", str(empty), "--out", str(tmp_path / "r1")], capsys)
    assert code == 2 and "empty" in err
    short = tmp_path / "short.txt"
    short.write_text("To be, or not to be, that is the question.\n" * 3)
    code, err = run_cli(["lm", "train", "--text", str(short), "--bptt", "50", "--out", str(tmp_path / "r2")], capsys)
    assert code == 2 and "shorter than one BPTT window of 50 steps" in err
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9\n".encode("latin-1") * 100)
    code, err = run_cli(["lm", "train", "--text", str(latin), "--out", str(tmp_path / "r3")], capsys)
    assert code == 2 and "not UTF-8" in err
    code, err = run_cli(["lm", "train", "--text", str(tmp_path / "none.txt")], capsys)
    assert code == 2 and "--text" in err


def test_bad_generation_input(char_run, capsys, tmp_path):
    out, _ = char_run
    base = ["lm", "generate", "--run", str(out), "--length", "3"]
    code, err = run_cli(base + ["--prompt", "KING \u263a~"], capsys)
    assert code == 2 and "never occur" in err and "'\u263a'" in err
    for opt, val in (("--temperature", "-0.5"), ("--top-p", "1.2"), ("--top-k", "-2"), ("--length", "-5")):
        code = main(["lm", "generate", "--run", str(out), "--prompt", "the", "--length", "3", opt, val])
        printed, err = capsys.readouterr()
        assert code == 2 and printed == "", printed          # checked before the prompt is printed
        assert f"argument `{opt}`" in err and err.count("\n") == 1 and "Traceback" not in err, err
    code, err = run_cli(["lm", "generate", "--run", str(tmp_path / "nothing")], capsys)
    assert code == 2 and "does not exist" in err


def test_vocabulary_that_does_not_match_the_weights(char_run, tmp_path, capsys):
    out, _ = char_run
    other = tmp_path / "copy"
    shutil.copytree(out, other)
    small = TextCodec.fit("char", "abc")
    (other / "vocabulary.json").write_text(small.table.to_json())
    code, err = run_cli(["lm", "generate", "--run", str(other), "--length", "3"], capsys)
    assert code == 2 and "vocabulary.json" in err
    with pytest.raises(CheckpointError, match="has 5 tokens but the model's weights are for"):
        TextCodec.load(other, "char", expected_size=load_state_size(out))


def load_state_size(run):
    return json.loads((run / "config.json").read_text())["model"]["vocab_size"]


def test_recipe_seed002_runs_and_reports_minutes(tmp_path, capsys):
    from rnnkit.recipes.seed002_shakespeare import minutes_to
    rows = [{"time": 60.0, "val_loss": 2.5}, {"time": 90.0, "val_loss": 1.8}, {"time": 30.0, "val_loss": 1.5}]
    assert minutes_to(rows, 1.88) == pytest.approx(2.5) and minutes_to(rows, 1.2) is None
    args = ["recipe", "seed002", "--text", str(TINY), "--bptt", "20", "--batch-size", "4", "--windows-per-epoch", "3",
            "--embedding-dim", "8", "--hidden-size", "8", "--num-layers", "1", "--sample-length", "10",
            "--max-minutes", "1e-9", "--out", str(tmp_path / "r"), "--quiet"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "validation <= 1.88 nats/char: not reached" in out
    assert (tmp_path / "r" / "history.csv").read_text().strip().count("\n") == 1     # one epoch: the time budget
