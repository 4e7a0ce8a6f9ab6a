"""tests/fuzz: make fuzz_helpers importable (the suite runs with --import-mode=importlib)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
