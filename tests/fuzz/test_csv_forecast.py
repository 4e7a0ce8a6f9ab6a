"""Forecast CSVs (rnnkit.data.series / prepared, ``rnnkit forecast --csv``) fuzzed: random bytes,
damaged and oddly encoded CSVs, huge and empty fields, huge numbers, NaN/inf, bad times."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, strategies as st

from fuzz_helpers import FIELDS, cli_fails_cleanly, csv_text, file_bytes, fuzz_settings, outcome
from rnnkit.data import PreparedSeries, prepare_series
from rnnkit.data.series import clean_series

HEADER = ["time", "temp", "wind", "station"]


@st.composite
def valid_rows(draw):
    hour = draw(st.integers(0, 40))
    t = (pd.Timestamp("2020-01-01") + pd.Timedelta(hours=hour)).strftime("%Y-%m-%d %H:%M:%S")
    num = st.one_of(st.floats(-100, 100).map(repr), st.sampled_from(("", "nan", "1e308", "-0.0")))
    return [t, draw(num), draw(num), draw(st.sampled_from(("A", "B", "")))]


def hourly_text(rows: int = 40) -> str:
    lines = [",".join(HEADER)] + [f"2020-01-01 {h % 24:02d}:00:00".replace("01-01", f"01-{1 + h // 24:02d}")
                                  + f",{np.sin(h):.3f},{h % 5},A" for h in range(rows)]
    return "\n".join(lines) + "\n"


CSV_BYTES = file_bytes(st.one_of(csv_text(HEADER, valid_row=valid_rows(), max_rows=30),
                                 csv_text(HEADER, FIELDS, max_rows=6), st.just(hourly_text())), gz=True)
OPTIONS = st.fixed_dictionaries({
    "group": st.sampled_from((None, "station")), "resample": st.sampled_from((None, "1h", "3h")),
    "duplicates": st.sampled_from(("error", "mean", "last")), "nan": st.sampled_from(("interpolate", "refuse")),
    "max_gap": st.sampled_from((None, "5h")), "time_format": st.sampled_from((None, "%Y-%m-%d %H:%M:%S")),
    "encoding": st.sampled_from((None, None, "latin-1", "utf-16"))})


@fuzz_settings(3)
@given(CSV_BYTES, OPTIONS)
def test_clean_series_gives_clean_frames_or_a_documented_error(tmp_path, data, options):
    path = tmp_path / "series.csv"
    path.write_bytes(data)
    out = outcome(clean_series, str(path), time="time", target="temp", features=["temp", "wind"], **options)
    if isinstance(out, dict):
        for frame in out.values():
            assert frame.index.is_monotonic_increasing and frame.index.is_unique
            assert np.isfinite(frame.to_numpy()).all() or options["nan"] == "interpolate"
            assert not np.isinf(frame.to_numpy()).any()


@fuzz_settings(2)
@given(CSV_BYTES, OPTIONS)
def test_prepare_series_gives_scaled_parts_or_a_documented_error(tmp_path, data, options):
    path = tmp_path / "series.csv"
    path.write_bytes(data)
    out = outcome(prepare_series, str(path), time="time", target="temp", features=["temp", "wind"],
                  split=(0.5, 0.25, 0.25), **options)
    if isinstance(out, PreparedSeries):
        for part in out.parts.values() if isinstance(out.parts, dict) else ():
            for a in part.values() if isinstance(part, dict) else ():
                assert not np.isinf(np.asarray(a, dtype=float)).any()


CLI_CASES = {
    "random bytes": bytes(range(256)) * 4,
    "utf-16 with BOM": hourly_text().encode("utf-16"),
    "latin-1 bytes": hourly_text().replace("A\n", "Zürich\n").encode("latin-1"),
    "NUL bytes": hourly_text().encode()[:200] + b"\x00" * 50,
    "empty": b"",
    "header only": b"time,temp,wind,station\n",
    "truncated gzip": __import__("gzip").compress(hourly_text().encode())[:40],
    "an infinite value": hourly_text().replace("0.841", "inf").encode(),
    "a huge number": hourly_text().replace("0.841", "9" * 400).encode(),
    "a huge field": hourly_text().replace("0.841", "x" * 100000).encode(),
    "unparseable time": hourly_text().replace("2020-01-01 05:00:00", "2020-13-45 99:00").encode(),
}


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_cli_forecast_csv_exits_2_without_writing(tmp_path, capsys, case):
    path = tmp_path / ("series.csv.gz" if "gzip" in case else "series.csv")
    path.write_bytes(CLI_CASES[case])
    cli_fails_cleanly(["forecast", "--csv", path, "--time-col", "time", "--target", "temp", "--lookback", "4",
                       "--delay", "1", "--epochs", "1", "--out", tmp_path / "run"], capsys)
    assert not (tmp_path / "run").exists()
