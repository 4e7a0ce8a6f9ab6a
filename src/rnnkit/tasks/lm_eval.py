"""Evaluating a language model over a whole text (state carried across windows) and its loss curve.

    >>> eval_streams(torch.arange(1000), batch_size=64, bptt=100)      # a short text: fewer streams
    9
"""
from __future__ import annotations

import math
from pathlib import Path

import torch

from rnnkit.data.streams import StreamBatches
from rnnkit.models.language_model import LanguageModel
from rnnkit.training.plots import _pyplot, _save

__all__ = ["eval_streams", "evaluate_ids", "plot_curve", "summary"]


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
    names = ("tokenized", "cell", "bptt", "batch_size", "embedding_dim", "units", "layers", "dropout",
             "tie_weights", "adaptive_softmax", "optimizer", "lr", "clip_norm", "lr_schedule", "lr_patience", "lr_factor", "patience")
    return "model and schedule (* = chosen by the data): " + ", ".join(show(n) for n in names if hasattr(cfg, n))
