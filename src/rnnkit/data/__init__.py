"""Data for rnnkit: windows over time series, series preparation, text preparation (tokenisers,
vocabulary, embeddings) and dataset loaders (IMDB, MNIST IDX, UEA/UCR .ts, CoNLL, Jena, weather).

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
from rnnkit.data.tokenize import word_tokens, char_tokens, tokenize
from rnnkit.data.vocabulary import Vocabulary
from rnnkit.data.text_encoder import TextEncoder
from rnnkit.data.embeddings import (WordVectors, read_vectors_text, load_vectors, load_glove_package,
                                    load_glove_6b, glove_6b_zip, embedding_matrix, coverage_message)
from rnnkit.data.safe_extract import safe_extract_tar, safe_extract_zip
from rnnkit.data.imdb import load_imdb_dir, download_imdb, load_movie_reviews
from rnnkit.data.mnist_idx import read_idx, load_mnist_idx, load_mnist_5k
from rnnkit.data.ucr import read_ts, pad_series, japanese_vowels, uea_dataset
from rnnkit.data.conll import read_conll, wnut16
from rnnkit.data.package_data import PackageData, find_package_file
from rnnkit.data.pairs import read_pairs
from rnnkit.data.libreoffice import read_libreoffice_pairs
from rnnkit.data.streams import StreamBatches
from rnnkit.data.shakespeare import load_embedded_shakespeare

__all__ = [
    "Windows", "WindowBatches", "windows_view",
    "wind_vector", "angle_sin_cos", "time_features", "Scaler", "split_rows",
    "clean_series", "read_table", "parse_times", "PreparedSeries", "prepare_series",
    "load_weather", "load_stations", "prepare_weather",
    "cache_dir", "download", "sha256_file", "load_jena", "jena_path", "jena_float_data", "prepare_jena",
    "word_tokens", "char_tokens", "tokenize", "Vocabulary", "TextEncoder",
    "WordVectors", "read_vectors_text", "load_vectors", "load_glove_package", "load_glove_6b", "glove_6b_zip",
    "embedding_matrix", "coverage_message", "safe_extract_tar", "safe_extract_zip",
    "load_imdb_dir", "download_imdb", "load_movie_reviews", "read_idx", "load_mnist_idx", "load_mnist_5k",
    "read_ts", "pad_series", "japanese_vowels", "uea_dataset", "read_conll", "wnut16",
    "PackageData", "find_package_file", "read_pairs", "read_libreoffice_pairs",
    "StreamBatches", "load_embedded_shakespeare",
]
