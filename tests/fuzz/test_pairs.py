"""Sentence-pair TSV files (rnnkit.data.pairs, ``rnnkit translate train --pairs``) fuzzed: random
bytes, damaged and oddly encoded files, missing tabs, empty sides, huge lines, the data stage."""
import pytest
from hypothesis import given, strategies as st

from fuzz_helpers import cli_fails_cleanly, file_bytes, fuzz_settings, outcome
from rnnkit.data.pairs import read_pairs
from rnnkit.tasks.translate import TranslateConfig, TranslateData, prepare_translate

SIDE = st.one_of(st.sampled_from(("Go.", "Va !", "Hi.", "Salut !", "é", "💥", "", " ", "x" * 5000, "a " * 100)),
                 st.text(max_size=10))


@st.composite
def tsv_text(draw) -> str:
    lines = []
    for _ in range(draw(st.integers(0, 15))):
        cols = [draw(SIDE), draw(SIDE)] + draw(st.lists(st.sampled_from(("CC-BY 2.0", "")), max_size=2))
        lines.append("\t".join(cols) if draw(st.integers(0, 12)) else draw(SIDE))
    return "\n".join(lines) + draw(st.sampled_from(("\n", "", "\r\n")))


PAIRS_BYTES = file_bytes(st.one_of(tsv_text(), tsv_text(), st.text(max_size=60)))


@fuzz_settings(2)
@given(PAIRS_BYTES)
def test_read_pairs_gives_pairs_or_a_data_error(tmp_path, data):
    path = tmp_path / "fra.txt"
    path.write_bytes(data)
    out = outcome(read_pairs, path)
    if isinstance(out, list):
        assert out and all(s.strip() and t.strip() and "\t" not in s + t for s, t in out)


@fuzz_settings(1)
@given(PAIRS_BYTES, st.sampled_from(("word", "bpe")), st.sampled_from((1, 3, 30)))
def test_translate_data_stage_gives_ids_or_a_documented_error(tmp_path, data, level, max_len):
    path = tmp_path / "fra.txt"
    path.write_bytes(data)
    out = outcome(prepare_translate, TranslateConfig(pairs=str(path), level=level, max_len=max_len, vocab_size=300,
                                                     split=(0.5, 0.25, 0.25)))
    if isinstance(out, TranslateData):
        for src, tgt in out.ids.values():
            assert src and len(src) == len(tgt) and all(0 < len(s) <= max_len for s in src)


GOOD = "Go.\tVa !\nHi.\tSalut !\nRun!\tCours !\nWow!\tÇa alors !\n" * 5
CLI_CASES = {
    "random bytes": bytes(range(256)) * 2,
    "utf-16": GOOD.encode("utf-16"),
    "latin-1": GOOD.encode("latin-1"),
    "no tab": b"Go. Va !\n",
    "a huge line without a tab": b"x" * 100000 + b"\n",
    "empty target": b"Go.\t\n",
    "empty": b"",
    "NUL bytes": b"\x00" * 100,
}


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_cli_translate_pairs_exits_2_without_writing(tmp_path, capsys, case):
    path = tmp_path / "fra.txt"
    path.write_bytes(CLI_CASES[case])
    cli_fails_cleanly(["translate", "train", "--pairs", path, "--epochs", "1", "--out", tmp_path / "run"], capsys)
    assert not (tmp_path / "run").exists()
