"""The package version, in one place (read by ``rnnkit --version`` and ``rnnkit.__version__``)."""
__version__ = "0.1.0"
