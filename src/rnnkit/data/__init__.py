"""Data for rnnkit: windows over time series, series preparation, dataset loaders."""
from rnnkit.data.windows import Windows, WindowBatches, windows_view

__all__ = ["Windows", "WindowBatches", "windows_view"]
