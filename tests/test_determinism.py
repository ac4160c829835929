"""Determinism: the same random_state gives bit-identical coefficients across
repeated fits and across n_jobs, for every solver and the CV estimators."""

import numpy as np
import pytest

from sklearn_hessian import (
    HessianClassifier,
    HessianClassifierCV,
    HessianRegressor,
    HessianRegressorCV,
)

SOLVERS = ["auto", "newton", "newton-cg", "lbfgs", "sgd", "minibatch"]


def _data(kind, n=30_000, p=6, seed=0):
    # n >> p: "newton" starts from Hessians of random row subsets (random_state).
    rng = np.random.RandomState(seed)
    X = rng.randn(n, p)
    score = X @ np.linspace(-1, 1, p) + rng.logistic(size=n)
    if kind == "binary":
        return X, (score > 0).astype(int)
    if kind == "multinomial":
        return X, np.digitize(score, [-1, 1])
    return X, score


def _assert_identical(a, b):
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.intercept_, b.intercept_)
    assert a.n_iter_ == b.n_iter_
    np.testing.assert_array_equal(a.loss_curve_, b.loss_curve_)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("kind", ["binary", "multinomial", "regression"])
def test_repeated_fits_and_n_jobs_give_identical_coefficients(kind, solver):
    X, y = _data(kind)
    Estimator = HessianRegressor if kind == "regression" else HessianClassifier
    params = dict(alpha=1e-4, solver=solver, random_state=3)
    first = Estimator(**params).fit(X, y)
    _assert_identical(first, Estimator(**params).fit(X, y))
    _assert_identical(first, Estimator(**params, n_jobs=2).fit(X, y))
    # A RandomState instance seeded alike: the same fit.
    _assert_identical(
        first, Estimator(**{**params, "random_state": np.random.RandomState(3)}).fit(X, y)
    )


def test_random_state_none_is_deterministic_too():
    X, y = _data("binary")
    a = HessianClassifier(solver="newton").fit(X, y)
    b = HessianClassifier(solver="newton").fit(X, y)
    _assert_identical(a, b)


@pytest.mark.parametrize("solver", ["newton", "newton-cg", "lbfgs"])
@pytest.mark.parametrize("Estimator", [HessianClassifierCV, HessianRegressorCV])
def test_cv_estimators_are_deterministic_across_n_jobs(Estimator, solver):
    kind = "multinomial" if Estimator is HessianClassifierCV else "regression"
    X, y = _data(kind, n=3000)
    params = dict(alphas=4, cv=3, solver=solver, random_state=0)
    serial = Estimator(**params).fit(X, y)
    again = Estimator(**params).fit(X, y)
    parallel = Estimator(**params, n_jobs=2).fit(X, y)
    for other in (again, parallel):
        _assert_identical(serial, other)
        assert serial.alpha_ == other.alpha_
        np.testing.assert_array_equal(
            serial.cv_results_["mean_test_score"], other.cv_results_["mean_test_score"]
        )
