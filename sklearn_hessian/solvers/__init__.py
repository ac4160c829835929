"""Solvers, by name, and the rule that ``solver="auto"`` follows."""

import scipy.sparse as sp

from ._base import NewtonLoop, Solver, SolverResult
from .lbfgs import LBFGSSolver
from .newton import NewtonSolver, default_max_condition
from .newton_cg import NewtonCGSolver
from .stochastic import MinibatchSolver, StochasticSolver

SOLVERS = {
    "newton": NewtonSolver,
    "newton-cg": NewtonCGSolver,
    "lbfgs": LBFGSSolver,
    "sgd": StochasticSolver,
    "minibatch": MinibatchSolver,
}

# The solvers that take steps on samples, count max_iter in epochs and support
# partial_fit; "auto" never picks them.
STOCHASTIC_SOLVERS = ("sgd", "minibatch")

# Largest number of Hessian columns for which "auto" forms and factorises the
# Hessian: building it costs n * size^2 flops, factorising it size^3 / 3.
AUTO_NEWTON_MAX_SIZE = 1024


# Sparse X: "newton" builds its Hessian by sparse products where that is cheaper
# and uses sub-sampled Hessians as CG preconditioners, so it no longer loses badly
# on very sparse data; measured (CPU time): a9a, density 0.11, newton 5-8x faster
# than newton-cg; w8a, density 0.04, the two within 10-20% (newton-cg ahead).
AUTO_NEWTON_MIN_DENSITY = 0.05


def choose_solver(X, n_outputs, fit_intercept, shared_hessian):
    """The rule behind ``solver="auto"``.

    ``"newton"`` when the Hessian is small enough to factorise
    (``(n_features + fit_intercept) * k <= 1024``, where ``k`` is the number of
    classes for the multinomial loss and 1 otherwise; for least squares one
    factorisation serves all targets, so ``k = 1``) and X is dense, or sparse
    with at least 5% non-zeros; ``"newton-cg"`` otherwise (sparse or wide X),
    where forming the Hessian would cost more than solving with it by
    Hessian-vector products.
    """
    size = (X.shape[1] + fit_intercept) * (1 if shared_hessian else n_outputs)
    if size > AUTO_NEWTON_MAX_SIZE:
        return "newton-cg"
    if sp.issparse(X):
        density = X.nnz / max(1, X.shape[0] * X.shape[1])
        return "newton" if density >= AUTO_NEWTON_MIN_DENSITY else "newton-cg"
    return "newton"


__all__ = [
    "SOLVERS", "STOCHASTIC_SOLVERS", "Solver", "SolverResult", "NewtonLoop", "NewtonSolver",
    "NewtonCGSolver", "LBFGSSolver", "StochasticSolver", "MinibatchSolver",
    "choose_solver", "default_max_condition",
]
