"""``Seq2Seq``: an encoder-decoder translator (Sutskever et al. 2014; attention: Bahdanau et al.
2015, Luong et al. 2015), seed 004's English-to-French model.

- Source and target embeddings (id 0 is ``<pad>``; ``SPECIALS`` = ``<pad> <unk> <go> <eos>``).
- Encoder: :class:`rnnkit.LSTM`/``GRU`` over the source with its lengths, stacked, optionally
  bidirectional; ``reverse_source`` reverses the valid tokens of each source (padding stays at
  the end), as Sutskever et al. did.
- The decoder starts from the encoder's final state, layer by layer; a bidirectional encoder's
  two directions are bridged to the decoder's width (``h = tanh(W [h_fwd; h_bwd])``, ``c`` by a
  linear map).
- Teacher forcing: the decoder reads ``<go> y1 .. yn`` and is trained to emit ``y1 .. yn <eos>``
  (:func:`pad_batch` builds both; padding is ``<pad>``, which the loss ignores with
  ``ignore_index=PAD_ID``). ``teacher_forcing < 1`` feeds, while training, the model's own
  previous prediction instead of the reference token with probability ``1 - teacher_forcing``
  (scheduled sampling, Bengio et al. 2015), step by step.
- ``attention="none"``: the decoder is a plain :class:`rnnkit.LSTM`/``GRU``. ``"additive"``,
  ``"dot"`` or ``"general"``: it is :class:`AttentionDecoderCell` driven by
  :class:`rnnkit.layers.rnn.RNN` (Luong's global attention with input feeding: the attentional
  state ``tanh(W_c [h_t; context_t])`` is the output and is fed into the next step), with the
  source mask so padding gets no weight.

Decoding (greedy, beam search) is in :mod:`rnnkit.models.decoding`, through :meth:`Seq2Seq.encode`,
:meth:`Seq2Seq.decode_step` and :meth:`Seq2Seq.select`.

    >>> import torch
    >>> model = Seq2Seq(Seq2SeqConfig(src_vocab=20, tgt_vocab=30, embed=8, units=16, attention="dot"))
    >>> (src, src_len, tgt_in), tgt_out = pad_batch([[5, 6, 7], [8, 9]], [[4, 5], [6, 7, 8, 9]])
    >>> tgt_in.tolist()[1], tgt_out.tolist()[1]
    ([2, 6, 7, 8, 9], [6, 7, 8, 9, 3])
    >>> tuple(model(src, src_len, tgt_in).shape)
    (2, 5, 30)
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from rnnkit.errors import InvalidArgumentError
from rnnkit.layers.attention import ATTENTION, make_attention
from rnnkit.layers.cells import GRUCell, LSTMCell, check_size
from rnnkit.layers.gru import GRU
from rnnkit.layers.lstm import LSTM
from rnnkit.layers.rnn import RNN, reverse_padded

__all__ = ["Seq2Seq", "Seq2SeqConfig", "AttentionDecoderCell", "pad_batch", "SPECIALS",
           "PAD_ID", "UNK_ID", "GO_ID", "EOS_ID"]

SPECIALS = ("<pad>", "<unk>", "<go>", "<eos>")
PAD_ID, UNK_ID, GO_ID, EOS_ID = 0, 1, 2, 3
CELLS = ("lstm", "gru")


@dataclass
class Seq2SeqConfig:
    """The model's shape: vocabulary sizes (specials included), ``embed`` width, ``units`` per
    layer and direction, ``layers``, ``cell`` ('lstm'/'gru'), ``bidirectional`` encoder,
    ``attention`` ('none', 'additive', 'dot', 'general'), ``dropout`` (embeddings, between
    layers, before the output), ``reverse_source``, ``teacher_forcing`` ratio (1 = always the
    reference token)."""

    src_vocab: int
    tgt_vocab: int
    embed: int = 64
    units: int = 128
    layers: int = 1
    cell: str = "lstm"
    bidirectional: bool = False
    attention: str = "none"
    dropout: float = 0.0
    reverse_source: bool = False
    teacher_forcing: float = 1.0

    def __post_init__(self):
        for name in ("src_vocab", "tgt_vocab"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v <= len(SPECIALS):
                raise InvalidArgumentError.for_argument(name, v, f"an integer > {len(SPECIALS)} (the specials "
                                                        f"{' '.join(SPECIALS)} come first)")
        for name in ("embed", "units", "layers"):
            check_size(name, getattr(self, name))
        if self.cell not in CELLS:
            raise InvalidArgumentError.for_argument("cell", self.cell, f"one of {CELLS}")
        if self.attention not in ("none", *ATTENTION):
            raise InvalidArgumentError.for_argument("attention", self.attention, f"one of {('none', *ATTENTION)}")
        for name, hi in (("dropout", 1.0), ("teacher_forcing", 1.0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v <= hi or (name == "dropout" and v == 1):
                raise InvalidArgumentError.for_argument(name, v, "a number in [0, 1)" if name == "dropout" else "a number in [0, 1]")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


class AttentionDecoderCell(nn.Module):
    """One decoder step with attention, for :class:`rnnkit.layers.rnn.RNN`.

    ``forward(x_t, state, memory, memory_mask) -> (h~_t, state)``: the stacked cells read
    ``[x_t; h~_{t-1}]`` (input feeding), the top hidden state ``h_t`` attends over ``memory``
    (batch, source, units) where ``memory_mask`` is True, and ``h~_t = tanh(W_c [h_t; context])``.
    The state is ``(per-layer cell states, h~)``; per-layer states are ``(h, c)`` for LSTM.
    """

    def __init__(self, embed: int, units: int, layers: int = 1, cell: str = "lstm",
                 attention: str = "dot", dropout: float = 0.0):
        super().__init__()
        Cell = LSTMCell if cell == "lstm" else GRUCell
        self.lstm, self.units = cell == "lstm", units
        self.cells = nn.ModuleList(Cell(embed + units if k == 0 else units, units) for k in range(layers))
        self.attention = make_attention(attention, units, units)
        self.combine = nn.Linear(2 * units, units, bias=False)
        self.drop = nn.Dropout(dropout)

    def initial_state(self, batch: int, device=None, dtype=None):
        z = lambda: torch.zeros(batch, self.units, device=device, dtype=dtype)  # noqa: E731
        return tuple((z(), z()) if self.lstm else z() for _ in self.cells), z()

    def forward(self, x: Tensor, state, memory: Tensor, memory_mask: Tensor, memory_keys: Tensor | None = None):
        """One step; ``memory_keys`` is ``self.attention.prepare(memory)``, computed once per source."""
        layer_states, feed = state
        inp, new = torch.cat([x, feed], -1), []
        for k, cell in enumerate(self.cells):
            s = cell(inp, layer_states[k])
            new.append(s)
            h = s[0] if self.lstm else s
            inp = self.drop(h) if k < len(self.cells) - 1 else h
        context, _ = self.attention(h, memory, mask=memory_mask, prepared=memory_keys)
        out = torch.tanh(self.combine(torch.cat([h, context], -1)))
        return out, (tuple(new), out)


def pad_batch(src_ids, tgt_ids=None, pad_id: int = PAD_ID, go_id: int = GO_ID, eos_id: int = EOS_ID):
    """Right-padded tensors of a batch of token-id lists.

    Returns ``((src, src_lengths, tgt_in), tgt_out)`` where ``tgt_in`` is ``<go> y1 .. yn`` and
    ``tgt_out`` is ``y1 .. yn <eos>`` (both padded with ``pad_id``); without ``tgt_ids`` only
    ``(src, src_lengths)``. Every source needs at least one token.
    """
    lengths = [len(s) for s in src_ids]
    if not lengths or min(lengths) < 1:
        raise InvalidArgumentError.for_argument("src_ids", lengths, "a non-empty batch of non-empty token lists",
                                                "Drop pairs whose source has no token.")
    src = torch.full((len(src_ids), max(lengths)), pad_id, dtype=torch.long)
    for i, s in enumerate(src_ids):
        src[i, :len(s)] = torch.as_tensor(s, dtype=torch.long)
    src_lengths = torch.tensor(lengths, dtype=torch.long)
    if tgt_ids is None:
        return src, src_lengths
    T = max(len(t) for t in tgt_ids) + 1
    tgt_in = torch.full((len(tgt_ids), T), pad_id, dtype=torch.long)
    tgt_out = torch.full((len(tgt_ids), T), pad_id, dtype=torch.long)
    for i, t in enumerate(tgt_ids):
        t = torch.as_tensor(list(t), dtype=torch.long)
        tgt_in[i, 0], tgt_in[i, 1:len(t) + 1] = go_id, t
        tgt_out[i, :len(t)], tgt_out[i, len(t)] = t, eos_id
    return (src, src_lengths, tgt_in), tgt_out


class Seq2Seq(nn.Module):
    """Encoder-decoder over token ids; see the module docstring.

    ``forward(src, src_lengths, tgt_in) -> logits`` (batch, target time, tgt_vocab):
    ``src`` (batch, source time) ids right-padded with ``<pad>``, ``src_lengths`` (batch,),
    ``tgt_in`` (batch, target time) the decoder input ``<go> y1 .. yn`` (padding after).
    """

    go_id, eos_id, pad_id = GO_ID, EOS_ID, PAD_ID

    def __init__(self, config: Seq2SeqConfig):
        super().__init__()
        c = self.config = config
        H, D = c.units, 2 if c.bidirectional else 1
        Layer = LSTM if c.cell == "lstm" else GRU
        self.src_embed = nn.Embedding(c.src_vocab, c.embed, padding_idx=PAD_ID)
        self.tgt_embed = nn.Embedding(c.tgt_vocab, c.embed, padding_idx=PAD_ID)
        self.encoder = Layer(c.embed, H, num_layers=c.layers, bidirectional=c.bidirectional,
                             dropout=c.dropout if c.layers > 1 else 0.0)
        if c.bidirectional:
            self.bridge_h = nn.Linear(2 * H, H)
            if c.cell == "lstm":
                self.bridge_c = nn.Linear(2 * H, H)
        if c.attention == "none":
            self.decoder = Layer(c.embed, H, num_layers=c.layers, dropout=c.dropout if c.layers > 1 else 0.0)
        else:
            if c.bidirectional:
                self.memory_proj = nn.Linear(2 * H, H, bias=False)
            self.decoder = RNN(AttentionDecoderCell(c.embed, H, c.layers, c.cell, c.attention, c.dropout))
        self.drop = nn.Dropout(c.dropout)
        self.out = nn.Linear(H, c.tgt_vocab)

    @property
    def attends(self) -> bool:
        return self.config.attention != "none"

    # ------------------------------------------------------------------ encoder
    def _bridge(self, s: Tensor, linear: nn.Linear, squash: bool) -> Tensor:
        if not self.config.bidirectional:
            return s
        L, B, H = self.config.layers, s.shape[1], self.config.units
        both = s.view(L, 2, B, H).permute(0, 2, 1, 3).reshape(L, B, 2 * H)
        return torch.tanh(linear(both)) if squash else linear(both)

    def encode(self, src: Tensor, src_lengths: Tensor):
        """Run the encoder; return ``(decoder state, memory)``, ``memory`` = ``(outputs, mask,
        keys)`` (outputs zero past each length, keys their attention projection computed once;
        ``None`` instead when the model does not attend)."""
        if self.config.reverse_source:
            src = reverse_padded(src, src_lengths)
        outputs, state = self.encoder(self.drop(self.src_embed(src)), lengths=src_lengths)
        if self.config.cell == "lstm":
            state = (self._bridge(state[0], getattr(self, "bridge_h", None), True),
                     self._bridge(state[1], getattr(self, "bridge_c", None), False))
        else:
            state = self._bridge(state, getattr(self, "bridge_h", None), True)
        if not self.attends:
            return state, None
        if self.config.bidirectional:
            outputs = self.memory_proj(outputs)
        mask = torch.arange(src.shape[1], device=src.device).unsqueeze(0) < src_lengths.to(src.device).unsqueeze(1)
        layers = [(state[0][k], state[1][k]) if self.config.cell == "lstm" else state[k]
                  for k in range(self.config.layers)]
        keys = self.decoder.cells[0].attention.prepare(outputs)
        return (tuple(layers), outputs.new_zeros(outputs.shape[0], self.config.units)), (outputs, mask, keys)

    # ------------------------------------------------------------------ decoder
    def _constants(self, memory) -> dict:
        return {"memory": memory[0], "memory_mask": memory[1], "memory_keys": memory[2]}

    def decode_step(self, tokens: Tensor, state, memory):
        """One decoder step from the previous tokens (batch,); returns ``(logits (batch, V), state)``."""
        emb = self.drop(self.tgt_embed(tokens))
        if self.attends:
            y, state = self.decoder.cells[0](emb, state, **self._constants(memory))
        else:
            y, state = self.decoder(emb.unsqueeze(1), state=state)
            y = y[:, 0]
        return self.out(self.drop(y)), state

    def select(self, state, memory, index: Tensor):
        """The state and memory of the batch rows ``index`` (beam search reorders and repeats rows)."""
        dim = 0 if self.attends else 1          # layer states are (layers, batch, units)

        state = _map(lambda t: t.index_select(dim, index), state)
        memory = None if memory is None else tuple(m.index_select(0, index) for m in memory)
        return state, memory

    def forward(self, src: Tensor, src_lengths: Tensor, tgt_in: Tensor) -> Tensor:
        state, memory = self.encode(src, src_lengths)
        if self.training and self.config.teacher_forcing < 1.0:
            return self._scheduled(tgt_in, state, memory)
        emb = self.drop(self.tgt_embed(tgt_in))
        if self.attends:
            out, _ = self.decoder(emb, state=state, constants=self._constants(memory))
        else:
            out, _ = self.decoder(emb, state=state)
        return self.out(self.drop(out))

    def _scheduled(self, tgt_in: Tensor, state, memory) -> Tensor:
        logits, tokens = [], tgt_in[:, 0]
        for t in range(tgt_in.shape[1]):
            if t > 0:
                own = logits[-1].argmax(-1)
                use_own = torch.rand(tokens.shape[0], device=tgt_in.device) >= self.config.teacher_forcing
                tokens = torch.where(use_own & (tgt_in[:, t] != PAD_ID), own, tgt_in[:, t])
            step, state = self.decode_step(tokens, state, memory)
            logits.append(step)
        return torch.stack(logits, 1)


def _map(fn, state):
    if isinstance(state, Tensor):
        return fn(state)
    return tuple(_map(fn, s) for s in state)
