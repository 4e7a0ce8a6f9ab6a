"""``python -m rnnkit`` is the rnnkit command: same output, same exit codes."""
import subprocess
import sys

import rnnkit


def _run(*args):
    return subprocess.run([sys.executable, "-m", "rnnkit", *args], capture_output=True, text=True, timeout=120)


def test_version():       # --help and the subcommands are the same parser: rnnkit.cli.main
    r = _run("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"rnnkit {rnnkit.__version__}"


def test_bad_input_exits_2_with_one_paragraph(tmp_path):
    r = _run("predict", "--run", str(tmp_path / "missing"))
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("rnnkit: error:") and "Traceback" not in r.stderr
