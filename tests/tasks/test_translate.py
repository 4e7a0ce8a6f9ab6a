"""rnnkit translate: the run directory and metrics (copy baseline against sacrebleu directly), the
CLI (train, run, predict), BPE level, and bad input (pairs, beam 0, max length 0, a vocabulary that
does not match the weights, a foreign run directory)."""
import csv
import io
import json
from pathlib import Path

import pytest
import sacrebleu

from rnnkit.cli import main
from rnnkit.data.vocabulary import Vocabulary
from rnnkit.errors import CheckpointError, InvalidArgumentError
from rnnkit.training.run_dir import RunDir
from rnnkit.tasks.translate import TranslateConfig, load_translator, normalise, run_translate

FRA = Path(__file__).parent / "fixtures" / "translate" / "fra.txt"
TINY = ["--embedding-dim", "8", "--units", "16", "--epochs", "2", "--batch-size", "8", "--quiet"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("translate") / "run"
    assert main(["translate", "train", "--pairs", str(FRA), "--attention", "dot", "--reverse-source",
                 "--out", str(out), *TINY]) == 0
    return out


def test_run_directory_metrics_and_translations(run_dir):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    # default decoding: beam 4 with length penalty 1.0, greedy scored beside it, on validation and test
    assert set(metrics["test"]) == set(metrics["val"]) == {"model", "greedy", "copy"}
    assert set(metrics["test"]["model"]) == set(metrics["test"]["greedy"]) == {"bleu", "chrf"}
    assert metrics["decoding"] == {"beam": 4, "length_penalty": 1.0}
    assert metrics["training"]["stop_reason"] in ("patience", "epochs") and metrics["training"]["epochs_run"] == 2
    config = json.loads((run_dir / "config.json").read_text())
    assert config["task"] == "translate" and config["model"]["attention"] == "dot"
    assert config["model"]["reverse_source"] is True
    rows = list(csv.DictReader(io.StringIO((run_dir / "translations_test.csv").read_text())))
    assert len(rows) == metrics["pairs"]["test"] == 2 and set(rows[0]) == {"source", "reference", "hypothesis"}
    # the CSV holds the texts as read; every side is scored normalised (word tokens, lower case);
    # the copy baseline is the source scored as the translation, by sacrebleu
    assert [(r["source"], r["reference"]) for r in rows][0] in [tuple(l.split("\t")[:2]) for l in FRA.read_text().splitlines()]
    refs, srcs = [normalise(r["reference"]) for r in rows], [normalise(r["source"]) for r in rows]
    want = sacrebleu.corpus_chrf(srcs, [refs]).score
    assert metrics["test"]["copy"]["chrf"] == pytest.approx(want, abs=0.01)
    hyps = [r["hypothesis"] for r in rows]
    assert metrics["test"]["model"]["chrf"] == pytest.approx(sacrebleu.corpus_chrf(hyps, [refs]).score, abs=0.01)
    assert sacrebleu.corpus_bleu(srcs, [refs], tokenize="none").score == pytest.approx(
        metrics["test"]["copy"]["bleu"], abs=0.01)
    assert all(h == normalise(h) for h in hyps)
    # the greedy scores are those of the run's model translating the test sources greedily
    from rnnkit.tasks.translate_cli import translate_texts
    greedy = [normalise(t) for t in translate_texts(run_dir, [r["source"] for r in rows], beam=1)]
    assert metrics["test"]["greedy"]["chrf"] == pytest.approx(sacrebleu.corpus_chrf(greedy, [refs]).score, abs=0.01)
    assert metrics["test"]["model"]["chrf"] == pytest.approx(sacrebleu.corpus_chrf(
        [normalise(t) for t in translate_texts(run_dir, [r["source"] for r in rows])], [refs]).score, abs=0.01)
    for name in ("source_vocabulary.json", "target_vocabulary.json", "model.safetensors", "history.csv"):
        assert (run_dir / name).exists()
    from rnnkit.load import load_model
    model = load_model(run_dir)                                    # dispatched on "task": "translate"
    assert not model.training and model.config.attention == "dot"


def test_translate_run_and_predict(run_dir, tmp_path, capsys):
    assert main(["translate", "run", "--run", str(run_dir), "--text", "The dog is zorglub.", "--beam", "2"]) == 0
    out = capsys.readouterr()
    assert len(out.out.splitlines()) == 1 and "1 source token(s) are not in the run's source vocabulary" in out.err
    lines = tmp_path / "in.txt"
    lines.write_text("The cat is big.\n\nThe car is red.\n", encoding="utf-8")
    assert main(["translate", "run", "--run", str(run_dir), "--file", str(lines)]) == 0
    assert capsys.readouterr().out.split("\n")[1] == ""          # an empty line translates to nothing
    table = tmp_path / "t.csv"
    table.write_text("id,source\n1,The book is old.\n2,The tree is small.\n", encoding="utf-8")
    assert main(["predict", "--run", str(run_dir), "--csv", str(table), "--output", str(tmp_path / "o.csv")]) == 0
    got = list(csv.DictReader(io.StringIO((tmp_path / "o.csv").read_text())))
    assert [r["source"] for r in got] == ["The book is old.", "The tree is small."]


@pytest.mark.parametrize("argv,needle", [
    (["--beam", "0"], "`--beam`, expected a positive integer, got 0"),
    (["--max-output", "0"], "`--max-output`, expected a positive integer, got 0"),
    (["--max-output", "-2"], "`--max-output`"),
])
def test_bad_decoding_options_exit_2(run_dir, capsys, argv, needle):
    assert main(["translate", "run", "--run", str(run_dir), "--text", "The cat is big.", *argv]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    assert main(["translate", "train", "--pairs", str(FRA), *TINY, *(["--beam", "0"] if "beam" in needle else
                                                                      ["--max-output", "0"])]) == 2
    assert needle.split(",")[0] in capsys.readouterr().err


def test_bad_pairs_file_names_the_line(tmp_path, capsys):
    bad = tmp_path / "bad.tsv"
    bad.write_text("Hello.\tBonjour.\nGoodbye. Au revoir.\n", encoding="utf-8")
    assert main(["translate", "train", "--pairs", str(bad), "--out", str(tmp_path / "r"), *TINY]) == 2
    err = capsys.readouterr().err
    assert "Line 2 of" in err and "has no tab" in err and not (tmp_path / "r").exists()
    bad.write_text("Hello.\t \n", encoding="utf-8")
    assert main(["translate", "train", "--pairs", str(bad), *TINY]) == 2
    assert "Line 1 of" in capsys.readouterr().err


def test_vocabulary_that_does_not_match_the_weights(run_dir, tmp_path):
    import shutil
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    (copy / "target_vocabulary.json").write_text("{}", encoding="utf-8")     # edited behind rnnkit's back
    with pytest.raises(CheckpointError, match="target_vocabulary.json"):
        load_translator(copy)
    # a vocabulary written by rnnkit (the manifest agrees) but of another size than the weights
    shutil.rmtree(copy)
    shutil.copytree(run_dir, copy)
    vocab = Vocabulary(["<pad>", "<unk>", "<go>", "<eos>", "le", "chat"], specials=["<pad>", "<unk>", "<go>", "<eos>"])
    RunDir.reopen(copy).write_text("target_vocabulary.json", vocab.to_json() + "\n")     # the run-directory writer
    with pytest.raises(CheckpointError, match=r"holds 6 tokens but the weights' target embedding has \d+ rows"):
        load_translator(copy)


def test_bpe_level_and_the_config_checks(tmp_path):
    res = run_translate(TranslateConfig(pairs=str(FRA), level="bpe", vocab_size=300, embedding_dim=8, units=8, epochs=1,
                                        attention="additive", bidirectional=True, quiet=True, out=str(tmp_path / "b")),
                        log=lambda *a: None)
    assert set(res["test"]) == {"model", "greedy", "copy"} and (tmp_path / "b" / "target_bpe.json").exists()
    model, job, src, tgt = load_translator(tmp_path / "b")
    assert job.level == "bpe" and model.config.bidirectional and len(tgt) == model.out.out_features
    with pytest.raises(InvalidArgumentError, match="one data source"):
        TranslateConfig(pairs="a.tsv", libreoffice_help="dir")
    with pytest.raises(InvalidArgumentError, match="--vocab-size"):
        TranslateConfig(level="bpe", vocab_size=100)
    with pytest.raises(InvalidArgumentError, match="--split"):
        TranslateConfig(split=(0.9, 0.2, 0.1))


def test_seed004_recipe_quick_side_by_side(tmp_path, capsys):
    out = tmp_path / "seed004"
    assert main(["recipe", "seed004-translate", "--pairs", str(FRA), "--quick", "--models", "plain,attention",
                 "--out", str(out)]) == 0
    table = capsys.readouterr().out
    assert "copy baseline" in table and "dot attention" in table
    rows = list(csv.DictReader(io.StringIO((out / "comparison.csv").read_text())))
    assert [r["model"] for r in rows] == ["copy", "plain", "attention"]
    for r in rows[1:]:
        m = json.loads((out / r["model"] / "metrics.json").read_text())
        assert float(r["bleu"]) == m["test"]["model"]["bleu"]
        assert float(rows[0]["chrf"]) == m["test"]["copy"]["chrf"]      # the same test pairs for every model
    assert json.loads((out / "attention" / "config.json").read_text())["model"]["attention"] == "dot"
    assert main(["recipe", "seed004-translate", "--pairs", str(FRA), "--quick", "--out", str(out)]) == 2
    assert "a new or empty directory" in capsys.readouterr().err


def test_resume_continues_the_run(tmp_path):
    out = tmp_path / "r"
    args = ["translate", "train", "--pairs", str(FRA), "--out", str(out), "--embed", "8", "--units", "8", "--quiet"]
    assert main([*args, "--epochs", "1"]) == 0                       # --embed: the former name of --embedding-dim
    job = json.loads((out / "config.json").read_text())["job"]
    assert job["embedding_dim"] == 8 and "embed" not in job
    assert main([*args, "--epochs", "1"]) == 2                       # never over a run without --resume
    assert main([*args, "--epochs", "2", "--resume"]) == 0
    history = (out / "history.csv").read_text().splitlines()
    assert [h.split(",")[0] for h in history[1:]] == ["1", "2"]


def test_beam_one_is_the_greedy_score_of_the_default_run(run_dir, tmp_path, capsys):
    # decoding does not change training: the same job with --beam 1 trains the same weights, and
    # its model scores are the default run's greedy scores (and it has no separate greedy entry)
    out = tmp_path / "greedy"
    assert main(["translate", "train", "--pairs", str(FRA), "--attention", "dot", "--reverse-source",
                 "--out", str(out), *TINY[:-1], "--beam", "1"]) == 0
    printed = capsys.readouterr().out
    assert "test decoding: greedy" in printed and "model (greedy) BLEU" in printed
    one, four = (json.loads((d / "metrics.json").read_text()) for d in (out, run_dir))
    assert set(one["test"]) == {"model", "copy"}
    assert (out / "model.safetensors").read_bytes() == (run_dir / "model.safetensors").read_bytes()
    for part in ("val", "test"):
        assert one[part]["model"] == four[part]["greedy"]
