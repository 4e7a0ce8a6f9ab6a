"""Task models built from rnnkit layers: forecaster and baselines.

    >>> from rnnkit.models import Forecaster, ForecasterConfig
    >>> Forecaster(ForecasterConfig(n_features=3)).config.cell
    'gru'
"""
from rnnkit.models.baselines import BASELINES, all_baselines, common_sense, mean_baseline, seasonal_naive
from rnnkit.models.forecaster import Forecaster, ForecasterConfig

__all__ = ["Forecaster", "ForecasterConfig", "BASELINES", "all_baselines", "common_sense",
           "seasonal_naive", "mean_baseline"]
