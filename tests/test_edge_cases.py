"""Numerical edge cases: each gives the optimum of a float64 reference (our
"newton" at tol=1e-12, or scikit-learn) or a clear warning; never NaN, never a
silent RuntimeWarning from an overflow."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge

from _helpers import objective_value
from sklearn_hessian import HessianClassifier, HessianRegressor
from sklearn_hessian._objective import make_objective
from sklearn_hessian.solvers import NewtonLoop

SOLVERS = ["newton", "newton-cg", "lbfgs"]


def _fit(est, X, y, **kw):
    """Fit, returning the warnings; a RuntimeWarning (overflow, NaN) fails."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y, **kw)
    runtime = [str(w.message) for w in caught if w.category is RuntimeWarning]
    assert not runtime, runtime
    assert np.all(np.isfinite(est.coef_)) and np.all(np.isfinite(est.intercept_))
    return [w for w in caught if w.category is ConvergenceWarning]


def _reference(Estimator, X, y, alpha, **params):
    return Estimator(alpha=alpha, solver="newton", tol=1e-12, **params).fit(
        np.asarray(X, dtype=np.float64), y
    )


# --------------------------------------------------------------------------------------
# Separable data without penalty
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("solver", SOLVERS)
def test_separable_without_penalty_warns_with_finite_coefficients(solver, n_classes,
                                                                  dtype):
    rng = np.random.RandomState(0)
    X = rng.randn(150, 3).astype(dtype)
    y = np.digitize(X[:, 0], [-0.5, 0.5][: n_classes - 1])
    clf = HessianClassifier(alpha=0, solver=solver, max_iter=50)
    caught = _fit(clf, X, y)
    assert any("separable" in str(w.message) or "did not converge" in str(w.message)
               for w in caught)
    assert clf.score(X, y) == 1.0
    proba = clf.predict_proba(X)
    assert proba.dtype == dtype and np.all(np.isfinite(proba))


# --------------------------------------------------------------------------------------
# Duplicated and constant columns
# --------------------------------------------------------------------------------------
def _with_duplicated_and_constant_columns(seed=1, n=300):
    rng = np.random.RandomState(seed)
    Z = rng.randn(n, 4)
    X = np.column_stack([Z, Z[:, 0], np.full(n, 3.0)])  # col 4 = col 0, col 5 constant
    return Z, X


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_duplicated_and_constant_columns_classifier(solver, n_classes):
    Z, X = _with_duplicated_and_constant_columns()
    rng = np.random.RandomState(2)
    y = np.digitize(Z @ [1.0, -1.0, 0.5, 0.0] + rng.logistic(size=len(Z)),
                    [-0.5, 0.5][: n_classes - 1])
    alpha = 1e-3
    clf = HessianClassifier(alpha=alpha, solver=solver)
    assert not _fit(clf, X, y)
    sk = LogisticRegression(C=1 / (alpha * len(y)), tol=1e-12, max_iter=10_000).fit(X, y)
    F, F_sk = objective_value(clf, X, y, alpha), objective_value(sk, X, y, alpha)
    assert F <= F_sk + 1e-10
    np.testing.assert_allclose(clf.predict_proba(X), sk.predict_proba(X), atol=1e-5)
    # The penalty splits the duplicated weight equally and zeroes the constant one.
    np.testing.assert_allclose(clf.coef_[:, 0], clf.coef_[:, 4], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(clf.coef_[:, 5], 0, atol=1e-6)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("alpha", [0.0, 1e-3])
def test_duplicated_and_constant_columns_regressor(solver, alpha):
    Z, X = _with_duplicated_and_constant_columns()
    rng = np.random.RandomState(3)
    y = Z @ [1.0, -1.0, 0.5, 0.0] + 2.0 + rng.randn(len(Z))
    reg = HessianRegressor(alpha=alpha, solver=solver)
    assert not _fit(reg, X, y)
    if alpha > 0:
        ref = Ridge(alpha=alpha * len(y), solver="svd").fit(X, y)
        np.testing.assert_allclose(reg.coef_, ref.coef_, rtol=1e-6, atol=1e-9)
    # Whatever the solver, the optimum's predictions (unique even at alpha=0).
    ref = _reference(HessianRegressor, Z, y, 0.0)
    if alpha == 0:
        np.testing.assert_allclose(reg.predict(X), ref.predict(Z), atol=1e-7)
        np.testing.assert_allclose(reg.coef_[0] + reg.coef_[4], ref.coef_[0],
                                   rtol=1e-7)
    if alpha > 0 or solver == "newton":  # newton at alpha=0: the min-norm optimum
        np.testing.assert_allclose(reg.coef_[0], reg.coef_[4], rtol=1e-6)
    if alpha > 0:
        # (At alpha=0 "newton" spreads the constant column's share over it and the
        # intercept, minimum norm in (coef, intercept) jointly: 0.21 here, not the
        # 0 of the alpha -> 0 limit. Same predictions.)
        np.testing.assert_allclose(reg.coef_[5], 0, atol=1e-8)


# --------------------------------------------------------------------------------------
# Badly scaled features
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("scales", [[1, 1e8, 1], [1, 1e-8, 1], [1e8, 1e-8, 1]],
                         ids=["1e8", "1e-8", "1e8-and-1e-8"])
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("model", ["binary", "multinomial", "regressor"])
def test_features_scaled_by_1e8_or_1e_minus_8(model, solver, scales):
    rng = np.random.RandomState(4)
    Z = rng.randn(500, 3)
    score = Z @ [1.0, -1.0, 0.5]
    Estimator = HessianRegressor if model == "regressor" else HessianClassifier
    if model == "binary":
        y = (score + rng.logistic(size=500) > 0).astype(int)
    elif model == "multinomial":
        y = np.digitize(score + rng.logistic(size=500), [-0.5, 0.5])
    else:
        y = score + rng.randn(500)
    scales = np.array(scales, dtype=float)
    ref = _reference(Estimator, Z, y, 0.0)  # alpha=0: the model in other units
    est = Estimator(alpha=0, solver=solver, max_iter=300)
    # The stopping test measures the gradient as if every feature had unit RMS
    # (when that is stricter), and the diagonal preconditioners floor the Hessian
    # diagonal in those units: every solver reaches the optimum, without warning.
    # (Before, max|g| <= tol passed at the start for the 1e-8 feature's gradient,
    # and newton-cg/lbfgs stopped silently with its coefficient near 0; multinomial
    # newton left that feature out as a null direction of the Hessian.)
    assert not _fit(est, Z * scales, y)
    np.testing.assert_allclose(np.asarray(est.coef_) * scales, ref.coef_, rtol=1e-5)


class _BlindSolver(NewtonLoop):
    """A solver whose directions ignore coefficient 1 and are far too short: the
    line search finds no change beyond rounding, whatever the gradient."""

    name = "blind"

    def direction(self, objective, coef, Z, g):
        d = -1e-30 * g
        d[1] = 0
        return d


def test_rounding_level_stop_needs_a_small_gradient():
    # A failed line search at rounding level means "optimal to rounding" only when
    # the gradient agrees; here coefficient 1 is far from its optimum, and the
    # decrease a step along it alone promises is far beyond rounding.
    rng = np.random.RandomState(8)
    X = rng.randn(200, 3)
    y = (X @ [1.0, -2.0, 0.5] + rng.randn(200))[:, None]
    objective = make_objective("squared_error", X, y, None, 0.0, False, 1)
    result = _BlindSolver().solve(objective, objective.zeros())
    assert not result.converged
    assert "line search failed" in result.message
    # At the optimum the same useless directions are no reason to warn.
    coef = np.linalg.lstsq(X, y, rcond=None)[0]
    result = _BlindSolver(tol=0).solve(objective, coef)
    assert result.converged


@pytest.mark.xfail(strict=False, reason=(
    "tol=1e-14 is below the gradient's rounding noise in unit-RMS units (3e-14: "
    "the raw predictions grow to ~30), which exceeds the floor 10 eps |g0| "
    "(1.1e-14), so newton runs to max_iter and warns; the plain max|g| test used "
    "to pass here. Stopping on objective changes at rounding level, or flooring at "
    "10 eps rms(Z), stopped float32 fits too early. Not strict: whether some "
    "iterate's gradient falls below 1e-14 by rounding depends on the path (since "
    "the first step from the Kronecker Hessian, iteration 15 does)"))
def test_tol_below_rounding_noise_stops_at_rounding_level():
    # Found by the hypothesis long profile (while checking the lbfgs tolerances).
    # The optimum is reached by iteration 15; what is wanted is convergence at
    # rounding level there, not 100 iterations and a ConvergenceWarning.
    X = np.array([
        [10.2259119, 0.0989845452, 10.7203056, 3.54325451, -14.5258595, -0.7232236],
        [-19.3765819, 0.137482841, 0.417824868, -8.65356711, 16.4339822, 10.0451456],
        [11.7334806, 0.175301924, -9.51344195, -9.4128186, -29.0343322, 9.1515498],
        [19.2710708, 0.0175910159, 6.85134023, 16.5395349, -1.87830627, -0.924312993],
        [-3.59345179, 0.0123693209, 10.8974277, 5.41234246, -18.1767003, 21.7724122],
        [2.39586191, -0.0717030186, -10.9176937, 17.6220925, -6.59695617, -8.10164653],
        [3.59525007, -0.153159146, 12.1407889, 10.7202088, -0.90318007, -24.120215],
        [-3.12319325, -0.0793014995, 7.88316576, -0.523299684, -1.93433801, -4.39150889],
        [-10.7216473, -0.0847330123, 3.74036376, 24.381549, -14.8305849, -6.52608403],
    ])
    y = np.array([1, 2, 2, 1, 2, 0, 0, 0, 1])
    sw = np.array([1.0, 1.0, 3.0, 3.0, 3.0, 2.0, 1.0, 1.0, 3.0])
    clf = HessianClassifier(alpha=1e-3, solver="newton", tol=1e-14)
    assert not _fit(clf, X, y, sample_weight=sw)
    assert clf.n_iter_ < 30
    ref = HessianClassifier(alpha=1e-3, solver="newton", tol=1e-12).fit(
        X, y, sample_weight=sw)
    np.testing.assert_allclose(clf.coef_, ref.coef_, rtol=1e-9, atol=1e-12)


# --------------------------------------------------------------------------------------
# Extreme class imbalance
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("solver", SOLVERS)
def test_one_positive_in_ten_thousand(solver):
    rng = np.random.RandomState(5)
    X = rng.randn(10_000, 4)
    y = np.zeros(10_000, dtype=int)
    y[1234] = 1
    alpha = 1e-4
    clf = HessianClassifier(alpha=alpha, solver=solver)
    assert not _fit(clf, X, y)
    ref = _reference(HessianClassifier, X, y, alpha)
    # The objective is flat (curvature ~1e-4): compare objective values and
    # probabilities, not coefficients to many digits.
    assert objective_value(clf, X, y, alpha) <= objective_value(ref, X, y, alpha) + 1e-10
    p, p_ref = clf.predict_proba(X)[:, 1], ref.predict_proba(X)[:, 1]
    np.testing.assert_allclose(p, p_ref, rtol=1e-2)
    assert 0 < p.min() and p.max() < 0.5 and np.all(clf.predict(X) == 0)


# --------------------------------------------------------------------------------------
# Margins that overflow exp in float32
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("solver", SOLVERS)
def test_float32_margins_beyond_exp_overflow(solver, n_classes):
    rng = np.random.RandomState(6)
    X = rng.randn(2000, 4) * 100
    y = np.digitize(X @ [1.0, -1.0, 0.5, 0.0] + 5 * rng.randn(2000),
                    [-10.0, 10.0][: n_classes - 1])
    alpha = 1e-6
    ref = _reference(HessianClassifier, X, y, alpha)
    # exp overflows float32 beyond 88.7: the training margins go past it.
    assert np.abs(ref.decision_function(X)).max() > 89
    clf = HessianClassifier(alpha=alpha, solver=solver)
    assert not _fit(clf, X.astype(np.float32), y)
    assert clf.coef_.dtype == np.float32
    np.testing.assert_allclose(clf.coef_, ref.coef_, rtol=2e-3, atol=1e-5)
    # Prediction far beyond the overflow: finite float32 probabilities.
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        proba = clf.predict_proba(X.astype(np.float32) * 100)
        log_proba = clf.predict_log_proba(X.astype(np.float32) * 100)
    assert proba.dtype == np.float32 and np.all(np.isfinite(proba))
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    assert np.all(np.isfinite(log_proba)) or np.all(log_proba[~np.isfinite(log_proba)]
                                                    == -np.inf)


# --------------------------------------------------------------------------------------
# Regression targets around 1e9
# --------------------------------------------------------------------------------------
def _large_targets():
    rng = np.random.RandomState(7)
    X = rng.randn(1000, 3)
    y = 1e9 + X @ [1.0, 2.0, 3.0] + rng.randn(1000)
    Xc = X - X.mean(axis=0)
    coef = np.linalg.lstsq(Xc, y - y.mean(), rcond=None)[0]
    return X, y, coef, y.mean() - X.mean(axis=0) @ coef


@pytest.mark.parametrize("solver", SOLVERS)
def test_targets_around_1e9(solver):
    X, y, coef, intercept = _large_targets()
    reg = HessianRegressor(alpha=0, solver=solver)
    assert not _fit(reg, X, y)
    np.testing.assert_allclose(reg.coef_, coef, rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(reg.intercept_, intercept, rtol=1e-14)


@pytest.mark.parametrize("solver", SOLVERS)
def test_targets_around_1e9_float32_X(solver):
    # y is centred in float64 before it takes X's dtype (float32 spacing at 1e9
    # is 64), so the coefficients keep float32 accuracy.
    X, y, coef, intercept = _large_targets()
    reg = HessianRegressor(alpha=0, solver=solver)
    caught = _fit(reg, X.astype(np.float32), y)
    if not caught:
        np.testing.assert_allclose(reg.coef_, coef, rtol=1e-3, atol=1e-3)


# --------------------------------------------------------------------------------------
# A zero Hessian diagonal
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("solver", SOLVERS)
def test_all_zero_X_without_penalty_or_intercept(solver):
    X = np.zeros((30, 3))
    y = np.arange(30.0)
    reg = HessianRegressor(alpha=0, fit_intercept=False, solver=solver)
    assert not _fit(reg, X, y)
    np.testing.assert_array_equal(reg.coef_, 0)


@pytest.mark.parametrize("offset", [1e2, 1e4, 1e6, 1e8])
@pytest.mark.parametrize("weighted", [False, True], ids=["no_sw", "sw"])
def test_newton_least_squares_on_badly_centred_columns(offset, weighted):
    """Columns offset by up to 1e8 standard deviations: newton, which works from
    the Gram matrix for least squares, still matches the solution computed on
    centred data (the Gram of the raw columns lost 9 digits at offset 1e4, 13 at
    1e6, and newton on passes over X failed at 1e8); the reference itself, centred
    in float64, loses about eps offset."""
    rng = np.random.default_rng(0)
    n, p, alpha = 2000, 20, 1e-3
    X = rng.standard_normal((n, p)) + offset
    y = X @ rng.standard_normal(p) + rng.standard_normal(n)
    sw = rng.random(n) if weighted else np.ones(n)
    s = sw / sw.sum()
    Xc = (X - s @ X) * np.sqrt(s)[:, None]
    yc = (y - s @ y) * np.sqrt(s)
    expected = np.linalg.solve(Xc.T @ Xc + alpha * np.eye(p), Xc.T @ yc)
    reg = HessianRegressor(alpha=alpha, solver="newton").fit(
        X, y, sample_weight=sw if weighted else None)
    np.testing.assert_allclose(reg.coef_, expected, rtol=0,
                               atol=max(1e-12, 1e-16 * offset) * np.abs(expected).max())


def test_newton_refuses_a_hessian_larger_than_memory(monkeypatch):
    """solver='newton' on data too wide for its dense Hessian: a clear error
    naming the Hessian-free solvers, not numpy's allocation failure."""
    import sklearn_hessian.solvers.newton as newton_module
    from sklearn_hessian import HessianClassifier

    monkeypatch.setattr(newton_module, "_physical_memory", lambda: 2**20)  # 1 MiB
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((50, 300)), np.arange(50) % 2
    with pytest.raises(ValueError, match="solver='newton-cg'"):
        HessianClassifier(solver="newton").fit(X, y)
    HessianClassifier(solver="newton-cg").fit(X, y)  # never forms it


def test_multinomial_newton_steps_stay_class_centred():
    """A small ill-conditioned multinomial draw (features from 0.1 to 30 in scale)
    that the property tests found: Hessians from float32 probabilities are not
    quite flat along the class shifts, and uncentred Newton steps let the
    coefficients' class sums drift until their penalty gradient stalled the
    test at 1.2e-8 (line search failed, ConvergenceWarning). The steps are
    centred now."""
    X = np.array([
        [1.14359860, -1.53162559, 0.0667917820, 4.01426269],
        [1.74394329, 0.512994606, -0.0385638843, -12.7463838],
        [1.38202573, -1.52465748, -0.114394997, 0.317679451],
        [1.09971139, 1.00492088, 0.0111441207, -19.3675646],
        [1.09799086, -1.25300646, 0.114301507, 7.06680236],
        [1.75986069, -0.355785624, -0.00956169566, 12.9861009],
        [-0.0412607770, 1.07481204, 0.147992626, -14.0474276],
        [3.10114504, 1.10426135, 0.205271827, 29.9574016],
        [-1.17408196, 0.634783548, -0.145474008, 11.3634205]])
    y = np.array([1, 2, 1, 0, 1, 2, 0, 2, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = HessianClassifier(alpha=1e-3, solver="newton", tol=1e-8).fit(X, y)
    assert clf.n_iter_ <= 12
    np.testing.assert_allclose(clf.coef_.sum(axis=0), 0, atol=1e-12)
