"""UEA/UCR ``.ts`` files (rnnkit.data.ucr, ``rnnkit classify --ts``) fuzzed: random bytes, damaged
headers, ragged and empty series, odd values (NaN, inf, huge), odd encodings."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

from fuzz_helpers import NUMBERS, cli_fails_cleanly, file_bytes, fuzz_settings, outcome
from rnnkit.data.ucr import read_ts
from rnnkit.tasks.classify import ClassifyConfig, prepare_classify
from rnnkit.tasks.classify_data import ClassifyData

HEADER_LINES = st.sampled_from((
    "@problemName Toy", "@timeStamps false", "@timeStamps true", "@missing true", "@univariate false",
    "@univariate true", "@univariate maybe", "@dimensions 2", "@dimensions 0", "@dimensions x", "@dimensions 99999999",
    "@equalLength false", "@seriesLength 3", "@seriesLength -1", "@classLabel true a b", "@classLabel true",
    "@classLabel false", "@classLabel", "@targetLabel true", "# a comment", "", "@", "@data", "garbage"))
VALUE = st.one_of(st.floats(-10, 10).map(lambda v: f"{v:.3g}"), st.just("?"), NUMBERS)


@st.composite
def series_line(draw, channels: int = 2) -> str:
    n = draw(st.integers(1, 5))
    value = st.one_of(VALUE, st.floats(-10, 10).map(lambda v: f"{v:.2f}"), st.floats(-10, 10).map(lambda v: f"{v:.2f}"))
    chans = [",".join(draw(st.lists(value, min_size=n, max_size=n))) for _ in range(draw(st.sampled_from(
        (channels, channels, channels, 1, 3, 0))))]
    return ":".join(chans + [draw(st.sampled_from(("a", "b", "a", "b", "c", "", "x" * 3000)))])


VALID_TS = st.tuples(st.lists(series_line(), min_size=1, max_size=12)).map(
    lambda t: "@problemName Toy\n@univariate false\n@dimensions 2\n@equalLength false\n@classLabel true a b\n@data\n"
              + "\n".join(t[0]) + "\n")
RANDOM_TS = st.tuples(st.lists(HEADER_LINES, max_size=6), st.lists(series_line(), max_size=6)).map(
    lambda t: "\n".join(t[0] + ["@data"] + t[1]))
TS_BYTES = file_bytes(st.one_of(VALID_TS, VALID_TS, RANDOM_TS, st.text(max_size=60)))


@fuzz_settings(2)
@given(TS_BYTES)
def test_read_ts_gives_series_or_a_data_error(tmp_path, data):
    path = tmp_path / "train.ts"
    path.write_bytes(data)
    out = outcome(read_ts, path)
    if isinstance(out, tuple):
        series, labels, meta = out
        assert series and all(s.ndim == 2 and s.shape[1] == meta["channels"] and len(s) >= 1 for s in series)
        assert len(labels) in (0, len(series))


@fuzz_settings(2)
@given(TS_BYTES, st.one_of(st.none(), TS_BYTES))
def test_classify_ts_gives_standardised_parts_or_a_documented_error(tmp_path, data, test_data):
    (tmp_path / "train.ts").write_bytes(data)
    test = None
    if test_data is not None:
        (tmp_path / "test.ts").write_bytes(test_data)
        test = str(tmp_path / "test.ts")
    out = outcome(prepare_classify, ClassifyConfig(ts=str(tmp_path / "train.ts"), test_ts=test, split=(0.5, 0.25, 0.25)))
    if isinstance(out, ClassifyData):
        for part in out.parts.values():
            assert len(part.y) and np.isfinite(part.x).all() or not np.isfinite(part.x).all()  # NaN refused below
        assert np.isfinite(out.parts["train"].x).all()


GOOD = "@problemName T\n@univariate true\n@classLabel true a b\n@data\n" + "1,2,3:a\n4,5:b\n" * 6
CLI_CASES = {
    "random bytes": bytes(range(256)) * 2,
    "utf-16": GOOD.encode("utf-16"),
    "no @data": b"@problemName T\n@classLabel true a b\n1,2:a\n",
    "undeclared label": GOOD.replace("4,5:b", "4,5:z").encode(),
    "a non-number": GOOD.replace("4,5:b", "4,x:b").encode(),
    "NaN inside a series": GOOD.replace("4,5:b", "4,?,6:b").encode(),
    "time stamps": b"@timeStamps true\n" + GOOD.encode(),
    "a label only": GOOD.replace("4,5:b", "b").encode(),
    "empty": b"",
}


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_cli_classify_ts_exits_2_without_writing(tmp_path, capsys, case):
    path = tmp_path / "train.ts"
    path.write_bytes(CLI_CASES[case])
    cli_fails_cleanly(["classify", "--ts", path, "--epochs", "1", "--out", tmp_path / "run"], capsys)
    assert not (tmp_path / "run").exists()
