"""A sixth task is one module (a Task) and one registry line: this toy task (fit y = 2x + 1 with
one linear layer) gets the command `rnnkit toy` with options generated from its config, the run
directory, config.json, the trainer and resume from the driver, and `rnnkit predict`,
`rnnkit.load_model` and `rnnkit export`'s refusal from the registry, with nothing else written.
The reference: the exact line y = 2x + 1 and a mean-of-targets baseline computed here."""
from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
import torch

import rnnkit
from rnnkit.cli import main
from rnnkit.tasks import registry
from rnnkit.tasks.base import Task
from rnnkit.tasks.config_check import without
from rnnkit.tasks.options import option
from rnnkit.training import TrainConfig, load_run


@dataclass
class ToyConfig:
    n: int = option(64, "examples")
    epochs: int = option(60, "epochs")
    lr: float = option(0.1, "learning rate")
    seed: int = option(0, "random seed")
    quiet: bool = option(False, "print only the results")
    out: str | None = option(None, "run directory")
    name: str = option("toy", "run name", cli=False)
    resume: bool = option(False, "continue the run in --out", cli=False)

    def to_dict(self) -> dict:
        return without(self)


class ToyTask(Task):
    name, config_class, help = "toy", ToyConfig, "fit y = 2x + 1 with one linear layer"

    def prepare(self, config, say, given=None):
        x = torch.rand(config.n, 1, generator=torch.Generator().manual_seed(config.seed))
        say(f"toy data: {config.n} points")
        return [(x, 2 * x + 1)]

    def build(self, config, data, log):
        torch.manual_seed(config.seed)
        return torch.nn.Linear(1, 1), {"in_features": 1}

    def model_dict(self, model_config) -> dict:
        return model_config

    def train_config(self, config, data, model_config, model):
        return TrainConfig(epochs=config.epochs, optimizer="adam", lr=config.lr, loss="mse", seed=config.seed,
                           quiet=True, tensorboard=False)

    def fit_data(self, config, data, model, say):
        return data, data

    def evaluate(self, config, data, model, trainer):
        x, y = data[0]
        with torch.no_grad():
            model_mse = float(((model(x) - y) ** 2).mean())
        return {"test": {"model": model_mse, "mean": float(((y.mean() - y) ** 2).mean())}}, None

    def report(self, config, data, metrics, details, run_dir, log, say):
        log(f"test mse: model {metrics['test']['model']:.5f}, mean {metrics['test']['mean']:.5f}")

    def load(self, run_dir):
        run = load_run(run_dir)
        model = torch.nn.Linear(run["config"]["model"]["in_features"], 1)
        model.load_state_dict(run["weights"])
        return model

    def predict(self, args) -> int:
        with torch.no_grad():
            print(f"{float(self.load(args.run)(torch.tensor([[0.5]]))):.6f}")
        return 0


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setitem(registry.TASKS, "toy", ToyTask())        # the one registry line


def test_a_sixth_task_is_one_module_and_one_registry_line(toy, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["toy", "--out", str(out), "--epochs", "200"]) == 0
    printed = capsys.readouterr().out
    assert "toy data: 64 points" in printed and f"run directory: {out}" in printed
    config = json.loads((out / "config.json").read_text())
    assert config["task"] == "toy" and config["job"]["epochs"] == 200 and config["job"]["out"] is None
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"]["model"] < 0.01 * metrics["test"]["mean"]         # learnt the line, beats the mean
    assert metrics["training"]["epochs_run"] == 200
    model = rnnkit.load_model(out)
    assert not model.training
    assert float(model.weight.detach()) == pytest.approx(2.0, abs=0.05)
    assert float(model.bias.detach()) == pytest.approx(1.0, abs=0.05)
    assert main(["predict", "--run", str(out)]) == 0
    with torch.no_grad():
        assert capsys.readouterr().out == f"{float(model(torch.tensor([[0.5]]))):.6f}\n"
    assert main(["export", "--run", str(out), "--onnx", str(tmp_path / "toy.onnx")]) == 2   # no exporter named
    assert "cannot export 'toy' runs" in capsys.readouterr().err
    assert main(["toy", "--out", str(out), "--epochs", "200"]) == 2    # never over a run without --resume


def test_runs_of_an_unregistered_task_are_refused(toy, tmp_path, monkeypatch):
    out = tmp_path / "run"
    assert main(["toy", "--out", str(out), "--epochs", "1", "--quiet"]) == 0
    monkeypatch.delitem(registry.TASKS, "toy")
    with pytest.raises(rnnkit.CheckpointError, match="names the task 'toy', which rnnkit does not know"):
        rnnkit.load_model(out)
