"""What every solver shares: its result, its options and the Newton-type loop."""

from dataclasses import dataclass, field

import numpy as np

from .._linesearch import armijo
from .._spectral import center_classes


def floored_diagonal(d):
    """A Hessian diagonal made safe to divide by: entries floored at 1e-12 of the
    largest, and all ones when every entry is zero (all-zero X, no penalty)."""
    d_max = float(np.max(d)) if d.size else 0.0
    if not d_max > 0:
        return np.ones_like(d)
    return np.maximum(d, 1e-12 * d_max)


@dataclass
class SolverResult:
    """What a solver hands back to the estimator.

    ``coef`` has the objective's coefficient shape ``(n_features + fit_intercept, k)``.
    """

    coef: np.ndarray
    n_iter: int
    converged: bool
    loss_curve: list = field(default_factory=list)
    condition_number: float = np.nan
    message: str = ""


class Solver:
    """Base class: holds the stopping options; subclasses implement ``solve``.

    Parameters
    ----------
    tol : float
        Stop when the largest absolute gradient entry is at most ``tol`` (and, for
        Newton-type solvers, half the Newton decrement too).
    max_iter : int
        Maximum number of outer iterations.
    verbose : int
        Print one line per iteration when > 0.
    """

    name = None

    def __init__(self, tol=1e-8, max_iter=100, verbose=0, random_state=None):
        self.tol = tol
        self.max_iter = max_iter
        self.verbose = verbose
        self.random_state = random_state

    def solve(self, objective, coef0):  # pragma: no cover - abstract
        raise NotImplementedError

    def _log(self, msg):
        if self.verbose:
            print(f"[{self.name}] {msg}")

    @staticmethod
    def _finalize_coef(objective, coef):
        if objective.class_symmetric:
            center_classes(coef, objective.k)
        return coef


class NewtonLoop(Solver):
    """The outer loop of line-search Newton methods.

    One iteration: direction (subclass) -> Armijo line search along it, where
    ``X @ d`` is computed once and each trial costs O(n k) -> the gradient at the
    accepted point, reusing the updated raw prediction -> convergence check.
    Converged when ``max|g| <= tol`` and half the Newton decrement ``-g.d`` is at
    most ``tol``. Exact Newton steps (``exact_steps = True``) certify the point
    they lead to, so the test uses the decrement of the step just taken and the
    gradient at the new point, as scikit-learn's Newton solvers do: a final Hessian
    is never built only to be discarded. Inexact steps (truncated CG) do not, so
    there the test is made on the current point's gradient and fresh direction,
    and the final step along it is still taken (it costs O(n) past ``X @ d``).

    Subclasses implement ``direction(objective, coef, Z, g) -> d`` and may
    override ``after_step`` and ``condition_number``.
    """

    exact_steps = True

    def direction(self, objective, coef, Z, g):  # pragma: no cover - abstract
        raise NotImplementedError

    def initial_step(self, line):
        """First trial step of the line search: 1 for (quasi-)Newton directions."""
        return 1.0

    def after_step(self, predicted, actual, step, f_old):
        """Hook for step-quality feedback (damping adaptation)."""

    def condition_number(self, objective, coef, Z):
        return np.nan

    def solve(self, objective, coef0):
        coef = np.array(coef0, dtype=objective.dtype, copy=True)
        if objective.class_symmetric:
            center_classes(coef, objective.k)
        Z = objective.predictor(coef)
        f, g = objective.value_gradient(coef, Z)
        eps = float(np.finfo(objective.dtype).eps)
        # The gradient is only known to about eps * (its starting size): a tol
        # below that (1e-8 with float32 data) could never be certified, so the
        # test stops at the precision of the data type.
        tol = self.effective_tol = max(self.tol, 10 * eps * float(np.max(np.abs(g), initial=0)))
        curve = []
        converged, message = False, ""
        n_iter = 0
        for n_iter in range(1, self.max_iter + 1):
            d = self.direction(objective, coef, Z, g)
            slope = float(np.vdot(g, d))
            half_decrement = -0.5 * slope
            g_max = float(np.max(np.abs(g)))
            last_step = (
                not self.exact_steps and g_max <= tol and half_decrement <= tol
            )
            line = objective.line(coef, Z, d)
            g_norm1 = float(np.abs(g).sum())

            def grad_norm_decreases(t, line=line, g_norm1=g_norm1):
                c, z = line.point(t)
                return float(np.abs(objective.gradient(c, z)).sum()) < g_norm1

            ls = armijo(line, f, slope, grad_norm_decreases=grad_norm_decreases, eps=eps,
                        t0=self.initial_step(line))
            if not ls.success:
                # No step changes the objective beyond rounding: the optimum is
                # reached to the precision of the data type. Otherwise the direction
                # is useless and we say so.
                converged = ls.at_rounding_level or g_max <= tol
                message = f"line search failed ({ls.reason}) at iteration {n_iter}"
                self._log(message)
                curve.append(f)
                break
            predicted = -(ls.step * slope + 0.5 * ls.step**2 * self._curvature_along(d, slope))
            self.after_step(predicted, f - ls.value, ls.step, f)
            coef, Z = line.point(ls.step)
            f = ls.value
            curve.append(f)
            if last_step:
                converged = True
                self._log(f"iter {n_iter:3d}  objective {f:.12e}  final step {ls.step:.3g}")
                break
            g = objective.gradient(coef, Z)
            g_max = float(np.max(np.abs(g)))
            self._log(
                f"iter {n_iter:3d}  objective {f:.12e}  max|grad| {g_max:.3e}  "
                f"step {ls.step:.3g}  decrement/2 {half_decrement:.3e}"
                + self._extra_log()
            )
            if not np.isfinite(f):  # pragma: no cover - the line search prevents it
                message = "objective became non-finite"
                break
            if self.exact_steps and g_max <= tol and half_decrement <= tol:
                converged = True
                break
        coef = self._finalize_coef(objective, coef)
        return SolverResult(
            coef=coef,
            n_iter=max(n_iter, 1),
            converged=converged,
            loss_curve=curve,
            condition_number=self.condition_number(objective, coef, Z),
            message=message,
        )

    def _curvature_along(self, d, slope):
        # For an (approximate) Newton step H d = -g, so d.H.d = -g.d.
        return -slope

    def _extra_log(self):
        return ""
