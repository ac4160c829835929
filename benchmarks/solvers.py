"""The solvers the benchmark runs: ours, scikit-learn's and (when installed) glum's.

A :class:`SolverSpec` knows how to build an estimator for a problem at a given
tolerance, which tolerances to try (its *tol ladder*) and whether it applies to a
problem at all (e.g. Ridge's solvers only to least squares, exact-Hessian solvers
only while the Hessian is small enough to form).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import Callable

import scipy.sparse as sp

from problems import hessian_size

# Tolerances tried, loosest first; a ladder stops early once a run reaches the
# deepest suboptimality level (see run.py), so the tight end is rarely run.
# The loose end matters on badly scaled data, where the gradient's entries are large
# long before the objective is near its optimum.
LADDER = [1e0, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-12]
LADDER_SAGA = [1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-10]
LADDER_RIDGE = [1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-10, 1e-12, 1e-14]

SIDES = ("ours", "sklearn", "glum")


@dataclass
class SolverSpec:
    side: str  # "ours", "sklearn" or "glum"
    name: str  # e.g. "newton", "lbfgs"
    make: Callable  # make(problem, tol) -> unfitted estimator
    ladder: list = field(default_factory=lambda: list(LADDER))
    applies: Callable = lambda problem, max_hessian: (True, "")
    deterministic: bool = True
    # Whether SIGALRM can stop a fit (its iteration loop is in Python).
    interruptible: bool = True

    @property
    def key(self):
        return f"{self.side}:{self.name}"


def _logistic(problem):
    return problem.kind in ("binomial", "multinomial")


def _small_hessian(problem, max_hessian):
    size = hessian_size(problem)
    if size > max_hessian:
        return False, f"Hessian side {size:,} > --max-hessian-size {max_hessian:,}"
    return True, ""


# -- ours ----------------------------------------------------------------------------------
_OURS_MAX_ITER = {"newton": 200, "newton-cg": 2000, "lbfgs": 20000, "auto": 2000}


def _ours(name):
    def make(problem, tol):
        from sklearn_hessian import HessianClassifier, HessianRegressor

        cls = HessianRegressor if problem.kind == "squared_error" else HessianClassifier
        return cls(alpha=problem.alpha, solver=name, tol=tol,
                   max_iter=_OURS_MAX_ITER[name])

    def applies(problem, max_hessian):
        if name == "newton":
            return _small_hessian(problem, max_hessian)
        return True, ""

    return SolverSpec("ours", name, make, applies=applies)


def ours_solvers():
    return [_ours(n) for n in ("newton", "newton-cg", "lbfgs", "auto")]


# -- scikit-learn ---------------------------------------------------------------------------
_SK_LOGISTIC_MAX_ITER = {"lbfgs": 20000, "newton-cg": 2000, "newton-cholesky": 1000,
                         "saga": 3000, "sag": 3000}


def _sk_logistic(name):
    def make(problem, tol):
        from sklearn.linear_model import LogisticRegression

        C = 1.0 / (problem.alpha * problem.X.shape[0])
        return LogisticRegression(C=C, solver=name, tol=tol,
                                  max_iter=_SK_LOGISTIC_MAX_ITER[name], random_state=0)

    def applies(problem, max_hessian):
        if not _logistic(problem):
            return False, "logistic regression only"
        if name == "newton-cholesky":
            return _small_hessian(problem, max_hessian)
        return True, ""

    ladder = LADDER_SAGA if name in ("saga", "sag") else LADDER
    return SolverSpec("sklearn", name, make, ladder=list(ladder), applies=applies,
                      interruptible=name not in ("saga", "sag"))


def _sk_ridge(name):
    def make(problem, tol):
        from sklearn.linear_model import Ridge

        alpha_r = problem.alpha * problem.X.shape[0]
        kwargs = {} if name == "cholesky" else {"tol": tol}
        return Ridge(alpha=alpha_r, solver=name, **kwargs)

    def applies(problem, max_hessian):
        if problem.kind != "squared_error":
            return False, "least squares only"
        if name == "cholesky":
            if sp.issparse(problem.X):
                return False, "no intercept on sparse X in scikit-learn"
            return _small_hessian(problem, max_hessian)
        return True, ""

    # A direct solver has no tolerance: one rung.
    ladder = [None] if name == "cholesky" else list(LADDER_RIDGE)
    return SolverSpec("sklearn", name, make, ladder=ladder, applies=applies)


def sklearn_solvers(include_sag=False):
    names = ["lbfgs", "newton-cg", "newton-cholesky", "saga"]
    if include_sag:
        names.append("sag")
    specs = [_sk_logistic(n) for n in names]
    specs += [_sk_ridge(n) for n in ("cholesky", "sparse_cg", "lsqr")]
    return specs


# -- glum (optional) ----------------------------------------------------------------------
def glum_available():
    return importlib.util.find_spec("glum") is not None


def _glum(name):
    def make(problem, tol):
        from glum import GeneralizedLinearRegressor

        family = "normal" if problem.kind == "squared_error" else "binomial"
        # glum minimises deviance / (2 sum w) + alpha * (1 - l1_ratio) / 2 ||w||^2:
        # the mean log-loss (binomial deviance is twice it) or the mean half squared
        # error, i.e. the same F at the same alpha.
        return GeneralizedLinearRegressor(
            family=family, alpha=problem.alpha, l1_ratio=0.0, solver=name,
            gradient_tol=tol, max_iter=1000,
        )

    def applies(problem, max_hessian):
        if problem.kind == "multinomial":
            return False, "glum has no multinomial loss"
        if name.startswith("irls"):
            return _small_hessian(problem, max_hessian)
        return True, ""

    return SolverSpec("glum", name, make, applies=applies)


def glum_solvers():
    if not glum_available():
        return []
    return [_glum("irls-ls"), _glum("lbfgs")]


def all_solvers(include_glum=True, include_sag=False):
    specs = ours_solvers() + sklearn_solvers(include_sag=include_sag)
    if include_glum:
        specs += glum_solvers()
    return specs


# -- the reference optimum ------------------------------------------------------------------
def reference_specs(problem, max_hessian):
    """The solvers, at tol 1e-12, whose best value is taken as F*.

    Ours: exact Newton while the Hessian is small enough to form, Newton-CG
    otherwise. scikit-learn: its Newton solver of the same kind (newton-cholesky or
    newton-cg) for logistic regression; Ridge's Cholesky (dense X) or sparse CG and
    LSQR (sparse X) for least squares.
    """
    small = hessian_size(problem) <= max_hessian
    ours = _ours("newton" if small else "newton-cg")
    if _logistic(problem):
        theirs = [_sk_logistic("newton-cholesky" if small else "newton-cg")]
    elif sp.issparse(problem.X) or not small:
        theirs = [_sk_ridge("sparse_cg"), _sk_ridge("lsqr")]
    else:
        theirs = [_sk_ridge("cholesky")]
    return [ours] + theirs


REFERENCE_TOL = 1e-12
