"""Mean cross-entropy of logits over a large vocabulary, in one pass each way.

``F.cross_entropy`` writes the log-probabilities (``N x V``) in its forward pass, and its
backward fills an ``N x V`` gradient with zeros, scatters the targets into it and runs
``log_softmax``'s backward over both. A language model's output layer is most of its training
step (a 10k-word vocabulary: the softmax and its matrix products are ~60% of a 2 x 200 LSTM's
step), so :func:`softmax_cross_entropy` turns the log-probabilities it saved into the gradient
``(softmax - onehot) / N`` in place in the backward: no zero-filled ``N x V`` tensor, one pass.
The backward can therefore run once per graph (``retain_graph=True`` twice: a clear error). Values and gradients
equal ``F.cross_entropy(logits, targets)`` up to float rounding (tests/models/test_softmax_loss.py).

    >>> import torch
    >>> from torch.nn import functional as F
    >>> logits = torch.randn(6, 11, requires_grad=True)
    >>> targets = torch.randint(0, 11, (6,))
    >>> loss = softmax_cross_entropy(logits, targets)
    >>> bool(torch.allclose(loss, F.cross_entropy(logits, targets)))
    True
"""
from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.errors import InvalidArgumentError

__all__ = ["softmax_cross_entropy"]


class _SoftmaxCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logits: Tensor, targets: Tensor) -> Tensor:
        logp = torch.log_softmax(logits, dim=1)
        ctx.save_for_backward(logp, targets)
        ctx.spent = False
        return logp.gather(1, targets.unsqueeze(1)).mean().neg()

    @staticmethod
    def backward(ctx, grad: Tensor):
        if ctx.spent:
            raise RuntimeError("softmax_cross_entropy's backward ran twice over one graph (retain_graph=True): "
                               "it reuses its saved log-probabilities for the gradient. Use F.cross_entropy there.")
        ctx.spent = True
        logp, targets = ctx.saved_tensors
        g = logp.exp_()                        # the softmax, written over the log-probabilities it came from
        g.scatter_add_(1, targets.unsqueeze(1), torch.full((g.shape[0], 1), -1.0, dtype=g.dtype, device=g.device))
        return g.mul_(grad / g.shape[0]), None


def softmax_cross_entropy(logits: Tensor, targets: Tensor) -> Tensor:
    """Mean cross-entropy of ``logits`` (N, V), floating, against ``targets`` (N,) int64 class ids
    in ``[0, V)``: ``F.cross_entropy(logits, targets)`` with less memory traffic (no class weights,
    no ignored index, no label smoothing)."""
    if logits.dim() != 2 or targets.shape != logits.shape[:1]:
        raise InvalidArgumentError.for_argument("logits, targets", (tuple(logits.shape), tuple(targets.shape)),
                                                "shapes (N, V) and (N,)")
    return _SoftmaxCrossEntropy.apply(logits, targets.long())
