"""The language-model task: text -> ids -> B parallel streams -> stateful truncated BPTT ->
nats per token, bits per character, perplexity, a generated sample, a run directory.

``run_lm(LMConfig())`` (:class:`LMTask` through the one driver, :func:`rnnkit.tasks.base.run`) trains the character-level GRU on the embedded Shakespeare slice
(:mod:`rnnkit.data.shakespeare`, split 90/5/5 in order); ``generate(run_dir, ...)`` streams
text from a trained run. Each "epoch" is ``windows_per_epoch`` windows of ``bptt`` steps of
``batch_size`` streams (default: one pass over the training text); the hidden state goes on
from window to window and from epoch to epoch (reset at the start of each pass), and it is in
every checkpoint (:class:`rnnkit.models.language_model.LanguageModel` keeps it in its
``state_dict``), so ``resume=True`` ends with exactly the weights of an uninterrupted run.
``max_minutes`` stops after the first epoch that ends past that wall time (then the result
depends on the machine's speed; leave it unset for exactly reproducible runs).

Under ``torchrun`` the ``batch_size`` streams are shared out: each process trains its own
contiguous streams of every window and carries their state (checkpointed per process, so
``--resume`` stays exact with the same number of processes); validation reads each process's
streams the same way; rank 0 alone creates the run directory, evaluates, samples, writes and
prints, and decides for every process when ``max_minutes`` is spent.

The options left unset are chosen by the level and the vocabulary
(:mod:`rnnkit.tasks.lm_defaults`: character defaults as seed 002, word-level ones as PyTorch's
word-language-model example), recorded in ``config.json`` and printed.

    >>> LMConfig(hidden_size=64).units        # older runs' names still read
    64
"""
from __future__ import annotations

import hashlib
import time

import torch

from rnnkit.data.shakespeare import load_embedded_shakespeare, split_text
from rnnkit.data.streams import StreamBatches
from rnnkit.models.language_model import LanguageModel
from rnnkit.tasks.base import Task, run
from rnnkit.tasks.lm_config import RUN_ONLY, SPLIT, LMConfig
from rnnkit.tasks.lm_defaults import with_defaults
from rnnkit.tasks.lm_eval import eval_streams, evaluate_ids, plot_curve, summary
from rnnkit.tasks.lm_load import generate, load_lm, load_model
from rnnkit.tasks.lm_text import TextCodec, looks_tokenized, read_text
from rnnkit.tasks.sizes import check_lm
from rnnkit.training.checkpoint import atomic_write_text

__all__ = ["LMConfig", "LMTask", "prepare", "evaluate_ids", "run_lm", "load_lm", "load_model", "generate", "SPLIT"]


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def prepare(cfg: LMConfig) -> dict:
    """The three texts, the codec fitted on the training text, their ids, a record of the data and
    ``cfg`` with the options left unset chosen by the data (``"config"``, ``"chosen"``)."""
    if cfg.text is None:
        texts = dict(zip(("train", "val", "test"), split_text(load_embedded_shakespeare(), SPLIT)))
        source = {"text": "embedded:shakespeare", "split": list(SPLIT)}
    elif cfg.val is None:
        texts = dict(zip(("train", "val", "test"), split_text(read_text(cfg.text, "--text"), SPLIT)))
        source = {"text": cfg.text, "split": list(SPLIT)}
    else:
        texts = {"train": read_text(cfg.text, "--text"), "val": read_text(cfg.val, "--val"),
                 "test": read_text(cfg.test, "--test")}
        source = {"text": cfg.text, "val": cfg.val, "test": cfg.test}
    tokenized = cfg.tokenized if cfg.tokenized is not None else (
        cfg.level == "word" and looks_tokenized(texts["train"]))
    codec = TextCodec.fit(cfg.level, texts["train"], max_tokens=cfg.max_tokens, min_freq=cfg.min_freq,
                          vocab_size=cfg.vocab_size, lower=cfg.lower, tokenized=tokenized)
    cfg, chosen = with_defaults(cfg, len(codec), tokenized)
    ids = {k: torch.tensor(codec.encode(t), dtype=torch.long) for k, t in texts.items()}
    record = {**source, "sha256": {k: _sha(t) for k, t in texts.items()},
              "characters": {k: len(t) for k, t in texts.items()}, "tokens": {k: int(v.numel()) for k, v in ids.items()},
              "unknown_tokens": {k: int((v == 1).sum()) for k, v in ids.items() if k != "train"},
              "vocab_size": len(codec), "start": codec.decode(ids["train"][:1].tolist())}
    return {"texts": texts, "codec": codec, "ids": ids, "record": record, "config": cfg, "chosen": chosen}


def _loss(model: LanguageModel):
    """The trainer's loss: the model's own (full or adaptive softmax), averaged over tokens."""
    def loss(out, y):
        return model.loss(out, y)
    loss.mean_over_tokens = True
    loss.__name__ = "cross_entropy"
    return loss


def _fmt(m: dict) -> str:
    return (f"{m['loss_nats']:.4f} nats/token, " + (f"{m['bits_per_char']:.4f} bits/char, " if m["bits_per_char"]
            is not None else "") + f"perplexity {m['perplexity']:.2f}")


class LMTask(Task):
    """``rnnkit lm`` trained by the one driver; its commands are in :mod:`rnnkit.tasks.lm_cli`."""

    name, config_class, exporter = "lm", LMConfig, "onnx_lm"
    help = "train a language model (characters, words or BPE) on one long text"

    def __init__(self):
        self.extras: dict = {}        # what run_lm returns beside the metrics: the sample, the history

    def prepare(self, config: LMConfig, say, given=None) -> dict:
        return prepare(config)

    def resolve(self, config: LMConfig, data: dict, say):
        config, ids = data["config"], data["ids"]
        config.train_config()
        data["train"] = StreamBatches(ids["train"], config.batch_size, config.bptt, seed=config.seed,
                                      windows_per_epoch=config.windows_per_epoch, what="the training text")
        data["val"] = StreamBatches(ids["val"], eval_streams(ids["val"], config.batch_size, config.bptt), config.bptt,
                                    drop_last=True, what="the validation text")
        StreamBatches(ids["test"], eval_streams(ids["test"], config.batch_size, config.bptt), config.bptt,
                      what="the test text")
        r = data["record"]
        say(f"data: {r['text']}, level {config.level}, vocabulary {len(data['codec'])}, tokens train "
            f"{r['tokens']['train']} val {r['tokens']['val']} test {r['tokens']['test']}; {config.batch_size} "
            f"streams x windows of {config.bptt}, {data['train'].windows_per_epoch} windows per epoch")
        say(summary(config, data["chosen"]))
        return config, data

    def build(self, config: LMConfig, data: dict, log):
        codec = data["codec"]
        kwargs = config.model_kwargs(len(codec))
        check_lm(len(codec), config.batch_size, config.bptt, **kwargs)   # memory, before allocating
        torch.manual_seed(config.seed)
        return LanguageModel(len(codec), **kwargs, banned=codec.banned()), {"vocab_size": len(codec), **kwargs}

    def job_dict(self, config: LMConfig) -> dict:
        return {k: v for k, v in config.to_dict().items() if k not in RUN_ONLY}

    def model_dict(self, model_config: dict) -> dict:
        return model_config

    def train_config(self, config: LMConfig, data, model_config, model):
        return config.train_config(_loss(model))

    def fit_data(self, config: LMConfig, data: dict, model, say) -> tuple:
        self.started = time.perf_counter()
        return data["train"], data["val"]

    def files(self, config: LMConfig, data: dict) -> dict:
        return {TextCodec.file_name(config.level): data["codec"].file_text()}

    def run_config(self, config: LMConfig, data: dict) -> dict:
        return {"data": data["record"], "chosen_by_data": sorted(data["chosen"])}

    def evaluate(self, config: LMConfig, data: dict, model, trainer):
        codec, ids, rows = data["codec"], data["ids"], trainer.history.rows
        cpt = codec.chars_per_token()
        metrics = {part: evaluate_ids(model, ids[part], config.batch_size, config.bptt, config.level, cpt,
                                      f"the {part} text") for part in ("val", "test")}
        seconds = sum(r.get("time", 0.0) for r in rows)
        seen = len(rows) * data["train"].windows_per_epoch * config.batch_size * config.bptt
        metrics["speed"] = {"epochs": len(rows), "wall_seconds": seconds, "tokens_seen": seen,
                            "tokens_per_second": seen / max(seconds, 1e-9),
                            "parameters": sum(p.numel() for p in model.parameters())}
        prompt = config.prompt or data["record"]["start"]
        new = list(model.sample(codec.encode_prompt(prompt), config.sample_length, config.temperature, config.top_k,
                                config.top_p, config.seed))
        sample = prompt + (codec.decode(new) if config.level == "bpe" else "".join(map(codec.piece, new)))
        self.extras = {"sample": sample, "history": rows}
        return metrics, sample

    def report(self, config: LMConfig, data, metrics: dict, sample, run_dir, log, say) -> None:
        atomic_write_text(run_dir / "sample.txt", sample + "\n")
        plot_curve(run_dir / "val_loss_time.png", self.extras["history"], f"{run_dir.name}: {config.level}-level "
                   f"{config.cell}", config.level)
        v, t, speed = metrics["val"], metrics["test"], metrics["speed"]
        unit = "bits/char" if v["bits_per_char"] is not None else "perplexity"
        log(f"val:  {_fmt(v)}\ntest: {_fmt(t)}" if not config.quiet else f"val {_fmt(v)}; test {_fmt(t)} ({unit})")
        say(f"trained {speed['epochs']} epochs in {speed['wall_seconds'] / 60:.1f} min "
            f"({speed['tokens_per_second']:.0f} tokens/s, {time.perf_counter() - self.started:.0f} s with evaluation)")
        say(f"sample:\n{sample[:1000]}")

    def load(self, run_dir) -> LanguageModel:
        return load_model(run_dir)


def run_lm(cfg: LMConfig, log=print) -> dict:
    """Train, evaluate and sample; returns ``{"run_dir", "val", "test", "speed", "training", "sample",
    "history"}`` (on other ranks under ``torchrun``: ``{"run_dir"}``)."""
    task = LMTask()
    result = run(task, cfg, log=log)
    return {**result, **task.extras}
