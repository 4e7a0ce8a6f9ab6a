"""``Forecaster``: the seed labs' forecasting models in one small, configurable module.

``cell`` picks the body: ``"dense"`` (flatten + dense, seed 001's densely connected
baseline), ``"conv"`` (Conv1D + pooling stacks, seed 001 "1D convnet"), or a recurrent
``"rnn"``/``"lstm"``/``"gru"`` layer stack, optionally behind a Conv1D + max-pooling front-end
(seed 001 "combining CNNs and RNNs"). The head is an optional hidden dense layer and a linear
output of ``horizon * n_targets`` values (direct multi-horizon). ``seq2seq=True`` predicts at
every input step (seed 000 "improving our loss function"); :meth:`Forecaster.rollout` feeds
predictions back one value at a time (seed 000's recursive forecast).

    >>> import torch
    >>> cfg = ForecasterConfig(n_features=14, cell="gru", units=32, recurrent_dropout=0.2, horizon=3)
    >>> model = Forecaster(cfg)
    >>> tuple(model(torch.randn(8, 120, 14)).shape)
    (8, 3)
"""
from __future__ import annotations


from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

from rnnkit.errors import InvalidArgumentError
from rnnkit.models.config_io import check_training_memory, config_from_dict
from rnnkit.layers import GRU, LSTM, SimpleRNN
from rnnkit.layers.lengths import zero_padding
from rnnkit.models.window_pool import WindowMaxPool
from rnnkit.training.losses import check_quantiles

RECURRENT = {"rnn": SimpleRNN, "lstm": LSTM, "gru": GRU}
CELLS = ("dense", "conv", *RECURRENT)


# fields renamed by the naming rule (old config.json still read): former name -> today's
FORMER_NAMES = {"pool": "pool_size"}


@dataclass
class ForecasterConfig:
    """Everything that defines a :class:`Forecaster`; saved as ``config.json`` with a run.

    Args:
        n_features: input features per step (static features appended as channels included).
        n_steps: steps per input window; needed by ``cell="dense"`` only.
        cell: 'gru' (default), 'lstm', 'rnn', 'dense' or 'conv'.
        units: recurrent units (or dense units / conv filters for those bodies). Default 32.
        layers: stacked recurrent (or conv) layers. Default 1.
        bidirectional: default False.
        dropout: variational input dropout of the recurrent layers (Keras ``dropout``). Default 0.
        recurrent_dropout: variational recurrent dropout. Default 0.
        conv_filters: 0 (default) for no Conv1D front-end, else its filters.
        conv_kernel: Conv1D kernel size. Default 5.
        pool_size: max-pooling size after each conv layer (``pool`` before; still read). Default 3.
        dense_units: 0 (default) or the size of a hidden ReLU dense layer before the output.
        horizon: values forecast per target (direct multi-horizon). Default 1.
        n_targets: target columns. Default 1.
        seq2seq: predict at every input step instead of only after the last. Default False.
        quantiles: None (default: one point forecast per value), or increasing quantiles in
            (0, 1), e.g. ``(0.1, 0.5, 0.9)``: one output per quantile on a trailing axis
            (``(batch, horizon, n_quantiles)``), monotone by construction (the lowest plus
            cumulative softplus increments), for the pinball loss. Single target only.
        residual_index: None (default), or the input feature holding the (scaled) target: the
            model then predicts the change from the last observed value, which it adds back
            (``y = head(z) + x[:, -1, residual_index]``, per step with ``seq2seq``), so an
            untrained model starts as the common-sense baseline and a shift in level between
            training and test months costs nothing. Single target only.
    """

    n_features: int
    n_steps: int | None = None
    cell: str = "gru"
    units: int = 32
    layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0
    recurrent_dropout: float = 0.0
    conv_filters: int = 0
    conv_kernel: int = 5
    pool_size: int = 3
    dense_units: int = 0
    horizon: int = 1
    n_targets: int = 1
    seq2seq: bool = False
    residual_index: int | None = None
    quantiles: tuple | None = None

    def __post_init__(self):
        if self.cell not in CELLS:
            raise InvalidArgumentError.for_argument("cell", self.cell, f"one of {CELLS}")
        for name in ("n_features", "units", "layers", "horizon", "n_targets", "conv_kernel", "pool_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InvalidArgumentError.for_argument(name, v, "a positive integer")
        for name in ("conv_filters", "dense_units"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise InvalidArgumentError.for_argument(name, v, "an integer >= 0 (0 = none)")
        if self.cell == "dense" and not self.n_steps:
            raise InvalidArgumentError.for_argument(
                "n_steps", self.n_steps, "the number of steps per window for cell='dense'",
                "Pass n_steps=lookback // step.")
        if self.seq2seq and (self.cell in ("dense", "conv") or self.conv_filters):
            raise InvalidArgumentError.for_argument(
                "seq2seq", True, "a recurrent cell without a conv front-end",
                "Pooling shortens the sequence, so per-step targets no longer line up; drop conv_filters.")

        if self.quantiles is not None:
            self.quantiles = check_quantiles(self.quantiles)
            if self.n_targets != 1:
                raise InvalidArgumentError.for_argument("quantiles", self.quantiles, "a single target (n_targets=1)",
                                                        "Forecast one target per quantile model.")
        if self.residual_index is not None and not (
                0 <= self.residual_index < self.n_features and self.n_targets == 1):
            raise InvalidArgumentError.for_argument(
                "residual_index", self.residual_index,
                f"an input feature index in [0, {self.n_features}) with n_targets=1")

    def estimated_parameters(self) -> int:
        """The number of parameters :class:`Forecaster` will allocate, computed without
        allocating them (checked against the built models in the tests)."""
        feat, n = self.n_features, 0
        if self.conv_filters and self.cell in RECURRENT:
            n += self.conv_filters * (feat * self.conv_kernel + 1)
            feat = self.conv_filters
        if self.cell == "dense":
            n += (self.n_steps or 0) * feat * self.units + self.units
            out = self.units
        elif self.cell == "conv":
            for i in range(self.layers):
                n += self.units * ((feat if i == 0 else self.units) * self.conv_kernel + 1)
            out = self.units
        else:
            gates, dirs = {"rnn": 1, "gru": 3, "lstm": 4}[self.cell], 2 if self.bidirectional else 1
            for i in range(self.layers):
                inp = feat if i == 0 else self.units * dirs
                n += dirs * gates * self.units * (inp + self.units + 2)
            out = self.units * dirs
        if self.dense_units:
            n += self.dense_units * (out + 1)
            out = self.dense_units
        return n + (out + 1) * self.horizon * self.n_targets * self.n_quantiles

    @property
    def n_quantiles(self) -> int:
        return 1 if self.quantiles is None else len(self.quantiles)

    def check_memory(self, budget_bytes: int | None = None) -> None:
        """Refuse a model whose training state (weights, gradients, two optimizer moments: 16
        bytes per parameter) would not fit in ``budget_bytes`` (default: half the RAM)."""
        check_training_memory(
            self.estimated_parameters(), self.units,
            f"units={self.units}, layers={self.layers}, conv_filters={self.conv_filters} and "
            f"dense_units={self.dense_units}", "Use fewer --units, --layers, --conv-filters or --dense-units.",
            budget_bytes)

    def to_dict(self) -> dict:
        d = asdict(self)
        if d["quantiles"] is None:      # point models keep the config they always had
            del d["quantiles"]
        else:
            d["quantiles"] = list(d["quantiles"])
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ForecasterConfig":
        if isinstance(d, dict):
            d = {FORMER_NAMES.get(k, k) if FORMER_NAMES.get(k) not in d else k: v for k, v in d.items()}
        return config_from_dict(cls, d)


class MonotoneQuantiles(nn.Module):
    """Raw values ``(..., n)`` -> monotone quantile forecasts: the ``anchor`` output (the
    quantile nearest the median) as it is, the ones above it adding cumulative ``softplus``
    increments, the ones below subtracting them; so each quantile is never below the one
    before it, whatever the input and the weights (strictly above in exact arithmetic). With
    raw values near 0 the anchor starts at 0 (with ``residual_index``: at the last observed
    value, the common-sense forecast), the others spread around it.

        >>> q = MonotoneQuantiles(3, anchor=1)(torch.tensor([[-1.0, 0.5, 2.0]]))
        >>> q.diff(dim=-1).gt(0).all().item(), q[0, 1].item()
        (True, 0.5)
    """

    def __init__(self, n: int, anchor: int = 0):
        super().__init__()
        if not 0 <= anchor < n:
            raise InvalidArgumentError.for_argument("anchor", anchor, f"an index in [0, {n})")
        self.n, self.anchor = n, anchor

    def forward(self, raw: Tensor) -> Tensor:
        a = self.anchor
        mid = raw[..., a:a + 1]
        up = mid + torch.cumsum(nn.functional.softplus(raw[..., a + 1:]), dim=-1)
        down = mid - torch.cumsum(nn.functional.softplus(raw[..., :a].flip(-1)), dim=-1).flip(-1)
        return torch.cat([down, mid, up], dim=-1)


def _conv_stack(in_ch: int, filters: int, kernel: int, pool: int, n: int) -> nn.Sequential:
    mods: list[nn.Module] = []
    for i in range(n):
        mods += [nn.Conv1d(in_ch if i == 0 else filters, filters, kernel, padding=kernel // 2), nn.ReLU(),
                 WindowMaxPool(pool, ceil_mode=True)]     # nn.MaxPool1d's numbers, exportable time axis
    return nn.Sequential(*mods)


class Forecaster(nn.Module):
    """A forecasting model: ``(batch, time, n_features)`` -> ``(batch, horizon)`` (single target),
    ``(batch, horizon, n_targets)``, or with ``seq2seq`` ``(batch, time, horizon)``.

    Call arguments: ``x`` and optional ``lengths`` (recurrent bodies only).
    """

    def __init__(self, config: ForecasterConfig):
        super().__init__()
        config.check_memory()
        self.config = c = config
        self.front = None
        feat = c.n_features
        if c.conv_filters and c.cell in RECURRENT:
            self.front = _conv_stack(feat, c.conv_filters, c.conv_kernel, c.pool_size, 1)
            feat = c.conv_filters
        if c.cell == "dense":
            self.body = nn.Sequential(nn.Flatten(), nn.Linear(c.n_steps * feat, c.units), nn.ReLU())
            out_features = c.units
        elif c.cell == "conv":
            self.body = _conv_stack(feat, c.units, c.conv_kernel, c.pool_size, c.layers)
            out_features = c.units
        else:
            self.body = RECURRENT[c.cell](
                feat, c.units, num_layers=c.layers, bidirectional=c.bidirectional,
                input_dropout=c.dropout, recurrent_dropout=c.recurrent_dropout,
                return_sequences=c.seq2seq, return_state=False)
            out_features = c.units * (2 if c.bidirectional else 1)
        head: list[nn.Module] = []
        if c.dense_units:
            head += [nn.Linear(out_features, c.dense_units), nn.ReLU()]
            out_features = c.dense_units
        head.append(nn.Linear(out_features, c.horizon * c.n_targets * c.n_quantiles))
        self.head = nn.Sequential(*head)
        self.quantile_head = None if c.quantiles is None else MonotoneQuantiles(
            len(c.quantiles), anchor=min(range(len(c.quantiles)), key=lambda k: abs(c.quantiles[k] - 0.5)))

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        c = self.config
        if x.dim() != 3 or x.shape[-1] != c.n_features:
            raise InvalidArgumentError.for_argument(
                "x", tuple(x.shape), f"a tensor of shape (batch, time, {c.n_features})")
        y = self._predict(x, lengths)
        if c.residual_index is None:
            return y
        level = x[..., c.residual_index]                                  # (batch, time)
        q = (None,) if c.quantiles is not None else ()                  # quantiles: one more axis
        if c.seq2seq:
            return y + level[(..., None, *q)]
        if lengths is None:
            last = level[:, -1]
        else:
            last = level.gather(1, (lengths.to(x.device) - 1).unsqueeze(1)).squeeze(1)
        return y + last[(..., None, *q)]

    def _predict(self, x: Tensor, lengths: Tensor | None) -> Tensor:
        c = self.config
        if self.front is not None:
            # with lengths: zeros past each length before the convolution and past its valid outputs
            # after it (length + 1 for an even kernel, whose 'same' output is one step longer), so a
            # padded row gives what the row alone gives (ReLU outputs are >= 0: a zero never wins a
            # pooling window); the recurrent layers then read ceil(valid outputs / pool) pooled steps
            conv, relu, pooling = self.front
            y = relu(conv(zero_padding(x, lengths).transpose(1, 2)))
            if lengths is not None:
                lengths = lengths.to(x.device) + (2 * (c.conv_kernel // 2) - c.conv_kernel + 1)
                y = zero_padding(y.transpose(1, 2), lengths).transpose(1, 2)
                lengths = torch.div(lengths + c.pool_size - 1, c.pool_size, rounding_mode="floor")
            x = pooling(y).transpose(1, 2)
        if c.cell == "dense":
            z = self.body(x)
        elif c.cell == "conv":
            z = self.body(x.transpose(1, 2)).amax(-1)  # global max pooling over time
        else:
            z = self.body(x, lengths=lengths)
        y = self.head(z)
        if self.quantile_head is not None:       # (..., horizon, n_quantiles), monotone
            return self.quantile_head(y.reshape(*y.shape[:-1], c.horizon, c.n_quantiles))
        if c.seq2seq:
            return y if c.n_targets > 1 else y.reshape(*y.shape[:2], c.horizon)
        if c.n_targets > 1:
            return y.reshape(-1, c.horizon, c.n_targets)
        return y

    @torch.no_grad()
    def rollout(self, x: Tensor, steps: int, target_index: int) -> Tensor:
        """Recursive multi-step forecast, one value at a time (seed 000).

        Predict the next value, append a row to the window (the last row with the target
        feature replaced by the prediction; other features held at their last value), drop
        the oldest row, repeat. Valid for a model trained with ``delay=1, step=1, horizon=1``
        whose target is input feature ``target_index``. Returns ``(batch, steps)``.
        """
        c = self.config
        if c.horizon != 1 or c.n_targets != 1 or c.seq2seq or c.quantiles is not None:
            raise InvalidArgumentError(
                "rollout() needs a one-step point model (horizon=1, n_targets=1, seq2seq=False, no quantiles); "
                f"this one has horizon={c.horizon}, n_targets={c.n_targets}, seq2seq={c.seq2seq}, "
                f"quantiles={c.quantiles}.")
        if not -c.n_features <= target_index < c.n_features:
            raise InvalidArgumentError.for_argument("target_index", target_index,
                                                    f"a feature index in [0, {c.n_features})")
        was = self.training
        self.eval()
        window = x.clone()
        preds = []
        for _ in range(steps):
            y = self(window)[:, 0]
            preds.append(y)
            row = window[:, -1:].clone()
            row[:, 0, target_index] = y
            window = torch.cat([window[:, 1:], row], 1)
        self.train(was)
        return torch.stack(preds, 1)


def streamable(model) -> None:
    """Raise a clear :class:`~rnnkit.errors.InvalidArgumentError` unless ``model`` is a Forecaster
    that can be stepped one row at a time (a one-direction recurrent body, no conv front-end)."""
    if not isinstance(model, Forecaster):
        raise InvalidArgumentError.for_argument("model", type(model).__name__, "an rnnkit Forecaster")
    c = model.config
    why = ("its body is not recurrent" if c.cell not in ("rnn", "lstm", "gru") else
           "it is bidirectional (the reverse direction needs the future)" if c.bidirectional else
           "its conv front-end pools several rows into one step" if c.conv_filters else None)
    if why:
        raise InvalidArgumentError.for_argument(
            "model", f"a Forecaster with cell={c.cell!r}, bidirectional={c.bidirectional}, "
            f"conv_filters={c.conv_filters}", "a one-direction recurrent forecaster without a conv front-end",
            f"It cannot stream one row at a time: {why}. Re-run the window for each new row instead.")
