"""RunDir: the run directory's writes are recorded only while this process has the run open."""
import hashlib
import json

import pytest

from rnnkit.errors import CheckpointError
from rnnkit.training import RunDir, atomic_write_bytes, create_run_dir, manifest


def _recorded(run, name):
    return json.loads((run / "manifest.json").read_text())["files"].get(name)


def test_writes_are_recorded_while_the_run_is_open_and_not_after(tmp_path):
    run = RunDir.create("x", tmp_path / "run")
    run.write_bytes("a.bin", b"abc")
    atomic_write_bytes(run / "sub" / "b.bin", b"def")         # a file one folder down: still the run's
    assert _recorded(run, "a.bin") == [hashlib.sha256(b"abc").hexdigest()]
    assert _recorded(run, "sub/b.bin") == [hashlib.sha256(b"def").hexdigest()]
    run.verify()
    run.release()
    atomic_write_bytes(run / "a.bin", b"changed")             # not open any more: nothing recorded
    assert _recorded(run, "a.bin") == [hashlib.sha256(b"abc").hexdigest()]
    with pytest.raises(CheckpointError, match="has changed since rnnkit wrote it"):
        manifest.verify(run.path, ["a.bin"])


def test_a_run_found_above_a_path_is_not_written_into_unless_reopened(tmp_path):
    path = create_run_dir("x", tmp_path / "run")
    RunDir.owning(path / "f").release()                      # as when the command that wrote it ended
    atomic_write_bytes(path / "f.txt", b"1")
    assert _recorded(path, "f.txt") is None
    run = RunDir.reopen(path)
    run.write_text("f.txt", "2")
    assert _recorded(path, "f.txt") == [hashlib.sha256(b"2").hexdigest()]
    run.release()
    with pytest.raises(CheckpointError, match="was not created by rnnkit"):
        RunDir.reopen(tmp_path)


def test_read_json_names_a_missing_or_broken_file(tmp_path):
    run = RunDir.create("x", tmp_path / "run")
    assert run.read_json("metrics.json", required=False) == {}
    with pytest.raises(CheckpointError, match="config.json is missing"):
        run.read_json("config.json")
    (run / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="is not valid JSON"):
        run.read_json("config.json")
    run.release()
