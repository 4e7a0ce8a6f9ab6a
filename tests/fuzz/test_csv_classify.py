"""Text-classification CSVs (``rnnkit classify --csv``: rnnkit.data.series.read_table, then
rnnkit.tasks.classify_data) fuzzed: random bytes, damaged and oddly encoded CSVs, huge and empty
texts, odd labels (NaN, numbers, one class), ragged rows."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

from fuzz_helpers import FIELDS, cli_fails_cleanly, csv_text, file_bytes, fuzz_settings, outcome
from rnnkit.tasks.classify import ClassifyConfig, prepare_classify
from rnnkit.tasks.classify_data import ClassifyData

WORDS = st.sampled_from(("good", "bad", "film", "great", "awful", "é", "💥", "\"q\"", "a,b", "1e999", "nan", ""))
TEXT = st.one_of(st.lists(WORDS, max_size=6).map(" ".join), st.text(max_size=20),
                 st.sampled_from(("x" * 70000, " ".join(["w"] * 5000), "\"multi\nline\"", "")))
LABEL = st.one_of(st.sampled_from(("pos", "neg", "pos", "neg", "1", "0", "nan", "", "NA", "1.0", "x" * 5000)), FIELDS)


def valid_rows():
    return st.tuples(TEXT, st.sampled_from(("pos", "neg"))).map(lambda r: [f"\"{r[0]}\"" if "," in r[0] else r[0], r[1]])


CSV_BYTES = file_bytes(st.one_of(csv_text(["text", "label"], valid_row=valid_rows(), max_rows=30),
                                 csv_text(["text", "label"], st.one_of(TEXT, LABEL), max_rows=8),
                                 csv_text(["label", "text", "text"], FIELDS, max_rows=6)), gz=True)
OPTIONS = st.fixed_dictionaries({
    "level": st.sampled_from(("word", "char")), "max_len": st.sampled_from((None, 1, 5, 500)),
    "max_tokens": st.sampled_from((None, 3, 20000)), "min_freq": st.sampled_from((1, 2, 100)),
    "encoding": st.sampled_from((None, None, "latin-1", "utf-16")), "truncating": st.sampled_from(("post", "pre"))})


@fuzz_settings(3)
@given(CSV_BYTES, OPTIONS)
def test_classify_csv_gives_parts_or_a_documented_error(tmp_path, data, options):
    path = tmp_path / "texts.csv"
    path.write_bytes(data)
    out = outcome(prepare_classify, ClassifyConfig(csv=str(path), split=(0.6, 0.2, 0.2), **options))
    if isinstance(out, ClassifyData):
        assert len(out.classes) >= 2
        for part in out.parts.values():
            assert len(part.y) > 0 and (part.lengths >= 1).all()
            assert part.x.dtype == np.int64 and (part.x >= 0).all() and (part.x < len(out.encoder.vocabulary)).all()
            assert set(part.y.tolist()) <= set(range(len(out.classes)))


CLI_CASES = {
    "random bytes": bytes(range(256)) * 4,
    "utf-16 with BOM": ("text,label\n" + "good film,pos\nbad film,neg\n" * 10).encode("utf-16"),
    "invalid utf-8": b"text,label\n" + b"caf\xe9,pos\nbad,neg\n" * 10,
    "NUL bytes": b"text,label\ngood,pos\n\x00\x00\x00,neg\n",
    "empty": b"",
    "header only": b"text,label\n",
    "no label column": b"text,lab\ngood,pos\nbad,neg\n" * 5,
    "a huge column name": b"text," + b"y" * 100000 + b"\ngood,pos\nbad,neg\n",
    "one class": b"text,label\n" + b"good,pos\n" * 20,
    "ragged rows": b"text,label\ngood,pos\nbad,neg,extra,more\n" * 5,
    "truncated gzip": __import__("gzip").compress(b"text,label\n" + b"good film,pos\nbad film,neg\n" * 50)[:30],
}


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_cli_classify_csv_exits_2_without_writing(tmp_path, capsys, case):
    path = tmp_path / ("texts.csv.gz" if "gzip" in case else "texts.csv")
    path.write_bytes(CLI_CASES[case])
    cli_fails_cleanly(["classify", "--csv", path, "--epochs", "1", "--out", tmp_path / "run"], capsys)
    assert not (tmp_path / "run").exists()
