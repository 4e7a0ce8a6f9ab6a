"""ONNX export of a forecasting run (``rnnkit export`` on a ``forecast`` run): the
:class:`~rnnkit.models.Forecaster` with inputs ``x`` (batch, time, features) float32 and, for a
recurrent body, ``lengths`` (batch,) int64; output ``y``. Batch and time are dynamic (time too for a
conv body or a conv front-end, whose pooled length the graph computes), except for the dense body,
which reads exactly the trained window. The metadata (see
:mod:`rnnkit.export.onnx`) holds the scaler, the feature order and the window.

    >>> from pathlib import Path
    >>> files(Path("out/weather.onnx"))
    [PosixPath('out/weather.onnx')]
"""
from __future__ import annotations

from pathlib import Path

from rnnkit.export.onnx import export_module
from rnnkit.load import load_predictor

USAGE = ("Scale each raw row: (value - mean) / std with rnnkit.scaler for the data columns (and rnnkit.static_scaler "
         "for static columns, repeated on every row), in the order of rnnkit.features. Feed x = the last "
         "lookback rows taken every step-th row (batch, lookback // step, features) float32 and lengths (batch,) "
         "int64 (the number of valid leading rows, lookback // step for full windows). The forecast y is in scaled "
         "target units: y * std + mean of the target column gives it in the target's units, delay rows after the "
         "last row (horizon values, step rows apart).")


def forecast_metadata(predictor) -> dict:
    """The metadata_props of a forecasting run (see the module docstring)."""
    return {"rnnkit.task": "forecast", "rnnkit.features": predictor.features,
            "rnnkit.scaler": predictor.scaler.to_dict(),
            "rnnkit.static_scaler": predictor.static_scaler.to_dict() if predictor.static_scaler else None,
            "rnnkit.target": predictor.target,
            "rnnkit.window": {"lookback": predictor.lookback, "step": predictor.step, "delay": predictor.delay,
                              "horizon": predictor.horizon, "steps": predictor.n_steps},
            "rnnkit.model": predictor.model.config.to_dict(), "rnnkit.usage": USAGE}


def export(run_dir, paths: list[Path], opset: int) -> list[Path]:
    """Write the run's forecaster to ``paths[0]`` (checked by :func:`rnnkit.export.onnx.export_run`)."""
    p = load_predictor(run_dir)
    cfg = p.model.config
    recurrent = cfg.cell in ("rnn", "lstm", "gru")
    # time is dynamic for every body but the dense one, which flattens exactly the trained steps
    dynamic = cfg.cell != "dense"
    return [export_module(p.model, paths[0], n_features=cfg.n_features, lengths=recurrent,
                          example_time=max(p.n_steps, 2 * cfg.pool_size + 2) if dynamic else p.n_steps,
                          dynamic_time=dynamic, opset=opset, metadata=forecast_metadata(p),
                          force=True)]       # the destination was checked by export_run


def files(path: Path) -> list[Path]:
    """The one file ``--onnx FILE`` writes for a forecasting run."""
    return [path]
