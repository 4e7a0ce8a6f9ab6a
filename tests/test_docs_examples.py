"""The Python examples of the README and of the documentation site run and print what they say.

Each fenced ``pycon`` block of README.md and docs/**/*.md is one doctest; the blocks of a page
share one namespace, in order, as a reader would type them.
"""
import doctest
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCK = re.compile(r"^```pycon\n(.*?)^```", re.S | re.M)


def page_ids():
    return [str(p.relative_to(ROOT)) for p in PAGES]


@pytest.mark.parametrize("page", PAGES, ids=page_ids())
def test_page_examples(page):
    text = page.read_text(encoding="utf-8")
    blocks = BLOCK.findall(text)
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    globs: dict = {}
    for i, block in enumerate(blocks):
        test = parser.get_doctest(block, globs, f"{page.name}[{i}]", str(page), 0)
        runner.run(test, clear_globs=False)
        globs = test.globs                       # DocTest copies them: carry the names on
    assert runner.summarize(verbose=False).failed == 0, f"an example of {page.name} failed (output above)"


def test_pages_have_no_untested_python_blocks():
    """Python examples are written as ``pycon`` (with ``>>>``) so this file runs them."""
    for page in PAGES:
        assert "```python" not in page.read_text(encoding="utf-8"), f"{page.name}: use ```pycon"


def test_readme_links_point_at_files():
    """The README's links into docs/ name pages that exist (the site itself is checked by the
    strict Sphinx build in .ci/run)."""
    links = re.findall(r"\]\(((?:docs|src|bench|tests)/[^)#\s]+)", (ROOT / "README.md").read_text(encoding="utf-8"))
    assert links, "the README links into docs/"
    missing = [link for link in links if not (ROOT / link).exists()]
    assert not missing, f"README links to missing files: {missing}"
