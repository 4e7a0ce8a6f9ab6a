"""The files of a run directory read back (``config.json``, ``manifest.json``, the vocabularies,
``metrics.json``, ``history.csv``, the weights), fuzzed on copies of the tiny runs of every task in
``tests/fixtures/old_runs``: each load ends in a model or a CheckpointError/DataError of one
paragraph (via ``rnnkit predict`` / ``compare``: exit 0 or 2, no traceback).

A fuzzed file is re-recorded in the manifest (else the checksum check would refuse every change
before the file is parsed) unless the manifest itself is the file fuzzed.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from hypothesis import given, strategies as st

from fuzz_helpers import (JSON_VALUES, cli_fails_cleanly, cli_outcome, file_bytes, fuzz_settings, fuzzed_dict,
                          json_bytes, mutated, outcome)
from rnnkit.errors import RnnkitError
from rnnkit.load import load_model
from rnnkit.tasks.compare import read_run
from rnnkit.training import manifest

TESTS = Path(__file__).resolve().parents[1]
OLD = TESTS / "fixtures" / "old_runs"
RUNS = ("forecast", "classify", "classify_ts", "tag", "lm", "translate")


def _json(name: str, file: str):
    return json.loads((OLD / name / file).read_text(encoding="utf-8"))


def run_with(tmp_path: Path, name: str, file: str, data: bytes) -> Path:
    """A copy of the old run ``name`` with ``file`` replaced by ``data`` (recorded in its manifest)."""
    run = tmp_path / "run"
    if run.exists():
        shutil.rmtree(run)
    shutil.copytree(OLD / name, run)
    (run / file).write_bytes(data)
    if file != manifest.MANIFEST:
        m = json.loads((run / manifest.MANIFEST).read_text(encoding="utf-8"))
        m["files"][file] = [manifest.file_sha256(run / file)]
        (run / manifest.MANIFEST).write_text(json.dumps(m), encoding="utf-8")
    return run


@st.composite
def config_dict(draw, name: str) -> dict:
    """The run's config.json with fields of one or two sections fuzzed."""
    cfg = _json(name, "config.json")
    for section in draw(st.lists(st.sampled_from(sorted(cfg)), min_size=1, max_size=2, unique=True)):
        value = cfg[section]
        cfg[section] = draw(fuzzed_dict(value)) if isinstance(value, dict) and draw(st.integers(0, 4)) else draw(JSON_VALUES)
    return cfg


def _loaded(out) -> None:
    assert isinstance(out, (RnnkitError, torch.nn.Module)), type(out)
    if isinstance(out, torch.nn.Module):
        assert not out.training


@fuzz_settings(4)
@given(st.sampled_from(RUNS).flatmap(lambda n: st.tuples(st.just(n), json_bytes(config_dict(n)))))
def test_a_fuzzed_config_json_loads_or_is_refused(tmp_path, monkeypatch, case):
    monkeypatch.chdir(TESTS.parent)
    name, data = case
    _loaded(outcome(load_model, run_with(tmp_path, name, "config.json", data)))


@st.composite
def manifest_dict(draw, name: str) -> dict:
    m = _json(name, manifest.MANIFEST)
    files = m["files"]
    key = draw(st.sampled_from(sorted(files)))
    odd = draw(st.sampled_from(("", ".", "..", "../run", "/etc/hostname", "a\x00b", "x" * 5000, "model.safetensors/",
                                "sub", key.upper())))
    action = draw(st.sampled_from(("odd key", "drop", "bad hash", "not a list", "fuzz")))
    if action == "odd key":
        files[odd] = files.pop(key)
    elif action == "drop":
        files.pop(key)
    elif action == "bad hash":
        files[key] = [draw(st.sampled_from(("", "0" * 64, "zz", "x" * 5000)))]
    elif action == "not a list":
        files[key] = draw(JSON_VALUES)
    else:
        m = draw(fuzzed_dict(m))
    return m


@fuzz_settings(3)
@given(st.sampled_from(RUNS).flatmap(lambda n: st.tuples(st.just(n), json_bytes(manifest_dict(n)))))
def test_a_fuzzed_manifest_json_loads_or_is_refused(tmp_path, monkeypatch, case):
    monkeypatch.chdir(TESTS.parent)
    name, data = case
    run = run_with(tmp_path, name, manifest.MANIFEST, data)
    (run / "sub").mkdir()
    _loaded(outcome(load_model, run))
    outcome(manifest.verify, run)
    outcome(manifest.claim, run)


VOCAB_FILES = [("classify", "vocabulary.json"), ("tag", "vocabulary.json"), ("lm", "vocabulary.json"),
               ("translate", "source_vocabulary.json"), ("translate", "target_vocabulary.json")]


@st.composite
def vocab_case(draw):
    name, file = draw(st.sampled_from(VOCAB_FILES))
    valid = _json(name, file)
    return name, file, draw(json_bytes(fuzzed_dict(valid) if isinstance(valid, dict) else st.just(valid)))


@fuzz_settings(3)
@given(vocab_case())
def test_a_fuzzed_vocabulary_loads_or_is_refused(tmp_path, monkeypatch, case):
    monkeypatch.chdir(TESTS.parent)
    name, file, data = case
    _loaded(outcome(load_model, run_with(tmp_path, name, file, data)))


WEIGHTS = (OLD / "tag" / "model.safetensors").read_bytes()


@fuzz_settings(1)
@given(st.sampled_from(RUNS), st.one_of(mutated(WEIGHTS), mutated((OLD / "lm" / "model.safetensors").read_bytes()),
                                        st.binary(max_size=300)))
def test_fuzzed_weights_load_or_are_refused(tmp_path, monkeypatch, name, data):
    monkeypatch.chdir(TESTS.parent)
    _loaded(outcome(load_model, run_with(tmp_path, name, "model.safetensors", data)))


HISTORY = (OLD / "tag" / "history.csv").read_text(encoding="utf-8")


@fuzz_settings(2)
@given(st.sampled_from(RUNS), st.sampled_from(("config.json", "metrics.json", "history.csv")), st.data())
def test_compare_reads_a_fuzzed_run_or_refuses_it(tmp_path, monkeypatch, name, file, data):
    if file == "history.csv":
        content = data.draw(file_bytes(st.one_of(st.just(HISTORY), st.text(max_size=40),
                                                 st.just(HISTORY.replace("\n", ",nan,1e999\n", 1)))))
    else:
        content = data.draw(json_bytes(st.just(_json(name, file)).flatmap(fuzzed_dict)))
    run = run_with(tmp_path, name, file, content)
    out = outcome(read_run, run)
    if not isinstance(out, RnnkitError):
        assert isinstance(out.config, dict) and isinstance(out.metrics, dict)


@pytest.mark.parametrize("name, file, data", [
    ("forecast", "config.json", b"[" * 100000 + b"]" * 100000),
    ("classify", "config.json", b'{"task": "classify", "job": {"maxlen": "1e999"}}'),
    ("tag", "config.json", b"\xff\xfe{\x00}\x00"),
    ("lm", "config.json", b"NaN"),
    ("translate", "manifest.json", b"{" * 5000),
    ("classify_ts", "manifest.json", b""),
    ("tag", "vocabulary.json", b'{"tokens": 5}'),
    ("lm", "model.safetensors", WEIGHTS[:20]),
])
def test_cli_predict_with_a_damaged_run_exits_2(tmp_path, capsys, monkeypatch, name, file, data):
    monkeypatch.chdir(TESTS.parent)
    run = run_with(tmp_path, name, file, data)
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    cli_fails_cleanly(["predict", "--run", run] + ([] if name in ("forecast", "lm") else ["--csv", "x"]), capsys)
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before


@fuzz_settings(0.3)
@given(st.sampled_from(("config.json", "metrics.json", "history.csv")), st.data())
def test_cli_compare_of_a_fuzzed_run_exits_0_or_2(tmp_path, capsys, file, data):
    content = data.draw(file_bytes(st.text(max_size=40)) if file == "history.csv"
                        else json_bytes(st.just(_json("tag", file)).flatmap(fuzzed_dict)))
    run = run_with(tmp_path, "tag", file, content)
    cli_outcome(["compare", run, OLD / "classify", "--png", tmp_path / "compare.png", "--force"], capsys)


def _job_from_config():
    import importlib
    for name in ("rnnkit.tasks.forecast_options", "rnnkit.recipes.arguments"):   # wherever it lives
        try:
            return importlib.import_module(name).job_from_config
        except (ImportError, AttributeError):
            continue
    raise ImportError("job_from_config")


def _task_config(name: str):
    from rnnkit.tasks.classify import ClassifyConfig
    from rnnkit.tasks.lm import LMConfig
    from rnnkit.tasks.tag import TagConfig
    from rnnkit.tasks.translate import TranslateConfig
    return {"classify": ClassifyConfig, "classify_ts": ClassifyConfig, "tag": TagConfig, "lm": LMConfig,
            "translate": TranslateConfig}[name]


@fuzz_settings(3)
@given(st.sampled_from(RUNS).flatmap(lambda n: st.tuples(st.just(n), fuzzed_dict(_json(n, "config.json")["job"]))))
def test_a_fuzzed_job_is_read_like_command_line_input(case):
    """Each job field of a config.json goes through its command-line option: a value or a
    CheckpointError (config_check.config_from_json, the forecast job_from_config)."""
    from rnnkit.tasks.config_check import config_from_json
    name, job = case
    if name == "forecast":
        outcome(_job_from_config(), job, "config.json")
    else:
        outcome(config_from_json, _task_config(name), job, "config.json", f"rnnkit {name}", ignore=("name", "resume"))
