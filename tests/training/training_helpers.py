"""Tiny models and data shared by tests/training (imported by the tests and resume_script.py)."""
from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import torch


class TinyGRU(torch.nn.Module):
    """GRU -> dropout -> Linear on the last step: consumes the RNG (dropout) like real models."""

    def __init__(self, features=3, hidden=5, dropout=0.2):
        super().__init__()
        self.rnn = torch.nn.GRU(features, hidden, batch_first=True)
        self.drop = torch.nn.Dropout(dropout)
        self.head = torch.nn.Linear(hidden, 1)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(self.drop(out[:, -1]))


def sequence_data(n=48, t=6, f=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, t, f, generator=g)
    y = x[:, -3:, 0].mean(1, keepdim=True) + 0.1 * torch.randn(n, 1, generator=g)
    return x, y


def linear_batches(n=32, batch=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.3
    return [(x[i:i + batch], y[i:i + batch]) for i in range(0, n, batch)]


def dir_digest(path) -> dict[str, str]:
    """{relative path: sha256} of every file under path."""
    out = {}
    for root, _, files in os.walk(path):
        for name in files:
            p = Path(root) / name
            out[str(p.relative_to(path))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def audit_writes(root: str, record: list) -> None:
    """Record in ``record`` every file this process opens for writing, creates, renames or removes
    under ``root`` (a Python audit hook: the torchrun tests show rank 1 writes nothing)."""
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

    def hook(event, args):
        path = None
        if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
            mode, flags = args[1], args[2] if len(args) > 2 else 0
            if (isinstance(mode, str) and any(c in mode for c in "wax+")) or (mode is None and flags & write_flags):
                path = args[0]
        elif event in ("os.mkdir", "os.rename", "os.replace", "os.remove", "os.rmdir", "os.unlink"):
            path = args[0]
        if path is not None and os.fsdecode(os.fspath(path)).startswith(root):
            record.append(f"{event} {os.fsdecode(os.fspath(path))}")
    sys.addaudithook(hook)
