"""Backtracking Armijo line search on ``phi(t) = F(coef + t d)``.

The caller hands over a ``line`` object (see ``LinearObjective.line``) that computed
``X @ d`` once, so each trial step costs O(n k) and no pass over ``X``.
"""

from dataclasses import dataclass

import numpy as np

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
