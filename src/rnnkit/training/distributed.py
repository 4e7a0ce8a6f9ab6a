"""Data-parallel training under ``torchrun``: process group, batch shards, reductions.

Under ``torchrun`` (environment ``WORLD_SIZE`` > 1, ``RANK``, ``LOCAL_RANK``) :func:`context`
initialises ``torch.distributed`` (gloo for a CPU device, nccl for CUDA, chosen from the
trainer's device) and returns a :class:`Context`; in a single process it returns None and the
trainer runs exactly as without this module.

How a step is split. Every rank iterates the same data in the same seeded order (the trainer
calls ``set_epoch`` as in one process), so all ranks see the same *global* batches. Each global
batch of ``n`` samples is cut into ``world_size`` contiguous parts (sizes differ by at most one,
like ``numpy.array_split``); rank ``r`` computes the mean loss of its ``n_r`` samples and scales it
by ``n_r * world_size / n``. DistributedDataParallel averages the gradients over the ranks, so the
gradient is exactly that of the mean loss over the global batch: the same as one process with
the same ``batch_size`` (up to float summation order). A rank whose part is empty (a last
batch smaller than the world) runs one sample with weight 0, so every rank takes part in every
all-reduce. A :class:`~rnnkit.data.WindowBatches` is read directly: each rank gathers only the
windows of its part. Only tensors with a batch axis are cut; a 0-d tensor (the ``reset`` flag of
a :class:`~rnnkit.data.streams.StreamBatches` window) goes to every rank whole. With a loss
averaged over tokens (cross-entropy with ignored padding) the weights are the parts' token
counts, and each part stands in the epoch's mean loss for the batch's rows in proportion to its
tokens, so the epoch's loss is one process's too. Validation batches are dealt round-robin
(batch ``i`` to rank ``i % world_size``); losses and the predictions the metrics need are
reduced/gathered, so every rank gets the same numbers and takes the same early-stopping decisions.

State carried from batch to batch (stateful truncated BPTT, :class:`~rnnkit.data.streams.StreamBatches`:
row ``b`` of window ``w + 1`` continues row ``b`` of window ``w``): the rows are the parallel
streams and the split is by streams, the same rows for every rank in every window, so each rank's
model carries the state of its own streams. Validation on such data (a ``StreamBatches``, or any
data with a true ``carries_state`` attribute) is split the same way (not round-robin, which
would break the streams). What a model keeps outside its parameters
and buffers (``get_extra_state``, e.g. that carried state) differs per rank: every rank's is in
the checkpoint (``extra_state_ranks``) and given back to it on resume; ``model.safetensors``
holds rank 0's (the parameters are every rank's).

Dropout draws from each rank's own torch RNG (seeded ``seed + rank``): with dropout the
masks differ from one process's, so weights match a single process only without dropout.

    >>> parts = [split_sizes(5, 2, r) for r in range(2)]
    >>> parts
    [(0, 3), (3, 5)]
    >>> context() is None                     # not under torchrun
    True
"""
from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from typing import Callable, Iterable

import torch

from rnnkit.errors import RnnkitError, CheckpointError, InvalidArgumentError
from rnnkit.training.rng import restore_rng_state
from rnnkit.data.streams import StreamBatches
from rnnkit.data.windows import WindowBatches
from rnnkit.training.steps import split_batch

__all__ = ["Context", "context", "split_sizes", "env_world_size", "on_main", "is_main", "finish", "extra_states"]


def env_world_size() -> int:
    """``WORLD_SIZE`` from the environment (1 when unset)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        raise RnnkitError(f"WORLD_SIZE={os.environ['WORLD_SIZE']!r} is not an integer; start the "
                          "command with torchrun, which sets it.") from None


def split_sizes(n: int, world: int, rank: int) -> tuple[int, int]:
    """``[begin, end)`` of rank ``rank``'s part of ``n`` samples cut into ``world`` parts."""
    q, r = divmod(n, world)
    begin = rank * q + min(rank, r)
    return begin, begin + q + (rank < r)


@dataclass
class Context:
    """The process group of one training run: ``rank``, ``world_size``, ``local_rank``, ``backend``."""

    rank: int
    world_size: int
    local_rank: int
    backend: str

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    # ---------------------------------------------------------------- model and device
    def device(self, requested: torch.device) -> torch.device:
        """CUDA: this process's GPU (``cuda:LOCAL_RANK``); CPU unchanged."""
        return torch.device("cuda", self.local_rank) if requested.type == "cuda" else requested

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """The DistributedDataParallel wrapper used for training steps (rank 0's weights are
        broadcast to every rank here)."""
        from torch.nn.parallel import DistributedDataParallel
        dev = next(model.parameters()).device
        return DistributedDataParallel(model, device_ids=[dev] if dev.type == "cuda" else None)

    # ---------------------------------------------------------------- training batches
    def train_batches(self, data: Iterable, count: Callable) -> "_TrainShards":
        """This rank's parts of the global batches of ``data`` (an epoch's iterable)."""
        from torch.utils.data.distributed import DistributedSampler
        if isinstance(getattr(data, "sampler", None), DistributedSampler) or isinstance(
                getattr(data, "batch_sampler", None), DistributedSampler):
            raise InvalidArgumentError.for_argument(
                "train_data", "a DataLoader with a DistributedSampler", "the whole data set on every rank",
                "The trainer gives each rank its part of every batch itself: use an ordinary sampler "
                "(shuffle with generator=trainer.generator), or a WindowBatches.")
        return _TrainShards(data, self, count)

    def eval_batches(self, data: Iterable, max_steps: int | None, count: Callable) -> Iterable:
        """``(batch, n)``: batch ``i`` (``i < max_steps``) of ``data`` for rank ``i % world_size``
        (``n`` None: its rows count); for stream data (a carried state) this rank's streams of
        every window, ``n`` the rows it stands for (see :class:`_TrainShards`)."""
        if isinstance(data, StreamBatches) or getattr(data, "carries_state", False):
            shards = itertools.islice(_TrainShards(data, self, count), max_steps)
            return ((b, n) for b, _, n in shards if n)
        if isinstance(data, WindowBatches):
            order, bs = data.order(), data.batch_size
            n = len(data) if max_steps is None else min(len(data), max_steps)
            return ((data.windows.get_batch(order[i * bs:(i + 1) * bs]), None)
                    for i in range(self.rank, n, self.world_size))
        return ((b, None) for i, b in enumerate(data)
                if (max_steps is None or i < max_steps) and i % self.world_size == self.rank)

    # ---------------------------------------------------------------- reductions
    def sum(self, *values: float) -> list[float]:
        """Element-wise sum of floats over the ranks (float64)."""
        t = torch.tensor(values, dtype=torch.float64)
        torch.distributed.all_reduce(t)
        return t.tolist()

    def gather(self, obj):
        """The list of every rank's ``obj`` (picklable), in rank order."""
        out = [None] * self.world_size
        torch.distributed.all_gather_object(out, obj)
        return out

    def broadcast(self, obj):
        """Rank 0's ``obj`` on every rank."""
        box = [obj]
        torch.distributed.broadcast_object_list(box, src=0)
        return box[0]

    def barrier(self) -> None:
        torch.distributed.barrier()


class _TrainShards:
    """Iterates ``(batch, weight, n)``: this rank's part of each global batch, the factor its mean
    loss is scaled by, and the number of samples it counts in the epoch's mean loss (its rows; for
    a loss averaged over tokens, the batch's rows times its share of the tokens)."""

    def __init__(self, data, ctx: Context, count: Callable):
        self.data, self.ctx, self.count = data, ctx, count

    def __len__(self):
        return len(self.data)

    def _part(self, n: int):
        return split_sizes(n, self.ctx.world_size, self.ctx.rank)

    def __iter__(self):
        w, data = self.ctx.world_size, self.data
        if isinstance(data, WindowBatches):          # gather only this rank's windows
            order = data.order()
            data.epoch += 1
            stop = min(len(data) * data.batch_size, len(order))
            for b in range(0, stop, data.batch_size):
                idx = order[b:b + data.batch_size]
                lo, hi = self._part(len(idx))
                if hi > lo:
                    yield data.windows.get_batch(idx[lo:hi]), (hi - lo) * w / len(idx), hi - lo
                else:
                    yield data.windows.get_batch(idx[:1]), 0.0, 0
            return
        for batch in data:
            x, y = split_batch(batch)
            n = y.shape[0]
            lo, hi = self._part(n)
            total = self.count(y)
            if hi <= lo:
                yield (_rows(x, 0, 1), y[:1]), 0.0, 0
                continue
            part = self.count(y[lo:hi])
            yield (_rows(x, lo, hi), y[lo:hi]), (part * w / total) if total else 0.0, _share(part, total, hi - lo, n)


def _share(part: int, total: int, rows: int, n: int):
    """The rows of an ``n``-row batch that ``part`` of its ``total`` counted items stand for:
    ``rows`` itself when they are in proportion (samples, or equal tokens per row)."""
    if not total or part * n == rows * total:
        return rows
    return part * n / total


def _rows(x: tuple, lo: int, hi: int):
    sliced = tuple(t[lo:hi] if isinstance(t, torch.Tensor) and t.dim() else t for t in x)
    return sliced if len(sliced) > 1 else sliced[0]


def context(device: torch.device | str = "cpu") -> Context | None:
    """The process group of this process (initialised on first call), or None outside
    ``torchrun`` (``WORLD_SIZE`` unset or 1)."""
    world = env_world_size()
    if world <= 1:
        return None
    dist = torch.distributed
    if not dist.is_available():
        raise RnnkitError("WORLD_SIZE > 1 but this torch build has no torch.distributed; run in one process.")
    device = torch.device(device)
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend=backend)
    return Context(rank=dist.get_rank(), world_size=dist.get_world_size(),
                   local_rank=int(os.environ.get("LOCAL_RANK", "0")), backend=dist.get_backend())


def restore_rank_rng(ctx: Context | None, state: dict, path, generator) -> None:
    """On resume: refuse a checkpoint written by another number of processes (its RNG streams
    and float rounding would not continue), and give each rank back its own RNG state."""
    saved, now = state.get("world_size", 1), 1 if ctx is None else ctx.world_size
    if saved != now:
        how = lambda k: "one process" if k == 1 else f"torchrun --nproc_per_node {k} (world size {k})"
        raise CheckpointError(
            f"Checkpoint {path} was written by a run on {how(saved)}, and this one runs on {how(now)}: "
            f"resume it with the same number of processes ({how(saved)}), or start a new run with a new --out.")
    if ctx is not None:
        restore_rng_state(state["rng_ranks"][ctx.rank], generator)


EXTRA_STATE = "_extra_state"       # the suffix torch gives get_extra_state() in a state_dict


def extra_states(model: torch.nn.Module) -> dict:
    """The entries of ``model.state_dict()`` that modules keep with ``get_extra_state`` (e.g. a
    language model's carried hidden state): DistributedDataParallel keeps parameters and
    buffers equal on every rank, not these."""
    return {k: v for k, v in model.state_dict().items() if k.endswith(EXTRA_STATE)}


def restore_rank_extra_state(ctx: Context | None, state: dict, path, model: torch.nn.Module) -> None:
    """On resume under torchrun: give this rank's model back its own extra state (the
    checkpoint's ``model`` holds rank 0's)."""
    if ctx is None or not extra_states(model):
        return
    ranks = state.get("extra_state_ranks")
    if not isinstance(ranks, list) or len(ranks) != ctx.world_size or not isinstance(ranks[ctx.rank], dict):
        raise CheckpointError(
            f"Checkpoint {path} lacks the state each process's model carries ('extra_state_ranks' of "
            f"{ctx.world_size} processes), which this model needs to continue exactly. Start a new run with "
            "a new --out directory.")
    mine = ranks[ctx.rank]
    unknown = sorted(set(mine) - set(extra_states(model)))
    if unknown:
        raise CheckpointError(f"Checkpoint {path}: the carried state {unknown[:3]} does not belong to this model. "
                              "Start a new run with a new --out directory.")
    model.load_state_dict(mine, strict=False)


def finish() -> None:
    """Under torchrun: wait until every rank got here (rank 0 after writing its results), so no
    launcher shuts down while another still works (a multi-node rendezvous store lives in one of
    them). Nothing in a single process."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()


def is_main() -> bool:
    """True in a single process and on rank 0 (the one that writes files and prints)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank() == 0
    return int(os.environ.get("RANK", "0")) == 0


def on_main(fn: Callable, device="cpu"):
    """``fn()`` run on rank 0 only, its result given to every rank (e.g. the run directory rank 0
    creates). An error raised on rank 0 is raised on every rank, so none waits forever.

        >>> on_main(lambda: 41 + 1)
        42
    """
    ctx = context(device)
    if ctx is None:
        return fn()
    result, error = None, None
    if ctx.is_main:
        try:
            result = fn()
        except RnnkitError as e:
            error = e
    result, error = ctx.broadcast((result, error))
    if error is not None:
        raise error
    return result
