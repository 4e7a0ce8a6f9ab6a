"""``python -m rnnkit``: the ``rnnkit`` command (so ``torchrun ... -m rnnkit`` works too).

    >>> import subprocess, sys
    >>> subprocess.run([sys.executable, "-m", "rnnkit", "--version"], capture_output=True,
    ...                text=True).stdout.startswith("rnnkit ")
    True
"""
import sys

from rnnkit.cli import main

if __name__ == "__main__":
    sys.exit(main())
