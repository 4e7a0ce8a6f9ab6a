"""Reading a language-model run back (:func:`load_lm`, every field checked) and generating from it.

    >>> from rnnkit.tasks.lm_load import generate      # doctest: +SKIP
    >>> text = generate("runs/lm-1", prompt="ROMEO.", length=100, seed=0)      # doctest: +SKIP
"""
from __future__ import annotations

import dataclasses
import sys

from rnnkit.errors import CheckpointError, InvalidArgumentError
from rnnkit.models.language_model import CELLS, LanguageModel
from rnnkit.models.sampling import check_sampling
from rnnkit.tasks.lm_config import LMConfig
from rnnkit.tasks.lm_text import LEVELS, TextCodec
from rnnkit.training import manifest
from rnnkit.training.device import resolve_device
from rnnkit.training.runs import load_run

__all__ = ["load_lm", "load_model", "generate", "ALIASES"]

# names of older runs' config.json -> today's
ALIASES = {"hidden_size": "units", "num_layers": "layers"}


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
    names = {f.name for f in dataclasses.fields(LMConfig)} | set(ALIASES)   # hidden_size -> units, ...
    try:
        lm_cfg = LMConfig(**{"cell": "lstm"} | {k: v for k, v in job.items() if k in names})   # runs before "cell" was recorded
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
             top_p: float | None = None, seed: int | None = None, write=None, device: str = "cpu") -> str:
    """Generate ``length`` tokens after ``prompt`` with a trained run, writing each piece (and
    flushing) as it comes; returns the prompt and the generated text. The model runs on ``device``
    (a ``--device`` name; the draws of a seed are the same on a device only)."""
    check_sampling(temperature, top_k, top_p)      # every option checked before anything is written
    if isinstance(length, bool) or not isinstance(length, int) or length < 0:
        raise InvalidArgumentError.for_argument("length", length, "a number of tokens >= 0")
    where = resolve_device(device)
    model, codec, _, cfg = load_lm(run_dir)
    model.to(where)
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
