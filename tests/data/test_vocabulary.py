"""Vocabulary and TextEncoder: ids, ties, max_tokens, [NUM]/[URL], Keras pad_sequences semantics,
JSON round trips, malformed files, bad input."""
import json

import numpy as np
import pytest

from rnnkit.data.text_encoder import TextEncoder
from rnnkit.data.vocabulary import Vocabulary
from rnnkit.errors import CheckpointError, DataError, InvalidArgumentError

TRAIN = [["b", "a", "c"], ["a", "c", "d"], ["e", "a"]]       # a:3, c:2, b:1, d:1, e:1


def test_build_order_frequency_then_first_seen():
    v = Vocabulary.build(TRAIN)
    assert v.tokens == ["[PAD]", "[UNK]", "a", "c", "b", "d", "e"]
    assert (v.pad_id, v.unk_id, len(v)) == (0, 1, 7)
    assert v.counts == [0, 0, 3, 2, 1, 1, 1]
    assert v.token_to_id("c") == 3 and v.token_to_id("zzz") == 1 and v.id_to_token(4) == "b"


def test_max_tokens_counts_specials_and_min_freq():
    assert Vocabulary.build(TRAIN, max_tokens=4).tokens == ["[PAD]", "[UNK]", "a", "c"]
    assert Vocabulary.build(TRAIN, min_freq=2).tokens == ["[PAD]", "[UNK]", "a", "c"]
    assert Vocabulary.build(TRAIN, max_tokens=100).tokens == Vocabulary.build(TRAIN).tokens
    with pytest.raises(InvalidArgumentError, match="max_tokens"):
        Vocabulary.build(TRAIN, max_tokens=2)
    with pytest.raises(InvalidArgumentError, match="min_freq"):
        Vocabulary.build(TRAIN, min_freq=0)


def test_replace_numbers_and_urls():
    v = Vocabulary.build([["a", "12", "3.5", "http://x.y"], ["www.z.org", "a"]], replace_numbers=True,
                         replace_urls=True)
    assert v.tokens == ["[PAD]", "[UNK]", "[NUM]", "[URL]", "a"]
    assert v.counts[2:] == [2, 2, 2]
    ids, _ = v.encode([["99", "https://q", "a", "b"]])
    assert ids.tolist() == [[2, 3, 4, 1]]
    plain = Vocabulary.build([["a", "12"]])
    assert "[NUM]" not in plain and "12" in plain


def test_custom_specials():
    v = Vocabulary.build([["x"]], specials=("<pad>", "<unk>", "<cls>"))
    assert v.tokens == ["<pad>", "<unk>", "<cls>", "x"]
    with pytest.raises(InvalidArgumentError, match="specials"):
        Vocabulary.build([["x"]], specials=("[PAD]",))


# Keras pad_sequences on [[1], [2, 3], [4, 5, 6]] (worked by hand from its documentation):
#   default (pre, pre)      -> [[0,0,1],[0,2,3],[4,5,6]]
#   padding='post'          -> [[1,0,0],[2,3,0],[4,5,6]]
#   maxlen=2 (pre, pre)     -> [[0,1],[2,3],[5,6]]
#   maxlen=2, trunc='post'  -> [[0,1],[2,3],[4,5]]
SEQS = [["1"], ["2", "3"], ["4", "5", "6"]]
DIGITS = Vocabulary(["[PAD]", "[UNK]", "1", "2", "3", "4", "5", "6"])   # token "k" has id k + 1


def keras(rows):
    return [[0 if x == 0 else x + 1 for x in r] for r in rows]


@pytest.mark.parametrize("kwargs, expected, lengths", [
    (dict(padding="pre", truncating="pre"), [[0, 0, 1], [0, 2, 3], [4, 5, 6]], [1, 2, 3]),
    (dict(padding="post"), [[1, 0, 0], [2, 3, 0], [4, 5, 6]], [1, 2, 3]),
    (dict(maxlen=2, padding="pre", truncating="pre"), [[0, 1], [2, 3], [5, 6]], [1, 2, 2]),
    (dict(maxlen=2, padding="pre", truncating="post"), [[0, 1], [2, 3], [4, 5]], [1, 2, 2]),
    (dict(maxlen=2), [[1, 0], [2, 3], [4, 5]], [1, 2, 2]),
    (dict(maxlen=2, truncating="pre"), [[1, 0], [2, 3], [5, 6]], [1, 2, 2]),
    # Keras pads to maxlen=5: [[0,0,0,0,1],[0,0,0,2,3],[0,0,4,5,6]]; rnnkit drops the columns that are
    # padding in every row (a cap above the longest text costs nothing, issue 19)
    (dict(maxlen=5, padding="pre"), [[0, 0, 1], [0, 2, 3], [4, 5, 6]], [1, 2, 3]),
    (dict(maxlen=2_000_000_000), [[1, 0, 0], [2, 3, 0], [4, 5, 6]], [1, 2, 3]),
])
def test_encode_matches_keras_pad_sequences(kwargs, expected, lengths):
    ids, lens = DIGITS.encode(SEQS, **kwargs)
    assert ids.dtype == np.int64 and lens.dtype == np.int64
    assert ids.tolist() == keras(expected) and lens.tolist() == lengths


def test_encode_empty_texts_and_empty_batch():
    ids, lens = DIGITS.encode([[], ["1"]])
    assert ids.tolist() == [[0], [2]] and lens.tolist() == [0, 1]
    ids, lens = DIGITS.encode([[], []])
    assert ids.shape == (2, 1) and lens.tolist() == [0, 0]            # width at least 1
    ids, lens = DIGITS.encode([], maxlen=4)
    assert ids.shape == (0, 1) and lens.shape == (0,)                   # no text: width 1, whatever the cap


def test_encode_bad_arguments():
    for bad in (0, -3, 2.5, True):
        with pytest.raises(InvalidArgumentError, match="maxlen"):
            DIGITS.encode(SEQS, maxlen=bad)
    with pytest.raises(InvalidArgumentError, match="padding"):
        DIGITS.encode(SEQS, padding="both")
    with pytest.raises(InvalidArgumentError, match="truncating"):
        DIGITS.encode(SEQS, truncating="middle")


def test_decode():
    ids, _ = DIGITS.encode(SEQS)
    assert DIGITS.decode(ids) == SEQS
    assert DIGITS.decode([2, 0], skip_padding=False) == ["1", "[PAD]"]
    with pytest.raises(InvalidArgumentError, match="ids"):
        DIGITS.decode([99])
    with pytest.raises(InvalidArgumentError, match="id"):
        DIGITS.id_to_token(99)


def test_json_and_file_round_trip(tmp_path):
    v = Vocabulary.build(TRAIN + [["7"]], replace_numbers=True)
    assert Vocabulary.from_json(v.to_json()) == v
    p = v.save(tmp_path / "vocabulary.json")
    w = Vocabulary.load(p)
    assert w == v and w.token_to_id("123") == w.token_to_id("[NUM]")
    assert [f.name for f in tmp_path.iterdir()] == ["vocabulary.json"]         # no temp file left


@pytest.mark.parametrize("content, why", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "JSON object"),
    ('{"format": "other"}', "format"),
    ('{"format": "rnnkit.vocabulary", "version": 99}', "version"),
    ('{"format": "rnnkit.vocabulary", "version": 1, "specials": ["[PAD]", "[UNK]"], "tokens": ["[PAD]", 3]}',
     "tokens"),
    ('{"format": "rnnkit.vocabulary", "version": 1, "specials": ["[PAD]", "[UNK]"], "tokens": ["[UNK]", "[PAD]"]}',
     "specials"),
    ('{"format": "rnnkit.vocabulary", "version": 1, "specials": ["[PAD]", "[UNK]"], '
     '"tokens": ["[PAD]", "[UNK]", "a", "a"]}', "repeats"),
    ('{"format": "rnnkit.vocabulary", "version": 1, "specials": ["[PAD]", "[UNK]"], '
     '"tokens": ["[PAD]", "[UNK]"], "counts": [1]}', "count"),
])
def test_load_malformed_names_the_file(tmp_path, content, why):
    p = tmp_path / "vocabulary.json"
    p.write_text(content)
    with pytest.raises(CheckpointError, match=why) as e:
        Vocabulary.load(p)
    assert str(p) in str(e.value)


def test_load_missing_and_non_utf8(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        Vocabulary.load(tmp_path / "nope.json")
    (tmp_path / "v.json").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(CheckpointError, match="UTF-8"):
        Vocabulary.load(tmp_path / "v.json")


# -- TextEncoder --------------------------------------------------------------------------------

def test_text_encoder_fit_transform():
    enc = TextEncoder(max_tokens=5, maxlen=3, padding="pre", truncating="pre")
    ids, lens = enc.fit_transform(["the film, the cast", "the plot<br />was bad", "a film"])
    assert enc.vocabulary.tokens == ["[PAD]", "[UNK]", "the", "film", "cast"]
    assert ids.tolist() == [[3, 2, 4], [1, 1, 1], [0, 1, 3]]   # "plot was bad": all unknown
    assert lens.tolist() == [3, 3, 2]


def test_text_encoder_vocabulary_from_training_part_only():
    enc = TextEncoder().fit(["good film"])
    ids, lens = enc.transform(["unseen words only", "good"])
    assert ids.tolist() == [[1, 1, 1], [2, 0, 0]] and lens.tolist() == [3, 1]


def test_text_encoder_char_level():
    enc = TextEncoder(level="char", lower=False).fit(["abba", "Ab"])
    assert enc.vocabulary.tokens[2:] == ["b", "a", "A"]
    assert enc.transform(["Abc"])[0].tolist() == [[4, 2, 1]]


def test_text_encoder_save_load(tmp_path):
    enc = TextEncoder(maxlen=4, replace_numbers=True).fit(["it is 10 out of 10", "bad"])
    p = enc.save(tmp_path / "vocabulary.json")
    back = TextEncoder.load(p)
    assert back.options() == enc.options() and back.vocabulary == enc.vocabulary
    assert np.array_equal(back.transform(["10 is bad"])[0], enc.transform(["10 is bad"])[0])
    assert TextEncoder.from_dict(json.loads(p.read_text())).options() == enc.options()


@pytest.mark.parametrize("content, why", [
    ("nope", "not valid JSON"),
    ('{"format": "rnnkit.vocabulary"}', "text encoder"),
    ('{"format": "rnnkit.text_encoder", "version": 1, "options": {"maxlen": 0}}', "maxlen"),
    ('{"format": "rnnkit.text_encoder", "version": 1, "options": {"colour": 1}}', "options"),
    ('{"format": "rnnkit.text_encoder", "version": 1, "options": {}, "vocabulary": 3}', "vocabulary"),
])
def test_text_encoder_load_malformed(tmp_path, content, why):
    p = tmp_path / "vocabulary.json"
    p.write_text(content)
    with pytest.raises(CheckpointError, match=why) as e:
        TextEncoder.load(p)
    assert str(p) in str(e.value)


def test_text_encoder_bad_input():
    for bad in (0, -1):
        with pytest.raises(InvalidArgumentError, match="maxlen.*positive"):
            TextEncoder(maxlen=bad)
    with pytest.raises(DataError, match="empty"):
        TextEncoder().fit([])
    with pytest.raises(DataError, match="every text is missing"):
        TextEncoder().fit([None, float("nan")])
    with pytest.raises(DataError, match="None of the 2 texts"):
        TextEncoder().fit(["", "!!! ..."])
    with pytest.raises(InvalidArgumentError, match="not fitted"):
        TextEncoder().transform(["a"])
    with pytest.raises(InvalidArgumentError, match="not one string"):
        TextEncoder().fit("a text")
    with pytest.raises(InvalidArgumentError, match="level"):
        TextEncoder(level="byte")


def test_text_encoder_pandas_all_nan_column():
    pd = pytest.importorskip("pandas")
    with pytest.raises(DataError, match="every text is missing"):
        TextEncoder().fit(pd.Series([np.nan, np.nan], dtype=object))
    ids, lens = TextEncoder().fit(pd.Series(["a b", None])).transform(pd.Series(["b", None]))
    assert lens.tolist() == [1, 0]


def test_encode_accepts_any_iterable():
    ids, lens = DIGITS.encode(iter(SEQS), maxlen=2, truncating="pre")
    assert ids.tolist() == [[2, 0], [3, 4], [6, 7]] and lens.tolist() == [1, 2, 2]


def test_padding_that_cannot_fit_is_refused_with_the_figure_and_the_option(monkeypatch):
    from rnnkit import memory
    monkeypatch.setattr(memory, "budget_bytes", lambda: 10_000)
    long = [["1"] * 2000] + [["2"]] * 9                      # 10 texts x 2,000 tokens x 8 bytes = 160 kB
    with pytest.raises(memory.MemoryBudgetError) as e:
        DIGITS.encode(long)
    msg = str(e.value)
    assert "padding 10 texts to 2,000 tokens" in msg.lower() and "160.0 kB" in msg and "--max-len" in msg, msg
    ids, _ = DIGITS.encode(long, maxlen=100)                 # 8 kB: fits
    assert ids.shape == (10, 100)
