"""The demo, ``python -m sklearn_hessian``, runs and prints a row per solver."""

import subprocess
import sys

SOLVER_NAMES = ["auto", "newton", "newton-cg", "lbfgs", "newton-cholesky"]


def test_demo_runs_and_prints_every_solver(tmp_path):
    # Run outside the source tree so that the installed package is what runs.
    result = subprocess.run(
        [sys.executable, "-m", "sklearn_hessian"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    for solver in SOLVER_NAMES:
        assert any(solver in row for row in rows), (
            f"no row for solver {solver!r}:\n{result.stdout}"
        )
    for estimator in ("HessianClassifier", "HessianRegressor"):
        assert any(row[:1] == [estimator] for row in rows), result.stdout
    assert "Traceback" not in result.stderr
