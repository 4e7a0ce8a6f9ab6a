"""The notebook API on arrays and token lists: rnnkit.classify(images=...) is `rnnkit classify
--idx` on the same pixels, classify(series=...) is `--ts`, rnnkit.tag is `rnnkit tag --conll` and
rnnkit.lm is `rnnkit lm --text`, rnnkit.translate is `rnnkit translate train --pairs`: same
metrics, same weights to the byte; Run.predict returns what `rnnkit predict` writes; inputs the command's file format cannot hold are one clear error."""
import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest

import rnnkit
from rnnkit.cli import main
from rnnkit.data.conll import read_conll
from rnnkit.data.pairs import read_pairs
from rnnkit.data.ucr import read_ts
from rnnkit.errors import InvalidArgumentError

FIX = Path(__file__).resolve().parent / "tasks" / "fixtures"
WALL_TIMES = ("training", "speed", "train_seconds")          # metrics that are times, which differ run to run


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _same_run(api: "rnnkit.Run", cli_dir: Path) -> None:
    cli = rnnkit.open_run(cli_dir)
    strip = lambda m: {k: v for k, v in m.items() if k not in WALL_TIMES}   # noqa: E731
    assert strip(api.metrics) == strip(cli.metrics)
    assert _sha(api.path / "model.safetensors") == _sha(cli.path / "model.safetensors")
    assert list(api.history["loss"]) == list(cli.history["loss"])


def _cli_predict(run: Path, inputs: Path, out: Path) -> str:
    assert main(["predict", "--run", str(run), "--csv", str(inputs), "--output", str(out)]) == 0
    return out.read_text()


def _idx(path: Path, magic: int, array: np.ndarray) -> None:      # written by hand, as LeCun's page says
    path.write_bytes(gzip.compress(struct.pack(f">I{array.ndim}I", magic, *array.shape) + array.tobytes()))


def test_images_are_the_idx_command(tmp_path):
    rng = np.random.default_rng(1)
    x, y = rng.integers(0, 256, (40, 5, 5)).astype(np.uint8), np.arange(40) % 3
    x[y == 1, :2] = 255
    tx, ty = x[:9] // 2, y[:9]
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name, magic, a in (("train-images-idx3-ubyte.gz", 2051, x), ("train-labels-idx1-ubyte.gz", 2049, y),
                           ("t10k-images-idx3-ubyte.gz", 2051, tx), ("t10k-labels-idx1-ubyte.gz", 2049, ty)):
        _idx(folder / name, magic, a.astype(np.uint8))
    opts = ["--units", "4", "--epochs", "2", "--seed", "2", "--quiet"]
    assert main(["classify", "--idx", str(folder), *opts, "--out", str(tmp_path / "cli")]) == 0
    run = rnnkit.classify(images=x, labels=y, test=(tx, ty), units=4, epochs=2, seed=2, quiet=True,
                          out=str(tmp_path / "api"))
    _same_run(run, tmp_path / "cli")
    want = _cli_predict(tmp_path / "cli", folder / "t10k-images-idx3-ubyte.gz", tmp_path / "p.csv")
    assert run.predict(tx).to_csv(index=False) == want
    # without a test set: the CLI's folder without the t10k files, split by --split
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (folder / name).unlink()
    assert main(["classify", "--idx", str(folder), *opts, "--out", str(tmp_path / "cli2")]) == 0
    _same_run(rnnkit.classify(images=x, labels=y, units=4, epochs=2, seed=2, quiet=True, out=str(tmp_path / "api2")),
              tmp_path / "cli2")


def test_series_are_the_ts_command_and_read_back_exactly(tmp_path):
    train, test = read_ts(FIX / "tiny_TRAIN.ts")[:2], read_ts(FIX / "tiny_TEST.ts")[:2]
    assert main(["classify", "--ts", str(FIX / "tiny_TRAIN.ts"), "--test-ts", str(FIX / "tiny_TEST.ts"), "--units", "4",
                 "--epochs", "2", "--quiet", "--out", str(tmp_path / "cli")]) == 0
    run = rnnkit.classify(series=train[0], labels=train[1], test=test, units=4, epochs=2, quiet=True,
                          out=str(tmp_path / "api"))            # series of different lengths: a list of arrays
    _same_run(run, tmp_path / "cli")
    want = _cli_predict(tmp_path / "cli", FIX / "tiny_TEST.ts", tmp_path / "p.csv")
    assert run.predict(test[0]).to_csv(index=False) == want
    x = np.stack([s[:3] for s in train[0]])                      # one length: an N x T x F array
    one = rnnkit.classify(series=x, labels=train[1], units=4, epochs=1, quiet=True, out=str(tmp_path / "arr"))
    assert len(one.predict(x[:4])) == 4


def test_tag_is_the_conll_command(tmp_path):
    sentences = read_conll(FIX / "tiny_ner.txt")
    opts = dict(units=4, embedding_dim=4, epochs=2, seed=1, quiet=True)
    assert main(["tag", "--conll", str(FIX / "tiny_ner.txt"), "--units", "4", "--embedding-dim", "4", "--epochs", "2",
                 "--seed", "1", "--quiet", "--out", str(tmp_path / "cli")]) == 0
    run = rnnkit.tag([s for s, _ in sentences], [t for _, t in sentences], out=str(tmp_path / "api"), **opts)
    _same_run(run, tmp_path / "cli")
    new = [["Peter", "lives", "in", "Paris"], ["EU", "rejects"]]
    (tmp_path / "new.txt").write_text("Peter lives in Paris\nEU rejects\n")
    want = _cli_predict(tmp_path / "cli", tmp_path / "new.txt", tmp_path / "p.txt")
    got = run.predict(new)
    assert "\n\n".join("\n".join(f"{t}\t{g}" for t, g in zip(part.token, part.tag))
                       for _, part in got.groupby("sentence")) + "\n" == want
    assert list(got.columns) == ["sentence", "token", "tag"] and len(got) == 6


def test_lm_is_the_text_command(tmp_path, capsys):
    text = (FIX / "lm" / "tiny.txt").read_text(encoding="utf-8")
    argv = ["--bptt", "20", "--batch-size", "5", "--windows-per-epoch", "2", "--embedding-dim", "8", "--units", "8",
            "--sample-length", "5", "--epochs", "1", "--quiet"]
    assert main(["lm", "--text", str(FIX / "lm" / "tiny.txt"), *argv, "--out", str(tmp_path / "cli")]) == 0
    run = rnnkit.lm(text, bptt=20, batch_size=5, windows_per_epoch=2, embedding_dim=8, units=8, sample_length=5,
                    epochs=1, quiet=True, out=str(tmp_path / "api"))
    _same_run(run, tmp_path / "cli")
    capsys.readouterr()
    assert main(["lm", "generate", "--run", str(tmp_path / "cli"), "--prompt", "KING", "--length", "30",
                 "--seed", "4"]) == 0
    assert run.generate("KING", length=30, seed=4) + "\n" == capsys.readouterr().out
    assert isinstance(run.predict(), str)


def test_translate_is_the_pairs_command(tmp_path, capsys):
    pairs = read_pairs(FIX / "translate" / "fra.txt")
    assert main(["translate", "train", "--pairs", str(FIX / "translate" / "fra.txt"), "--units", "8", "--batch-size",
                 "5", "--epochs", "2", "--quiet", "--out", str(tmp_path / "cli")]) == 0
    run = rnnkit.translate(pairs, units=8, batch_size=5, epochs=2, quiet=True, out=str(tmp_path / "api"))
    _same_run(run, tmp_path / "cli")
    (tmp_path / "new.csv").write_text("source\nThe cat is big.\n\"A dog, a cat.\"\n")
    want = _cli_predict(tmp_path / "cli", tmp_path / "new.csv", tmp_path / "p.csv")
    assert run.predict(["The cat is big.", "A dog, a cat."]).to_csv(index=False) == want


def test_inputs_a_file_format_cannot_hold_are_one_clear_error(tmp_path):
    with pytest.raises(InvalidArgumentError, match="whole pixel values 0-255"):
        rnnkit.classify(images=np.full((4, 3, 3), 0.5), labels=[0, 1, 0, 1])
    with pytest.raises(InvalidArgumentError, match="exactly one of texts, images or series"):
        rnnkit.classify(["a"], [0], images=np.zeros((1, 2, 2), np.uint8))
    with pytest.raises(InvalidArgumentError, match="labels without spaces"):
        rnnkit.classify(series=np.zeros((2, 3, 1)), labels=["a b", "c"])
    with pytest.raises(InvalidArgumentError, match="one tag per token|one per token"):
        rnnkit.tag([["a", "b"]], [["O"]])
    with pytest.raises(InvalidArgumentError, match="without white space"):
        rnnkit.tag([["New York"]], [["B-LOC"]])
    with pytest.raises(InvalidArgumentError, match="'unitz'.*Did you mean units"):
        rnnkit.lm("some text", unitz=3)
    with pytest.raises(InvalidArgumentError, match="without tabs"):
        rnnkit.translate([("a\tb", "c")])
    assert not any(tmp_path.iterdir())
