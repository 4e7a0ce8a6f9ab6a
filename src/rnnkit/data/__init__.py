"""Data for rnnkit: windows over time series, series preparation, dataset loaders.

>>> from rnnkit.data import prepare_weather
>>> p = prepare_weather(stations=["JFK"])
>>> x, y = next(iter(p.windows("train", lookback=24).batches(batch_size=32)))
>>> tuple(x.shape), tuple(y.shape)          # 13 features + lat, lon, alt; 1 target
((32, 24, 16), (32, 1))
"""
from rnnkit.data.windows import Windows, WindowBatches, windows_view
from rnnkit.data.encodings import wind_vector, angle_sin_cos, time_features
from rnnkit.data.scaling import Scaler
from rnnkit.data.splits import split_rows
from rnnkit.data.series import clean_series, read_table
from rnnkit.data.times import parse_times
from rnnkit.data.prepared import PreparedSeries, prepare_series
from rnnkit.data.weather import load_weather, load_stations, prepare_weather
from rnnkit.data.download import cache_dir, download, sha256_file
from rnnkit.data.jena import load_jena, jena_path, jena_float_data, prepare_jena

__all__ = [
    "Windows", "WindowBatches", "windows_view",
    "wind_vector", "angle_sin_cos", "time_features", "Scaler", "split_rows",
    "clean_series", "read_table", "parse_times", "PreparedSeries", "prepare_series",
    "load_weather", "load_stations", "prepare_weather",
    "cache_dir", "download", "sha256_file", "load_jena", "jena_path", "jena_float_data", "prepare_jena",
]
