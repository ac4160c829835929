"""Hessian-free truncated Newton: preconditioned CG on the Newton system.

The Hessian is never formed: each CG iteration costs one Hessian-vector product,
two passes over X (``X @ v`` then ``X.T @ r``); for the multinomial loss the
product is applied through the per-sample ``diag(p) - p p^T`` without K x K blocks.

Design after LIBLINEAR's Newton solver:

- diagonal preconditioner ``M = 0.01 diag(H) + 0.99 alpha`` (a pure diagonal
  can hurt, the mix with the penalty's identity is more robust);
- CG stops on the quadratic model ``Q(s) = g.s + s.H.s / 2`` when
  ``j (Q_j - Q_{j-1}) >= eta Q_j``, with the forcing term
  ``eta = min(0.5, sqrt(||g|| / ||g_0||))``: relative to the first gradient, so
  that it does not depend on the units of y and X, and superlinear as LIBLINEAR's.
  The last step (taken once the gradient test passes) is solved to
  ``||g|| / ||g_0||``, quadratic: without it the final iterate stayed visibly
  inexact on ill-conditioned problems;
- the Armijo line search shares ``X @ d`` across trials.
"""

import numpy as np

from .._spectral import center_classes, estimate_condition_number
from ._base import NewtonLoop


def preconditioned_cg(hessp, g, precondition, eta, max_iter, curvature_scale,
                      residual_tol=None):
    """Approximately solve ``H s = -g`` by preconditioned conjugate gradients.

    Stops on LIBLINEAR's quadratic-model rule ``j (Q_j - Q_{j-1}) >= eta Q_j``
    with ``Q(s) = g.s + s.H.s / 2``, after ``max_iter`` iterations, or on flat
    curvature (``p.H.p <= 1e-14 p.(curvature_scale p)``), where it keeps what it has
    (the preconditioned gradient if nothing yet). ``curvature_scale`` is a scalar
    (a bound on the largest curvature) or an array of the shape of ``g`` (the
    preconditioner's diagonal: a test blind to the units of the features). With
    ``residual_tol``, it also
    stops once ``max|r| <= residual_tol``: for a quadratic objective the residual
    ``r = -g - H s`` is minus the gradient at the new point, so that is the outer
    stopping test met in advance. Returns ``(s, iterations)``.
    """
    s = np.zeros_like(g)
    r = -g
    z = precondition(r)
    p = z.copy()
    rz = float(np.vdot(r, z))
    Q = 0.0
    n_cg = 0
    for n_cg in range(1, max_iter + 1):
        Hp = hessp(p)
        pHp = float(np.vdot(p, Hp))
        if not pHp > 1e-14 * float(np.vdot(p, curvature_scale * p)):
            if n_cg == 1:
                s = z
            break
        a = rz / pHp
        s += a * p
        r -= a * Hp
        newQ = -0.5 * (float(np.vdot(r, s)) - float(np.vdot(g, s)))
        if not (newQ <= 0 and newQ - Q <= 0):
            break
        if n_cg * (newQ - Q) >= eta * newQ:
            break
        if residual_tol is not None and float(np.max(np.abs(r))) <= residual_tol:
            break
        Q = newQ
        z = precondition(r)
        rz_new = float(np.vdot(r, z))
        p *= rz_new / rz
        p += z
        rz = rz_new
    return s, n_cg


class NewtonCGSolver(NewtonLoop):
    """Truncated Newton with preconditioned CG (see module docstring).

    Parameters
    ----------
    max_inner : int
        Maximum CG iterations per Newton step.
    """

    name = "newton-cg"
    exact_steps = False
    DIAG_WEIGHT = 0.01  # M = w diag(H) + (1 - w) alpha, LIBLINEAR's mix
    # Least squares, where diag(H) is exact (squared column norms) and does not
    # move: more of it pays (sparse 50k x 200k: 0.73 -> 0.48 s). For the logistic
    # losses 0.5 was mixed (a9a, ill-conditioned: faster; MNIST 30% slower).
    DIAG_WEIGHT_QUADRATIC = 0.5
    FORCING_POWER = 0.5
    # Least squares: CG runs until max|r| (the next gradient's entries) is this
    # fraction of tol, a margin for the drift of the recurred residual.
    QUADRATIC_RESIDUAL = 0.5

    def __init__(self, tol=1e-8, max_iter=100, verbose=0, random_state=None,
                 max_inner=250):
        super().__init__(tol=tol, max_iter=max_iter, verbose=verbose,
                         random_state=random_state)
        self.max_inner = max_inner

    def solve(self, objective, coef0):
        self._g0_norm = None
        self._M = None
        self._last_direction = None  # a start for the condition estimate's Lanczos
        return super().solve(objective, coef0)

    def _preconditioner(self, objective, curv):
        """LIBLINEAR's ``w diag(H) + (1 - w) alpha``, floored; computed once when the
        Hessian does not depend on the coefficients (least squares), with its own
        weight ``DIAG_WEIGHT_QUADRATIC``."""
        if self._M is not None:
            return self._M
        w = self.DIAG_WEIGHT_QUADRATIC if objective.loss.constant_hessian else self.DIAG_WEIGHT
        M = objective.hessian_diag(curv)
        M *= w
        M += (1.0 - w) * objective.alpha
        M = self.floored_diagonal(M)
        if objective.loss.constant_hessian:
            self._M = M
        return M

    def direction(self, objective, coef, Z, g):
        g_norm = float(np.linalg.norm(g))
        if self._g0_norm is None:
            self._g0_norm = max(g_norm, np.finfo(np.float64).tiny)
        curv = objective.curvature(coef, Z)
        M = self._preconditioner(objective, curv)
        Minv = 1.0 / M
        symmetric = objective.class_symmetric
        k = objective.k

        def precondition(r):
            z = Minv * r
            if symmetric:  # stay in the zero-mean subspace where H is definite
                center_classes(z, k)
            return z

        ratio = g_norm / self._g0_norm
        # sqrt forcing (superlinear, few CG iterations) on the way; the step taken
        # once the gradient test passes is solved to ||g|| / ||g0|| (quadratic),
        # since nothing refines it after.
        final = self.gradient_measure(g) <= self.effective_tol
        eta = min(0.5, ratio if final else ratio ** self.FORCING_POWER)
        residual_tol = None
        if objective.loss.constant_hessian and not final:
            # A quadratic: truncating CG and restarting it at the next point throws
            # its Krylov space away (sparse 50k x 200k least squares: 94 products
            # over 10 restarts). One solve to the gradient test, on the same
            # preconditioner, does the work; the final step above only polishes.
            eta = 0.0
            residual_tol = self.QUADRATIC_RESIDUAL * self.effective_tol
        s, self._n_cg = preconditioned_cg(
            lambda v: objective.hessp(curv, v), g, precondition, eta, self.max_inner,
            curvature_scale=M, residual_tol=residual_tol,
        )
        self._last_direction = s
        return s

    def _extra_log(self):
        return f"  cg {self._n_cg}"

    def condition_number(self, objective, coef, Z):
        return estimate_condition_number(objective, coef, Z, start=self._last_direction)
