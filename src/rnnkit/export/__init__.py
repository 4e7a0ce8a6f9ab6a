"""Deployment: ONNX export (:mod:`rnnkit.export.onnx`, ``rnnkit export``), streaming inference one
observation at a time (:mod:`rnnkit.export.streaming`), and forecasting from a growing CSV
(:mod:`rnnkit.export.follow`). Import the modules by their full path; nothing heavy is imported here.

    >>> import rnnkit.export.onnx as onnx_export
    >>> onnx_export.DEFAULT_OPSET
    18
"""
