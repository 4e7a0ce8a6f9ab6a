"""``LMConfig``: every choice of a language-model run (the ``rnnkit lm`` options), checked.

Options left unset (None) are chosen by the data (:mod:`rnnkit.tasks.lm_defaults`).

    >>> cfg = LMConfig(bptt=0)
    Traceback (most recent call last):
    ...
    rnnkit.errors.InvalidArgumentError: Received an invalid value for argument `--bptt`, expected a positive integer, got 0. It is the number of steps gradients flow back, e.g. 100 characters.
"""
from __future__ import annotations

import dataclasses
from dataclasses import InitVar, dataclass

from rnnkit.errors import InvalidArgumentError, as_cli_options
from rnnkit.models.language_model import CELLS
from rnnkit.models.sampling import check_sampling
from rnnkit.tasks.lm_defaults import ADAPTIVE_FROM, CHOSEN, check_chosen, default_cutoffs
from rnnkit.tasks.lm_text import LEVELS
from rnnkit.tasks.options import device_option, option, optional_float, optional_int, zero_is_none
from rnnkit.training import TrainConfig
from rnnkit.training.schedules import SCHEDULES

__all__ = ["LMConfig", "SPLIT", "RUN_ONLY"]

SPLIT = (0.9, 0.05, 0.05)
RUN_ONLY = ("out", "quiet", "resume", "epochs", "max_minutes", "name")   # not in the job a run records


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
    bptt: int | None = option(None, "truncated BPTT window, in tokens (default by level: 50 char, 35 word)",
                              parse=optional_int)
    batch_size: int | None = option(None, "parallel streams (default by level: 32 char, 20 word)", parse=optional_int)
    windows_per_epoch: int | None = option(None, "windows per epoch (default one pass over the text)", parse=optional_int)
    cell: str | None = option(None, "recurrent cell (default gru char, lstm word)", choices=CELLS)
    embedding_dim: int | None = option(None, "embedding size (default 64 char; the hidden size for words)",
                                       parse=optional_int)
    units: int | None = option(None, "recurrent units per layer (default 256 char, 200 word)",
                                     parse=optional_int)
    layers: int = option(2, "stacked recurrent layers")
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
    lr: float | None = option(None, "learning rate (default 3e-3 char with adam, 20 word with sgd)",
                              parse=optional_float)
    clip_norm: float | None = option(None, "clip the gradient norm (0 = off; default 1.0 char, 0.25 word)",
                                     parse=optional_float)
    lr_schedule: str | None = option(None, "learning-rate schedule: cosine (warmup, then down to lr/10 when the "
                                     "budget, --epochs or --max-minutes, ends) or plateau (--lr-patience drops; "
                                     "default cosine char, plateau word)", choices=SCHEDULES)
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
    name: str = option("lm", "the run directory's default name prefix", cli=False)

    hidden_size: InitVar[int | None] = None     # the names of older runs and scripts: units, layers
    num_layers: InitVar[int | None] = None

    def __post_init__(self, hidden_size=None, num_layers=None):
        if hidden_size is not None:
            self.units = hidden_size
        if num_layers is not None:
            self.layers = num_layers
        if (self.val is None) != (self.test is None):
            raise InvalidArgumentError.for_argument(
                "--val" if self.test is None else "--test", self.val or self.test, "--val and --test together",
                "Give both files, or neither to cut them from --text (90/5/5).")
        if self.val is not None and self.text is None:
            raise InvalidArgumentError.for_argument("--text", None, "a training text when --val/--test are given")
        for name in ("bptt", "batch_size", "embedding_dim", "units", "layers", "epochs", "min_freq"):
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
        return dict(cutoffs=cutoffs, embedding_dim=self.embedding_dim, hidden_size=self.units, num_layers=self.layers,
                    cell=self.cell, dropout=self.dropout, embedding_dropout=self.embedding_dropout,
                    input_dropout=self.input_dropout, recurrent_dropout=self.recurrent_dropout,
                    weight_drop=self.weight_drop, tie_weights=bool(self.tie_weights))

    def train_config(self, loss=None) -> TrainConfig:
        """The trainer's settings (after :func:`~rnnkit.tasks.lm_defaults.with_defaults`); ``loss`` is
        the model's own (:meth:`LanguageModel.loss`: full or adaptive softmax)."""
        return TrainConfig(epochs=self.epochs, optimizer=self.optimizer or "adam", lr=self.lr or 3e-3,
                           loss=loss or "cross_entropy", clip_norm=self.clip_norm or None,
                           lr_patience=None if self.lr_patience in (None, -1) else self.lr_patience,
                           lr_schedule=self.lr_schedule or "plateau",
                           lr_factor=self.lr_factor or 0.5, patience=self.patience or None, seed=self.seed,
                           quiet=self.quiet, eps=1e-8, max_minutes=self.max_minutes, device=self.device)
