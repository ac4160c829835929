"""Peak extra memory of ``fit``: at most half the size of X when n >> d.

Measured as the benchmark measures it (``benchmarks/memory.py``: numpy's
allocations traced by ``tracemalloc``) on the benchmark's dense multinomial
problem at its full size (100k x 50, K = 10), where each per-sample array of
the loss (K values a row) is a fifth of X: the tightest of the dense problems.
"""

import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))

import memory  # noqa: E402
import problems  # noqa: E402


@pytest.fixture(scope="module")
def dense_multinomial():
    return problems.get_problem("dense_multinomial")


@pytest.mark.parametrize("solver", memory.SOLVERS)
def test_dense_multinomial_fit_peak_memory_below_half_of_X(dense_multinomial, solver):
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        extra = memory.peak_extra(dense_multinomial, solver)
    assert extra <= 0.5 * dense_multinomial.X.nbytes, (
        f"{solver}: {extra / 2**20:.1f} MiB, "
        f"{extra / dense_multinomial.X.nbytes:.2f} x the size of X")
