"""Task models built from rnnkit layers: forecaster, sequence classifier, tagger, language model,
encoder-decoder (seq2seq), and the forecasting baselines.

    >>> from rnnkit.models import Forecaster, ForecasterConfig
    >>> Forecaster(ForecasterConfig(n_features=3)).config.cell
    'gru'
"""
from rnnkit.models.baselines import BASELINES, all_baselines, common_sense, mean_baseline, seasonal_naive
from rnnkit.models.forecaster import Forecaster, ForecasterConfig
from rnnkit.models.classifier import ClassifierConfig, SequenceClassifier
from rnnkit.models.tagger import Tagger, TaggerConfig
from rnnkit.models.language_model import LanguageModel
from rnnkit.models.seq2seq import Seq2Seq, Seq2SeqConfig
from rnnkit.models.decoding import beam_search, greedy_decode

__all__ = ["Forecaster", "ForecasterConfig", "BASELINES", "all_baselines", "common_sense",
           "seasonal_naive", "mean_baseline", "SequenceClassifier", "ClassifierConfig", "Tagger",
           "TaggerConfig", "LanguageModel", "Seq2Seq", "Seq2SeqConfig", "greedy_decode", "beam_search"]
