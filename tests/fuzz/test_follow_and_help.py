"""Two more readers fuzzed: the growing CSV of ``rnnkit predict --follow`` (rnnkit.export.follow,
its first read; stopped by an idle timeout) and the LibreOffice help pages of ``rnnkit translate
train --libreoffice-help`` (rnnkit.data.libreoffice)."""
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, strategies as st

from fuzz_helpers import FIELDS, csv_text, file_bytes, fuzz_settings, mutated, outcome
from rnnkit.data.libreoffice import read_libreoffice_pairs
from rnnkit.errors import RnnkitError

HOURS = np.arange(40)
SERIES = "time,temp,wind\n" + "".join(f"2020-01-{1 + h // 24:02d} {h % 24:02d}:00:00,{10 + 5 * np.sin(h / 4):.3f},"
                                      f"{np.cos(h / 7):.3f}\n" for h in HOURS)


@pytest.fixture(scope="module")
def csv_run(tmp_path_factory):
    """A tiny forecasting run trained on an hourly CSV (follow needs one)."""
    from rnnkit.tasks.forecast import ForecastJob, run_forecast
    root = tmp_path_factory.mktemp("follow")
    (root / "series.csv").write_text(SERIES * 1, encoding="utf-8")
    long = "time,temp,wind\n" + "".join(f"2020-02-{1 + h // 24:02d} {h % 24:02d}:00:00,{np.sin(h / 4):.3f},{h % 3}\n"
                                        for h in range(200))
    (root / "train.csv").write_text(long, encoding="utf-8")
    run_forecast(ForecastJob(csv=str(root / "train.csv"), time_col="time", target="temp", lookback=6, delay=1, units=2,
                             epochs=1, steps_per_epoch=1, quiet=True, out=str(root / "run")), log=lambda *a, **k: None)
    return root / "run"


FOLLOWED = file_bytes(st.one_of(st.just(SERIES), st.just(SERIES.encode()).flatmap(mutated).map(
    lambda b: b.decode("utf-8", "replace")), csv_text(["time", "temp", "wind"], FIELDS, max_rows=4)))


@fuzz_settings(0.75)
@given(st.one_of(FOLLOWED, st.just(SERIES.encode()).flatmap(mutated)))
def test_follow_reads_a_fuzzed_csv_or_a_documented_error(tmp_path, csv_run, data):
    from rnnkit.export.follow import follow
    path = tmp_path / "growing.csv"
    path.write_bytes(data)
    out = outcome(follow, csv_run, path, poll=0.01, idle_timeout=0.02, out=lambda *a, **k: None)
    assert isinstance(out, (RnnkitError, list))


APPENDED = file_bytes(st.one_of(st.just("2020-01-02 16:00:00,1.5,0.2\n2020-01-02 17:00:00,1.7,0.1\n"),
                                csv_text(["2020-01-02 16:00:00"], FIELDS, max_rows=3).map(lambda t: t.split("\n", 1)[1]),
                                st.text(max_size=30)))


@fuzz_settings(0.5)
@given(APPENDED)
def test_follow_reads_fuzzed_appended_rows_or_a_documented_error(tmp_path, csv_run, data):
    """Rows appended while following: the ``stop`` callback appends them once, then ends the loop."""
    from rnnkit.export.follow import follow
    path = tmp_path / "growing.csv"
    path.write_text(SERIES, encoding="utf-8")
    calls = []

    def stop():
        calls.append(1)
        if len(calls) == 1:
            with path.open("ab") as f:
                f.write(data)
        return len(calls) > 3

    out = outcome(follow, csv_run, path, poll=0.01, stop=stop, out=lambda *a, **k: None)
    assert isinstance(out, (RnnkitError, list))


PAGE = st.one_of(st.just('<html><body><p id="par_id1">The <b>Find</b> bar</p><h1 id="hd_1">Title</h1></body></html>'),
                 st.text(max_size=60), st.just("<p id='a'>" * 2000), st.just('<p id="x">&#99999999;&bogus;</p>'),
                 st.just('<p id="par_id1"><p id="par_id1">nested</p></p>'))


@fuzz_settings(0.75)
@given(file_bytes(PAGE), file_bytes(PAGE))
def test_libreoffice_help_pages_give_pairs_or_a_data_error(tmp_path, en, fr):
    for lang, data in (("en-US", en), ("fr", fr)):
        page = tmp_path / lang / "text" / "shared" / "find.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_bytes(data)
    out = outcome(read_libreoffice_pairs, tmp_path)
    if not isinstance(out, RnnkitError):
        assert out and all(a and b for a, b in out)


@pytest.mark.parametrize("data", [SERIES.encode("utf-16"), b"time,temp,wind\n1,2\n3,4,5,6\n", b"\x00" * 40, b"",
                                  SERIES.replace("10.000", "inf").encode()])
def test_cli_follow_of_a_bad_file_exits_2(tmp_path, capsys, csv_run, data):
    from fuzz_helpers import cli_fails_cleanly
    path = tmp_path / "growing.csv"
    path.write_bytes(data)
    cli_fails_cleanly(["predict", "--run", csv_run, "--follow", path], capsys)
