"""CoNLL files (rnnkit.data.conll, ``rnnkit tag --conll``) fuzzed: random bytes, damaged and oddly
encoded files, bad tags and columns, huge tokens, the tagging data stage after reading."""
import pytest
from hypothesis import given, strategies as st

from fuzz_helpers import cli_fails_cleanly, file_bytes, fuzz_settings, outcome
from rnnkit.data.conll import read_conll
from rnnkit.data.vocabulary import Vocabulary
from rnnkit.errors import RnnkitError
from rnnkit.tasks.tag import TagConfig, encode_sentences, prepare_parts

TOKEN = st.one_of(st.sampled_from(("EU", "rejects", "Peter", "é", "💥", "-DOCSTART-", "x" * 5000, "\u00a0", "a b")),
                  st.text(max_size=6))
TAG = st.one_of(st.sampled_from(("O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "I-ORG", "B-", "X", "o", "B-" + "x" * 3000)),
                st.text(max_size=5))
SEP = st.sampled_from(("\t", " ", "\t", "  ", " \t "))


@st.composite
def conll_text(draw) -> str:
    lines = []
    for _ in range(draw(st.integers(0, 10))):
        for _ in range(draw(st.integers(1, 5))):
            cols = [draw(TOKEN)] + draw(st.lists(st.sampled_from(("NNP", "B-NP", "-X-")), max_size=2)) + [draw(TAG)]
            lines.append(draw(SEP).join(cols[:draw(st.integers(1, len(cols)))] if draw(st.integers(0, 9)) == 0
                                        else cols))
        lines.append(draw(st.sampled_from(("", "", "\t", "   "))))
    if draw(st.booleans()):
        lines.insert(0, "-DOCSTART- -X- O O")
    return "\n".join(lines) + draw(st.sampled_from(("\n", "", "\r\n")))


CONLL_BYTES = file_bytes(st.one_of(conll_text(), conll_text(), st.text(max_size=60)))


@fuzz_settings(2)
@given(CONLL_BYTES, st.sampled_from(("IOB2", "IOB1", None)), st.sampled_from(((0, -1), (0, 1), (1, 0), (0, 5))))
def test_read_conll_gives_sentences_or_a_data_error(tmp_path, data, scheme, cols):
    path = tmp_path / "train.txt"
    path.write_bytes(data)
    out = outcome(read_conll, path, *cols, scheme=scheme)
    if isinstance(out, list):
        assert out and all(len(toks) == len(tags) >= 1 for toks, tags in out)


def _data_stage(config):
    """What ``rnnkit tag`` does with the sentences before building a model."""
    parts = prepare_parts(config)
    vocab = Vocabulary.build([[t.lower() for t in toks] for toks, _ in parts["train"]], max_tokens=config.max_tokens)
    index = {t: i for i, t in enumerate(sorted({t for _, ts in parts["train"] for t in ts}))}
    return {n: encode_sentences(parts[n], vocab, index, True, f"the {n} sentences") for n in parts}


@fuzz_settings(2)
@given(CONLL_BYTES, st.one_of(st.none(), CONLL_BYTES))
def test_tag_data_stage_gives_ids_or_a_documented_error(tmp_path, data, val):
    (tmp_path / "train.txt").write_bytes(data)
    kw = {}
    if val is not None:
        (tmp_path / "val.txt").write_bytes(val)
        kw["val"] = str(tmp_path / "val.txt")
    out = outcome(_data_stage, TagConfig(conll=str(tmp_path / "train.txt"), split=(0.5, 0.25, 0.25), **kw))
    if not isinstance(out, RnnkitError):
        for ids, lengths, y in out.values():
            assert ids.shape == y.shape and (lengths >= 1).all()


GOOD = "EU\tB-ORG\nrejects\tO\nGerman\tB-MISC\n\nPeter\tB-PER\nBlackburn\tI-PER\n\n" * 8
CLI_CASES = {
    "random bytes": bytes(range(256)) * 2,
    "utf-16": GOOD.encode("utf-16"),
    "latin-1": GOOD.replace("German", "Müller").encode("latin-1"),
    "IOB1 as IOB2": GOOD.replace("Peter\tB-PER", "Peter\tI-PER").encode(),
    "a bad tag": GOOD.replace("\tO\n", "\tOUTSIDE\n", 1).encode(),
    "a huge bad tag": GOOD.replace("\tO\n", "\t" + "Q" * 100000 + "\n", 1).encode(),
    "one column": b"EU\nrejects\n\n",
    "empty": b"",
    "only -DOCSTART-": b"-DOCSTART- -X- O O\n\n",
}


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_cli_tag_conll_exits_2_without_writing(tmp_path, capsys, case):
    path = tmp_path / "train.txt"
    path.write_bytes(CLI_CASES[case])
    cli_fails_cleanly(["tag", "--conll", path, "--epochs", "1", "--out", tmp_path / "run"], capsys)
    assert not (tmp_path / "run").exists()
