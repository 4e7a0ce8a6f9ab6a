"""Shared pieces of the reader fuzz tests: the hypothesis settings, byte strategies (random
bytes, truncations and mutations of valid files, odd encodings), and the one property every
reader must have: a valid result or an :class:`rnnkit.errors.RnnkitError` of one short paragraph,
within a time limit.

Examples per test: ``FUZZ_EXAMPLES`` times the test's weight (default 40; e.g.
``RNNKIT_FUZZ_EXAMPLES=300 pytest tests/fuzz`` for a long local hunt). Under CI (``CI=true``) the
examples are derandomized (the same inputs every run, about 2,200 of them); elsewhere each run
draws new ones. The example database is never written (``database=None``). Hangs: hypothesis'
``deadline`` only judges an example after it returns and fails on a merely busy machine, so it is
off; every reader call runs under :func:`time_limit` instead (SIGALRM: a call still running after
20 s, 60 s for a whole CLI command, fails the test).
"""
from __future__ import annotations

import codecs
import contextlib
import gzip
import json
import os
import signal

from hypothesis import HealthCheck, settings, strategies as st

from rnnkit.errors import RnnkitError

FUZZ_EXAMPLES = int(os.environ.get("RNNKIT_FUZZ_EXAMPLES", "40"))
TIME_LIMIT = 20.0         # seconds per reader call: a hang fails the test instead of blocking CI


def fuzz_settings(scale: float = 1.0) -> settings:
    """The settings of one fuzz test; ``scale`` weighs its share of the examples."""
    return settings(max_examples=max(5, int(FUZZ_EXAMPLES * scale)), deadline=None, database=None,
                    derandomize=os.environ.get("CI", "").lower() in ("1", "true", "yes"),
                    suppress_health_check=list(HealthCheck), print_blob=True)


@contextlib.contextmanager
def time_limit(seconds: float = TIME_LIMIT):
    """Raise TimeoutError in the main thread when the block runs longer than ``seconds``."""
    def alarm(signum, frame):
        raise TimeoutError(f"a reader ran longer than {seconds} s on one input (a hang?)")
    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def check_message(e: BaseException) -> str:
    """The error's text, asserted to be one short paragraph."""
    msg = str(e)
    assert msg.strip(), f"{type(e).__name__} with an empty message"
    assert "\n\n" not in msg, f"more than one paragraph: {msg!r}"
    assert "Traceback" not in msg, msg
    assert len(msg) < 2500, f"a {len(msg)}-character message (input echoed?): {msg[:300]!r}..."
    return msg


def outcome(fn, *args, **kwargs):
    """``fn(*args, **kwargs)``: its result, or the RnnkitError it raised (checked to be one
    paragraph). Any other exception, or a run longer than :data:`TIME_LIMIT`, fails the test."""
    with time_limit():
        try:
            return fn(*args, **kwargs)
        except RnnkitError as e:
            check_message(e)
            return e


def cli_fails_cleanly(argv: list[str], capsys) -> str:
    """``rnnkit ARGV`` in-process: exit 2, one ``rnnkit: error:`` line, no traceback."""
    from rnnkit.cli import main
    capsys.readouterr()
    with time_limit(60):
        code = main([str(a) for a in argv])
    out = capsys.readouterr()
    assert code == 2, (code, out.err[-2000:])
    assert "Traceback" not in out.err and "Traceback" not in out.out, out.err
    assert out.err.count("rnnkit: error: ") == 1, out.err
    message = out.err.split("rnnkit: error: ", 1)[1]
    assert message.strip() and "\n\n" not in message.strip(), f"not one paragraph: {out.err!r}"
    assert len(message) < 2500, f"a {len(message)}-character message (input echoed?): {message[:300]!r}..."
    return message


def cli_outcome(argv: list[str], capsys) -> int:
    """``rnnkit ARGV`` in-process: exit 0, or exit 2 with one ``rnnkit: error:`` paragraph; never
    a traceback, never another code."""
    from rnnkit.cli import main
    capsys.readouterr()
    with time_limit(60):
        code = main([str(a) for a in argv])
    out = capsys.readouterr()
    assert code in (0, 2), (code, out.err[-2000:])
    assert "Traceback" not in out.err and "Traceback" not in out.out, out.err
    if code == 2:
        assert out.err.count("rnnkit: error: ") == 1, out.err
        message = out.err.split("rnnkit: error: ", 1)[1]
        assert "\n\n" not in message.strip() and len(message) < 2500, message[:300]
    return code


# ---------------------------------------------------------------------------------------------
# byte strategies

ODD_ENCODINGS = ("utf-16", "utf-16-le", "utf-16-be", "utf-32", "latin-1", "cp1252", "utf-8-sig", "mac_roman",
                 "shift_jis")
BAD_BYTES = (b"\x00", b"\xff", b"\xfe\xff", b"\xc3\x28", b"\xe2\x82", b"\xed\xa0\x80", b"\x80", b"\r", b"\x1a",
             b"\xef\xbb\xbf", b"\x85", b"\xe2\x80\xa8")


def _encode(text: str, encoding: str) -> bytes:
    return codecs.encode(text, encoding, errors="replace")


@st.composite
def mutated(draw, data: bytes) -> bytes:
    """``data`` truncated, with bytes flipped, inserted, deleted or a slice repeated."""
    kind = draw(st.sampled_from(("truncate", "flip", "insert", "delete", "repeat", "bad", "tail")))
    n = len(data)
    i = draw(st.integers(0, n))
    if kind == "truncate":
        return data[:i]
    if kind == "tail":
        return data[i:]
    if kind == "flip" and n:
        i = min(i, n - 1)
        return data[:i] + bytes([data[i] ^ draw(st.integers(1, 255))]) + data[i + 1:]
    if kind == "insert":
        return data[:i] + draw(st.binary(min_size=1, max_size=16)) + data[i:]
    if kind == "delete":
        return data[:i] + data[i + draw(st.integers(1, 64)):]
    if kind == "repeat":
        j = draw(st.integers(i, n))
        return data[:j] + data[i:j] * draw(st.integers(2, 50)) + data[j:]
    return data[:i] + draw(st.sampled_from(BAD_BYTES)) + data[i:]


def file_bytes(texts: st.SearchStrategy, gz: bool = False) -> st.SearchStrategy:
    """Bytes of a file: ``texts`` (strings of valid-looking content) in UTF-8, in an odd encoding,
    mutated; or random bytes; gzipped too when ``gz``."""
    utf8 = texts.map(lambda t: t.encode("utf-8", "surrogatepass"))
    odd = st.builds(_encode, texts, st.sampled_from(ODD_ENCODINGS))
    base = st.one_of(utf8, utf8, odd, utf8.flatmap(mutated), st.binary(max_size=600),
                     st.sampled_from((b"", b"\n", b"\r\n", b"\x00" * 64, b"\xef\xbb\xbf", b"\xff\xfe")))
    if gz:
        return st.one_of(base, base.map(gzip.compress), base.map(gzip.compress).flatmap(mutated))
    return base


# ---------------------------------------------------------------------------------------------
# field and JSON strategies

NUMBERS = st.one_of(
    st.integers(-10**6, 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(("nan", "NaN", "inf", "-inf", "Infinity", "1e999", "-1e999", "1e-320", "9" * 400, "-0",
                     "0x1F", "1_000", "1,5", " 3 ", "+7", ".", "-", "e5", "1e", "١٢٣", "NA", "null", "None", "?")))
FIELDS = st.one_of(NUMBERS, st.just(""), st.text(max_size=12),
                   st.sampled_from(("x" * 70000, "\"", "\"a,b\"", "\"line\nbreak\"", "a\tb", "\x00", "\ufeff",
                                    "\u2028", "💥", "é", "2013-01-01 00:00:00", "01/02/2003", "2013-13-45", "0",
                                    "1e18", "99999999999999999999", "-99999999999999999999")))


def csv_text(header: list[str], fields=FIELDS, max_rows: int = 12, valid_row=None) -> st.SearchStrategy:
    """CSV text with ``header`` and rows of fuzzed fields (some rows ragged), optionally mixed
    with rows drawn from ``valid_row`` (a strategy of lists of field texts)."""
    width = len(header)
    fuzz_row = st.lists(fields, min_size=max(0, width - 1), max_size=width + 1)
    row = fuzz_row if valid_row is None else st.one_of(valid_row, valid_row, valid_row, fuzz_row)
    return st.lists(row, max_size=max_rows).map(
        lambda rows: "\n".join([",".join(header)] + [",".join(r) for r in rows]) + "\n")


JSON_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-2**70, 2**70),
                        st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
                        st.sampled_from(("x" * 5000, "", "../../etc", "/abs", "\x00", "💥")))
JSON_VALUES = st.recursive(JSON_LEAVES, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=12)


def deep_json(depth: int, kind: str = "[") -> str:
    """JSON nested ``depth`` deep (past Python's recursion limit for depth >= ~1000)."""
    if kind == "[":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


def json_bytes(valid: st.SearchStrategy) -> st.SearchStrategy:
    """Bytes of a JSON file: ``valid`` (dicts) with fuzzed values, their text mutated or oddly
    encoded, random JSON of any type, deep nesting, NaN/Infinity literals, random bytes."""
    def dump(v):
        return json.dumps(v, allow_nan=True)
    texts = st.one_of(valid.map(dump), valid.map(dump), JSON_VALUES.map(dump),
                      st.sampled_from((deep_json(50), deep_json(100000), deep_json(100000, "{"), "NaN", "[1e999]", "[" + "1" * 5000 + "]",
                                       '{"a": 1, "a": 2}', "{", "", "null", "\ufeff{}")))
    return file_bytes(texts)


@st.composite
def fuzzed_dict(draw, valid: dict) -> dict:
    """``valid`` with a few fields replaced by random JSON values, dropped, or added."""
    d = dict(valid)
    for key in draw(st.lists(st.sampled_from(sorted(valid) or ["k"]), max_size=3, unique=True)):
        action = draw(st.sampled_from(("replace", "replace", "drop", "nest")))
        if action == "replace":
            d[key] = draw(JSON_VALUES)
        elif action == "drop":
            d.pop(key, None)
        else:
            d[key] = {"x": d.get(key)}
    if draw(st.booleans()) and draw(st.booleans()):
        d[draw(st.text(max_size=6))] = draw(JSON_LEAVES)
    return d
