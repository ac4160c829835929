"""Quasi-Newton: L-BFGS, rank-2 updates of an inverse-Hessian model.

A direction is ``d = -B g``, with ``B`` the inverse-Hessian model built by the
two-loop recursion from the last ``n_corrections`` pairs ``(s, y)`` of steps and
gradient changes. It runs inside the same Newton-type loop as the other solvers,
so it shares their line search (``X @ d`` once per direction, O(n k) per trial:
an iteration costs two passes over X, where an engine calling ``f(x), g(x)`` at
every trial point needs two per trial) and their stopping test.

Two choices make it robust on real data:

- the initial model is the inverse of the Hessian's diagonal at the start (one
  pass over X), rescaled each iteration by ``s.y / y.D^{-1}.y``: plain L-BFGS
  starts from a multiple of the identity, hopeless when features have units;
- for a quadratic objective (least squares) each line search starts at the exact
  minimiser along ``d``, which makes L-BFGS a preconditioned conjugate-gradient
  method: it terminates on small problems and converges fast on large ones.

The objective is convex, so ``s.y > 0`` after any accepted step and the Armijo
search suffices; a pair with ``s.y`` at rounding level is skipped.
"""

from collections import deque

import numpy as np

from .._spectral import estimate_condition_number
from ._base import NewtonLoop


class LBFGSSolver(NewtonLoop):
    """L-BFGS with a diagonal initial inverse Hessian (see module docstring).

    Parameters
    ----------
    n_corrections : int
        Number of stored curvature pairs.
    """

    name = "lbfgs"
    exact_steps = False
    uses_curvature = False  # only the start's, for the diagonal scaling

    def __init__(self, tol=1e-8, max_iter=100, verbose=0, random_state=None,
                 n_corrections=30):
        super().__init__(tol=tol, max_iter=max_iter, verbose=verbose,
                         random_state=random_state)
        self.n_corrections = n_corrections

    def solve(self, objective, coef0):
        self._pairs = deque(maxlen=self.n_corrections)
        self._previous = None
        self._D_inv = None
        self._last_direction = None  # a start for the condition estimate's Lanczos
        return super().solve(objective, coef0)

    def direction(self, objective, coef, Z, g):
        if self._D_inv is None:
            d = objective.hessian_diag(objective.curvature(coef, Z))
            self._D_inv = 1.0 / self.floored_diagonal(d)
        if self._previous is not None:
            s = coef - self._previous[0]
            y = g - self._previous[1]
            sy = float(np.vdot(s, y))
            if sy > 1e-12 * float(np.linalg.norm(s)) * float(np.linalg.norm(y)):
                self._pairs.append((s, y, 1.0 / sy))
        self._previous = (coef, g)
        # Two-loop recursion.
        q = g.copy()
        alphas = []
        for s, y, rho in reversed(self._pairs):
            a = rho * float(np.vdot(s, q))
            q -= a * y
            alphas.append(a)
        r = self._D_inv * q
        if self._pairs:
            s, y, rho = self._pairs[-1]
            r *= (1.0 / rho) / float(np.vdot(y, self._D_inv * y))
        for (s, y, rho), a in zip(self._pairs, reversed(alphas)):
            b = rho * float(np.vdot(y, r))
            r += (a - b) * s
        self._last_direction = r
        return -r

    def initial_step(self, line):
        return line.minimiser() if line.is_quadratic else 1.0

    def speculative_step(self, objective):
        return None if objective.loss.constant_hessian else 1.0

    def _curvature_along(self, d, slope):
        return -slope

    def condition_number(self, objective, coef, Z):
        return estimate_condition_number(objective, coef, Z, start=self._last_direction)
