"""``rnnkit tag`` (options generated from :class:`~rnnkit.tasks.tag.TagConfig`) and ``rnnkit predict
--run DIR`` for tag runs.

    $ rnnkit tag --conll train.txt [--val dev.txt] [--test test.txt] [--out runs/ner]
    $ rnnkit predict --run runs/ner --csv sentences.txt [--output tagged.txt]

Predict reads ``--csv`` as plain text, one sentence per line, tokens separated by whitespace (a
file with tabs is read as CoNLL columns and its first column used), and prints each token with its
tag (CoNLL layout: token TAB tag, a blank line between sentences). Nothing is written into the run.

    >>> import argparse
    >>> sub = argparse.ArgumentParser().add_subparsers()
    >>> TASK.add_commands(sub)
    >>> sorted(sub.choices)
    ['tag']
"""
from __future__ import annotations

from pathlib import Path

from rnnkit.errors import DataError, InvalidArgumentError
from rnnkit.tasks.tag import TagConfig, TagTask, encode_sentences, load_tagger, predict_tags
from rnnkit.data.conll import read_conll
from rnnkit.tasks.output import check_output
from rnnkit.training import atomic_write_text
from rnnkit.training.device import resolve_device

__all__ = ["predict_command", "read_sentences", "tag_text"]


def read_sentences(path) -> list[list[str]]:
    """Token lists of a plain-text file (one sentence per line) or of a CoNLL file (first column)."""
    p = Path(path)
    if not p.is_file():
        raise InvalidArgumentError.for_argument("--csv", str(path), "an existing text file of sentences")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise DataError(f"{path!r} is not UTF-8 text (byte {e.object[e.start:e.start + 1]!r} at {e.start}). Convert it "
                        "to UTF-8.") from None
    if "\t" in text:
        return [list(toks) for toks, _ in read_conll(path)]
    return [line.split() for line in text.splitlines() if line.strip()]


def tag_text(run_dir, path, device: str = "cpu") -> list[list[tuple[str, str]]]:
    """``[[(token, tag), ...], ...]`` for every sentence of ``path``, the model run on ``device``."""
    where = resolve_device(device)
    model, job, tags, vocab = load_tagger(run_dir)
    model.to(where)
    if path is None:
        raise InvalidArgumentError.for_argument("--csv", None, "a text file of sentences to tag")
    sentences = read_sentences(path)
    if not sentences:
        raise InvalidArgumentError.for_argument("--csv", str(path), "at least one sentence")
    fake = [(toks, [tags[0]] * len(toks)) for toks in sentences]
    ids, lengths, _ = encode_sentences(fake, vocab, {t: i for i, t in enumerate(tags)}, job.lower, "--csv")
    pred = predict_tags(model, ids, lengths, tags, tokens=sentences)
    return [list(zip(toks, p)) for toks, p in zip(sentences, pred)]


def predict_command(args) -> int:
    if args.output:
        check_output(args.output, args.run, args.force)
    tagged = tag_text(args.run, args.csv, getattr(args, "device", "cpu"))
    text = "\n\n".join("\n".join(f"{tok}\t{tag}" for tok, tag in s) for s in tagged) + "\n"
    if args.output:
        atomic_write_text(Path(args.output), text)
    print(text, end="")
    return 0


class TagCommands(TagTask):
    """The tag task with its commands: ``rnnkit tag`` and ``rnnkit predict`` for its runs."""

    description = ("Train a bidirectional recurrent tagger (character features and, for IOB2/BIO tags, a CRF "
                   "output layer by default) on CoNLL column files; print entity-level precision/recall/F1 "
                   "(seqeval), token accuracy and a per-type table beside the most-frequent-tag baseline; write a "
                   "run directory.")

    def predict(self, args) -> int:
        return predict_command(args)


# the tag task, as the registry (rnnkit.tasks.registry) serves it
TASK = TagCommands()
