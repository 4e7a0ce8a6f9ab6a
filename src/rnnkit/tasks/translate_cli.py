"""``rnnkit translate train`` and ``rnnkit translate run``: the translation commands.

    $ rnnkit translate train --pairs fra.txt --attention dot --out runs/fr
    $ rnnkit translate train --libreoffice-help tree/ --max-pairs 20000 --reverse-source
    $ rnnkit translate train ... --out runs/fr --resume       # continue an interrupted run exactly
    $ rnnkit translate run --run runs/fr --text "Click OK." --beam 4
    $ rnnkit translate run --run runs/fr --file sentences.txt  # one source per line
    $ rnnkit predict --run runs/fr --csv texts.csv             # the column "source" (or the first)

    >>> import argparse
    >>> p = argparse.ArgumentParser(); add_commands(p.add_subparsers())
    >>> args = p.parse_args(["translate", "train", "--pairs", "fra.txt", "--attention", "additive"])
    >>> train_config(args).attention, train_config(args).level
    ('additive', 'word')
"""
from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

from rnnkit.errors import DataError, InvalidArgumentError, as_cli_options
from rnnkit.tasks.options import add_device_argument, add_options, add_run_arguments, config_from_args
from rnnkit.tasks.translate import TranslateConfig, TranslateTask, load_translator, run_translate, translate_ids
from rnnkit.models.decoding import check_decoding
from rnnkit.tasks.output import check_output
from rnnkit.training.checkpoint import atomic_write_text
from rnnkit.tasks.sizes import check_beam
from rnnkit.training.device import resolve_device

__all__ = ["add_commands", "predict_command", "train_config", "translate_texts"]


def train_config(args):
    return config_from_args(TranslateConfig, args, resume=bool(args.resume))


def _train(args) -> int:
    run_translate(train_config(args))
    return 0


def translate_texts(run_dir, texts: list[str], beam: int | None = None, max_output: int | None = None,
                    length_penalty: float | None = None, warn=None, device: str = "cpu") -> list[str]:
    """Translations of ``texts`` by a translate run (the run's decoding settings unless given).
    Words outside the source vocabulary are read as ``<unk>`` (``warn`` is told how many); a
    text without any token translates to an empty string. The model runs on ``device`` (a
    ``--device`` name)."""
    where = resolve_device(device)
    model, job, src, tgt = load_translator(run_dir)
    model.to(where)
    beam = job.beam if beam is None else beam
    max_output = job.max_output if max_output is None else max_output
    alpha = job.length_penalty if length_penalty is None else length_penalty
    with as_cli_options(beam_size="--beam", max_len="--max-output"):
        check_decoding(beam, max_output, alpha)
    ids = src.encode(texts)
    cfg = model.config
    check_beam(beam, max_output, cfg.tgt_vocab, cfg.units * 2, cfg.layers, max(map(len, ids), default=1))
    unknown = sum(i == 1 for row in ids for i in row)
    if unknown and warn:
        warn(f"{unknown} source token(s) are not in the run's source vocabulary and were read as <unk>.")
    todo = [k for k, row in enumerate(ids) if row]
    hyps = translate_ids(model, [ids[k] for k in todo], beam, max_output, alpha) if todo else []
    out = [""] * len(texts)
    for k, h in zip(todo, hyps):
        out[k] = tgt.decode(h)
    return out


def _read_lines(path: str) -> list[str]:
    try:
        return Path(path).read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError:
        raise InvalidArgumentError.for_argument("--file", path, "an existing text file (one source per line)") from None
    except IsADirectoryError:
        raise InvalidArgumentError.for_argument("--file", path, "a text file, not a directory") from None
    except UnicodeDecodeError as e:
        raise DataError(f"--file {path} is not UTF-8 (byte {e.start}); convert it to UTF-8.") from None


def _run(args) -> int:
    texts = [args.text] if args.text is not None else _read_lines(args.file)
    warn = lambda m: print(f"rnnkit: note: {m}", file=sys.stderr)  # noqa: E731
    for line in translate_texts(args.run, texts, args.beam, args.max_output, args.length_penalty, warn, args.device):
        print(line)
    return 0


def predict_command(args) -> int:
    """``rnnkit predict --run DIR --csv F``: translate the CSV's ``source`` column (or its only
    or first column); prints ``source,translation`` rows, or writes them to ``--output``."""

    if not args.csv:
        raise InvalidArgumentError.for_argument("--csv", None, "a CSV with a 'source' column for a translate run",
                                                f"Or translate text directly: rnnkit translate run --run {args.run} "
                                                "--text \"...\".")
    if args.output:
        check_output(args.output, args.run, args.force)
    try:
        rows = list(csv.reader(io.StringIO(Path(args.csv).read_text(encoding="utf-8-sig"))))
    except (FileNotFoundError, IsADirectoryError):
        raise InvalidArgumentError.for_argument("--csv", args.csv, "an existing CSV file") from None
    except UnicodeDecodeError as e:
        raise DataError(f"--csv {args.csv} is not UTF-8 (byte {e.start}); convert it to UTF-8.") from None
    except csv.Error as e:          # a field over the csv module's 128 kB limit, a NUL byte...
        raise DataError(f"--csv {args.csv} is not a CSV rnnkit can read ({e}); pass one source text per row, under "
                        "a 'source' header.") from None
    if len(rows) < 2 or not rows[0]:
        raise DataError(f"--csv {args.csv} has no rows under its header; pass a CSV with a 'source' column.")
    col = rows[0].index("source") if "source" in rows[0] else 0
    texts = [r[col] if col < len(r) else "" for r in rows[1:]]
    warn = lambda m: print(f"rnnkit: note: {m}", file=sys.stderr)  # noqa: E731
    outs = translate_texts(args.run, texts, warn=warn, device=getattr(args, "device", "cpu"))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["source", "translation"])
    w.writerows(zip(texts, outs))
    if args.output:
        atomic_write_text(args.output, buf.getvalue())
    print(buf.getvalue(), end="")
    return 0


def add_commands(sub) -> None:
    """Add ``translate train`` and ``translate run`` to the ``rnnkit`` subcommands."""

    t = sub.add_parser("translate", help=TranslateTask.help,
                       description="Encoder-decoder translation (seed 004): `train` on sentence pairs, `run` a "
                                   "trained run on new text.")
    tsub = t.add_subparsers(dest="translate_command", metavar="COMMAND")
    t.set_defaults(func=lambda args: t.print_help() or 2)
    train = tsub.add_parser("train", help="train on source<TAB>target pairs or the LibreOffice help",
                            description="Train a Seq2Seq translator; print test BLEU and chrF of the model and of "
                                        "the copy baseline; write a run directory.")
    add_options(train, TranslateConfig)
    add_run_arguments(train)
    train.set_defaults(func=_train)
    run = tsub.add_parser("run", help="translate text with a trained run",
                          description="Translate --text or every line of --file with a trained run (one "
                                      "translation per line on stdout).")
    run.add_argument("--run", required=True, help="run directory written by `rnnkit translate train`")
    what = run.add_mutually_exclusive_group(required=True)
    what.add_argument("--text", help="one source text")
    what.add_argument("--file", help="UTF-8 text file, one source per line")
    run.add_argument("--beam", type=int, help="beam size (1: greedy; default: the run's)")
    run.add_argument("--max-output", type=int, help="longest translation in tokens (default: the run's)")
    run.add_argument("--length-penalty", type=float, help="GNMT length penalty alpha (default: the run's)")
    add_device_argument(run, "translate on")
    run.set_defaults(func=_run)


class TranslateCommands(TranslateTask):
    """The translate task with its commands (``translate train``, ``translate run``, ``rnnkit predict``
    for its runs), as the registry (:mod:`rnnkit.tasks.registry`) serves it."""

    def predict(self, args) -> int:
        return predict_command(args)

    def add_commands(self, sub) -> None:
        add_commands(sub)


TASK = TranslateCommands()
