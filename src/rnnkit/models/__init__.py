"""rnnkit.models (in progress)."""
