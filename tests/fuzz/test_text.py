"""Plain-text files of the language models (rnnkit.tasks.lm_text.read_text and the lm data stage,
``rnnkit lm train --text``) fuzzed: random bytes, odd encodings, empty and blank files, huge lines,
control characters, at the char, word and BPE levels."""
import pytest
from hypothesis import given, strategies as st

from fuzz_helpers import cli_fails_cleanly, file_bytes, fuzz_settings, outcome
from rnnkit.tasks.lm import LMConfig, prepare
from rnnkit.tasks.lm_text import read_text

TEXT = st.one_of(st.text(max_size=80), st.sampled_from(("to be or not to be\n" * 20, " \n\t\n", "\r\n" * 10, "\ufeff",
                                                       "x" * 100000, "a\x00b\n" * 10, "💥é\u2028\u0085" * 10)))
TEXT_BYTES = file_bytes(TEXT)


@fuzz_settings(1)
@given(TEXT_BYTES)
def test_read_text_gives_text_or_a_documented_error(tmp_path, data):
    path = tmp_path / "text.txt"
    path.write_bytes(data)
    out = outcome(read_text, path, "--text")
    if isinstance(out, str):
        assert out.strip() and "\r\n" not in out


@fuzz_settings(2)
@given(TEXT_BYTES, st.sampled_from(("char", "word", "bpe")), st.booleans())
def test_lm_data_stage_gives_ids_or_a_documented_error(tmp_path, data, level, three_files):
    for name in ("train", "val", "test"):
        (tmp_path / f"{name}.txt").write_bytes(data if name == "train" or not three_files else b"to be\n")
    kw = {"val": str(tmp_path / "val.txt"), "test": str(tmp_path / "test.txt")} if three_files else {}
    out = outcome(prepare, LMConfig(text=str(tmp_path / "train.txt"), level=level, vocab_size=300, **kw))
    if isinstance(out, dict):
        for ids in out["ids"].values():
            assert ids.dtype.is_floating_point is False and (ids >= 0).all() and (ids < len(out["codec"])).all()


CLI_CASES = {
    "random bytes": bytes(range(256)) * 2,
    "utf-16": "to be or not to be\n".encode("utf-16") * 20,
    "latin-1": "café au lait\n".encode("latin-1") * 20,
    "empty": b"",
    "blank": b" \n\t\n\r\n",
    "a BOM only": b"\xef\xbb\xbf",
}


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_cli_lm_text_exits_2_without_writing(tmp_path, capsys, case):
    path = tmp_path / "text.txt"
    path.write_bytes(CLI_CASES[case])
    cli_fails_cleanly(["lm", "train", "--text", path, "--epochs", "1", "--out", tmp_path / "run"], capsys)
    assert not (tmp_path / "run").exists()
