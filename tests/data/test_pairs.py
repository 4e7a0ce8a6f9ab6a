"""source<TAB>target files: plain, Tatoeba's three-column fra.txt, and bad lines named."""
import pytest

from rnnkit.data.pairs import read_pairs
from rnnkit.errors import DataError


def _write(tmp_path, text, encoding="utf-8"):
    p = tmp_path / "pairs.tsv"
    p.write_bytes(text.encode(encoding))
    return p


def test_two_and_three_columns_blank_lines_crlf_and_bom(tmp_path):
    p = _write(tmp_path, "\ufeffGo.\tVa !\tCC-BY 2.0 (France) Attribution: tatoeba.org #2877272 (CM)\r\n"
                         "\n  \nHello  world\t Bonjour le monde \n")
    assert read_pairs(p) == [("Go.", "Va !"), ("Hello  world", "Bonjour le monde")]


def test_missing_tab_names_the_line(tmp_path):
    p = _write(tmp_path, "a\tb\n\nno tab here\nc\td\n")
    with pytest.raises(DataError, match=r"Line 3 of .*pairs.tsv has no tab: 'no tab here'"):
        read_pairs(p)


@pytest.mark.parametrize("line,side", [("\tcible", "source"), ("source\t  ", "target"), ("x\t\tattr", "target")])
def test_empty_side_names_the_line_and_side(tmp_path, line, side):
    with pytest.raises(DataError, match=f"Line 2 of .* has an empty {side}"):
        read_pairs(_write(tmp_path, "a\tb\n" + line + "\n"))


def test_missing_empty_directory_and_non_utf8_files(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_pairs(tmp_path / "none.tsv")
    with pytest.raises(DataError, match="is a directory"):
        read_pairs(tmp_path)
    with pytest.raises(DataError, match="holds no pairs"):
        read_pairs(_write(tmp_path, "\n\n"))
    with pytest.raises(DataError, match=r"not UTF-8 \(line 2"):
        read_pairs(_write(tmp_path, "a\tb\nété\tsummer\n", encoding="latin-1"))
