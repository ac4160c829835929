"""Condition-corrected Newton with the exact Hessian.

Each iteration forms the Hessian (one BLAS-3 pass over X, by blocks of rows) and
solves the Newton system in float64:

1. Cholesky of ``H + mu I`` and a LAPACK estimate of its condition number. When
   it factorises and the condition number is at most ``max_condition``, that is
   the step (``mu`` is the Levenberg-Marquardt damping, normally 0).
2. Otherwise (singular, indefinite by rounding, or too ill-conditioned) the
   eigendecomposition ``H = V diag(lam) V^T`` is corrected:

   - eigenvalues below ``size * eps * lam_max`` are numerically zero: those
     directions are left out of the step (a pseudo-inverse). Starting from zero,
     the iterates then stay in the row space of X, so a rank-deficient problem
     with ``alpha=0`` ends at the minimum-norm optimum, as ``numpy.linalg.lstsq``
     does for least squares;
   - the other eigenvalues are floored at ``lam_max / max_condition``, the
     smallest correction that restores the bound.

The damping ``mu`` follows the ratio of the actual to the predicted decrease: it
grows when the quadratic model was poor (the line search had to cut the step to a
quarter or less) and shrinks back to zero after good steps.

For the multinomial loss the class-symmetry directions, along which the loss is
flat by construction, are deflated first (see ``_spectral.deflate_class_symmetry``).
For the squared error the Hessian does not depend on the coefficients and is the
same for every target: it is factorised once and serves all targets.
"""

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve, eigh
from scipy.linalg.lapack import dpocon

from .._spectral import center_classes, condition_from_eigenvalues, deflate_class_symmetry
from ._base import NewtonLoop


def default_max_condition(dtype):
    """``1 / (100 eps)``: about 4.5e13 for float64, 8.4e4 for float32.

    Beyond it a Newton step computed from a Hessian accumulated in that precision
    has no correct digits left.
    """
    return 1.0 / (100.0 * np.finfo(dtype).eps)


class _Factorization:
    """A solve with the (corrected) Hessian, and what the correction did."""

    def __init__(self, H, max_condition, mu):
        n = H.shape[0]
        self.corrected = ""
        if mu > 0:
            H = H + mu * np.eye(n)
        try:
            self._chol = cho_factor(H, lower=False, check_finite=False)
            anorm = np.abs(H).sum(axis=0).max()
            rcond, info = dpocon(self._chol[0], anorm)
            cond = 1.0 / rcond if rcond > 0 else np.inf
            if info == 0 and cond <= max_condition:
                self.condition_number = cond
                self.kind = "cholesky"
                return
        except LinAlgError:
            pass
        lam, V = eigh(H, check_finite=False)
        self.condition_number = condition_from_eigenvalues(lam)
        lam_max = max(float(lam[-1]), np.finfo(np.float64).tiny)
        null = lam <= n * np.finfo(np.float64).eps * lam_max
        floor = lam_max / max_condition
        inv = np.zeros_like(lam)
        keep = ~null
        inv[keep] = 1.0 / np.maximum(lam[keep], floor)
        n_floored = int(np.sum(keep & (lam < floor)))
        parts = []
        if null.any():
            parts.append(f"{int(null.sum())} null direction(s) left out")
        if n_floored:
            parts.append(f"{n_floored} eigenvalue(s) floored at {floor:.3g}")
        self.corrected = ", ".join(parts)
        self.kind = "spectral"
        self._V, self._inv = V, inv

    def solve(self, G):
        if self.kind == "cholesky":
            return cho_solve(self._chol, G, check_finite=False)
        return self._V @ (self._inv[:, None] * (self._V.T @ G.reshape(len(self._inv), -1))).reshape(G.shape)


class NewtonSolver(NewtonLoop):
    """Condition-corrected Newton with the exact Hessian (see module docstring).

    Parameters
    ----------
    max_condition : float or None
        Largest condition number accepted before correcting the Hessian; None means
        ``default_max_condition(dtype)``.
    """

    name = "newton"

    def __init__(self, tol=1e-8, max_iter=100, verbose=0, random_state=None,
                 max_condition=None):
        super().__init__(tol=tol, max_iter=max_iter, verbose=verbose,
                         random_state=random_state)
        self.max_condition = max_condition

    def solve(self, objective, coef0):
        self._kappa = (
            default_max_condition(objective.dtype)
            if self.max_condition is None else float(self.max_condition)
        )
        self._mu = 0.0
        self._scale = 0.0
        self._fact = None
        self._fact_constant = objective.loss.constant_hessian
        self._last_condition = np.nan
        return super().solve(objective, coef0)

    def direction(self, objective, coef, Z, g):
        k = objective.k
        if self._fact is None or not self._fact_constant or self._mu_changed:
            curv = objective.curvature(coef, Z)
            H = objective.hessian(curv).astype(np.float64)
            self._scale = float(np.max(np.diag(H))) if H.size else 1.0
            if objective.class_symmetric:
                H = deflate_class_symmetry(H, k, np.trace(H) / H.shape[0])
            self._H = H
            self._fact = _Factorization(H, self._kappa, self._mu)
            self._mu_changed = False
            self._last_condition = self._fact.condition_number
        G = g.astype(np.float64)
        if objective.class_symmetric:
            center_classes(G, k)
        if objective.loss.shared_hessian:
            D = -self._fact.solve(G)  # one factorisation, every target
            self._dHd = float(np.vdot(D, self._H @ D))
        else:
            d = -self._fact.solve(G.ravel())
            self._dHd = float(d @ (self._H @ d))
            D = d.reshape(G.shape)
        return D.astype(objective.dtype, copy=False)

    def after_step(self, predicted, actual, step):
        ratio = actual / predicted if predicted > 0 else 1.0
        if step <= 0.25 or ratio < 0.1:
            self._mu = max(4 * self._mu, 1e-6 * self._scale)
            self._mu_changed = True
        elif self._mu > 0 and step == 1.0 and ratio > 0.5:
            self._mu = self._mu / 8 if self._mu > 1e-12 * self._scale else 0.0
            self._mu_changed = True

    _mu_changed = False

    def _curvature_along(self, d, slope):
        return self._dHd

    def _extra_log(self):
        parts = []
        if self._fact is not None and self._fact.corrected:
            parts.append(f"corrected: {self._fact.corrected}")
        if self._mu:
            parts.append(f"damping {self._mu:.3g}")
        return ("  " + "; ".join(parts)) if parts else ""

    def condition_number(self, objective, coef, Z):
        return self._last_condition
