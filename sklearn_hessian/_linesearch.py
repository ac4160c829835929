"""Backtracking Armijo line search on ``phi(t) = F(coef + t d)``.

The caller hands over a ``line`` object (see ``LinearObjective.line``) that computed
``X @ d`` once, so each trial step costs O(n k) and no pass over ``X``. Those O(n k)
sums run over fixed blocks of rows (``RowBlocks``), on joblib threads when
``n_jobs > 1``: numpy releases the GIL in the elementwise work, and the blocks and
the order of the final sum do not depend on ``n_jobs``, so the search returns
bit-identical steps serially and in parallel.
"""

from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs

# Entries (rows times outputs) per block of a trial evaluation. Fixed, so that
# results do not depend on n_jobs; large enough that a block amortises a thread
# dispatch (about 0.1 ms), small enough that its temporaries (a few of the
# block's size) stay far below the (n, K) arrays the line holds.
LINE_BLOCK_ENTRIES = 1 << 16


class RowBlocks:
    """Sums ``func(rows)`` over fixed blocks of rows, in a fixed order; ``width``
    (the outputs per row) sizes the blocks.

    With ``n_jobs > 1`` (and more than one block) the blocks are evaluated on a
    pool of joblib threads that lives until ``close``. It pays from about 10^6
    samples: below that a trial costs less than the dispatch.
    """

    def __init__(self, n_samples, n_jobs=None, width=1):
        rows = max(1, LINE_BLOCK_ENTRIES // max(int(width), 1))
        self.blocks = [
            slice(start, min(start + rows, n_samples))
            for start in range(0, max(n_samples, 1), rows)
        ]
        workers = 1 if n_jobs is None else min(effective_n_jobs(n_jobs), len(self.blocks))
        self._parallel = None
        if workers > 1:
            self._parallel = Parallel(n_jobs=workers, backend="threading")
            self._parallel.__enter__()

    def sum(self, func):
        if self._parallel is None:
            parts = [func(rows) for rows in self.blocks]
        else:
            parts = self._parallel(delayed(func)(rows) for rows in self.blocks)
        total = 0.0
        for part in parts:  # in block order, whoever computed them
            total += part
        return total

    def close(self):
        if self._parallel is not None:
            self._parallel.__exit__(None, None, None)
            self._parallel = None


# Armijo constant: accept t when phi(t) <= phi(0) + SIGMA * t * phi'(0). Small, so a
# Newton step of length one is nearly always taken near the solution.
SIGMA = 1e-4
BETA = 0.5
MAX_TRIALS = 30


@dataclass
class LineSearchResult:
    success: bool
    step: float
    value: float
    n_trials: int
    reason: str = ""
    # On failure: the objective did not change beyond rounding along the
    # direction, so the current point is optimal to the data type's precision.
    at_rounding_level: bool = False


def armijo(line, f0, slope, *, grad_norm_decreases=None, eps=np.finfo(np.float64).eps,
           t0=1.0):
    """Backtrack from ``t0`` by halving until sufficient decrease.

    Parameters
    ----------
    line : callable
        ``line(t)`` returns the objective at step ``t``.
    f0 : float
        Objective at ``t = 0``.
    slope : float
        Directional derivative ``g . d`` at ``t = 0``; must be negative.
    grad_norm_decreases : callable or None
        ``grad_norm_decreases(t) -> bool``; consulted only when the change of the
        objective is within rounding of ``f0``. There the Armijo test says nothing,
        and a smaller gradient is the evidence that the step helps.
    eps : float
        Machine epsilon of the data type the objective is computed from.
    """
    if not slope < 0:
        return LineSearchResult(False, 0.0, f0, 0, "not a descent direction")
    tiny = 16 * eps * max(abs(f0), np.finfo(np.float64).tiny)
    # Each gradient check is a pass over X; past a few, halving further will not help.
    gradient_checks = 3
    rounding = False
    t = t0
    for trial in range(1, MAX_TRIALS + 1):
        f = line(t)
        rounding = bool(np.isfinite(f) and abs(f - f0) <= tiny)
        if np.isfinite(f):
            if f - f0 <= SIGMA * t * slope:
                return LineSearchResult(True, t, f, trial)
            if rounding and grad_norm_decreases is not None:
                if gradient_checks == 0:
                    break
                gradient_checks -= 1
                if grad_norm_decreases(t):
                    return LineSearchResult(True, t, f, trial, "within rounding")
        t *= BETA
    return LineSearchResult(False, 0.0, f0, trial, "no decrease found", rounding)


# Extrapolation (see ``extrapolate``): tried when a unit step decreased the
# objective this many times more than the quadratic model predicted.
EXTRAPOLATE_RATIO = 1.2
EXTRAPOLATE_DOUBLINGS = 3


def extrapolate(line, step, value, max_doublings=EXTRAPOLATE_DOUBLINGS):
    """Double ``step`` while the objective keeps decreasing along the line.

    For the logistic losses far from the optimum the curvature falls along a
    Newton direction (the margins grow), so the quadratic model under-promises
    and the accepted unit step stops short: on w8a, 11 Newton iterations from
    zero with every unit step beating the model by 13-28%. Each trial costs
    O(n k) on the ``line`` (``X @ d`` is already computed). Returns ``(step,
    value)``, the last step that decreased the objective.
    """
    for _ in range(max_doublings):
        trial = line(2.0 * step)
        if not (np.isfinite(trial) and trial < value):
            break
        step, value = 2.0 * step, trial
    return step, value
