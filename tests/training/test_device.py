"""``--device`` / ``TrainConfig(device=...)`` (rnnkit.training.device): names, ``auto``, devices
that are not here (one paragraph, exit 2, nothing written), the device recorded in config.json,
and a resume on another device. No GPU is reachable here: CUDA's presence is patched where a test
needs it, and nothing runs on it."""
import json
from pathlib import Path

import pytest
import torch

from rnnkit.cli import main
from rnnkit.training import TrainConfig, Trainer
from rnnkit.training.device import DeviceError, available_devices, check_device_name, resolve_device
from tests.recipes.cli_helpers import _csv

FIX = Path(__file__).resolve().parents[1] / "tasks" / "fixtures"
no_gpu = pytest.mark.skipif(torch.cuda.is_available() or torch.backends.mps.is_available(),
                            reason="the cases of a machine without a GPU")


@pytest.mark.parametrize("name", ["auto", "cpu", "cuda", "cuda:0", "cuda:12", "mps"])
def test_device_names_accepted(name):
    assert check_device_name(name) == name


@pytest.mark.parametrize("name", ["gpu", "CUDA", "cuda:", "cuda:x", "cpu:0", "", "auto "])
def test_other_names_are_one_paragraph(name):
    with pytest.raises(DeviceError, match="--device must be one of auto, cpu, cuda, cuda:N"):
        check_device_name(name)
    with pytest.raises(DeviceError):
        TrainConfig(device=name)


@no_gpu
def test_auto_is_the_cpu_here_and_absent_devices_are_refused():
    assert resolve_device("auto") == torch.device("cpu") and available_devices() == ["cpu"]
    for name in ("cuda", "cuda:1", "mps"):
        with pytest.raises(DeviceError, match="Devices here: cpu"):
            resolve_device(name)


def test_auto_takes_cuda_when_torch_sees_a_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("auto") == torch.device("cuda")
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    with pytest.raises(DeviceError, match="there are 2 CUDA GPU"):
        resolve_device("cuda:2")
    assert available_devices()[:2] == ["cuda:0", "cuda:1"]


def _commands(tmp: Path) -> dict:
    return {
        "forecast": ["forecast", "--csv", str(_csv(tmp / "s.csv")), "--time-col", "time", "--target", "temp",
                     "--units", "4", "--lookback", "12", "--steps-per-epoch", "2"],
        "classify": ["classify", "--csv", str(FIX / "tiny_reviews.csv"), "--text-col", "review", "--label-col",
                     "sentiment", "--units", "4", "--no-baselines"],
        "tag": ["tag", "--conll", str(FIX / "tiny_ner.txt"), "--units", "4", "--embedding-dim", "4"],
        "lm": ["lm", "train", "--text", str(FIX / "lm" / "tiny.txt"), "--bptt", "20", "--batch-size", "5",
               "--windows-per-epoch", "2", "--embedding-dim", "8", "--hidden-size", "8", "--sample-length", "5"],
        "translate": ["translate", "train", "--pairs", str(FIX / "translate" / "fra.txt"), "--embed", "8",
                      "--units", "8", "--batch-size", "5"],
    }


@no_gpu
@pytest.mark.parametrize("task", ["forecast", "classify", "tag", "lm", "translate"])
def test_every_training_command_refuses_an_absent_device_before_writing(task, tmp_path, capsys):
    out = tmp_path / "run"
    capsys.readouterr()
    assert main(_commands(tmp_path)[task] + ["--epochs", "1", "--device", "cuda:0", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rnnkit: error: --device cuda:0: ") and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize("task", ["forecast", "tag"])
def test_the_device_used_is_recorded_and_a_resume_may_change_the_device_name(task, tmp_path):
    out = tmp_path / "run"
    argv = _commands(tmp_path)[task] + ["--out", str(out), "--quiet"]
    assert main(argv + ["--epochs", "1", "--device", "cpu"]) == 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["train"]["device"] == "cpu" and cfg["job"]["device"] == "cpu"
    assert json.loads((out / "metrics.json").read_text())["training"]["device"] == "cpu"
    assert main(argv + ["--epochs", "2", "--device", "auto", "--resume"]) == 0
    cfg = json.loads((out / "config.json").read_text())            # as the resume ran: asked auto, got the CPU
    assert cfg["job"]["device"] == "auto" and cfg["train"]["device"] == str(resolve_device("auto"))


def test_trainer_moves_the_model_to_the_resolved_device():
    model = torch.nn.Linear(2, 1)
    trainer = Trainer(model, TrainConfig(epochs=1, device="auto", quiet=True, tensorboard=False))
    assert trainer.device == resolve_device("auto") and next(trainer.model.parameters()).device.type == trainer.device.type


def test_the_device_used_is_printed_at_the_end_of_training(capsys):
    x = torch.randn(8, 2)
    trainer = Trainer(torch.nn.Linear(2, 1), TrainConfig(epochs=1, device="cpu", tensorboard=False))
    trainer.fit([(x, x.sum(1, keepdim=True))])
    assert "min on cpu" in capsys.readouterr().out.splitlines()[-1] and trainer.stop_info()["device"] == "cpu"


def _recipe_names():
    from rnnkit.recipes.registry import RECIPES, get_recipe
    get_recipe("seed001")                               # loads the recipe modules that register themselves
    return sorted(RECIPES)


@pytest.mark.parametrize("name", _recipe_names())
def test_every_recipe_takes_device_with_the_default_auto(name):
    from rnnkit.recipes.registry import get_recipe, recipe_parser
    assert recipe_parser(get_recipe(name)).parse_args([]).device == "auto"


@no_gpu
@pytest.mark.parametrize("name", _recipe_names())
def test_every_recipe_refuses_an_absent_device_before_writing(name, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["recipe", name, "--device", "cuda:1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rnnkit: error: --device cuda:1: ") and err.count("\n") == 1
    assert not out.exists()


def test_evaluate_and_predict_bring_batches_to_where_the_model_is_now():
    """Tasks move a trained model to the CPU before evaluating it: the trainer's evaluate and
    predict then feed it CPU batches, wherever it trained (the training device is stood in for by
    'meta' here: a batch sent there would fail against CPU weights)."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(12, 3, generator=g)
    batches = [(x[:6], x[:6, :1]), (x[6:], x[6:, :1])]
    model = torch.nn.Linear(3, 1)
    trainer = Trainer(model, TrainConfig(epochs=1, device="cpu", loss="mse", quiet=True, tensorboard=False,
                                                       metrics=("mae",)))
    trainer.device = torch.device("meta")
    with torch.no_grad():
        want = model(x)
    torch.testing.assert_close(trainer.predict([b[0] for b in batches]), want)
    got = trainer.evaluate(batches)
    assert got["loss"] == pytest.approx(float(((want - x[:, :1]) ** 2).mean()), rel=1e-6)
    assert got["mae"] == pytest.approx(float((want - x[:, :1]).abs().mean()), rel=1e-6)


def test_the_cuda_rng_states_are_checkpointed_and_restored_once_cuda_is_in_use(monkeypatch):
    """Dropout on a GPU draws from the GPUs' generators: captured with the others when CUDA is in
    use, restored on a resume on as many GPUs (CUDA's functions are stood in for here)."""
    from rnnkit.training.rng import capture_rng_state, restore_rng_state
    assert "cuda" not in capture_rng_state()                  # CUDA not in use: nothing touches it
    states = [torch.arange(4, dtype=torch.uint8), torch.arange(4, 8, dtype=torch.uint8)]
    restored = []
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_rng_state_all", lambda: states)
    monkeypatch.setattr(torch.cuda, "set_rng_state_all", restored.append)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    saved = capture_rng_state()
    assert all(torch.equal(a, b) for a, b in zip(saved["cuda"], states))
    restore_rng_state(saved)
    assert len(restored) == 1 and all(torch.equal(a, b) for a, b in zip(restored[0], states))
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)  # a resume on other GPUs: left as they are
    restore_rng_state(saved)
    assert len(restored) == 1
