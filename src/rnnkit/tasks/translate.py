"""The translation task: ``run_translate(TranslateConfig(...))`` is ``rnnkit translate train``
(:class:`TranslateTask` through the one driver, :func:`rnnkit.tasks.base.run`).

Data: a ``source<TAB>target`` file (``pairs``, :mod:`rnnkit.data.pairs`; Tatoeba's ``fra.txt``
reads too) or the English-French paragraphs of the LibreOffice help (``libreoffice_help``,
:mod:`rnnkit.data.libreoffice`), shuffled by ``seed`` and split train/val/test (``max_pairs``
keeps a random subset first). Tokens: ``word`` (:func:`rnnkit.data.tokenize.word_tokens`,
punctuation kept as tokens, one :class:`~rnnkit.data.vocabulary.Vocabulary` per language built
on the training pairs) or ``bpe`` (:mod:`rnnkit.data.bpe`, one byte-level BPE per language).
Pairs with more than ``max_len`` tokens on a side are left out of every part (counted).

The model is a :class:`~rnnkit.models.seq2seq.Seq2Seq` trained by the shared trainer with
teacher forcing, cross-entropy that ignores ``<pad>``, early stopping on the validation loss.
By default the decoder attends to the encoder's states (Luong's dot attention) and the test
sources are translated by beam search (4 hypotheses, GNMT length penalty 1.0): on validation
they beat no attention and greedy decoding (docs/defaults.md); ``beam`` 1 is greedy. The
validation and test pairs are scored with ``sacrebleu``: BLEU and chrF of the model, of the
same model decoded greedily (when ``beam`` > 1) and of the **copy** baseline (the source itself
as the translation). Every side is scored as the same normalised text: word tokens (lower-cased
when ``lower``, punctuation kept) joined by spaces, so word and BPE models compare alike.

The run directory: ``config.json`` (``"task": "translate"``), ``model.safetensors``,
``metrics.json`` ``{"test": {"model": {"bleu", "chrf"}, "greedy": {...}, "copy": {...}}, "val": {...}, ...}``,
``translations_test.csv`` (source, reference, hypothesis), the vocabularies
(``source_vocabulary.json``/``target_vocabulary.json`` or ``source_bpe.json``/``target_bpe.json``),
history and checkpoints. The options are in :mod:`rnnkit.tasks.translate_config`, the data in
:mod:`rnnkit.tasks.translate_data`, decoding and scoring in :mod:`rnnkit.tasks.translate_eval`,
the commands in :mod:`rnnkit.tasks.translate_cli`. Under ``torchrun`` every process trains its part of each batch (weighted
by its target tokens), rank 0 alone creates the run directory, translates, writes and prints.

    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> _ = open(d + "/p.tsv", "w").write("".join(f"{w} {i}\\t{w} {i}\\n" for i in range(40) for w in ("a", "b")))
    >>> res = run_translate(TranslateConfig(pairs=d + "/p.tsv", epochs=1, units=8, embedding_dim=4, quiet=True,
    ...                                     out=d + "/run"), log=lambda *a: None)
    >>> sorted(res["test"])
    ['copy', 'greedy', 'model']
"""
from __future__ import annotations

from pathlib import Path

import torch

from rnnkit.errors import CheckpointError
from rnnkit.models.seq2seq import Seq2Seq, Seq2SeqConfig
from rnnkit.tasks.base import Task, run
from rnnkit.tasks.config_check import config_from_json
from rnnkit.tasks.sizes import check_beam, check_seq2seq
from rnnkit.tasks.translate_config import TranslateConfig
from rnnkit.tasks.translate_data import PARTS, Codec, TranslateData, batches, codec_file, normalise, prepare_translate
from rnnkit.tasks.translate_eval import decoding_name, part_scores, score, translate_ids, translations_table
from rnnkit.training import load_run, manifest
from rnnkit.training.checkpoint import atomic_write_text

__all__ = ["TranslateConfig", "TranslateData", "TranslateTask", "prepare_translate", "run_translate",
           "load_translator", "load_model", "Codec", "score", "normalise", "translate_ids"]


class TranslateTask(Task):
    """``rnnkit translate train`` trained by the one driver; its commands are in
    :mod:`rnnkit.tasks.translate_cli`."""

    name, config_class, exporter = "translate", TranslateConfig, "onnx_seq2seq"
    help = "train an encoder-decoder translator, or translate with one"

    def prepare(self, config: TranslateConfig, say, given=None) -> TranslateData:
        data = prepare_translate(config) if given is None else given   # a recipe shares one preparation
        say(data.summary())
        say(f"model: {config.cell.upper()} {config.units} units, {config.layers} layer(s), attention "
            f"{config.attention}; test decoding: {decoding_name(config)}"
            + ("; greedy scored beside it" if config.beam > 1 else ""))
        return data

    def build(self, config: TranslateConfig, data: TranslateData, log):
        model_cfg = config.model_config(len(data.source), len(data.target))
        check_seq2seq(model_cfg, config.batch_size, config.max_len)          # memory, before allocating
        check_beam(config.beam, config.max_output, model_cfg.tgt_vocab, model_cfg.units * 2, config.layers,
                   config.max_len)
        torch.manual_seed(config.seed)
        return Seq2Seq(model_cfg), model_cfg

    def job_dict(self, config: TranslateConfig) -> dict:
        # epochs and max_minutes are the trainer's (config.json "train"): they may grow on resume
        return {k: v for k, v in config.to_dict().items() if k not in ("epochs", "max_minutes")}

    def train_config(self, config: TranslateConfig, data, model_config, model):
        return config.train_config()

    def fit_data(self, config: TranslateConfig, data: TranslateData, model, say) -> tuple:
        return batches(*data.ids["train"], config.batch_size, config.seed), batches(*data.ids["val"], 256)

    def files(self, config: TranslateConfig, data: TranslateData) -> dict:
        return {codec.files(side): codec.file_text() for side, codec in (("source", data.source),
                                                                          ("target", data.target))}

    def run_config(self, config: TranslateConfig, data) -> dict:
        return {"source": {k: str(Path(v).resolve()) for k, v in (("pairs", config.pairs),
                                                                  ("libreoffice_help", config.libreoffice_help)) if v}}

    def evaluate(self, config: TranslateConfig, data: TranslateData, model, trainer):
        rows = trainer.history.rows
        train_seconds = sum(r.get("time", 0.0) for r in rows)   # every epoch's, resumes included
        test, outs = part_scores(model, data, config, "test")
        val = part_scores(model, data, config, "val")[0]
        metrics = {"test": test, "val": val, "pairs": {p: len(data.texts[p]) for p in PARTS}, "dropped": data.dropped,
                   "train_seconds": round(train_seconds, 1), "epochs": len(rows),
                   "decoding": {"beam": config.beam, "length_penalty": config.length_penalty}}
        return metrics, (outs, train_seconds)

    def report(self, config: TranslateConfig, data: TranslateData, metrics: dict, details, run_dir, log, say) -> None:
        outs, train_seconds = details
        atomic_write_text(run_dir / "translations_test.csv",
                          translations_table([(s, t, h) for (s, t), h in zip(data.texts["test"], outs)]))
        for part in ("val", "test"):
            t = metrics[part]
            greedy = f"; greedy BLEU {t['greedy']['bleu']:.2f} chrF {t['greedy']['chrf']:.2f}" if "greedy" in t else ""
            log(f"{'validation' if part == 'val' else 'test'} ({metrics['pairs'][part]} pairs): model "
                f"({decoding_name(config)}) BLEU {t['model']['bleu']:.2f} chrF {t['model']['chrf']:.2f}{greedy}; "
                f"copy baseline BLEU {t['copy']['bleu']:.2f} chrF {t['copy']['chrf']:.2f}"
                + (f"; training {train_seconds:.0f} s" if part == "test" else ""))

    def load(self, run_dir) -> Seq2Seq:
        return load_model(run_dir)


def run_translate(config: TranslateConfig, data: TranslateData | None = None, log=print) -> dict:
    """Run the whole job; ``data`` replaces preparing it (the recipe shares one preparation).
    Returns ``{"run_dir", "test", "train_seconds", ...}`` (on other ranks under ``torchrun``:
    ``{"run_dir"}``)."""
    return run(TranslateTask(), config, log=log, given=data)


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
