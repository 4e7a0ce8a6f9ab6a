"""rnnkit: recurrent neural networks over sequences, on PyTorch.

    >>> import torch, rnnkit
    >>> layer = rnnkit.GRU(14, 32, recurrent_dropout=0.2)
    >>> out, h = layer(torch.randn(4, 10, 14), lengths=torch.tensor([10, 3, 7, 1]))
    >>> tuple(out.shape), tuple(h.shape)
    ((4, 10, 32), (1, 4, 32))
"""
__version__ = "0.1.0"

from rnnkit.errors import CheckpointError, DataError, InvalidArgumentError, RnnkitError, StorageError
from rnnkit.layers import GRU, LSTM, GRUCell, LSTMCell, SimpleRNN, SimpleRNNCell, summary
from rnnkit.data import (PreparedSeries, Scaler, Windows, load_weather, prepare_series,
                         prepare_weather)
from rnnkit.models import Forecaster, ForecasterConfig
from rnnkit.training import (Callback, EarlyStopping, History, TrainConfig, Trainer, create_run_dir,
                             fit, load_run, plot_forecast, plot_history, save_run)

__all__ = [
    "__version__", "RnnkitError", "InvalidArgumentError", "DataError", "CheckpointError", "StorageError",
    "SimpleRNN", "LSTM", "GRU", "SimpleRNNCell", "LSTMCell", "GRUCell", "summary",
    "Windows", "PreparedSeries", "Scaler", "prepare_series", "prepare_weather", "load_weather",
    "Forecaster", "ForecasterConfig",
    "Trainer", "TrainConfig", "fit", "History", "EarlyStopping", "Callback", "create_run_dir",
    "save_run", "load_run", "plot_forecast", "plot_history",
]
