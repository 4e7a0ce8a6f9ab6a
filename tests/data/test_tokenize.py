"""Word and character tokenisers: HTML, punctuation, numbers, URLs, missing texts, speed."""
import time

import pytest

from rnnkit.data.tokenize import char_tokens, is_number, is_url, tokenize, word_tokens
from rnnkit.errors import InvalidArgumentError


def test_html_removed_and_entities_decoded():
    assert word_tokens("Great<br /><br />film &amp; cast") == ["great", "film", "cast"]
    assert word_tokens("<i>Up</I> <a href='x'>link</a>") == ["up", "link"]
    assert word_tokens("a < b and c > d") == ["a", "b", "and", "c", "d"]  # not a tag


def test_punctuation_dropped_by_default_or_split_off():
    assert word_tokens("Hello, world!!! (Really?)") == ["hello", "world", "really"]
    assert word_tokens("Hello, world!", punctuation="keep") == ["hello", ",", "world", "!"]
    assert word_tokens("\u2014 yes \u2014", punctuation="keep") == ["\u2014", "yes", "\u2014"]


def test_apostrophes_numbers_urls_kept():
    assert word_tokens("Don't say it's 9.5/10 or 1,000 times in the 90s") == [
        "don't", "say", "it's", "9.5", "10", "or", "1,000", "times", "in", "the", "90s"]
    assert word_tokens("See https://www.imdb.com/title/tt01/?ref=a. And www.x.org!") == [
        "see", "https://www.imdb.com/title/tt01/?ref=a", "and", "www.x.org"]
    assert word_tokens("(http://a.b/c)") == ["http://a.b/c"]


def test_lower_option_and_unicode_letters():
    assert word_tokens("The END", lower=False) == ["The", "END"]
    assert word_tokens("Naïve CAFÉ") == ["naïve", "café"]


def test_char_tokens_collapse_space_keep_case():
    assert char_tokens(" Ab\n\n c<br/>! ") == ["A", "b", " ", "c", " ", "!"]
    assert char_tokens("Ab", lower=True) == ["a", "b"]


def test_tokenize_many_levels_and_missing():
    texts = ["One, TWO", None, float("nan"), "", "x"]
    assert tokenize(texts) == [["one", "two"], [], [], [], ["x"]]
    assert tokenize(texts, level="char") == [list("One, TWO"), [], [], [], ["x"]]
    assert tokenize(["Ab"], level="char", lower=True) == [["a", "b"]]
    assert tokenize(["A b"], lower=False) == [["A", "b"]]
    assert tokenize(["Hi!"], punctuation="keep") == [["hi", "!"]]


def test_tokenize_agrees_with_word_tokens():
    texts = ["It's <br />GREAT: 10/10 http://x.y/z.", "Meh... 3.5 stars"]
    assert tokenize(texts) == [word_tokens(t) for t in texts]
    assert tokenize(texts, lower=False, punctuation="keep") == [word_tokens(t, lower=False, punctuation="keep")
                                                                 for t in texts]


def test_pandas_series_and_numbers_as_cells():
    pd = pytest.importorskip("pandas")
    assert tokenize(pd.Series(["a b", None, 3])) == [["a", "b"], [], ["3"]]


def test_bad_arguments():
    with pytest.raises(InvalidArgumentError, match="level"):
        tokenize(["a"], level="sentence")
    with pytest.raises(InvalidArgumentError, match="punctuation"):
        word_tokens("a", punctuation="split")
    with pytest.raises(InvalidArgumentError, match="not one string"):
        tokenize("a text")
    with pytest.raises(InvalidArgumentError, match="encoding"):
        tokenize([b"\xff bytes"])


def test_is_number_is_url():
    assert is_number("42") and is_number("3.5") and not is_number("4x") and not is_number("x")
    assert is_url("http://a") and is_url("https://b.c") and is_url("www.d.e") and not is_url("web")


def test_fast_enough():
    review = ("This movie was <br /><br />surprisingly good, I'd say 8/10! The acting & plot "
              "(see http://imdb.com) were great. ") * 12            # ~1,300 characters, an IMDB review
    texts = [review] * 5000
    t = time.perf_counter()
    out = tokenize(texts)
    dt = time.perf_counter() - t
    assert len(out) == 5000 and len(out[0]) > 100
    assert dt < 5.0, f"tokenising 5,000 reviews took {dt:.2f} s"
