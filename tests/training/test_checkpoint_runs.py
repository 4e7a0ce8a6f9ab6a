"""Atomic files, safetensors weights, weights_only training state, run directories."""
import json
import os
import re

import pytest
import torch

from rnnkit.errors import CheckpointError, InvalidArgumentError
from rnnkit.training import (atomic_write_bytes, capture_rng_state, create_run_dir, load_run,
                             load_state, load_weights, restore_rng_state, save_run, save_state,
                             save_weights)


def test_atomic_write_keeps_old_file_when_the_rename_fails(tmp_path, monkeypatch):
    target = tmp_path / "f.bin"
    atomic_write_bytes(target, b"old")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write_bytes(target, b"new contents")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["f.bin"]  # temp file cleaned up


def test_weights_roundtrip_bitwise_and_tied_weights(tmp_path):
    m = torch.nn.Sequential(torch.nn.Embedding(5, 4), torch.nn.Linear(4, 5, bias=False))
    m[1].weight = m[0].weight  # tied, as in a language model
    save_weights(tmp_path / "m.safetensors", m)
    m2 = torch.nn.Sequential(torch.nn.Embedding(5, 4), torch.nn.Linear(4, 5, bias=False))
    load_weights(tmp_path / "m.safetensors", m2)
    assert torch.equal(m2[0].weight, m[0].weight) and torch.equal(m2[1].weight, m[0].weight)


def test_bad_weight_files_raise_checkpoint_error(tmp_path):
    p = tmp_path / "m.safetensors"
    save_weights(p, torch.nn.Linear(3, 2))
    with pytest.raises(CheckpointError, match="do not fit this model"):
        load_weights(p, torch.nn.Linear(4, 2))
    p.write_bytes(p.read_bytes()[:20])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_weights(p, torch.nn.Linear(3, 2))
    with pytest.raises(CheckpointError, match="does not exist"):
        load_weights(tmp_path / "nope.safetensors", torch.nn.Linear(3, 2))


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_training_state_refuses_arbitrary_pickles(tmp_path):
    p = tmp_path / "last.pt"
    torch.save({"epoch": 1, "x": Evil()}, p)
    with pytest.raises(CheckpointError, match="refuses to unpickle"):
        load_state(p)


def test_rng_state_roundtrip_through_a_weights_only_file(tmp_path):
    import random

    import numpy as np

    g = torch.Generator().manual_seed(5)
    save_state(tmp_path / "s.pt", {"epoch": 0, "rng": capture_rng_state(g)})
    a = (torch.rand(3), np.random.rand(3), random.random(), torch.randperm(10, generator=g))
    restore_rng_state(load_state(tmp_path / "s.pt")["rng"], g)
    b = (torch.rand(3), np.random.rand(3), random.random(), torch.randperm(10, generator=g))
    assert torch.equal(a[0], b[0]) and (a[1] == b[1]).all() and a[2] == b[2]
    assert torch.equal(a[3], b[3])


def test_create_run_dir_names_and_refusals(tmp_path, monkeypatch):
    import time
    monkeypatch.setattr(time, "strftime", lambda fmt, *a: "20240101-000000")  # both in the same second
    a = create_run_dir("jena-gru", root=tmp_path)
    b = create_run_dir("jena-gru", root=tmp_path)
    assert a != b and re.fullmatch(r"jena-gru-\d{8}-\d{6}(-\d+)?", a.name)
    assert b.name.startswith(a.name)
    with pytest.raises(InvalidArgumentError, match="`name`"):
        create_run_dir("bad/name", root=tmp_path)
    out = tmp_path / "explicit"
    assert create_run_dir("x", out=out) == out
    (out / "config.json").write_text("{}")
    with pytest.raises(CheckpointError, match="--resume"):
        create_run_dir("x", out=out)
    assert create_run_dir("x", out=out, exist_ok=True) == out


def test_reopening_a_run_removes_the_temp_files_of_writes_killed_mid_way(tmp_path):
    """kill -9 during an atomic write leaves its temp file; --resume (create_run_dir with
    exist_ok, under the run's lock) removes those, and nothing else."""
    from rnnkit.training import atomic_write_text
    out = create_run_dir("x", out=tmp_path / "run")
    atomic_write_text(out / "config.json", "{}")
    (out / "checkpoints").mkdir()
    orphans = [out / ".manifest.json.k2j4x_9a.tmp", out / "checkpoints" / ".last.pt.0a1b2c3d.tmp"]
    others = [out / "notes.tmp", out / ".notes.tmp", out / ".a.b.TOOLONG99.tmp"]
    for p in orphans + others:
        p.write_bytes(b"half")
    assert create_run_dir("x", out=out, exist_ok=True) == out
    assert [p.exists() for p in orphans + others] == [False, False, True, True, True]
    assert (out / "config.json").read_text() == "{}"


def test_save_and_load_run(tmp_path):
    m = torch.nn.Linear(3, 1)
    save_run(tmp_path, m, config={"hidden": 4, "units": "degC"}, metrics={"test_mae": 0.25})
    with pytest.warns(UserWarning, match="no manifest.json"):  # not made by create_run_dir
        run = load_run(tmp_path)
    assert run["config"] == {"hidden": 4, "units": "degC"}
    assert run["metrics"] == {"test_mae": 0.25}
    assert torch.equal(run["weights"]["weight"], m.weight)
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"test_mae": 0.25}
    (tmp_path / "config.json").unlink()
    with pytest.raises(CheckpointError, match="config.json is missing"), \
            pytest.warns(UserWarning, match="no manifest.json"):
        load_run(tmp_path)
