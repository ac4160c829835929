"""Solvers, by name, and the rule that ``solver="auto"`` follows."""

import scipy.sparse as sp

from ._base import NewtonLoop, Solver, SolverResult
from .lbfgs import LBFGSSolver
from .newton import NewtonSolver, default_max_condition
from .newton_cg import NewtonCGSolver

SOLVERS = {
    "newton": NewtonSolver,
    "newton-cg": NewtonCGSolver,
    "lbfgs": LBFGSSolver,
}

# Largest number of Hessian columns for which "auto" forms and factorises the
# Hessian: building it costs n * size^2 flops, factorising it size^3 / 3.
AUTO_NEWTON_MAX_SIZE = 1024


def choose_solver(X, n_outputs, fit_intercept, shared_hessian):
    """The rule behind ``solver="auto"``.

    ``"newton"`` when X is dense and the Hessian is small enough to factorise
    (``(n_features + fit_intercept) * k <= 1024``, where ``k`` is the number of
    classes for the multinomial loss and 1 otherwise; for least squares one
    factorisation serves all targets, so ``k = 1``); ``"newton-cg"`` when X is
    sparse or wide, where forming the Hessian would cost more than solving with it
    by Hessian-vector products.
    """
    size = (X.shape[1] + fit_intercept) * (1 if shared_hessian else n_outputs)
    if not sp.issparse(X) and size <= AUTO_NEWTON_MAX_SIZE:
        return "newton"
    return "newton-cg"


__all__ = [
    "SOLVERS", "Solver", "SolverResult", "NewtonLoop", "NewtonSolver",
    "NewtonCGSolver", "LBFGSSolver", "choose_solver", "default_max_condition",
]
