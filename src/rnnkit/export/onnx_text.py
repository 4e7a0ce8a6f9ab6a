"""What an exported text model needs beside it: the tokeniser's rules and the vocabulary, as
JSON-able dicts for the ONNX ``metadata_props`` (:mod:`rnnkit.export.onnx`), so a consumer turns
text into the ids ``x`` without rnnkit.

- :func:`tokenizer_metadata`: ``{"level", "lower", "punctuation", "pattern", "rules"}``. Word tokens
  are ``re.findall(pattern, text)`` (Python 3.11+ ``re``) after the rules' HTML clean-up and
  lower-casing; character tokens are the characters.
- :func:`vocabulary_metadata`: ``{"tokens", "specials", "pad_id", "unk_id", "replace_numbers",
  "replace_urls", "number_pattern", "url_pattern"}``: the id of a token is its index in
  ``tokens``; a token not there is ``unk_id``; with ``replace_numbers`` a token matching
  ``number_pattern`` whole is ``[NUM]`` (``replace_urls``: ``url_pattern``, ``[URL]``).
- :func:`bpe_metadata`: the byte-level BPE tokeniser in the ``tokenizers`` library's own JSON
  (``tokenizers.Tokenizer.from_str(json.dumps(meta))`` reads it back).

    >>> import re
    >>> from rnnkit.data.vocabulary import Vocabulary
    >>> meta = tokenizer_metadata("word", lower=True)
    >>> re.findall(meta["pattern"], "A good film, isn't it?".lower())
    ['a', 'good', 'film', "isn't", 'it']
    >>> v = vocabulary_metadata(Vocabulary.build([["a", "film", "a"]]))
    >>> v["tokens"], v["unk_id"]
    (['[PAD]', '[UNK]', 'a', 'film'], 1)
"""
from __future__ import annotations

import json

from rnnkit.data.tokenize import _NUMBER_FULL, _URL_FULL, _WORD_PUNCT_RE, _WORD_RE

__all__ = ["tokenizer_metadata", "vocabulary_metadata", "bpe_metadata"]

_HTML = ("HTML tags such as <br /> (a '<', an optional '/' or '!', a letter, up to 200 characters "
         "other than '<' and '>', then '>') become a space and the entities &amp; &lt; &gt; &quot; &#39; "
         "&apos; &nbsp; are decoded")


def tokenizer_metadata(level: str, lower: bool, punctuation: str = "drop", html: bool = True) -> dict:
    """How rnnkit split the training texts: ``level`` 'word' or 'char', ``lower``-cased or not,
    ``punctuation`` 'drop'/'keep' (words), ``html`` clean-up first (the classifier's tokeniser) or not
    (the language model and the translator read the text as it is)."""
    if level == "char":
        rules = [f"{_HTML}, runs of white space become one space and the ends are stripped"] if html else []
        rules += ["the text is lower-cased"] if lower else []
        rules += ["every character is a token"]
        return {"level": "char", "lower": lower, "pattern": None, "rules": "; ".join(rules)}
    pattern = (_WORD_RE if punctuation == "drop" else _WORD_PUNCT_RE).pattern
    rules = (f"{_HTML}; " if html else "") + ("the text is lower-cased; " if lower else "") + \
        "the tokens are re.findall(pattern, text): URLs, numbers, words with inner apostrophes" + \
        (", and each other non-space character" if punctuation == "keep" else " (punctuation dropped)")
    return {"level": "word", "lower": lower, "punctuation": punctuation, "pattern": pattern, "rules": rules}


def vocabulary_metadata(vocab) -> dict:
    """A :class:`~rnnkit.data.vocabulary.Vocabulary` as the consumer reads it (counts left out)."""
    return {"tokens": list(vocab.tokens), "specials": list(vocab.specials), "pad_id": vocab.pad_id,
            "unk_id": vocab.unk_id, "replace_numbers": vocab.replace_numbers, "replace_urls": vocab.replace_urls,
            "number_pattern": _NUMBER_FULL.pattern, "url_pattern": "(?i)" + _URL_FULL.pattern}


def bpe_metadata(tok) -> dict:
    """A byte-level BPE tokeniser (``tokenizers.Tokenizer``) as its library's JSON object."""
    return json.loads(tok.to_str())
