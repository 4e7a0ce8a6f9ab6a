"""The translation task: ``run_translate(TranslateConfig(...))`` is ``rnnkit translate train``.

Data: a ``source<TAB>target`` file (``pairs``, :mod:`rnnkit.data.pairs`; Tatoeba's ``fra.txt``
reads too) or the English-French paragraphs of the LibreOffice help (``libreoffice_help``,
:mod:`rnnkit.data.libreoffice`), shuffled by ``seed`` and split train/val/test (``max_pairs``
keeps a random subset first). Tokens: ``word`` (:func:`rnnkit.data.tokenize.word_tokens`,
punctuation kept as tokens, one :class:`~rnnkit.data.vocabulary.Vocabulary` per language built
on the training pairs) or ``bpe`` (:mod:`rnnkit.data.bpe`, one byte-level BPE per language).
Pairs with more than ``max_len`` tokens on a side are left out of every part (counted).

The model is a :class:`~rnnkit.models.seq2seq.Seq2Seq` trained by the shared trainer with
teacher forcing, cross-entropy that ignores ``<pad>``, early stopping on the validation loss.
The test sources are translated by greedy decoding (``beam`` 1) or beam search and scored
with ``sacrebleu``: BLEU and chrF of the model and of the **copy** baseline (the source itself
as the translation). Every side is scored as the same normalised text: word tokens (lower-cased
when ``lower``, punctuation kept) joined by spaces, so word and BPE models compare alike.

The run directory: ``config.json`` (``"task": "translate"``), ``model.safetensors``,
``metrics.json`` ``{"test": {"model": {"bleu", "chrf"}, "copy": {"bleu", "chrf"}}, ...}``,
``translations_test.csv`` (source, reference, hypothesis), the vocabularies
(``source_vocabulary.json``/``target_vocabulary.json`` or ``source_bpe.json``/``target_bpe.json``),
history and checkpoints. Under ``torchrun`` every process trains its part of each batch (weighted
by its target tokens), rank 0 alone creates the run directory, translates, writes and prints.

    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> _ = open(d + "/p.tsv", "w").write("".join(f"{w} {i}\\t{w} {i}\\n" for i in range(40) for w in ("a", "b")))
    >>> res = run_translate(TranslateConfig(pairs=d + "/p.tsv", epochs=1, units=8, embed=4, quiet=True,
    ...                                     out=d + "/run"), log=lambda *a: None)
    >>> sorted(res["test"])
    ['copy', 'model']
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from rnnkit.errors import CheckpointError, DataError, InvalidArgumentError
from rnnkit.models.decoding import beam_search, check_decoding, greedy_decode
from rnnkit.models.seq2seq import SPECIALS, Seq2Seq, Seq2SeqConfig, pad_batch
from rnnkit.training.device import resolve_device
from rnnkit.tasks.options import check_minutes, float_list, option, optional_int, zero_is_none, device_option
from rnnkit.training.checkpoint import atomic_write_text
from rnnkit.data.tokenize import word_tokens
from rnnkit.data.pairs import read_pairs
from rnnkit.data.libreoffice import read_libreoffice_pairs
from rnnkit.training import TrainConfig, Trainer, create_run_dir, distributed, save_run, load_run, manifest
from rnnkit.tasks.config_check import config_from_json, without
from rnnkit.tasks.classify_data import check_split
from rnnkit.data.bpe import MIN_VOCAB, train_bpe, vocab_size, decode, load_bpe
from rnnkit.data.vocabulary import Vocabulary
from rnnkit.tasks.sizes import check_beam, check_seq2seq

__all__ = ["TranslateConfig", "TranslateData", "prepare_translate", "run_translate", "load_translator",
           "load_model", "Codec", "score", "normalise", "translate_ids"]

PARTS = ("train", "val", "test")


@dataclass
class TranslateConfig:
    """Every choice of a translation run (``rnnkit translate train --help`` lists them)."""

    pairs: str | None = option(None, "source<TAB>target file (Tatoeba's fra.txt layout reads too)", metavar="FILE")
    libreoffice_help: str | None = option(None, "extracted libreoffice-help-en-us + -fr packages (or "
                                          "/usr/share/libreoffice/help): English-French paragraphs", metavar="DIR")
    max_pairs: int | None = option(None, "use a random subset of this many pairs ('none': all)", parse=optional_int)
    split: tuple = option((0.8, 0.1, 0.1), "train,val,test fractions (shuffled by --seed)", parse=float_list)
    level: str = option("word", "tokens: words (punctuation kept) or byte-level BPE", choices=("word", "bpe"))
    lower: bool = option(True, "lower-case the texts")
    vocab_size: int = option(8000, "tokens per language, specials included (words: the most frequent; bpe: merges)")
    max_len: int = option(30, "leave out pairs with more tokens than this on either side")
    cell: str = option("lstm", "recurrent cell", choices=("lstm", "gru"))
    embed: int = option(128, "embedding width")
    units: int = option(256, "recurrent units (per direction)")
    layers: int = option(1, "stacked encoder and decoder layers")
    bidirectional: bool = option(False, "bidirectional encoder (bridged to the decoder)")
    attention: str = option("none", "attention of the decoder", choices=("none", "additive", "dot", "general"))
    reverse_source: bool = option(False, "feed the source reversed (Sutskever et al.)")
    dropout: float = option(0.1, "dropout of the embeddings, between layers and before the output")
    teacher_forcing: float = option(1.0, "probability of feeding the reference token while training (<1: "
                                    "scheduled sampling)")
    epochs: int = option(10, "maximum training epochs")
    max_minutes: float | None = option(None, "stop training after the first epoch that ends past this many minutes of training (resumes included)", metavar="MIN")
    device: str = device_option()
    batch_size: int = option(64, "pairs per batch")
    lr: float = option(1e-3, "Adam learning rate")
    clip_norm: float = option(1.0, "clip the gradient norm (0: off)")
    patience: int | None = option(3, "early stopping patience in epochs, best weights restored (0: off)",
                                  parse=optional_int)
    beam: int = option(1, "beam size for the test translations (1: greedy)")
    length_penalty: float = option(0.0, "GNMT length penalty alpha of beam search (0: none)")
    max_output: int = option(60, "longest translation in tokens")
    seed: int = option(0, "seed of the split, the initial weights, dropout and shuffling")
    quiet: bool = option(False, "print only the results")
    out: str | None = option(None, "run directory, new or empty (default runs/translate-<time>)", metavar="DIR")
    name: str = option("translate", "run name", cli=False)
    resume: bool = option(False, "continue the run in --out", cli=False)

    def __post_init__(self):
        zero_is_none(self, "max_pairs", "patience")     # their 0 means none (all pairs, no early stopping)
        self.split = check_split(self.split)
        for name, low in (("vocab_size", len(SPECIALS) + 1), ("max_len", 1), ("epochs", 1), ("batch_size", 1),
                          ("max_pairs", 10), ("patience", 0)):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < low):
                raise InvalidArgumentError.for_argument("--" + name.replace("_", "-"), v, f"an integer >= {low}")
        check_minutes(self.max_minutes)
        if self.level == "bpe":
            if self.vocab_size < MIN_VOCAB + 2:
                raise InvalidArgumentError.for_argument("--vocab-size", self.vocab_size, f"at least {MIN_VOCAB + 2} "
                                                        "for --level bpe (256 bytes and 4 specials first)")
        try:
            check_decoding(self.beam, self.max_output, self.length_penalty)
        except InvalidArgumentError as e:
            raise InvalidArgumentError(str(e).replace("`beam_size`", "`--beam`").replace("`max_len`", "`--max-output`")
                                       .replace("`length_penalty`", "`--length-penalty`")) from None
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise InvalidArgumentError.for_argument("--lr", self.lr, "a positive number")
        if not (math.isfinite(self.clip_norm) and self.clip_norm >= 0):
            raise InvalidArgumentError.for_argument("--clip-norm", self.clip_norm, "a number >= 0 (0: off)")
        if self.pairs and self.libreoffice_help:
            raise InvalidArgumentError.for_argument("--libreoffice-help", self.libreoffice_help, "one data source",
                                                    "--pairs is given too: pass only one of them.")
        self.model_config(10, 10)                  # every model option checked before data is read

    def to_dict(self) -> dict:
        return without(self)

    def model_config(self, src_vocab: int, tgt_vocab: int) -> Seq2SeqConfig:
        return Seq2SeqConfig(src_vocab=src_vocab, tgt_vocab=tgt_vocab, embed=self.embed, units=self.units,
                             layers=self.layers, cell=self.cell, bidirectional=self.bidirectional,
                             attention=self.attention, dropout=self.dropout, reverse_source=self.reverse_source,
                             teacher_forcing=self.teacher_forcing)


def normalise(text: str, lower: bool = True) -> str:
    """The text as scored: word tokens, punctuation kept, joined by single spaces."""
    return " ".join(word_tokens(text, lower=lower, punctuation="keep"))


def codec_file(side: str, level: str) -> str:
    """``source_vocabulary.json``, ``target_bpe.json``...: the file of one side's tokens in a run."""
    return f"{side}_{'bpe' if level == 'bpe' else 'vocabulary'}.json"


class Codec:
    """Text <-> ids of one language: a word :class:`Vocabulary` or a BPE tokenizer."""

    def __init__(self, level: str, lower: bool, vocab=None, bpe=None):
        self.level, self.lower, self.vocab, self.bpe = level, lower, vocab, bpe

    @classmethod
    def train(cls, level: str, texts: list[str], vocab_size: int, lower: bool) -> "Codec":
        if level == "bpe":
            return cls(level, lower, bpe=train_bpe([t.lower() if lower else t for t in texts], vocab_size,
                                                   specials=SPECIALS))
        toks = [word_tokens(t, lower=lower, punctuation="keep") for t in texts]
        return cls(level, lower, vocab=Vocabulary.build(toks, max_tokens=vocab_size, specials=SPECIALS))

    def __len__(self) -> int:
        if self.bpe is not None:
            return vocab_size(self.bpe)
        return len(self.vocab)

    def encode(self, texts: list[str]) -> list[list[int]]:
        if self.bpe is not None:
            return [e.ids for e in self.bpe.encode_batch([t.lower() if self.lower else t for t in texts])]
        ids, lengths = self.vocab.encode([word_tokens(t, lower=self.lower, punctuation="keep") for t in texts])
        return [row[:n].tolist() for row, n in zip(ids, lengths)]

    def decode(self, ids: list[int]) -> str:
        if self.bpe is not None:
            return decode(self.bpe, ids)
        return " ".join(self.vocab.tokens[i] for i in ids)

    def files(self, side: str) -> str:
        return codec_file(side, self.level)

    def save(self, run_dir: Path, side: str) -> None:
        text = self.bpe.to_str() if self.bpe is not None else self.vocab.to_json() + "\n"
        atomic_write_text(run_dir / self.files(side), text)

    @classmethod
    def load(cls, run_dir: Path, side: str, level: str, lower: bool) -> "Codec":
        path = run_dir / codec_file(side, level)
        if level == "bpe":
            codec = cls(level, lower, bpe=load_bpe(path))
            specials = [codec.bpe.id_to_token(i) for i in range(len(SPECIALS))]
        else:
            codec = cls(level, lower, vocab=Vocabulary.load(path))
            specials = codec.vocab.tokens[:len(SPECIALS)]
        if list(specials) != list(SPECIALS):
            raise CheckpointError(f"{path} does not start with the specials {' '.join(SPECIALS)} (it has "
                                  f"{specials!r}): it is not the vocabulary of this translation run.")
        return codec


@dataclass
class TranslateData:
    """Texts and ids of each part, the two codecs, and the counts of what was left out."""

    texts: dict           # part -> list of (source, target)
    ids: dict             # part -> (source ids, target ids)
    source: Codec
    target: Codec
    dropped: dict

    def summary(self) -> str:
        n = ", ".join(f"{p} {len(self.texts[p])}" for p in PARTS)
        return (f"pairs: {n}; vocabulary: source {len(self.source)}, target {len(self.target)} ({self.source.level}); "
                f"left out: {self.dropped['too_long']} longer than max_len, {self.dropped['empty']} without tokens")


def read_source(config: TranslateConfig) -> list[tuple[str, str]]:
    if config.pairs:
        return read_pairs(config.pairs)
    if config.libreoffice_help:
        return read_libreoffice_pairs(config.libreoffice_help)
    raise InvalidArgumentError.for_argument("--pairs", None, "a data source",
                                            "Pass --pairs FILE.tsv or --libreoffice-help DIR.")


def prepare_translate(config: TranslateConfig, pairs: list[tuple[str, str]] | None = None) -> TranslateData:
    """Split, tokenise and encode (``pairs`` replaces reading the config's source)."""
    pairs = read_source(config) if pairs is None else list(pairs)
    order = np.random.default_rng(config.seed).permutation(len(pairs))
    if config.max_pairs is not None:
        order = order[:config.max_pairs]
    n = len(order)
    n_train, n_val, n_test = (int(round(n * f)) for f in config.split)
    cut = {"train": order[:n_train], "val": order[n_train:n_train + n_val],
           "test": order[n_train + n_val:n_train + n_val + n_test]}
    if min(len(v) for v in cut.values()) < 1:
        raise DataError(f"{n} pairs cannot be split {config.split} with a pair in each part; pass more pairs.")
    train = [pairs[i] for i in cut["train"]]
    src = Codec.train(config.level, [s for s, _ in train], config.vocab_size, config.lower)
    tgt = Codec.train(config.level, [t for _, t in train], config.vocab_size, config.lower)
    texts, ids, dropped = {}, {}, {"too_long": 0, "empty": 0}
    for part, idx in cut.items():
        chosen = [pairs[i] for i in idx]
        s_ids, t_ids = src.encode([s for s, _ in chosen]), tgt.encode([t for _, t in chosen])
        keep = []
        for k, (a, b) in enumerate(zip(s_ids, t_ids)):
            if not a or not b:
                dropped["empty"] += 1
            elif len(a) > config.max_len or len(b) > config.max_len:
                dropped["too_long"] += 1
            else:
                keep.append(k)
        if not keep:
            raise DataError(f"No {part} pair has at most --max-len {config.max_len} tokens on both sides; "
                            "raise --max-len.")
        texts[part] = [chosen[k] for k in keep]
        ids[part] = ([s_ids[k] for k in keep], [t_ids[k] for k in keep])
    return TranslateData(texts, ids, src, tgt, dropped)


def batches(src_ids, tgt_ids, batch_size: int, seed: int | None = None):
    """Teacher-forcing batches of similar source lengths; with ``seed`` a callable ``f(epoch)``
    shuffling by ``seed + epoch`` (an exact resume reshuffles alike)."""
    def make(order):
        out, window = [], batch_size * 20
        for w in range(0, len(order), window):
            chunk = sorted(order[w:w + window], key=lambda i: len(src_ids[i]))
            out += [pad_batch([src_ids[i] for i in chunk[j:j + batch_size]], [tgt_ids[i] for i in chunk[j:j + batch_size]])
                    for j in range(0, len(chunk), batch_size)]
        return out

    if seed is None:
        return make(list(range(len(src_ids))))

    def epoch_batches(epoch):
        rng = np.random.default_rng(seed + epoch)
        out = make(rng.permutation(len(src_ids)).tolist())
        return [out[i] for i in rng.permutation(len(out))]
    return epoch_batches


@torch.no_grad()
def translate_ids(model: Seq2Seq, src_ids: list[list[int]], beam: int = 1, max_len: int = 60,
                  alpha: float = 0.0, batch_size: int = 128) -> list[list[int]]:
    """Target ids of each source (greedy in batches of similar length, or beam search)."""
    model.eval()
    order = sorted(range(len(src_ids)), key=lambda i: len(src_ids[i]))
    out: list = [None] * len(src_ids)
    for j in range(0, len(order), batch_size):
        idx = order[j:j + batch_size]
        src, lengths = pad_batch([src_ids[i] for i in idx])
        hyps = (greedy_decode(model, src, lengths, max_len) if beam == 1
                else beam_search(model, src, lengths, beam, max_len, alpha))
        for i, h in zip(idx, hyps):
            out[i] = h
    return out


def score(hypotheses: list[str], references: list[str]) -> dict:
    """Corpus BLEU and chrF (sacrebleu) of normalised texts: already tokenised, so BLEU splits
    on spaces only (``tokenize="none"``)."""
    import sacrebleu
    return {"bleu": round(sacrebleu.corpus_bleu(hypotheses, [references], tokenize="none", force=True).score, 2),
            "chrf": round(sacrebleu.corpus_chrf(hypotheses, [references]).score, 2)}


def _table(rows: list[tuple[str, str, str]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([("source", "reference", "hypothesis"), *rows])
    return buf.getvalue()


def run_translate(config: TranslateConfig, data: TranslateData | None = None, log=print) -> dict:
    """Run the whole job; ``data`` replaces preparing it (the recipe shares one preparation).
    Returns ``{"run_dir", "test", "train_seconds", ...}``."""

    if not distributed.is_main():           # torchrun: rank 0 prints
        log = lambda *a, **k: None  # noqa: E731
    say = (lambda *a: None) if config.quiet else log
    resolve_device(config.device)           # a device that is not here: refused before any read or write
    data = prepare_translate(config) if data is None else data
    say(data.summary())
    model_cfg = config.model_config(len(data.source), len(data.target))
    check_seq2seq(model_cfg, config.batch_size, config.max_len)          # memory, before allocating
    check_beam(config.beam, config.max_output, model_cfg.tgt_vocab, model_cfg.units * 2, config.layers, config.max_len)
    torch.manual_seed(config.seed)
    model = Seq2Seq(model_cfg)

    def create():                            # rank 0 only under torchrun; every rank gets the path
        run_dir = create_run_dir(config.name, config.out, exist_ok=config.resume)
        data.source.save(run_dir, "source")
        data.target.save(run_dir, "target")
        return run_dir

    run_dir = distributed.on_main(create)
    source = {k: str(Path(v).resolve()) for k, v in (("pairs", config.pairs), ("libreoffice_help", config.libreoffice_help)) if v}
    job = {k: v for k, v in config.to_dict().items() if k not in ("epochs", "max_minutes")}   # under "train": may grow on resume
    run_config = {"task": "translate", "job": job | {"out": None, "quiet": False, "resume": False},
                  "model": model_cfg.to_dict(), "source": source}
    train_cfg = TrainConfig(epochs=config.epochs, optimizer="adam", lr=config.lr, loss="cross_entropy",
                            ignore_index=0, clip_norm=config.clip_norm or None, patience=config.patience or None,
                            seed=config.seed, quiet=config.quiet, max_minutes=config.max_minutes, device=config.device)
    trainer = Trainer(model, train_cfg, run_dir, run_config=run_config)
    trainer.fit(batches(*data.ids["train"], config.batch_size, config.seed), batches(*data.ids["val"], 256),
                resume=config.resume)
    model.cpu()                             # evaluated, saved and reported on the CPU, wherever it trained
    train_seconds = sum(r.get("time", 0.0) for r in trainer.history.rows)   # every epoch's, resumes included
    if not distributed.is_main():           # rank 0 alone translates, writes and prints the results
        distributed.finish()
        return {"run_dir": str(run_dir)}
    hyps = translate_ids(model, data.ids["test"][0], config.beam, config.max_output, config.length_penalty)
    sources = [normalise(s, config.lower) for s, _ in data.texts["test"]]
    refs = [normalise(t, config.lower) for _, t in data.texts["test"]]
    outs = [normalise(data.target.decode(h), config.lower) for h in hyps]
    metrics = {"test": {"model": score(outs, refs), "copy": score(sources, refs)},
               "pairs": {p: len(data.texts[p]) for p in PARTS}, "dropped": data.dropped,
               "train_seconds": round(train_seconds, 1), "epochs": len(trainer.history.rows),
               "decoding": {"beam": config.beam, "length_penalty": config.length_penalty},
               "training": trainer.stop_info()}
    save_run(run_dir, model, metrics=metrics)
    atomic_write_text(run_dir / "translations_test.csv",
                      _table([(s, t, h) for (s, t), h in zip(data.texts["test"], outs)]))
    m, c = metrics["test"]["model"], metrics["test"]["copy"]
    log(f"test ({len(refs)} pairs): model BLEU {m['bleu']:.2f} chrF {m['chrf']:.2f}; "
        f"copy baseline BLEU {c['bleu']:.2f} chrF {c['chrf']:.2f}; training {train_seconds:.0f} s")
    say(f"run directory: {run_dir}")
    distributed.finish()
    return {"run_dir": str(run_dir), **metrics}


def load_translator(run_dir):
    """``(model, job, source codec, target codec)`` of a translate run. The run directory is
    untrusted: the job goes through the ``rnnkit translate train`` options, the model must be the
    one that job builds for the saved vocabularies, and every file must match the manifest."""

    run_dir = Path(run_dir)
    run = load_run(run_dir)
    cfg, where = run["config"], str(run_dir / "config.json")
    if not isinstance(cfg, dict) or cfg.get("task") != "translate" or not isinstance(cfg.get("model"), dict):
        raise CheckpointError(f"{run_dir} is not a translate run (config.json has no task 'translate' and model).")
    job = config_from_json(TranslateConfig, cfg.get("job"), where, "rnnkit translate train", ignore=("name", "resume"))
    manifest.verify(run_dir, [codec_file(side, job.level) for side in ("source", "target")])
    codecs = [Codec.load(run_dir, side, job.level, job.lower) for side in ("source", "target")]
    weights = run["weights"]
    for side, codec, key in (("source", codecs[0], "src_embed.weight"), ("target", codecs[1], "tgt_embed.weight")):
        rows = tuple(weights[key].shape)[0] if key in weights else None
        if rows != len(codec):
            raise CheckpointError(
                f"{run_dir / codec.files(side)} holds {len(codec)} tokens but the weights' {side} embedding has "
                f"{rows} rows: the vocabulary does not match model.safetensors. Put back the run's own "
                f"{codec.files(side)}, or retrain.")
    expected = job.model_config(len(codecs[0]), len(codecs[1])).to_dict()
    saved = cfg["model"]
    differ = sorted(k for k in set(expected) | set(saved) if expected.get(k) != saved.get(k))
    if differ:
        shown = ", ".join(f"{k[:40]}={repr(saved.get(k))[:40]}" for k in differ[:4])   # values may be huge
        raise CheckpointError(f"{where}: the model ({shown}) "
                              "is not the one its job builds. The run directory was edited; retrain it.")
    model = Seq2Seq(Seq2SeqConfig(**expected))
    try:
        model.load_state_dict(weights)
    except RuntimeError as e:
        raise CheckpointError(f"{run_dir}/model.safetensors does not fit the model in config.json: {str(e)[:300]}") from None
    return model.eval(), job, codecs[0], codecs[1]


def load_model(run_dir) -> Seq2Seq:
    """The trained Seq2Seq of a run, in eval mode (for :func:`rnnkit.load.load_model`)."""
    return load_translator(run_dir)[0]
