"""``--device`` on the commands that predict (`rnnkit predict`, `rnnkit lm generate`, `rnnkit
translate run`) and in the API (`Run.predict`, `Run.generate`, `load_model`): the names and `auto` of training's --device,
checked by the same function; a device that is not here is one paragraph, exit 2, and nothing is
written; on "cpu" the predictions are the default's (auto is the CPU here). No GPU is reachable
here: nothing runs on one."""
from pathlib import Path

import pytest
import torch

import rnnkit
from rnnkit.cli import build_parser, main
from rnnkit.training.device import DeviceError
from tests.recipes.cli_helpers import _csv

FIX = Path(__file__).resolve().parent / "tasks" / "fixtures"
no_gpu = pytest.mark.skipif(torch.cuda.is_available() or torch.backends.mps.is_available(),
                            reason="the cases of a machine without a GPU")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One tiny trained run per task, and an input file for `rnnkit predict` on it."""
    tmp = tmp_path_factory.mktemp("runs")
    csv = _csv(tmp / "s.csv")
    (tmp / "sentences.txt").write_text("Peter lives in Paris\nEU rejects German calls\n")
    (tmp / "sources.csv").write_text("source\nThe cat is big.\nThe dog is small.\n")
    commands = {
        "forecast": (["forecast", "--csv", str(csv), "--time-col", "time", "--target", "temp", "--lookback", "12",
                      "--units", "4", "--steps-per-epoch", "2"], csv),
        "classify": (["classify", "--csv", str(FIX / "tiny_reviews.csv"), "--text-col", "review", "--label-col",
                      "sentiment", "--units", "4", "--no-baselines"], FIX / "tiny_reviews.csv"),
        "tag": (["tag", "--conll", str(FIX / "tiny_ner.txt"), "--units", "4", "--embedding-dim", "4"],
                tmp / "sentences.txt"),
        "translate": (["translate", "train", "--pairs", str(FIX / "translate" / "fra.txt"), "--units", "8",
                       "--batch-size", "5"], tmp / "sources.csv"),
        "lm": (["lm", "--text", str(FIX / "lm" / "tiny.txt"), "--bptt", "20", "--batch-size", "5",
                "--windows-per-epoch", "2", "--embedding-dim", "8", "--units", "8", "--sample-length", "5"], None),
    }
    out = {}
    for task, (argv, inputs) in commands.items():
        assert main(argv + ["--epochs", "1", "--quiet", "--out", str(tmp / task)]) == 0
        out[task] = (tmp / task, inputs)
    return out


def test_every_predicting_command_takes_device_with_the_default_auto():
    parser = build_parser()
    assert parser.parse_args(["predict", "--run", "r"]).device == "auto"
    assert parser.parse_args(["lm", "generate", "--run", "r", "--device", "cpu"]).device == "cpu"
    assert parser.parse_args(["translate", "run", "--run", "r", "--text", "x"]).device == "auto"


@no_gpu
@pytest.mark.parametrize("task", ["forecast", "classify", "tag", "translate"])
def test_predict_refuses_an_absent_device_and_cpu_is_the_default(task, runs, tmp_path, capsys):
    run, inputs = runs[task]
    argv = ["predict", "--run", str(run), "--csv", str(inputs)]
    capsys.readouterr()
    assert main(argv + ["--device", "cuda:0", "--output", str(tmp_path / "x.csv")]) == 2
    printed = capsys.readouterr()
    assert printed.err.startswith("rnnkit: error: --device cuda:0: ") and printed.err.count("\n") == 1
    assert printed.out == "" and not (tmp_path / "x.csv").exists()
    assert main(argv + ["--output", str(tmp_path / "default.csv")]) == 0
    assert main(argv + ["--device", "cpu", "--output", str(tmp_path / "cpu.csv")]) == 0
    assert (tmp_path / "cpu.csv").read_text() == (tmp_path / "default.csv").read_text()


@no_gpu
def test_lm_generate_refuses_an_absent_device_and_cpu_is_the_default(runs, capsys):
    argv = ["lm", "generate", "--run", str(runs["lm"][0]), "--length", "40", "--seed", "3"]
    capsys.readouterr()
    assert main(argv + ["--device", "mps"]) == 2
    printed = capsys.readouterr()
    assert printed.err.startswith("rnnkit: error: --device mps: ") and printed.out == ""
    assert main(argv) == 0
    default = capsys.readouterr().out
    assert main(argv + ["--device", "cpu"]) == 0
    assert capsys.readouterr().out == default and len(default) > 40


@no_gpu
def test_translate_run_refuses_an_absent_device_and_cpu_is_the_default(runs, capsys):
    argv = ["translate", "run", "--run", str(runs["translate"][0]), "--text", "The cat is small."]
    capsys.readouterr()
    assert main(argv + ["--device", "cuda"]) == 2
    printed = capsys.readouterr()
    assert printed.err.startswith("rnnkit: error: --device cuda: ") and printed.out == ""
    assert main(argv) == 0
    default = capsys.readouterr().out
    assert main(argv + ["--device", "cpu"]) == 0
    assert capsys.readouterr().out == default


@no_gpu
def test_the_api_takes_the_same_device_names(runs):
    run = rnnkit.open_run(runs["classify"][0])
    texts = ["a wonderful film", "dull"]
    assert run.predict(texts, device="cpu").equals(run.predict(texts))
    with pytest.raises(DeviceError, match="--device cuda: "):
        run.predict(texts, device="cuda")
    with pytest.raises(DeviceError, match="must be one of auto, cpu"):
        rnnkit.load_model(runs["tag"][0], device="gpu")
    model = rnnkit.load_model(runs["tag"][0], device="auto")
    assert next(model.parameters()).device == torch.device("cpu") and not model.training
    translator = rnnkit.open_run(runs["translate"][0])
    assert translator.predict(["The cat."], device="cpu").equals(translator.predict(["The cat."]))
    lm = rnnkit.open_run(runs["lm"][0])
    assert lm.generate("a", length=20, seed=1, device="cpu") == lm.generate("a", length=20, seed=1)
