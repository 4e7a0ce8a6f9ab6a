"""The LibreOffice help loader on a fixture tree of three tiny pages (two languages)."""
from pathlib import Path

import pytest

from rnnkit.data.libreoffice import help_root, read_libreoffice_pairs
from rnnkit.errors import DataError

TREE = Path(__file__).parent / "fixtures" / "libreoffice"
EXPECTED = [
    ("Find Bar", "Barre Rechercher"),
    ("The Find toolbar can be used to quickly search the contents of LibreOffice documents.",
     "La barre d'outils Rechercher peut être utilisée pour rechercher rapidement du contenu dans les "
     "documents LibreOffice."),
    ("Use Tools & Options.", "Utilisez Outils & Options."),
    ("Choose Edit - Paste.", "Choisissez Édition - Coller."),
]


def test_pairs_aligned_by_path_and_id_unique_and_translated():
    # tags and entities gone, spaces collapsed; the repeated heading once; "OnFocus" (same in both)
    # dropped; an id without French text, an empty English paragraph, a page without French, and
    # the header paragraph without id are left out
    assert read_libreoffice_pairs(TREE) == EXPECTED


def test_identical_pairs_kept_on_request_and_limit():
    pairs = read_libreoffice_pairs(TREE, keep_identical=True)
    assert ("OnFocus", "OnFocus") in pairs and len(pairs) == 5
    assert read_libreoffice_pairs(TREE, limit=2) == EXPECTED[:2]


def test_the_help_directory_itself_or_the_package_tree():
    help_dir = TREE / "usr" / "share" / "libreoffice" / "help"
    assert help_root(TREE) == help_dir
    assert read_libreoffice_pairs(help_dir) == EXPECTED


def test_missing_or_wrong_tree_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_libreoffice_pairs(tmp_path / "nowhere")
    with pytest.raises(DataError, match="holds no en-US/text and fr/text"):
        read_libreoffice_pairs(tmp_path)
    for lang in ("en-US", "fr"):
        (tmp_path / lang / "text").mkdir(parents=True)
        (tmp_path / lang / "text" / "a.html").write_text(f'<p id="par_{lang}">x</p>', encoding="utf-8")
    with pytest.raises(DataError, match="share no paragraph id"):
        read_libreoffice_pairs(tmp_path)
