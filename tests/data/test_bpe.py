"""Byte-level BPE from the tokenizers library: exact round trip, save/load, bad input."""
import pytest

from rnnkit.data import bpe
from rnnkit.errors import CheckpointError, InvalidArgumentError

TEXT = ("To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n"
        "The slings and arrows of outrageous fortune,\nOr to take arms against a sea of troubles\n") * 5


def test_round_trip_and_merges(tmp_path):
    tok = bpe.train_bpe([TEXT], vocab_size=300)
    assert bpe.MIN_VOCAB <= bpe.vocab_size(tok) <= 300
    for text in (TEXT, "  two  spaces\n\nand newlines ", "unseen: ünïcödé ✓"):
        assert bpe.decode(tok, bpe.encode(tok, text)) == text
    ids = bpe.encode(tok, "the question")
    assert len(ids) < len("the question")                          # merges learnt
    path = bpe.save_bpe(tok, tmp_path / "tokenizer.json")
    back = bpe.load_bpe(path)
    assert bpe.encode(back, TEXT) == bpe.encode(tok, TEXT)
    assert bpe.vocab_size(back) == bpe.vocab_size(tok)
    assert tok.token_to_id("[PAD]") == 0 and tok.token_to_id("[UNK]") == 1


def test_bad_vocab_size_and_files(tmp_path):
    for bad in (10, bpe.MIN_VOCAB - 1, 2.5, True):
        with pytest.raises(InvalidArgumentError, match="vocab_size"):
            bpe.train_bpe([TEXT], vocab_size=bad)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not a tokenizers BPE file"):
        bpe.load_bpe(tmp_path / "bad.json")
    with pytest.raises(CheckpointError, match="cannot be read"):
        bpe.load_bpe(tmp_path / "missing.json")
