"""``rnnkit.summary``: a Keras-style table of layers, output shapes and parameter counts.

Parameters are counted as Keras counts them: torch stores two bias vectors per recurrent
layer (``bias_ih`` and ``bias_hh``) that always add up, so they are one free parameter
vector; the table counts it once and the footer also gives the stored total. The seed 003
model (SimpleRNN of 16 units on 14 features, then Dense 1) has
``(16*14 + 16*16 + 16) + (16*1 + 1) = 513`` parameters:

    >>> import torch, rnnkit
    >>> model = torch.nn.Sequential(
    ...     rnnkit.SimpleRNN(14, 16, return_sequences=False, return_state=False),
    ...     torch.nn.Linear(16, 1))
    >>> rnnkit.summary(model, (240, 14), print_fn=None)
    513
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from rnnkit.layers.cells import _Cell
from rnnkit.layers.recurrent import RecurrentLayer

_ATOMIC = (RecurrentLayer, _Cell)


def _free_params(module: nn.Module) -> tuple[int, int]:
    """(free parameters counted like Keras, stored values) of one module, not recursing."""
    own = list(module.named_parameters(recurse=isinstance(module, _ATOMIC)))
    stored = sum(p.numel() for _, p in own)
    doubled = sum(p.numel() for n, p in own if n.startswith("bias_hh")) if isinstance(module, _ATOMIC) else 0
    return stored - doubled, stored


def _shape(out) -> str:
    if isinstance(out, torch.Tensor):
        return str((None,) + tuple(out.shape[1:]))
    if isinstance(out, (tuple, list)):
        return "[" + ", ".join(_shape(o) for o in out) + "]"
    return type(out).__name__


def summary(model: nn.Module, input_shape, dtype: torch.dtype = torch.float32,
            print_fn: Callable[[str], None] | None = print) -> int:
    """Print the layer table of ``model`` run on a batch of one ``input_shape`` input.

    Args:
        model: any ``nn.Module``.
        input_shape: one sample's shape without the batch dimension, e.g. ``(time, features)``;
            a list of shapes for a model with several inputs.
        dtype: input dtype (``torch.long`` for token ids).
        print_fn: where the table goes; None prints nothing.
    Returns:
        the total number of free parameters (Keras' count).
    """
    shapes = input_shape if input_shape and isinstance(input_shape[0], (tuple, list)) else [input_shape]
    inputs = [torch.zeros((1,) + tuple(s), dtype=dtype) for s in shapes]
    rows: list[tuple[str, str, int]] = []
    hooks = []

    def visit(module: nn.Module, prefix: str):
        children = list(module.named_children())
        if isinstance(module, _ATOMIC) or not children:
            def hook(mod, args, out, name=prefix):
                rows.append((f"{name} ({type(mod).__name__})", _shape(out), _free_params(mod)[0]))
            hooks.append(module.register_forward_hook(hook))
            return
        for name, child in children:
            visit(child, f"{prefix}.{name}" if prefix else name)

    visit(model, "")
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(*inputs)
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    stored = sum(p.numel() for p in model.parameters())
    free = stored - sum(p.numel() for m in model.modules() if isinstance(m, _ATOMIC)
                        for n, p in m.named_parameters() if n.startswith("bias_hh"))
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if print_fn is not None:
        w0 = max([len(r[0]) for r in rows] + [len("Layer (type)")]) + 2
        w1 = max([len(r[1]) for r in rows] + [len("Output Shape")]) + 2
        line = "=" * (w0 + w1 + 10)
        lines = [f'Model: "{type(model).__name__}"', line,
                 f"{'Layer (type)':<{w0}}{'Output Shape':<{w1}}{'Param #':>10}", line]
        lines += [f"{n:<{w0}}{s:<{w1}}{p:>10,}" for n, s, p in rows]
        lines += [line, f"Total params: {free:,}"]
        if stored != free:
            lines.append(f"  (stored values: {stored:,}; torch keeps bias_ih and bias_hh apart, "
                         "they always add, so they count once)")
        lines += [f"Trainable stored values: {trainable:,}", line]
        print_fn("\n".join(lines))
    return free

