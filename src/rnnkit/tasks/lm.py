"""The language-model task: text -> ids -> B parallel streams -> stateful truncated BPTT ->
nats per token, bits per character, perplexity, a generated sample, a run directory.

``run_lm(LMConfig())`` trains the character-level LSTM on the embedded Shakespeare slice
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

    >>> cfg = LMConfig(bptt=0)
    Traceback (most recent call last):
    ...
    rnnkit.errors.InvalidArgumentError: Received an invalid value for argument `--bptt`, expected a positive integer, got 0. It is the number of steps gradients flow back, e.g. 100 characters.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from rnnkit.data.shakespeare import load_embedded_shakespeare, split_text
from rnnkit.data.streams import StreamBatches
from rnnkit.errors import CheckpointError, InvalidArgumentError, as_cli_options
from rnnkit.models.language_model import CELLS, LanguageModel
from rnnkit.models.sampling import check_sampling
from rnnkit.tasks.lm_defaults import ADAPTIVE_FROM, CHOSEN, check_chosen, default_cutoffs, with_defaults
from rnnkit.tasks.lm_text import LEVELS, TextCodec, looks_tokenized, read_text
from rnnkit.training.device import resolve_device
from rnnkit.tasks.options import option, optional_float, optional_int, zero_is_none, device_option
from rnnkit.tasks.sizes import check_lm
from rnnkit.training import TrainConfig, Trainer, create_run_dir, distributed, manifest
from rnnkit.training.checkpoint import atomic_write_text
from rnnkit.training.runs import load_run, write_metrics
from rnnkit.training.plots import _pyplot, _save

__all__ = ["LMConfig", "prepare", "evaluate_ids", "run_lm", "load_lm", "load_model", "generate", "SPLIT"]

SPLIT = (0.9, 0.05, 0.05)
RUN_ONLY = ("out", "quiet", "resume", "epochs", "max_minutes")   # not in the job a run records (resume may change them)


@dataclass
class LMConfig:
    """Every choice of a language-model run (the ``rnnkit lm train`` options)."""

    text: str | None = option(None, "training text file, UTF-8 (default: the embedded Shakespeare, split 90/5/5)")
    val: str | None = option(None, "validation text file (with --test; default: cut from --text)")
    test: str | None = option(None, "test text file (with --val)")
    level: str = option("char", "tokens", choices=LEVELS)
    tokenized: bool | None = option(None, "word level: take the text as already tokenised (split on white space, "
                                    "<eos> per line, its own <unk>; default: when it has <unk> tokens)")
    lower: bool = option(True, "lower-case words (word level)")
    max_tokens: int | None = option(None, "word vocabulary size, specials included (default all)", parse=optional_int)
    min_freq: int = option(1, "keep words seen at least this often (word level)")
    vocab_size: int = option(2000, "BPE vocabulary size (bpe level)")
    bptt: int | None = option(None, "truncated BPTT window, in tokens (default by level: 100 char, 35 word)",
                              parse=optional_int)
    batch_size: int | None = option(None, "parallel streams (default by level: 64 char, 20 word)", parse=optional_int)
    windows_per_epoch: int | None = option(None, "windows per epoch (default one pass over the text)", parse=optional_int)
    cell: str = option("lstm", "recurrent cell", choices=CELLS)
    embedding_dim: int | None = option(None, "embedding size (default 64 char; the hidden size for words)",
                                       parse=optional_int)
    hidden_size: int | None = option(None, "recurrent units per layer (default 256 char, 200 word)",
                                     parse=optional_int)
    num_layers: int = option(2, "stacked recurrent layers")
    dropout: float | None = option(None, "dropout of each layer's outputs (default 0.1 char; word: sized to "
                                   "the model, 0.2 up to 256 units, 0.5 up to 1024, 0.65 above)", parse=optional_float)
    embedding_dropout: float = option(0.0, "drop whole token embeddings")
    input_dropout: float = option(0.0, "variational input dropout")
    recurrent_dropout: float = option(0.0, "variational recurrent dropout")
    weight_drop: float = option(0.0, "DropConnect on the recurrent weights")
    tie_weights: bool | None = option(None, "tie the softmax weights to the embedding (embedding-dim = "
                                      "hidden-size; default: words with the full softmax)")
    adaptive_softmax: bool | None = option(None, "adaptive softmax (torch's AdaptiveLogSoftmaxWithLoss) instead of "
                                           f"the full one (default: word level with {ADAPTIVE_FROM:,}+ tokens)")
    optimizer: str | None = option(None, "optimizer (default adam for char, sgd for word)",
                                   choices=("adam", "rmsprop", "sgd"))
    lr: float | None = option(None, "learning rate (default 2e-3 char with adam, 20 word with sgd)",
                              parse=optional_float)
    clip_norm: float | None = option(None, "clip the gradient norm (0 = off; default 1.0 char, 0.25 word)",
                                     parse=optional_float)
    lr_patience: int | None = option(None, "multiply the learning rate by --lr-factor after this many epochs "
                                     "without progress + 1 (none: off for char, 0 for word; -1 = off)",
                                     parse=optional_int)
    lr_factor: float | None = option(None, "that factor (default 0.5 char, 0.25 word)", parse=optional_float)
    patience: int | None = option(None, "stop after this many epochs without progress, keeping the best weights "
                                  "(default off for char, 3 for word; 0 = off)", parse=optional_int)
    epochs: int = option(20, "epochs")
    max_minutes: float | None = option(None, "stop after the epoch that ends past this wall time", parse=optional_float)
    device: str = device_option()
    sample_length: int = option(500, "tokens of the sample written after training")
    prompt: str = option("", "prompt of that sample (default: the first token of the training text)")
    temperature: float = option(0.8, "sampling temperature of that sample (0 = greedy)")
    top_k: int | None = option(None, "sample among the k most probable tokens (0 or none: all)", parse=optional_int)
    top_p: float | None = option(None, "nucleus sampling: the most probable tokens up to this mass", parse=optional_float)
    seed: int = option(0, "random seed")
    out: str | None = option(None, "run directory, new or empty (default runs/lm-<time>)")
    quiet: bool = option(False, "print only the results")
    resume: bool = option(False, "continue the run in --out", cli=False)

    def __post_init__(self):
        if (self.val is None) != (self.test is None):
            raise InvalidArgumentError.for_argument(
                "--val" if self.test is None else "--test", self.val or self.test, "--val and --test together",
                "Give both files, or neither to cut them from --text (90/5/5).")
        if self.val is not None and self.text is None:
            raise InvalidArgumentError.for_argument("--text", None, "a training text when --val/--test are given")
        for name in ("bptt", "batch_size", "embedding_dim", "hidden_size", "num_layers", "epochs", "min_freq"):
            v = getattr(self, name)
            if v is None and name in CHOSEN:
                continue
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                fix = "It is the number of steps gradients flow back, e.g. 100 characters." if name == "bptt" else None
                raise InvalidArgumentError.for_argument("--" + name.replace("_", "-"), v, "a positive integer", fix)
        zero_is_none(self, "windows_per_epoch", "max_tokens", "top_k")   # their 0 means none
        for name in ("windows_per_epoch", "max_tokens"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
                raise InvalidArgumentError.for_argument("--" + name.replace("_", "-"), v, "a positive integer or none")
        if not isinstance(self.sample_length, int) or self.sample_length < 0:
            raise InvalidArgumentError.for_argument("--sample-length", self.sample_length, "an integer >= 0")
        check_chosen(self)
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise InvalidArgumentError.for_argument("--max-minutes", self.max_minutes, "a positive number of minutes")
        with as_cli_options():
            check_sampling(self.temperature, self.top_k, self.top_p)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def model_kwargs(self, vocab_size: int | None = None) -> dict:
        """The model's arguments (after :func:`~rnnkit.tasks.lm_defaults.with_defaults`); the
        adaptive softmax's cutoffs follow from ``vocab_size``."""
        cutoffs = default_cutoffs(vocab_size) if self.adaptive_softmax and vocab_size else None
        return dict(cutoffs=cutoffs, embedding_dim=self.embedding_dim, hidden_size=self.hidden_size, num_layers=self.num_layers,
                    cell=self.cell, dropout=self.dropout, embedding_dropout=self.embedding_dropout,
                    input_dropout=self.input_dropout, recurrent_dropout=self.recurrent_dropout,
                    weight_drop=self.weight_drop, tie_weights=bool(self.tie_weights))

    def train_config(self, loss=None) -> TrainConfig:
        """The trainer's settings (after :func:`~rnnkit.tasks.lm_defaults.with_defaults`); ``loss`` is
        the model's own (:meth:`LanguageModel.loss`: full or adaptive softmax)."""
        return TrainConfig(epochs=self.epochs, optimizer=self.optimizer or "adam", lr=self.lr or 2e-3,
                           loss=loss or "cross_entropy", clip_norm=self.clip_norm or None,
                           lr_patience=None if self.lr_patience in (None, -1) else self.lr_patience,
                           lr_factor=self.lr_factor or 0.5, patience=self.patience or None, seed=self.seed,
                           quiet=self.quiet, eps=1e-8, max_minutes=self.max_minutes, device=self.device)


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


def eval_streams(ids: torch.Tensor, batch_size: int, bptt: int) -> int:
    """Streams for evaluating ``ids``: ``batch_size``, fewer for a text too short for them."""
    return max(1, min(batch_size, (int(ids.numel()) - 1) // bptt))


@torch.no_grad()
def evaluate_ids(model: LanguageModel, ids: torch.Tensor, batch_size: int, bptt: int, level: str = "char",
                 chars_per_token: list[int] | None = None, what: str = "the text") -> dict:
    """Loss over every predicted token of ``ids`` read as ``batch_size`` streams with the state
    carried across windows: ``{"loss_nats", "bits_per_char", "perplexity", "tokens"}``
    (``bits_per_char`` is nats/ln 2 at char level, total bits over the characters of the
    predicted tokens for bpe, None for words)."""
    streams = StreamBatches(ids, eval_streams(ids, batch_size, bptt), bptt, what=what)
    model.eval()
    state, total, n, chars = None, 0.0, 0, 0
    cpt = torch.tensor(chars_per_token) if chars_per_token is not None else None
    for (x, _), y in streams:
        nll, state = model.nll(x, y, state)
        total += float(nll)
        n += y.numel()
        if cpt is not None:
            chars += int(cpt[y].sum())
    loss = total / n
    bpc = loss / math.log(2) if level == "char" else (total / chars / math.log(2) if level == "bpe" and chars else None)
    return {"loss_nats": loss, "bits_per_char": bpc, "perplexity": math.exp(min(loss, 700.0)), "tokens": n}


def plot_curve(path: Path, rows: list[dict], title: str, level: str) -> None:
    """Validation (and training) loss in nats per token against wall time in minutes."""

    plt = _pyplot()
    t, minutes = 0.0, []
    for r in rows:
        t += r.get("time", 0.0)
        minutes.append(t / 60)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(minutes, [r["loss"] for r in rows], label="train (running mean over the epoch)", alpha=0.6)
    ax.plot(minutes, [r.get("val_loss", float("nan")) for r in rows], marker=".", label="validation")
    if level == "char":
        for y, name in ((1.88, "1.88: nanoGPT CPU config (published)"), (1.60, "1.60: 20-minute goal")):
            ax.axhline(y, ls="--", lw=0.8, color="grey")
            ax.text(minutes[0] if minutes else 0, y, name, ha="left", va="bottom", fontsize=8, color="grey")
        for m in (5, 20):
            if minutes and minutes[-1] >= m:
                ax.axvline(m, ls=":", lw=0.8, color="grey")
    ax.set_xlabel("wall time (minutes)")
    ax.set_ylabel(f"loss (nats per {'character' if level == 'char' else 'token'})")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    _save(fig, path)


def summary(cfg: LMConfig, chosen: dict) -> str:
    """One line of the model and schedule, the values the data chose marked with ``*``."""
    def show(name):
        return f"{name}={getattr(cfg, name)}" + ("*" if name in chosen else "")
    names = ("tokenized", "bptt", "batch_size", "embedding_dim", "hidden_size", "num_layers", "dropout",
             "tie_weights", "adaptive_softmax", "optimizer", "lr", "clip_norm", "lr_patience", "lr_factor", "patience")
    return "model and schedule (* = chosen by the data): " + ", ".join(show(n) for n in names if hasattr(cfg, n))


def _loss(model: LanguageModel):
    """The trainer's loss: the model's own (full or adaptive softmax), averaged over tokens."""
    def loss(out, y):
        return model.loss(out, y)
    loss.mean_over_tokens = True
    loss.__name__ = "cross_entropy"
    return loss


def run_lm(cfg: LMConfig, log=print) -> dict:
    """Train, evaluate and sample; returns ``{"run_dir", "val", "test", "sample"}``."""
    if not distributed.is_main():           # torchrun: rank 0 prints
        log = lambda *a, **k: None  # noqa: E731
    say = (lambda *a, **k: None) if cfg.quiet else log
    resolve_device(cfg.device)              # a device that is not here: refused before any read or write
    data = prepare(cfg)
    codec, ids, record, cfg = data["codec"], data["ids"], data["record"], data["config"]
    cfg.train_config()
    train = StreamBatches(ids["train"], cfg.batch_size, cfg.bptt, windows_per_epoch=cfg.windows_per_epoch,
                          seed=cfg.seed, what="the training text")
    val_b = eval_streams(ids["val"], cfg.batch_size, cfg.bptt)
    val = StreamBatches(ids["val"], val_b, cfg.bptt, drop_last=True, what="the validation text")
    StreamBatches(ids["test"], eval_streams(ids["test"], cfg.batch_size, cfg.bptt), cfg.bptt, what="the test text")
    say(f"data: {record['text']}, level {cfg.level}, vocabulary {len(codec)}, tokens train "
        f"{record['tokens']['train']} val {record['tokens']['val']} test {record['tokens']['test']}; "
        f"{cfg.batch_size} streams x windows of {cfg.bptt}, {train.windows_per_epoch} windows per epoch")
    say(summary(cfg, data["chosen"]))
    kwargs = cfg.model_kwargs(len(codec))
    check_lm(len(codec), cfg.batch_size, cfg.bptt, **kwargs)   # memory, before allocating
    torch.manual_seed(cfg.seed)
    model = LanguageModel(len(codec), **kwargs, banned=codec.banned())

    def create():                            # rank 0 only under torchrun; every rank gets the path
        run_dir = create_run_dir("lm", cfg.out, exist_ok=cfg.resume)
        if not (cfg.resume and (run_dir / Path(TextCodec.file_name(cfg.level))).exists()):
            codec.save(run_dir)   # on resume the file stays: the trainer refuses other data (sha256 in config)
        return run_dir

    run_dir = distributed.on_main(create)
    job = {k: v for k, v in cfg.to_dict().items() if k not in RUN_ONLY}
    run_config = {"task": "lm", "job": job, "model": {"vocab_size": len(codec), **kwargs}, "data": record,
                  "chosen_by_data": sorted(data["chosen"])}
    trainer = Trainer(model, cfg.train_config(_loss(model)), run_dir, run_config=run_config)
    t0 = time.perf_counter()
    history = trainer.fit(train, val, resume=cfg.resume)
    model.cpu()                             # evaluated, sampled and saved on the CPU, wherever it trained
    if not distributed.is_main():           # rank 0 alone evaluates, samples, writes and prints
        distributed.finish()
        return {"run_dir": str(run_dir)}
    train_seconds = sum(r.get("time", 0.0) for r in history.rows)
    cpt = codec.chars_per_token()
    metrics = {part: evaluate_ids(model, ids[part], cfg.batch_size, cfg.bptt, cfg.level, cpt, f"the {part} text")
               for part in ("val", "test")}
    tokens_seen = len(history.rows) * train.windows_per_epoch * cfg.batch_size * cfg.bptt
    metrics["training"] = {"epochs": len(history.rows), "wall_seconds": train_seconds,
                           "tokens_seen": tokens_seen, "tokens_per_second": tokens_seen / max(train_seconds, 1e-9),
                           "parameters": sum(p.numel() for p in model.parameters()), **trainer.stop_info()}
    prompt = cfg.prompt or record["start"]
    new = list(model.sample(codec.encode_prompt(prompt), cfg.sample_length, cfg.temperature, cfg.top_k, cfg.top_p,
                            cfg.seed))
    sample = prompt + (codec.decode(new) if cfg.level == "bpe" else "".join(map(codec.piece, new)))
    atomic_write_text(run_dir / "sample.txt", sample + "\n")
    write_metrics(run_dir, metrics)
    plot_curve(run_dir / "val_loss_time.png", history.rows, f"{run_dir.name}: {cfg.level}-level {cfg.cell}", cfg.level)
    v, t = metrics["val"], metrics["test"]
    unit = "bits/char" if v["bits_per_char"] is not None else "perplexity"
    fmt = lambda m: (f"{m['loss_nats']:.4f} nats/token, " + (f"{m['bits_per_char']:.4f} bits/char, " if m[
        "bits_per_char"] is not None else "") + f"perplexity {m['perplexity']:.2f}")
    log(f"val:  {fmt(v)}\ntest: {fmt(t)}" if not cfg.quiet else f"val {fmt(v)}; test {fmt(t)} ({unit})")
    say(f"trained {len(history.rows)} epochs in {train_seconds / 60:.1f} min "
        f"({metrics['training']['tokens_per_second']:.0f} tokens/s, {time.perf_counter() - t0:.0f} s with evaluation)")
    say(f"sample:\n{sample[:1000]}\nrun directory: {run_dir}")
    distributed.finish()
    return {"run_dir": str(run_dir), "val": v, "test": t, "sample": sample, "history": history.rows}


def load_lm(run_dir) -> tuple[LanguageModel, TextCodec, LMConfig, dict]:
    """Model, codec, config and ``config.json`` of a run; every field is checked (a run
    directory is data, not trust)."""
    run = load_run(run_dir)
    cfg = run["config"]
    if not isinstance(cfg, dict) or cfg.get("task") != "lm":
        raise CheckpointError(f"{run_dir} is not a language-model run (config.json has no \"task\": \"lm\").")
    job, model_cfg = cfg.get("job"), cfg.get("model")
    if not isinstance(job, dict) or not isinstance(model_cfg, dict):
        raise CheckpointError(f"{run_dir}/config.json lacks its \"job\" or \"model\" record.")
    names = {f.name for f in dataclasses.fields(LMConfig)}
    try:
        lm_cfg = LMConfig(**{k: v for k, v in job.items() if k in names})
        if lm_cfg.level not in LEVELS or lm_cfg.cell not in CELLS:
            raise InvalidArgumentError("level or cell unknown")
        vocab = model_cfg.get("vocab_size")
        if isinstance(vocab, bool) or not isinstance(vocab, int):
            raise InvalidArgumentError(f"vocab_size {vocab!r} is not an integer")
        model = LanguageModel(vocab, **lm_cfg.model_kwargs(vocab))
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{run_dir}/config.json does not describe a valid language model ({e}). "
                              "Use the run directory as rnnkit wrote it.") from None
    try:
        model.load_state_dict(run["weights"])
    except (RuntimeError, KeyError, CheckpointError) as e:
        raise CheckpointError(f"The weights in {run_dir}/model.safetensors do not fit the model its config.json "
                              f"describes ({str(e)[:200]}).") from None
    if manifest.is_run_dir(run_dir):
        manifest.verify(run_dir, [TextCodec.file_name(lm_cfg.level)])
    codec = TextCodec.load(run_dir, lm_cfg.level, lm_cfg.lower, expected_size=model.vocab_size,
                           tokenized=bool(lm_cfg.tokenized))
    model.banned = codec.banned()
    model.eval()
    return model, codec, lm_cfg, cfg


def load_model(run_dir) -> LanguageModel:
    """The trained language model of a run (eval mode; ``rnnkit.load_model`` dispatches here)."""
    return load_lm(run_dir)[0]


def generate(run_dir, prompt: str = "", length: int = 500, temperature: float = 0.8, top_k: int | None = None,
             top_p: float | None = None, seed: int | None = None, write=None) -> str:
    """Generate ``length`` tokens after ``prompt`` with a trained run, writing each piece (and
    flushing) as it comes; returns the prompt and the generated text."""
    check_sampling(temperature, top_k, top_p)      # every option checked before anything is written
    if isinstance(length, bool) or not isinstance(length, int) or length < 0:
        raise InvalidArgumentError.for_argument("length", length, "a number of tokens >= 0")
    model, codec, _, cfg = load_lm(run_dir)
    if write is None:
        def write(s):
            sys.stdout.write(s)
            sys.stdout.flush()
    start = prompt or str(cfg.get("data", {}).get("start", "")) or codec.piece(2)
    ids = codec.encode_prompt(start)
    if not ids:
        raise InvalidArgumentError.for_argument("--prompt", prompt, "text with at least one token at this level")
    write(start)
    out = [start]
    for i in model.sample(ids, length, temperature, top_k, top_p, seed):
        piece = codec.piece(i)
        out.append(piece)
        write(piece)
    write("\n")
    return "".join(out)
