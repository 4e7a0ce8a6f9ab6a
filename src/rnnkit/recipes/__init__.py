"""rnnkit.recipes (in progress)."""
