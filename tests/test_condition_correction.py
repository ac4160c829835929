"""Condition correction of the "newton" solver: singular and ill-conditioned Hessians."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sklearn_hessian import HessianClassifier, HessianRegressor
from sklearn_hessian.solvers.newton import _Factorization, default_max_condition


def _min_norm_lstsq(X, y):
    """Minimum-norm least squares with a free intercept (lstsq on centred data)."""
    Xc = X - X.mean(axis=0)
    coef = np.linalg.lstsq(Xc, y - y.mean(), rcond=None)[0]
    return coef, y.mean() - X.mean(axis=0) @ coef


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_duplicated_columns_least_squares_is_min_norm(fit_intercept):
    rng = np.random.RandomState(0)
    X = rng.randn(60, 5)
    X = np.hstack([X, X[:, :2]])  # two duplicated columns: Hessian singular
    y = X @ rng.randn(7) + rng.randn(60)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning at all
        reg = HessianRegressor(alpha=0, solver="newton", fit_intercept=fit_intercept)
        reg.fit(X, y)
    if fit_intercept:
        coef, intercept = _min_norm_lstsq(X, y)
    else:
        coef, intercept = np.linalg.lstsq(X, y, rcond=None)[0], 0.0
    np.testing.assert_allclose(reg.coef_, coef, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(reg.intercept_, intercept, rtol=1e-10, atol=1e-12)
    assert reg.condition_number_ == np.inf
    # duplicated columns share their weight equally
    np.testing.assert_allclose(reg.coef_[0], reg.coef_[5], rtol=1e-10)


def test_more_features_than_samples_least_squares_is_min_norm():
    rng = np.random.RandomState(1)
    X = rng.randn(20, 50)
    y = rng.randn(20)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reg = HessianRegressor(alpha=0, solver="newton").fit(X, y)
    coef, intercept = _min_norm_lstsq(X, y)
    np.testing.assert_allclose(reg.coef_, coef, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(reg.intercept_, intercept, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(reg.predict(X), y, atol=1e-10)  # interpolates


def test_multi_target_least_squares_shares_one_factorisation():
    rng = np.random.RandomState(2)
    X = rng.randn(40, 6)
    X = np.hstack([X, 3 * X[:, :1]])  # collinear
    Y = rng.randn(40, 3)
    reg = HessianRegressor(alpha=0, solver="newton").fit(X, Y)
    assert reg.coef_.shape == (3, 7) and reg.intercept_.shape == (3,)
    for t in range(3):
        coef, intercept = _min_norm_lstsq(X, Y[:, t])
        np.testing.assert_allclose(reg.coef_[t], coef, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(reg.intercept_[t], intercept, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_duplicated_columns_logistic_splits_weight_equally(n_classes):
    rng = np.random.RandomState(3)
    X = rng.randn(400, 4)
    y = np.digitize(X[:, 0] + X[:, 1] + rng.randn(400), [-0.5, 0.5][: n_classes - 1])
    X_dup = np.hstack([X, X[:, :1]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dup = HessianClassifier(alpha=0, solver="newton").fit(X_dup, y)
    ref = HessianClassifier(alpha=0, solver="newton").fit(X, y)
    # Min-norm: the duplicated feature's coefficient is split in two halves.
    np.testing.assert_allclose(dup.coef_[:, 0], dup.coef_[:, 4], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(2 * dup.coef_[:, 0], ref.coef_[:, 0], rtol=1e-7)
    np.testing.assert_allclose(dup.coef_[:, 1:4], ref.coef_[:, 1:], rtol=1e-7)
    np.testing.assert_allclose(dup.intercept_, ref.intercept_, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(
        dup.predict_proba(X_dup), ref.predict_proba(X), rtol=1e-7, atol=1e-12
    )


def test_separable_data_without_penalty_warns_with_finite_coefficients():
    rng = np.random.RandomState(4)
    X = rng.randn(100, 3)
    y = (X[:, 0] > 0).astype(int)
    for solver in ["newton", "newton-cg", "lbfgs"]:
        clf = HessianClassifier(alpha=0, solver=solver, max_iter=30)
        with pytest.warns(ConvergenceWarning, match="separable"):
            clf.fit(X, y)
        assert np.all(np.isfinite(clf.coef_)) and np.all(np.isfinite(clf.intercept_))
        assert clf.score(X, y) == 1.0


def test_badly_centred_data_converge_quickly():
    # Features with mean 1e4 and spread 1: the intercept is eliminated exactly,
    # so the Newton system stays well conditioned.
    rng = np.random.RandomState(5)
    X = 1e4 + rng.randn(500, 3)
    y = ((X - 1e4) @ [1.0, -1.0, 0.5] + 0.3 * rng.randn(500) > 0).astype(int)
    clf = HessianClassifier(alpha=1e-4, solver="newton").fit(X, y)
    assert clf.n_iter_ <= 10
    centred = HessianClassifier(alpha=1e-4, solver="newton").fit(X - 1e4, y)
    np.testing.assert_allclose(clf.coef_, centred.coef_, rtol=1e-6)


def test_features_scaled_over_many_orders_of_magnitude():
    rng = np.random.RandomState(6)
    Z = rng.randn(2000, 6)
    y = (Z @ rng.randn(6) + rng.randn(2000) > 0).astype(int)
    scales = 10.0 ** np.array([-4, -2, 0, 2, 4, 6])
    X = Z * scales
    clf = HessianClassifier(alpha=0, solver="newton").fit(X, y)
    ref = HessianClassifier(alpha=0, solver="newton").fit(Z, y)
    # Same model in other units: coefficients scale inversely.
    np.testing.assert_allclose(clf.coef_ * scales, ref.coef_, rtol=1e-6)
    assert clf.condition_number_ > 1e15


def test_factorization_floors_small_eigenvalues_and_reports_it():
    # A unit-diagonal matrix with condition number 1e10, bound 1e6: floored.
    rng = np.random.RandomState(7)
    Q, _ = np.linalg.qr(rng.randn(5, 5))
    lam = np.array([1e-10, 1e-3, 0.5, 1.0, 2.0])
    H = Q @ np.diag(lam) @ Q.T
    fact = _Factorization(H, max_condition=1e6, mu=0.0)
    assert fact.kind == "spectral" and "floored" in fact.corrected
    g = rng.randn(5, 1)
    x = fact.solve(g)
    assert np.all(np.isfinite(x))
    # A descent direction for any g: g.x > 0 for x = H_corrected^{-1} g.
    assert float((g.T @ x)[0, 0]) > 0
    well = _Factorization(np.diag([1.0, 2.0, 3.0]), max_condition=1e6, mu=0.0)
    assert well.kind == "cholesky" and well.corrected == ""


def test_default_max_condition_depends_on_dtype():
    assert default_max_condition(np.float64) == 1e12
    assert 1e5 < default_max_condition(np.float32) < 1e6


def test_max_condition_bound_still_reaches_optimum_of_regularised_fit():
    # A tight bound changes the path (floored steps), not the optimum.
    rng = np.random.RandomState(8)
    X = rng.randn(300, 5) * [1, 1, 1, 1e-3, 1e3]
    y = (X @ [1, -1, 0.5, 100, 1e-3] + rng.randn(300) > 0).astype(int)
    tight = HessianClassifier(alpha=1e-6, solver="newton", max_condition=10.0,
                              max_iter=500).fit(X, y)
    free = HessianClassifier(alpha=1e-6, solver="newton").fit(X, y)
    np.testing.assert_allclose(tight.coef_, free.coef_, rtol=1e-5)


@pytest.mark.parametrize("solver", ["newton", "newton-cg"])
def test_unscaled_california_housing_reaches_the_optimum(solver):
    # Populations in the thousands next to incomes around 4, tiny alpha: an
    # ill-conditioned least-squares problem (condition number ~1e11).
    from _helpers import shared_data

    X, y = shared_data("cal_housing")
    alpha = 1e-12
    reg = HessianRegressor(alpha=alpha, solver=solver, max_iter=200).fit(X, y)
    coef, intercept = _min_norm_lstsq(X, y)  # alpha this small changes nothing
    residual = y - X @ coef - intercept
    F_opt = 0.5 * np.mean(residual**2) + 0.5 * alpha * coef @ coef
    F = reg.loss_curve_[-1]
    assert F <= F_opt * (1 + 1e-10)
    np.testing.assert_allclose(reg.coef_, coef, rtol=1e-6)
    if solver == "newton":
        # A quadratic: one step reaches the optimum; a few more (reusing the one
        # factorisation) chase a gradient test at the rounding level of y ~ 1e5.
        assert reg.n_iter_ <= 5
    assert reg.condition_number_ > 1e10


def test_newton_cg_on_a_million_sparse_columns():
    import scipy.sparse as sp

    rng = np.random.RandomState(9)
    n, p, per_row = 3000, 1_000_000, 20
    indices = rng.randint(0, p, size=n * per_row)
    indptr = np.arange(0, n * per_row + 1, per_row)
    X = sp.csr_matrix((rng.rand(n * per_row), indices, indptr), shape=(n, p))
    X.sum_duplicates()
    y = (X @ rng.randn(p) > 0).astype(int)
    clf = HessianClassifier(alpha=1e-4).fit(X, y)
    assert clf.solver_ == "newton-cg"
    assert clf.coef_.shape == (1, p)
    assert clf.score(X, y) > 0.99
    assert np.isfinite(clf.condition_number_)
