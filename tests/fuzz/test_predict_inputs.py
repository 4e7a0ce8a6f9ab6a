"""The files ``rnnkit predict --run RUN --csv FILE`` reads, fuzzed for a run of each task (the
tiny runs of ``tests/fixtures/old_runs``): new forecast CSVs, texts to classify, ``.ts`` series,
sentences to tag (plain or CoNLL), sources to translate. Each ends in exit 0 with a table or
exit 2 with one paragraph; never a traceback. The run directory is never changed."""
from __future__ import annotations

import gzip
from pathlib import Path

from hypothesis import given, strategies as st

from fuzz_helpers import FIELDS, cli_outcome, csv_text, file_bytes, fuzz_settings, mutated

TESTS = Path(__file__).resolve().parents[1]
OLD = TESTS / "fixtures" / "old_runs"
TINY = TESTS / "tasks" / "fixtures"


def _weather_csv() -> str:
    from rnnkit.data.weather import load_weather
    df = load_weather()
    return df[df.origin == "JFK"].tail(40).to_csv(index=False)


WEATHER = _weather_csv()
INPUTS = {
    "forecast": file_bytes(st.one_of(st.just(WEATHER), st.just(WEATHER).map(str.encode).flatmap(mutated).map(
        lambda b: b.decode("utf-8", "replace")), csv_text(WEATHER.split("\n", 1)[0].split(","), FIELDS, max_rows=5)),
        gz=True),
    "classify": file_bytes(st.one_of(st.just((TINY / "tiny_reviews.csv").read_text(encoding="utf-8")),
                                     csv_text(["review", "sentiment"], FIELDS, max_rows=6),
                                     csv_text(["text"], FIELDS, max_rows=4))),
    "classify_ts": file_bytes(st.one_of(st.just((TINY / "tiny_TEST.ts").read_text(encoding="utf-8")),
                                        st.text(max_size=40))),
    "tag": file_bytes(st.one_of(st.just((OLD / "tag_sentences.txt").read_text(encoding="utf-8")),
                                st.just("John\tB-person\nRome\tO\n\n"), st.text(max_size=40),
                                st.just("word " * 3000 + "\n"))),
    "translate": file_bytes(st.one_of(st.just((OLD / "translate_sources.csv").read_text(encoding="utf-8")),
                                      csv_text(["source"], FIELDS, max_rows=4), st.text(max_size=40),
                                      st.just("source\n" + "x" * 200000 + "\n"), st.just("source\n\x00\n"))),
}


def _snapshot(run: Path) -> dict:
    return {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}


@fuzz_settings(4)
@given(st.sampled_from(sorted(INPUTS)).flatmap(lambda n: st.tuples(st.just(n), INPUTS[n])), st.booleans())
def test_predict_reads_a_fuzzed_input_or_exits_2(tmp_path, capsys, monkeypatch, case, gz):
    monkeypatch.chdir(TESTS.parent)
    name, data = case
    path = tmp_path / ("input.csv.gz" if gz and name == "forecast" else "input.csv")
    path.write_bytes(gzip.compress(data) if gz and name == "forecast" else data)
    before = _snapshot(OLD / name)
    cli_outcome(["predict", "--run", OLD / name, "--csv", path], capsys)
    assert _snapshot(OLD / name) == before
