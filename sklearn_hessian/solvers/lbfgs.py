"""Quasi-Newton: L-BFGS (rank-2 inverse-Hessian updates), scipy's L-BFGS-B engine.

Each function evaluation is one ``X @ w`` and one ``X.T @ r``; the value and the
gradient come from the same raw prediction.
"""

import numpy as np
from scipy.optimize import minimize

from .._spectral import estimate_condition_number
from ._base import Solver, SolverResult


class LBFGSSolver(Solver):
    """L-BFGS driven by our objective.

    Parameters
    ----------
    n_corrections : int
        Number of stored curvature pairs (``maxcor`` of L-BFGS-B).
    """

    name = "lbfgs"

    def __init__(self, tol=1e-8, max_iter=100, verbose=0, random_state=None,
                 n_corrections=10):
        super().__init__(tol=tol, max_iter=max_iter, verbose=verbose,
                         random_state=random_state)
        self.n_corrections = n_corrections

    def solve(self, objective, coef0):
        shape, dtype = objective.shape, objective.dtype

        def fun(x):
            coef = x.reshape(shape).astype(dtype, copy=False)
            f, g = objective.value_gradient(coef, objective.predictor(coef))
            return f, g.ravel().astype(np.float64)

        curve = []

        def callback(intermediate_result):
            curve.append(float(intermediate_result.fun))
            if self.verbose:
                self._log(f"iter {len(curve):3d}  objective {curve[-1]:.12e}")

        x0 = np.asarray(coef0, dtype=np.float64).ravel()
        if objective.class_symmetric:
            x0 = self._finalize_coef(objective, x0.reshape(shape).copy()).ravel()
        res = minimize(
            fun, x0, jac=True, method="L-BFGS-B", callback=callback,
            options={
                "maxiter": self.max_iter,
                "maxls": 50,
                "maxcor": self.n_corrections,
                "gtol": self.tol,
                "ftol": 64 * np.finfo(np.float64).eps,
            },
        )
        coef = self._finalize_coef(objective, res.x.reshape(shape).astype(dtype))
        Z = objective.predictor(coef)
        # L-BFGS-B also reports success when the objective stalls (relative decrease
        # below ftol). That is convergence to the data type's precision only when
        # the decrease still on offer, g.H^-1.g / 2 with L-BFGS's own inverse
        # Hessian, is below rounding of F; rounding noise in float32 objectives
        # triggers the stall far from the optimum, and that must not pass.
        g = objective.gradient(coef, Z)
        converged = bool(np.max(np.abs(g)) <= self.tol) if g.size else True
        if not converged and res.status == 0:
            g64 = g.ravel().astype(np.float64)
            on_offer = 0.5 * float(g64 @ res.hess_inv.matvec(g64))
            eps = float(np.finfo(dtype).eps)
            converged = on_offer <= 16 * eps * max(abs(float(res.fun)), 1e-300)
        if not curve:
            curve.append(float(res.fun))
        message = "" if converged else (
            f"L-BFGS-B: {res.message}; max|grad| {float(np.max(np.abs(g))):.3g}"
        )
        return SolverResult(
            coef=coef,
            n_iter=max(int(res.nit), 1),
            converged=converged,
            loss_curve=curve,
            condition_number=estimate_condition_number(objective, coef, Z),
            message=message,
        )
