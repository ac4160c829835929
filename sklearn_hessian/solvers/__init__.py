"""Solvers, by name, and the rule that ``solver="auto"`` follows."""

import scipy.sparse as sp

from .._objective import _PASS_COST, _SPARSE_PAIR_COST, _sparse_pairs
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


# The multinomial loss, and sparse X: "newton" preconditions CG on exact
# Hessian-vector products with a sub-sampled Hessian, whose cost (a product on a
# sub-sample of rows, and a size^3 factorisation) must stay within this many passes
# over X. Measured (CPU time): a9a (7.5 passes) newton 0.034 s vs newton-cg 0.4 s;
# w8a (13) 0.12 vs 0.23 s; random sparse 100k x 500 at 2% (17.5) 0.17 vs 0.14 s;
# 50k x 200 at 0.5% (21) 0.042 vs 0.039 s; 50k x 1000 at 1% (255) 0.26 vs 0.07 s;
# dense multinomial 100k x 50, K = 10 (1.8) 0.35 vs 0.69 s; Letter (7.4) 0.20 vs
# 0.28 s; digits (75: all 1,797 rows of a 650-column Hessian) 0.29 vs 0.07 s.
AUTO_NEWTON_MAX_PRECONDITIONER_PASSES = 15.0


def preconditioner_passes(X, size, n_classes):
    """Cost of newton's sub-sampled Hessian as a CG preconditioner (its path for
    the multinomial loss and for sparse X), in passes over X: the Hessian of
    ``max(5 size, 4096)`` rows (all of them from half the data,
    ``initial_hessian_fraction``), by a sparse product or densified SYRK blocks,
    whichever is cheaper, plus its factorisation. ``size`` is the side of the
    Hessian, ``(n_features + 1) * n_classes``."""
    n, p = X.shape
    m, k = p + 1, max(1, n_classes)
    fraction = max(5 * size, 4096) / max(n, 1)
    fraction = 1.0 if fraction >= 0.5 else fraction
    # Densified: the K class blocks and the rank-K correction of side size.
    build = 0.5 * n * (float(size) ** 2 + (k * m * m if k > 1 else 0))
    if sp.issparse(X):
        X = X.tocsr() if X.format != "csr" else X
        build = min(_SPARSE_PAIR_COST * _sparse_pairs(X) * k * k, build)
        nnz = X.nnz
    else:
        nnz = X.size
    return (fraction * build + float(size) ** 3) / max(_PASS_COST * nnz * k, 1.0)


def choose_solver(X, n_outputs, fit_intercept, shared_hessian):
    """The rule behind ``solver="auto"``.

    ``"newton"`` when the Hessian is small enough to factorise
    (``(n_features + fit_intercept) * k <= 1024``, where ``k`` is the number of
    classes for the multinomial loss and 1 otherwise; for least squares one
    factorisation serves all targets, so ``k = 1``) and, for the multinomial
    loss or sparse X, where newton's sub-sampled Hessian only preconditions CG,
    when that costs at most 15 passes over X to build and factorise
    (``preconditioner_passes``); ``"newton-cg"`` otherwise (wide X, sparse X so
    sparse that Hessian-vector products are cheaper, or few samples against the
    multinomial Hessian's size).
    """
    k = 1 if shared_hessian else n_outputs
    size = (X.shape[1] + fit_intercept) * k
    if size > AUTO_NEWTON_MAX_SIZE:
        return "newton-cg"
    if sp.issparse(X) or k > 1:
        passes = preconditioner_passes(X, size, k)
        return "newton" if passes <= AUTO_NEWTON_MAX_PRECONDITIONER_PASSES else "newton-cg"
    return "newton"


__all__ = [
    "SOLVERS", "STOCHASTIC_SOLVERS", "Solver", "SolverResult", "NewtonLoop", "NewtonSolver",
    "NewtonCGSolver", "LBFGSSolver", "StochasticSolver", "MinibatchSolver",
    "choose_solver", "default_max_condition", "preconditioner_passes",
]
