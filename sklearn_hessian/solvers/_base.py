"""What every solver shares: its result, its options and the Newton-type loop."""

from dataclasses import dataclass, field

import numpy as np

from .._linesearch import EXTRAPOLATE_RATIO, armijo, extrapolate
from .._spectral import center_classes


def gradient_weights(objective, rms=None):
    """Factors ``max(1, 1 / rms_j)`` applied to the gradient's rows by the stopping
    test, shape ``(n_features + fit_intercept, 1)``.

    ``g_j / rms_j`` is the gradient with respect to the coefficient of feature j
    scaled to unit RMS: a feature in small units (RMS 1e-8) has a gradient 1e-8
    times smaller than its standardised version whatever its coefficient, so the
    plain test ``|g_j| <= tol`` would pass with that coefficient still far from its
    optimum. Taking the larger of the two measures keeps the plain test for
    features of RMS >= 1 (where it is the stricter one). An all-zero column
    (RMS 0) has a zero loss gradient: factor 1.
    """
    if rms is None:
        rms = objective.feature_rms()
    with np.errstate(divide="ignore", over="ignore"):
        inv = 1.0 / rms
    inv[~np.isfinite(inv)] = 1.0
    return np.maximum(inv, 1.0).astype(objective.dtype)[:, None]


def floored_diagonal(d, scale2=None):
    """A Hessian diagonal made safe to divide by: entries floored at 1e-12 of the
    largest, and all ones when every entry is zero (all-zero X, no penalty).

    ``scale2`` (broadcasting against ``d``; the squared feature RMS of
    ``LinearObjective.feature_rms``, see ``NewtonLoop.floored_diagonal``) makes the floor apply to
    ``d / scale2``, the diagonal as if every feature had unit RMS: then a feature in
    units 1e-8 (its diagonal 1e-16 times that of its standardised version) keeps its
    true curvature instead of being floored at 1e-12 of the largest, which would
    hide it from the preconditioned directions.
    """
    if scale2 is not None:
        # Entries above the floor are returned exactly as they are.
        ds_max = float(np.max(d.astype(np.float64) / scale2)) if d.size else 0.0
        floor = np.broadcast_to(1e-12 * ds_max * scale2, d.shape).astype(d.dtype)
        if ds_max > 0 and np.all(np.isfinite(floor)) and np.all(floor > 0):
            return np.maximum(d, floor)
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
        Stop when the largest absolute gradient entry, measured both in the
        features' units and as if every feature had unit root-mean-square
        (``gradient_measure``), is at most ``tol``, and half the Newton decrement
        too.
    max_iter : int
        Maximum number of outer iterations.
    verbose : int
        Print one line per iteration when > 0.
    """

    name = None
    # Whether ``solve`` runs the objective's deferred check of X's values itself
    # (``LinearObjective.confirm_values``); otherwise it runs before ``solve``.
    confirms_values = False

    def __init__(self, tol=1e-8, max_iter=100, verbose=0, random_state=None):
        self.tol = tol
        self.max_iter = max_iter
        self.verbose = verbose
        self.random_state = random_state

    def solve(self, objective, coef0):  # pragma: no cover - abstract
        raise NotImplementedError

    def floored_diagonal(self, d):
        """``floored_diagonal(d)``, the floor applied feature-scale-free once
        ``solve`` has measured the features' RMS."""
        return floored_diagonal(d, getattr(self, "_rms2", None))

    def gradient_measure(self, g):
        """What the stopping test compares with ``tol``: ``max_j |g_j| max(1, 1/rms_j)``
        (see ``gradient_weights``); the plain ``max|g|`` before ``solve`` set the
        weights."""
        weights = getattr(self, "_grad_weights", None)
        if weights is None or weights.shape[0] != g.shape[0]:
            return float(np.max(np.abs(g), initial=0))
        return float(np.max(np.abs(g) * weights, initial=0))

    def decrease_bound(self, g):
        """``max_j g_j^2 / (2 (rms_j^2 + alpha))``: a lower bound on the decrease
        still available (on the quadratic model), blind to the features' units."""
        return float(np.max(g.astype(np.float64) ** 2 * self._decrease_weights, initial=0))

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
    Converged when the gradient measure (``max|g|``, each feature's entries
    divided by its root-mean-square when that is below 1, see
    ``gradient_weights``) and half the Newton decrement ``-g.d`` are at most
    ``tol``. Exact Newton steps (``exact_steps = True``) certify the point
    they lead to, so the test uses the decrement of the step just taken and the
    gradient at the new point, as scikit-learn's Newton solvers do: a final Hessian
    is never built only to be discarded. Inexact steps (truncated CG) do not, so
    there the test is made on the current point's gradient and fresh direction,
    and the final step along it is still taken (it costs O(n) past ``X @ d``).

    Subclasses implement ``direction(objective, coef, Z, g) -> d`` and may
    override ``after_step`` and ``condition_number``.
    """

    exact_steps = True
    # Longer steps along the direction when the unit step beat the quadratic
    # model by far (``_linesearch.extrapolate``): for (near-)Newton directions.
    extrapolate = False
    # Whether ``direction`` reads the curvature at the points the line search
    # reaches (the speculative step then computes it with the gradient).
    uses_curvature = True

    def direction(self, objective, coef, Z, g):  # pragma: no cover - abstract
        raise NotImplementedError

    def initial_step(self, line):
        """First trial step of the line search: 1 for (quasi-)Newton directions."""
        return 1.0

    def speculative_step(self, objective):
        """The step ``initial_step`` will return, when known before ``X @ d``."""
        return 1.0

    def direction_predictor(self):
        """``X @ d_W + d_b`` for the last direction, when ``direction`` formed it
        on the way (the line search then needs no pass over X), else None."""
        return None

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
        rms = objective.feature_rms()
        self._grad_weights = gradient_weights(objective, rms)
        self._rms2 = np.where(rms > 0, rms * rms, 1.0)[:, None]
        # 1 / (2 (rms_j^2 + alpha)): g_j^2 times this is the decrease that a step
        # along coefficient j alone promises on the quadratic model (every loss
        # here has curvature at most 1, so H_jj <= rms_j^2 + alpha). Zero where the
        # column and the penalty are both zero (g_j is zero there).
        den = 2.0 * (rms * rms + objective.alpha)
        with np.errstate(divide="ignore"):
            self._decrease_weights = np.where(den > 0, 1.0 / den, 0.0)[:, None]
        f0 = f
        # The gradient is only known to about eps * (its starting size): a tol
        # below that (1e-8 with float32 data) could never be certified, so the
        # test stops at the precision of the data type.
        tol = self.effective_tol = max(self.tol, 10 * eps * self.gradient_measure(g))
        if self.verbose:
            self._log_header(objective, f, g)
        curve = []
        converged, message = False, ""
        n_iter = 0
        for n_iter in range(1, self.max_iter + 1):
            d = self.direction(objective, coef, Z, g)
            if objective.class_symmetric:
                # Steps of the symmetric multinomial parametrisation have zero
                # mean over the classes, as the gradient has; a solve keeps that
                # only as far as its Hessian is flat along the class shifts,
                # which one from float32 probabilities (rows summing to 1 +-
                # 1e-7) is not quite: newton's deflated steps let the
                # coefficients' class sums drift, and their penalty gradient
                # stalled the test at 1e-8 on a small ill-conditioned problem.
                center_classes(d, objective.k)
            slope = float(np.vdot(g, d))
            half_decrement = -0.5 * slope
            g_max = self.gradient_measure(g)
            last_step = (
                not self.exact_steps and g_max <= tol and half_decrement <= tol
            )
            # The curvature at Z served the direction: released before the line
            # search forms its own at the trial step (multinomial: an (n, K)
            # array, a fifth of X for 100k x 50, K = 10).
            objective.drop_curvature()
            # The step the line search tries first is evaluated along with X @ d
            # (dense X), with its gradient unless nothing follows it, and formed
            # in Z's memory: Z is the line's until point() or origin().
            line = objective.line(coef, Z, d, speculate=self.speculative_step(objective),
                                  dZ=self.direction_predictor(), gradient=not last_step,
                                  curvature=self.uses_curvature, overwrite=True)
            del Z
            g_norm1 = float(np.abs(g).sum())

            def grad_norm_decreases(t, line=line, g_norm1=g_norm1):
                c, z = line.point(t)
                return float(np.abs(objective.gradient(c, z)).sum()) < g_norm1

            ls = armijo(line, f, slope, grad_norm_decreases=grad_norm_decreases, eps=eps,
                        t0=self.initial_step(line))
            if not ls.success:
                # No step changes the objective beyond rounding: the optimum is
                # reached to the precision of the data type, if the gradient agrees.
                # When a step along one coefficient alone would decrease the
                # objective beyond rounding, the direction was useless instead.
                converged = g_max <= tol or (
                    ls.at_rounding_level
                    and self.decrease_bound(g) <= 16 * eps * (abs(f) + abs(f0))
                )
                message = (f"line search failed ({ls.reason}) at iteration {n_iter}, "
                           f"gradient measure {g_max:.3g}")
                self._log_row(n_iter, f, None, 0.0, half_decrement,
                              f"line search failed ({ls.reason})")
                curve.append(f)
                Z = line.origin()
                break
            curvature = self._curvature_along(d, slope)
            if (self.extrapolate and not last_step and ls.step == 1.0
                    and f - ls.value > EXTRAPOLATE_RATIO * -(slope + 0.5 * curvature)):
                ls.step, ls.value = extrapolate(line, ls.step, ls.value)
            predicted = -(ls.step * slope + 0.5 * ls.step**2 * curvature)
            self.after_step(predicted, f - ls.value, ls.step, f)
            coef, Z = line.point(ls.step, consume=True)
            # The line holds the previous point: gone before the next direction
            # and line. With drop_curvature above and the point formed in Z's
            # memory (overwrite), dense multinomial's peak extra memory 60 ->
            # 18 MiB (1.58 -> 0.47 x X).
            del line, grad_norm_decreases
            f = ls.value
            curve.append(f)
            if last_step:
                converged = True
                self._log_row(n_iter, f, None, ls.step, half_decrement,
                              "; ".join(filter(None, ["final step (the test passed "
                                                      "before it)",
                                                      self._extra_log().strip()])))
                break
            g = objective.gradient(coef, Z)
            g_max = self.gradient_measure(g)
            self._log_row(n_iter, f, g_max, ls.step, half_decrement,
                          self._extra_log().strip())
            if not np.isfinite(f):  # pragma: no cover - the line search prevents it
                message = "objective became non-finite"
                break
            if self.exact_steps and g_max <= tol and half_decrement <= tol:
                converged = True
                break
        coef = self._finalize_coef(objective, coef)
        condition_number = self.condition_number(objective, coef, Z)
        if not converged and not message:
            message = f"max_iter={self.max_iter} reached"
        if self.verbose:
            self._log_summary(objective, coef, Z, f, n_iter, converged, message,
                              condition_number)
        return SolverResult(
            coef=coef,
            n_iter=max(n_iter, 1),
            converged=converged,
            loss_curve=curve,
            condition_number=condition_number,
            message=message,
        )

    # -- verbose output ---------------------------------------------------------------
    # One header, one row per iteration (iteration 0 is the starting point), one
    # summary. "max|grad|" is the gradient measure the stopping test compares with
    # tol; "decrement/2" is -g.d/2 along the direction that iteration took.
    _ROW = "{:>5}  {:>19}  {:>10}  {:>9}  {:>11}  {}"

    def _log_header(self, objective, f, g):
        m, k = objective.shape
        tol = f"tol {self.tol:.3g}"
        if self.effective_tol > self.tol:
            tol += (f" (raised to {self.effective_tol:.3g}, the rounding level of the "
                    f"starting gradient in {np.dtype(objective.dtype).name})")
        self._log(
            f"{type(objective.loss).__name__} on {objective.n_samples} samples x "
            f"{objective.n_features} features, {m * k} coefficients, alpha "
            f"{objective.alpha:.3g}; stops when max|grad| and decrement/2 are at most "
            f"{tol}"
        )
        self._log(self._ROW.format("iter", "objective", "max|grad|", "step",
                                   "decrement/2", "notes"))
        self._log_row(0, f, self.gradient_measure(g), None, None, "starting point")

    def _log_row(self, n_iter, f, g_max, step, half_decrement, notes=""):
        if not self.verbose:
            return
        self._log(self._ROW.format(
            n_iter, f"{f:.12e}", "-" if g_max is None else f"{g_max:.3e}",
            "-" if step is None else f"{step:.3g}",
            "-" if half_decrement is None else f"{half_decrement:.3e}", notes,
        ).rstrip())

    def _log_summary(self, objective, coef, Z, f, n_iter, converged, message,
                     condition_number):
        # The gradient at the returned point, for the record: one more pass over
        # X, in verbose mode only (the fit itself never needs it).
        g_max = self.gradient_measure(objective.gradient(coef, Z))
        outcome = (f"converged in {n_iter} iterations" if converged else
                   f"did not converge in {n_iter} iterations ({message})")
        self._log(
            f"{outcome}: objective {f:.12e}, max|grad| {g_max:.3e}, "
            f"condition number {condition_number:.3g}"
        )

    def _curvature_along(self, d, slope):
        # For an (approximate) Newton step H d = -g, so d.H.d = -g.d.
        return -slope

    def _extra_log(self):
        return ""
