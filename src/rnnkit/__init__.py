"""rnnkit: recurrent neural networks over sequences, on PyTorch.

    >>> import torch, rnnkit
    >>> layer = rnnkit.GRU(14, 32, recurrent_dropout=0.2)
    >>> out, h = layer(torch.randn(4, 10, 14), lengths=torch.tensor([10, 3, 7, 1]))
    >>> tuple(out.shape), tuple(h.shape)
    ((4, 10, 32), (1, 4, 32))
"""
from rnnkit._version import __version__

from rnnkit.errors import CheckpointError, DataError, InvalidArgumentError, RnnkitError, StorageError
from rnnkit.layers import (GRU, LSTM, RNN, AdditiveAttention, DotAttention, GRUCell, LSTMCell, SimpleRNN,
                           SimpleRNNCell, TorchCell, summary)
from rnnkit.data import (PreparedSeries, Scaler, Windows, load_weather, prepare_series,
                         prepare_weather)
from rnnkit.models import (ClassifierConfig, Forecaster, ForecasterConfig, LanguageModel, Seq2Seq, Seq2SeqConfig,
                           SequenceClassifier, Tagger, TaggerConfig)
from rnnkit.training import (Callback, EarlyStopping, History, TrainConfig, Trainer, create_run_dir,
                             fit, load_run, plot_forecast, plot_history, save_run)
from rnnkit.load import Predictor, load_model, load_predictor
from rnnkit.export.streaming import Streamer

_API = ("forecast", "classify", "tag", "lm", "translate", "open_run", "Run")


def __getattr__(name: str):
    """The notebook API (:mod:`rnnkit.api`), imported on first use: ``rnnkit.forecast(df, ...)``."""
    if name in _API:
        from rnnkit import api

        return getattr(api, name)
    raise AttributeError(f"module 'rnnkit' has no attribute {name!r}")


__all__ = [
    "forecast", "classify", "tag", "lm", "translate", "open_run", "Run",
    "__version__", "RnnkitError", "InvalidArgumentError", "DataError", "CheckpointError", "StorageError",
    "SimpleRNN", "LSTM", "GRU", "SimpleRNNCell", "LSTMCell", "GRUCell", "summary",
    "RNN", "TorchCell", "AdditiveAttention", "DotAttention",
    "Windows", "PreparedSeries", "Scaler", "prepare_series", "prepare_weather", "load_weather",
    "Forecaster", "ForecasterConfig", "SequenceClassifier", "ClassifierConfig", "Tagger", "TaggerConfig",
    "LanguageModel", "Seq2Seq", "Seq2SeqConfig", "load_model", "load_predictor", "Predictor", "Streamer",
    "Trainer", "TrainConfig", "fit", "History", "EarlyStopping", "Callback", "create_run_dir",
    "save_run", "load_run", "plot_forecast", "plot_history",
]
