"""Every gallery example, ``examples/plot_*.py``, runs to completion.

Each runs as a script in a fresh interpreter, the way a user who downloads it would
run it, from a temporary directory (so that files it writes land there and the
installed package, not the source tree, is imported), with matplotlib's
non-interactive Agg backend. The documentation build runs them again through
sphinx-gallery; keep each to a few seconds.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("plot_*.py")) if EXAMPLES_DIR.is_dir() else []


def test_examples_are_found():
    if not EXAMPLES_DIR.is_dir():
        pytest.skip("no examples/ directory beside tests/ (not a source checkout)")
    assert EXAMPLES, f"no plot_*.py in {EXAMPLES_DIR}"


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(script, tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg")
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (
        f"{script.name} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    )
    assert "Traceback" not in result.stderr, result.stderr[-5000:]
