"""Which device a run trains on: ``--device auto|cpu|cuda|cuda:N|mps`` and
``TrainConfig(device=...)``.

``auto`` is the first of CUDA (``cuda``, this process's GPU under ``torchrun``), Apple's MPS and
the CPU that this torch build and machine have. A device asked for by name that is not here is one
paragraph (:class:`DeviceError`), raised before anything is written.

    >>> import torch
    >>> resolve_device("cpu")
    device(type='cpu')
    >>> resolve_device("auto") == (torch.device("cuda") if torch.cuda.is_available() else
    ...                            torch.device("mps") if torch.backends.mps.is_available() else torch.device("cpu"))
    True
    >>> try:
    ...     check_device_name("gpu")
    ... except DeviceError as e:
    ...     print(e)
    --device must be one of auto, cpu, cuda, cuda:N (N a GPU number) or mps, not 'gpu'.

GPUs have not been reachable where rnnkit is developed: the selection and the errors are tested
on CPU (with ``torch.cuda.is_available`` patched); see the docs' devices page.
"""
from __future__ import annotations

import re

import torch

from rnnkit.errors import InvalidArgumentError

__all__ = ["DeviceError", "check_device_name", "resolve_device", "available_devices", "device_of"]

_NAME = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


class DeviceError(InvalidArgumentError):
    """A device that is not a device name, or not on this machine."""


def check_device_name(name: str) -> str:
    """``name`` if it is a device name rnnkit accepts (it need not be present here)."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise DeviceError(f"--device must be one of auto, cpu, cuda, cuda:N (N a GPU number) or mps, not {name!r}.")
    return name


def available_devices() -> list[str]:
    """The devices this torch build and machine have, e.g. ``['cpu']`` or ``['cuda:0', 'cuda:1', 'cpu']``."""
    out = [f"cuda:{i}" for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    if torch.backends.mps.is_available():
        out.append("mps")
    return out + ["cpu"]


def resolve_device(name: str = "auto") -> torch.device:
    """The :class:`torch.device` for ``name`` (``auto``: CUDA, else MPS, else CPU); a named device
    that is not here raises :class:`DeviceError` saying what is."""
    name = check_device_name(name)
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    here = available_devices()
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            why = ("this torch build has no CUDA (a CPU build: install a CUDA build of torch)"
                   if torch.version.cuda is None else "torch finds no CUDA GPU (check the driver and CUDA_VISIBLE_DEVICES)")
            raise DeviceError(f"--device {name}: {why}. Devices here: {', '.join(here)}. Pass --device cpu, or "
                              "--device auto to take a GPU when there is one.")
        index = int(name.split(":")[1]) if ":" in name else None
        if index is not None and index >= torch.cuda.device_count():
            raise DeviceError(f"--device {name}: there are {torch.cuda.device_count()} CUDA GPU(s), numbered from 0. "
                              f"Devices here: {', '.join(here)}.")
    elif name == "mps" and not torch.backends.mps.is_available():
        raise DeviceError(f"--device mps: Apple's MPS is not available here (it needs a Mac with Apple silicon and "
                          f"a torch build with MPS). Devices here: {', '.join(here)}. Pass --device cpu or auto.")
    return torch.device(name)


def device_of(module: torch.nn.Module) -> torch.device:
    """Where ``module``'s parameters are (the CPU for a module without any): prediction code
    sends its batches there, so a model moved with ``.to(resolve_device(name))`` predicts there."""
    first = next(module.parameters(), None)
    return torch.device("cpu") if first is None else first.device
