"""``rnnkit.tag``, ``rnnkit.lm`` and ``rnnkit.translate``: the ``rnnkit tag``, ``rnnkit lm`` and
``rnnkit translate train`` commands on token lists, texts and sentence pairs, written to the files
the commands read (a CoNLL file, a UTF-8 text, a ``source<TAB>target`` file)."""
from __future__ import annotations

import contextlib

from rnnkit.api._common import flushing_subnormals, make_config, strings, temp_file, text_of, train
from rnnkit.api._files import write_conll, write_pairs
from rnnkit.api.run import Run
from rnnkit.errors import InvalidArgumentError
from rnnkit.tasks.lm_config import LMConfig
from rnnkit.tasks.tag import TagConfig
from rnnkit.tasks.translate import TranslateConfig

__all__ = ["tag", "lm", "translate"]


def _conll(name: str, pair):
    if pair is None:
        return contextlib.nullcontext()
    if not isinstance(pair, tuple) or len(pair) != 2:
        raise InvalidArgumentError.for_argument(name, type(pair).__name__, "a (sentences, tags) pair")
    return temp_file(f"{name}.txt", lambda p: write_conll(p, *pair))


@flushing_subnormals
def tag(sentences, tags, *, val=None, test=None, **options) -> Run:
    """``rnnkit tag`` on sentences given as token lists (``[["EU", "rejects", ...], ...]``) and
    their tags (one list per sentence, one tag per token; IOB2 tags get a CRF output layer as with
    the command). ``val``, ``test``: ``(sentences, tags)`` pairs (``--val``, ``--test``; default:
    parts of the sentences, by ``split``). ``options``: any other option of ``rnnkit tag``."""
    with _conll("train", (sentences, tags)) as conll, _conll("val", val) as v, _conll("test", test) as t:
        files = {k: p for k, p in (("val", v), ("test", t)) if p is not None}
        return Run(train("tag", make_config(TagConfig, "tag", options, conll=conll, **files)))


def _text(value, name: str):
    if value is None:
        return contextlib.nullcontext()
    text = value if isinstance(value, str) else "\n".join(strings(value, name, "a string or a list of strings"))
    return text_of(text, f"{name}.txt")


@flushing_subnormals
def lm(text, *, val=None, test=None, **options) -> Run:
    """``rnnkit lm`` on a text (a string, or a list of strings: one text, joined by newlines);
    ``val`` and ``test`` (both or neither): the validation and test texts (default: cut from
    ``text``, 90/5/5). ``options``: any other option of ``rnnkit lm`` (``level``, ``bptt``,
    ``units``, ``epochs``, ...). :meth:`Run.generate` writes with the trained model."""
    with _text(text, "text") as train_path, _text(val, "val") as v, _text(test, "test") as t:
        files = {k: p for k, p in (("val", v), ("test", t)) if p is not None}
        return Run(train("lm", make_config(LMConfig, "lm", options, text=train_path, **files)))


@flushing_subnormals
def translate(pairs, **options) -> Run:
    """``rnnkit translate train`` on ``(source, target)`` sentence pairs (a list of 2-tuples of
    strings; split into train/val/test by ``split``). ``options``: any other option of
    ``rnnkit translate train`` (``units``, ``attention``, ``epochs``, ...). ``run.predict(texts)``
    translates with the trained model."""
    with temp_file("pairs.txt", lambda p: write_pairs(p, pairs)) as path:
        return Run(train("translate", make_config(TranslateConfig, "translate", options, pairs=path)))
