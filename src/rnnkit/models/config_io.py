"""What every model config dataclass shares: reading it back from a dict (a run's config.json,
untrusted: unknown keys refused) and refusing a model too large to train in memory.

    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class C:
    ...     units: int = 4
    >>> config_from_dict(C, {"units": 8})
    C(units=8)
    >>> config_from_dict(C, {"unit": 8})
    Traceback (most recent call last):
    ...
    rnnkit.errors.InvalidArgumentError: Received an invalid value for argument `model config`, expected fields among ['units'], got ['unit'].
"""
from __future__ import annotations

from dataclasses import fields

from rnnkit.errors import InvalidArgumentError
from rnnkit import memory

__all__ = ["config_from_dict", "check_training_memory", "BYTES_PER_PARAMETER"]

# training state per parameter: the weight, its gradient and two optimizer moments, float32
BYTES_PER_PARAMETER = 16


def config_from_dict(cls, d: dict):
    """``cls(**d)``, refusing keys that are not fields of ``cls`` (its ``__post_init__`` checks values)
    and values whose type breaks those checks (InvalidArgumentError, never a bare TypeError)."""
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise InvalidArgumentError.for_argument("model config", unknown, f"fields among {sorted(names)}")
    try:
        return cls(**d)
    except (TypeError, ValueError) as e:
        if isinstance(e, InvalidArgumentError):
            raise
        # a value of another JSON type than the field's (a dict for a name, a list for a number)
        raise InvalidArgumentError.for_argument("model config", {k: type(v).__name__ for k, v in d.items()},
                                                f"fields of the types {cls.__name__} takes ({str(e)[:120]})") from None


def check_training_memory(params: int, units: int, describe: str, fix: str, budget_bytes: int | None = None) -> None:
    """Refuse a model of ``params`` parameters whose training state would not fit in ``budget_bytes``
    (default: half the RAM), before anything is allocated. ``describe`` names the sizes that made
    it ("units 64, layers 2"), ``fix`` the options that shrink it."""
    budget_bytes = memory.budget_bytes() if budget_bytes is None else budget_bytes
    need = params * BYTES_PER_PARAMETER
    if budget_bytes is not None and need > budget_bytes:
        raise memory.MemoryBudgetError.for_argument(
            "--units", units, "a model that fits in memory",
            f"With {describe} the model has about {params:,} parameters, whose training state needs about "
            f"{memory.size_text(need)} of memory; {memory.size_text(budget_bytes)} is available (half of this "
            f"machine's memory). {fix}")
