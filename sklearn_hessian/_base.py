"""What both estimators share: parameters, validation, solver choice, results."""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight

from ._objective import make_objective
from .solvers import SOLVERS, choose_solver

_ACCEPT_SPARSE = ["csr", "csc"]
_DTYPES = [np.float64, np.float32]


class _BaseHessianModel(BaseEstimator):
    """Shared machinery; the subclasses encode targets and shape the coefficients."""

    _parameter_constraints: dict = {
        "alpha": [Interval(Real, 0, None, closed="left")],
        "solver": [StrOptions({"auto", *SOLVERS})],
        "fit_intercept": ["boolean"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "max_condition": [Interval(Real, 1, None, closed="neither"), None],
        "hessian_subsample": [Interval(Real, 0, 1, closed="right"), StrOptions({"auto"})],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        alpha=1e-4,
        *,
        solver="auto",
        fit_intercept=True,
        tol=1e-8,
        max_iter=100,
        max_condition=None,
        hessian_subsample="auto",
        warm_start=False,
        verbose=0,
        random_state=None,
        n_jobs=None,
    ):
        self.alpha = alpha
        self.solver = solver
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.max_condition = max_condition
        self.hessian_subsample = hessian_subsample
        self.warm_start = warm_start
        self.verbose = verbose
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _check_sample_weight(self, sample_weight, X):
        if sample_weight is None:
            return None
        return _check_sample_weight(
            sample_weight, X, dtype=X.dtype, ensure_non_negative=True
        )

    def _make_solver(self, name):
        options = dict(
            tol=self.tol,
            max_iter=self.max_iter,
            verbose=self.verbose,
            random_state=self.random_state,
        )
        if name == "newton":
            options["max_condition"] = self.max_condition
            options["hessian_subsample"] = self.hessian_subsample
        return SOLVERS[name](**options)

    def _warm_start_coef(self, objective):
        """Previous solution as the solver's starting point, when shapes agree."""
        if not self.warm_start or not hasattr(self, "coef_"):
            return objective.zeros()
        coef = objective.zeros()
        p = objective.n_features
        W = np.asarray(self.coef_, dtype=coef.dtype).reshape(-1, p).T
        if W.shape != coef[:p].shape:
            return coef
        coef[:p] = W
        if objective.fit_intercept:
            coef[p] = np.ravel(self.intercept_)
        return coef

    def _solve(self, loss_name, X, y, sample_weight, n_outputs):
        """Run the chosen solver; return coefficients of shape (p + fi, k)."""
        objective = make_objective(
            loss_name, X, y, sample_weight, self.alpha, self.fit_intercept, n_outputs,
            n_jobs=self.n_jobs,
        )
        name = self.solver
        if name == "auto":
            name = choose_solver(
                X, n_outputs, self.fit_intercept, objective.loss.shared_hessian
            )
        solver = self._make_solver(name)
        try:
            result = solver.solve(objective, self._warm_start_coef(objective))
        finally:
            objective.close()
        if not result.converged:
            detail = f" ({result.message})" if result.message else ""
            warnings.warn(
                f"{type(self).__name__} with solver={name!r} did not converge to "
                f"tol={self.tol} in {result.n_iter} iterations{detail}. Increase "
                "max_iter, scale the features, or increase alpha.",
                ConvergenceWarning,
            )
        self.solver_ = name
        self.n_iter_ = int(result.n_iter)
        self.loss_curve_ = np.asarray(result.loss_curve, dtype=np.float64)
        self.condition_number_ = float(result.condition_number)
        return result.coef

    def _split_coef(self, coef):
        """(coef_ as (k, p), intercept_ as (k,)) from the solver's (p + fi, k)."""
        p = coef.shape[0] - self.fit_intercept
        W = np.ascontiguousarray(coef[:p].T)
        b = coef[p].copy() if self.fit_intercept else np.zeros(coef.shape[1], coef.dtype)
        return W, b

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
