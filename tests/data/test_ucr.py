"""UEA/UCR .ts files: header, channels, missing values, labels, padding with lengths; the aeon
wheel layout; bad files naming the line."""
import os
import zipfile

import numpy as np
import pytest

from rnnkit.data.ucr import japanese_vowels, pad_series, parse_ts, read_ts, uea_dataset
from rnnkit.errors import DataError, InvalidArgumentError

HEADER = """#A comment
@problemName Toy
@timeStamps false
@missing true
@univariate false
@dimensions 2
@equalLength false
@classLabel true up down
@data
"""
TRAIN = HEADER + "1,2,3:4,5,6:up\n\n0.5,?:-1,2e1:down\n"
TEST = HEADER + "9:8:down\n"


def test_read_ts_values_labels_meta(tmp_path):
    p = tmp_path / "Toy_TRAIN.ts"
    p.write_text(TRAIN)
    series, labels, meta = read_ts(p)
    assert [s.dtype for s in series] == [np.float32, np.float32]
    assert series[0].tolist() == [[1, 4], [2, 5], [3, 6]]                    # [T, C]: channel values in columns
    assert series[1][0].tolist() == [0.5, -1.0] and np.isnan(series[1][1, 0]) and series[1][1, 1] == 20.0
    assert labels == ["up", "down"]
    assert meta["problemname"] == "Toy" and meta["dimensions"] == 2 and meta["missing"] is True
    assert meta["classlabel"] == ["up", "down"] and (meta["n_series"], meta["min_length"], meta["max_length"]) == (2, 2, 3)


def test_univariate_without_labels():
    series, labels, meta = parse_ts("@univariate true\n@classLabel false\n@data\n1,2\n3,4,5\n")
    assert [s.tolist() for s in series] == [[[1], [2]], [[3], [4], [5]]] and labels == [] and meta["channels"] == 1


def test_pad_series_and_lengths():
    series, _, _ = parse_ts(TRAIN)
    x, lengths = pad_series(series)
    assert x.shape == (2, 3, 2) and x.dtype == np.float32 and lengths.tolist() == [3, 2]
    assert x[0].tolist() == [[1, 4], [2, 5], [3, 6]] and x[1, 2].tolist() == [0, 0]
    x2, l2 = pad_series(series, maxlen=2)
    assert x2.shape == (2, 2, 2) and l2.tolist() == [2, 2] and x2[0].tolist() == [[1, 4], [2, 5]]
    with pytest.raises(InvalidArgumentError, match="maxlen"):
        pad_series(series, maxlen=0)
    with pytest.raises(DataError, match="channels"):
        pad_series([np.zeros((2, 1)), np.zeros((2, 3))])


@pytest.mark.parametrize("body, why", [
    ("1,2:3,4:up\n1,2:3,4:5,6:down\n", r"line 11: series 2 has 3 channels.*@dimensions says 2"),
    ("1,2:up\n", r"line 10: series 1 has 1 channels"),
    ("1,2:3:up\n", r"line 10: the channels of series 1 have different lengths \[2, 1\]"),
    ("1,x:3,4:up\n", r"line 10: series 1 has a value that is not a number"),
    ("1,2:3,4:sideways\n", r"line 10: the label 'sideways' is not among"),
    ("", "no series after @data"),
])
def test_bad_series_name_the_line(body, why):
    with pytest.raises(DataError, match=why):
        parse_ts(HEADER + body, "Toy_TRAIN.ts")


def test_inconsistent_channels_without_dimensions():
    with pytest.raises(DataError, match="line 4: series 2 has 1 channels.*first series has 2"):
        parse_ts("@classLabel true a\n@data\n1:2:a\n3:a\n")


def test_bad_headers():
    with pytest.raises(DataError, match="no @data"):
        parse_ts("@problemName X\n")
    with pytest.raises(DataError, match="@timeStamps true"):
        parse_ts("@timeStamps true\n@data\n(0,1):a\n")
    with pytest.raises(DataError, match="@dimensions must be a positive integer"):
        parse_ts("@dimensions two\n@data\n")
    with pytest.raises(DataError, match="@univariate must be true or false"):
        parse_ts("@univariate maybe\n@data\n")
    with pytest.raises(DataError, match="header line"):
        parse_ts("1,2,3\n@data\n")


def test_non_utf8_and_missing_file(tmp_path):
    p = tmp_path / "x.ts"
    p.write_bytes(b"@problemName Caf\xe9\n@data\n1,2\n")
    with pytest.raises(DataError, match="x.ts, line 1: not utf-8.*--encoding"):
        read_ts(p)
    assert read_ts(p, encoding="latin-1")[2]["problemname"] == "Caf\u00e9"
    with pytest.raises(DataError, match="does not exist"):
        read_ts(tmp_path / "nope.ts")


def test_uea_dataset_from_wheel_folder_and_files(tmp_path):
    wheel = tmp_path / "aeon-1.6.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("aeon/datasets/data/Toy/Toy_TRAIN.ts", TRAIN)
        z.writestr("aeon/datasets/data/Toy/Toy_TEST.ts", TEST)
    for source in (wheel, tmp_path):
        (tr, ytr, _), (te, yte, _) = uea_dataset("Toy", source)
        assert (len(tr), ytr, len(te), yte) == (2, ["up", "down"], 1, ["down"])
    files = tmp_path / "files"
    files.mkdir()
    (files / "Toy_TRAIN.ts").write_text(TRAIN)
    (files / "Toy_TEST.ts").write_text(TEST)
    assert len(uea_dataset("Toy", files)[1][0]) == 1
    sk = tmp_path / "sk"
    sk.mkdir()
    with zipfile.ZipFile(sk / "sktime-0.30.0-py3-none-any.whl", "w") as z:       # the sktime layout
        z.writestr("sktime/datasets/data/Toy/Toy_TRAIN.ts", TRAIN)
        z.writestr("sktime/datasets/data/Toy/Toy_TEST.ts", TEST)
    assert len(uea_dataset("Toy", sk)[0][0]) == 2
    with pytest.raises(DataError, match=r"pip download --no-deps aeon==1\.6\.0 -d DIR"):
        japanese_vowels(tmp_path / "files")


REAL = os.environ.get("RNNKIT_REAL_DATA")   # a folder of `pip download --no-deps` wheels


@pytest.mark.skipif(not REAL, reason="set RNNKIT_REAL_DATA to a folder holding the aeon-1.6.0 wheel")
def test_real_japanese_vowels():
    (tr, ytr, meta), (te, yte, _) = japanese_vowels(REAL)
    assert (len(tr), len(te), meta["channels"]) == (270, 370, 12)
    lengths = [len(s) for s in tr + te]
    assert (min(lengths), max(lengths)) == (7, 29) and sorted(set(ytr) | set(yte)) == [str(i) for i in range(1, 10)]
