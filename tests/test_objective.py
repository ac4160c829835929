"""The penalised objective: derivatives, Hessians, line, dtypes and stability.

Every method of ``LinearObjective`` is checked against something computed another
way: the value against a plain numpy formula (``_helpers.reference_objective``), the
gradient against central finite differences of the value, Hessian-vector products
against finite differences of the gradient, the full Hessian and its diagonal against
Hessian-vector products on basis vectors, and ``line`` against the value at the
moved point. Finite differences use float64 data; float32 is checked against the
float64 results and for dtype preservation.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from _helpers import reference_objective

from sklearn_hessian._objective import make_objective

# (loss name, number of outputs k)
LOSSES = {
    "squared_error-1": ("squared_error", 1),
    "squared_error-2": ("squared_error", 2),
    "binomial": ("binomial", 1),
    "multinomial-3": ("multinomial", 3),
}
FORMATS = ["dense", "csr", "csc", "csr_array"]

N_SAMPLES, N_FEATURES, ALPHA = 40, 5, 0.3


def _to_format(X, fmt):
    if fmt == "dense":
        return np.asarray(X)
    if fmt == "csr":
        return sp.csr_matrix(X)
    if fmt == "csc":
        return sp.csc_matrix(X)
    if fmt == "csr_array":
        return sp.csr_array(X)
    raise ValueError(fmt)  # pragma: no cover


def make_problem(case, fmt="dense", dtype=np.float64, fit_intercept=True,
                 weighted=True, seed=0):
    """A small problem: its objective, data, and a point ``coef`` away from the optimum.

    ``y`` is encoded as the estimators encode it (regression and binomial targets in
    X's dtype, multinomial targets as class indices). About 30 % of X is zero, so the
    sparse formats have real structure; one sample weight is zero.
    """
    loss, k = LOSSES[case]
    rng = np.random.RandomState(seed)
    n, p = N_SAMPLES, N_FEATURES
    X = rng.standard_normal((n, p))
    X[rng.uniform(size=(n, p)) < 0.3] = 0.0
    X[:, 0] += 1.0  # an off-centre column, so the intercept interacts with W
    if loss == "squared_error":
        y = rng.standard_normal((n, k)).astype(dtype)
    elif loss == "binomial":
        y = (rng.uniform(size=n) < 0.4).astype(dtype)
    else:
        y = np.arange(n) % k
        rng.shuffle(y)
    sw = None
    if weighted:
        sw = rng.uniform(0.2, 3.0, size=n)
        sw[3] = 0.0
    X = _to_format(X.astype(dtype), fmt)
    obj = make_objective(loss, X, y, sw, ALPHA, fit_intercept, k)
    coef = (0.7 * rng.standard_normal(obj.shape)).astype(dtype)
    return obj, X, y, sw, coef


def _reference(case, obj, X, y, sw, coef):
    p = obj.n_features
    b = coef[p] if obj.fit_intercept else np.zeros(obj.k)
    return reference_objective(LOSSES[case][0], X, y, coef[:p], b, ALPHA, sw)


def _value(obj, coef):
    return obj.value(coef, obj.predictor(coef))


def _gradient(obj, coef):
    return obj.gradient(coef, obj.predictor(coef))


def _full_hessian_from_hessp(obj, curv):
    """The (size x size) Hessian in C-order flat layout, column by column."""
    H = np.empty((obj.size, obj.size))
    for j in range(obj.size):
        e = np.zeros(obj.size, dtype=obj.dtype)
        e[j] = 1.0
        H[:, j] = obj.hessp(curv, e.reshape(obj.shape)).ravel()
    return H


def _full_hessian(obj, curv):
    """``obj.hessian`` expanded to act on all flat coefficients."""
    H = obj.hessian(curv)
    if obj.loss.shared_hessian:
        assert H.shape == (obj.shape[0], obj.shape[0])
        return np.kron(H, np.eye(obj.k))
    assert H.shape == (obj.size, obj.size)
    return H


all_cases = pytest.mark.parametrize("case", list(LOSSES))
all_formats = pytest.mark.parametrize("fmt", FORMATS)
with_intercept = pytest.mark.parametrize("fit_intercept", [True, False],
                                         ids=["intercept", "no_intercept"])
weighted = pytest.mark.parametrize("weighted", [True, False], ids=["sw", "no_sw"])


# --------------------------------------------------------------------------------------
# Value and first derivatives
# --------------------------------------------------------------------------------------
@all_cases
@all_formats
@with_intercept
@weighted
def test_value_matches_reference(case, fmt, fit_intercept, weighted):
    obj, X, y, sw, coef = make_problem(case, fmt, np.float64, fit_intercept, weighted)
    Z = obj.predictor(coef)
    assert Z.shape == (N_SAMPLES, obj.k)
    expected = _reference(case, obj, X, y, sw, coef)
    assert obj.value(coef, Z) == pytest.approx(expected, rel=1e-12)
    f, g = obj.value_gradient(coef, Z)
    assert f == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(g, obj.gradient(coef, Z), rtol=1e-12, atol=1e-14)


@all_cases
@all_formats
@with_intercept
@weighted
def test_gradient_matches_finite_differences(case, fmt, fit_intercept, weighted):
    obj, _, _, _, coef = make_problem(case, fmt, np.float64, fit_intercept, weighted)
    g = _gradient(obj, coef)
    assert g.shape == obj.shape
    h = 1e-6
    fd = np.empty(obj.shape)
    for idx in np.ndindex(*obj.shape):
        step = np.zeros(obj.shape)
        step[idx] = h
        fd[idx] = (_value(obj, coef + step) - _value(obj, coef - step)) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)


@all_cases
@all_formats
@with_intercept
@weighted
def test_hessp_matches_finite_differences_of_gradient(case, fmt, fit_intercept,
                                                       weighted):
    obj, _, _, _, coef = make_problem(case, fmt, np.float64, fit_intercept, weighted)
    rng = np.random.RandomState(1)
    curv = obj.curvature(coef, obj.predictor(coef))
    h = 1e-6
    for _ in range(3):
        V = rng.standard_normal(obj.shape)
        Hv = obj.hessp(curv, V)
        assert Hv.shape == obj.shape
        fd = (_gradient(obj, coef + h * V) - _gradient(obj, coef - h * V)) / (2 * h)
        np.testing.assert_allclose(Hv, fd, rtol=1e-6, atol=1e-8)


@all_cases
@all_formats
@with_intercept
def test_hessp_with_predictor_returns_the_first_product(case, fmt, fit_intercept):
    obj, _, _, _, coef = make_problem(case, fmt, np.float64, fit_intercept, True)
    curv = obj.curvature(coef, obj.predictor(coef))
    V = np.random.RandomState(3).standard_normal(obj.shape)
    Hv, dZ = obj.hessp(curv, V, with_predictor=True)
    np.testing.assert_allclose(Hv, obj.hessp(curv, V), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(dZ, obj.predictor(V), rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("case", ["squared_error-1", "binomial"])
@all_formats
def test_intercept_column_is_the_hessians(case, fmt):
    """From whichever pass formed it (least squares: the feature scales' pass;
    binomial: the Hessian diagonal's), or its own."""
    obj, _, _, _, coef = make_problem(case, fmt, np.float64, True, True)
    curv = obj.curvature(coef, obj.predictor(coef))
    H = _full_hessian(obj, curv)
    p = obj.n_features
    obj.feature_rms()
    obj.hessian_diag(curv)
    np.testing.assert_allclose(obj.intercept_column(curv), H[:p, p], rtol=1e-12,
                               atol=1e-14)


@all_cases
@pytest.mark.parametrize("fmt", ["dense", "csr"])
def test_newton_cg_sums_x_times_its_direction(case, fmt):
    """newton-cg hands the line search ``X @ d`` summed from its CG products; it
    is the product itself, and the line built on it gives the true values. Not
    for dense X, whose line search reads X for the unit step anyway."""
    from sklearn_hessian.solvers.newton_cg import NewtonCGSolver

    obj, _, _, _, coef = make_problem(case, fmt, np.float64, True, True)
    solver = NewtonCGSolver(tol=1e-10)
    solver.solve(obj, obj.zeros())  # sets the solver's state; then one more direction
    Z = obj.predictor(coef)
    d = solver.direction(obj, coef, Z, obj.gradient(coef, Z))
    dZ = solver.direction_predictor()
    if fmt == "dense":
        assert dZ is None
        return
    np.testing.assert_allclose(dZ, obj.predictor(d), rtol=1e-10,
                               atol=1e-12 * np.abs(dZ).max())
    line = obj.line(coef, Z, d, dZ=dZ)
    assert line(0.5) == pytest.approx(_value(obj, coef + 0.5 * d), rel=1e-12)


# --------------------------------------------------------------------------------------
# Full Hessian and its diagonal
# --------------------------------------------------------------------------------------
@all_cases
@all_formats
@with_intercept
@weighted
def test_hessian_matches_hessp_on_basis_vectors(case, fmt, fit_intercept, weighted):
    obj, _, _, _, coef = make_problem(case, fmt, np.float64, fit_intercept, weighted)
    curv = obj.curvature(coef, obj.predictor(coef))
    H = _full_hessian(obj, curv)
    np.testing.assert_allclose(H, H.T, rtol=0, atol=1e-13)
    np.testing.assert_allclose(H, _full_hessian_from_hessp(obj, curv),
                               rtol=1e-12, atol=1e-13)
    # Convex: positive semi-definite (definite for the squared error / binomial with
    # alpha > 0; the multinomial one is singular along the class-symmetric shifts of
    # the intercepts).
    assert np.linalg.eigvalsh(H).min() >= -1e-12


@all_cases
@all_formats
@with_intercept
@weighted
def test_hessian_diag_matches_full_hessian(case, fmt, fit_intercept, weighted):
    obj, _, _, _, coef = make_problem(case, fmt, np.float64, fit_intercept, weighted)
    curv = obj.curvature(coef, obj.predictor(coef), exact=True)
    d = obj.hessian_diag(curv)
    assert d.shape == obj.shape
    expected = np.diag(_full_hessian(obj, curv)).reshape(obj.shape)
    np.testing.assert_allclose(d, expected, rtol=1e-12, atol=1e-14)


def test_multinomial_hessian_is_flat_along_class_shifts():
    # Shifting every class's coefficients of one row by the same amount leaves the
    # multinomial loss unchanged, so H v = alpha * v on such a direction for a
    # coefficient row (the penalty's part) and H v = 0 for the intercept row.
    obj, _, _, _, coef = make_problem("multinomial-3")
    curv = obj.curvature(coef, obj.predictor(coef), exact=True)
    for row in range(obj.shape[0]):
        V = np.zeros(obj.shape)
        V[row] = 1.0
        expected = ALPHA * V if row < obj.n_features else 0 * V
        np.testing.assert_allclose(obj.hessp(curv, V), expected, atol=1e-13)


# --------------------------------------------------------------------------------------
# The line search's view of the objective
# --------------------------------------------------------------------------------------
@all_cases
@all_formats
@with_intercept
@weighted
def test_line_equals_value_at_moved_point(case, fmt, fit_intercept, weighted):
    obj, _, _, _, coef = make_problem(case, fmt, np.float64, fit_intercept, weighted)
    rng = np.random.RandomState(2)
    D = rng.standard_normal(obj.shape)
    Z = obj.predictor(coef)
    line = obj.line(coef, Z, D)
    for t in [0.0, 1.0, 0.25, 1e-3, -0.5, 3.0]:
        expected = _value(obj, coef + t * D)
        assert line(t) == pytest.approx(expected, rel=1e-12, abs=1e-14)
        c_t, Z_t = line.point(t)
        np.testing.assert_allclose(c_t, coef + t * D, rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(Z_t, obj.predictor(coef + t * D),
                                   rtol=1e-12, atol=1e-13)
    assert line(0.0) == pytest.approx(obj.value(coef, Z), rel=1e-14)


# --------------------------------------------------------------------------------------
# X is never modified
# --------------------------------------------------------------------------------------
def _snapshot(X):
    if sp.issparse(X):
        return (X.format, X.data.copy(), X.indices.copy(), X.indptr.copy())
    return X.copy()


def _assert_same(X, snap):
    if sp.issparse(X):
        fmt, data, indices, indptr = snap
        assert X.format == fmt
        np.testing.assert_array_equal(X.data, data)
        np.testing.assert_array_equal(X.indices, indices)
        np.testing.assert_array_equal(X.indptr, indptr)
    else:
        np.testing.assert_array_equal(X, snap)
        assert X.dtype == snap.dtype


@all_cases
@all_formats
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_methods_do_not_modify_X(case, fmt, dtype):
    obj, X, y, _, coef = make_problem(case, fmt, dtype)
    snap, y_copy = _snapshot(X), y.copy()
    rng = np.random.RandomState(3)
    V = rng.standard_normal(obj.shape).astype(dtype)
    Z = obj.predictor(coef)
    Z_copy = Z.copy()
    obj.value(coef, Z)
    obj.value_gradient(coef, Z)
    obj.gradient(coef, Z)
    curv = obj.curvature(coef, Z)
    obj.hessp(curv, V)
    obj.hessian_diag(curv)
    obj.hessian(curv)
    line = obj.line(coef, Z, V)
    line(0.5)
    line.point(0.5)
    _assert_same(X, snap)
    np.testing.assert_array_equal(y, y_copy)
    # The cached prediction handed in is not modified either.
    np.testing.assert_array_equal(Z, Z_copy)


# --------------------------------------------------------------------------------------
# float32
# --------------------------------------------------------------------------------------
@all_cases
@all_formats
@with_intercept
@weighted
def test_float32_preserves_dtype_and_matches_float64(case, fmt, fit_intercept,
                                                      weighted):
    obj32, X32, y32, sw, coef32 = make_problem(case, fmt, np.float32, fit_intercept,
                                               weighted)
    # The float64 twin on exactly the same numbers.
    loss, k = LOSSES[case]
    y64 = y32 if loss == "multinomial" else y32.astype(np.float64)
    obj64 = make_objective(loss, X32.astype(np.float64), y64, sw, ALPHA,
                           fit_intercept, k)
    coef64 = coef32.astype(np.float64)

    def close(a32, a64, rtol=1e-4):
        a64 = np.asarray(a64)
        scale = max(float(np.max(np.abs(a64))), 1e-30)
        np.testing.assert_allclose(a32, a64, rtol=rtol, atol=rtol * scale)

    Z32, Z64 = obj32.predictor(coef32), obj64.predictor(coef64)
    assert Z32.dtype == np.float32
    close(Z32, Z64, 1e-5)

    assert obj32.value(coef32, Z32) == pytest.approx(obj64.value(coef64, Z64), rel=1e-5)
    f32, g32 = obj32.value_gradient(coef32, Z32)
    assert g32.dtype == np.float32
    assert f32 == pytest.approx(obj64.value(coef64, Z64), rel=1e-5)
    g = obj32.gradient(coef32, Z32)
    assert g.dtype == np.float32
    close(g, obj64.gradient(coef64, Z64))

    curv32, curv64 = obj32.curvature(coef32, Z32), obj64.curvature(coef64, Z64)
    assert curv32.dtype == np.float32
    V64 = np.random.RandomState(4).standard_normal(obj32.shape)
    V32 = V64.astype(np.float32)
    Hv = obj32.hessp(curv32, V32)
    assert Hv.dtype == np.float32
    close(Hv, obj64.hessp(curv64, V32.astype(np.float64)))

    H = obj32.hessian(curv32)
    assert H.dtype == np.float32
    close(H, obj64.hessian(curv64))
    d = obj32.hessian_diag(curv32)
    assert d.dtype == np.float32
    close(d, obj64.hessian_diag(curv64))

    line32 = obj32.line(coef32, Z32, V32)
    line64 = obj64.line(coef64, Z64, V32.astype(np.float64))
    for t in [0.0, 0.5, 1.0]:
        assert line32(t) == pytest.approx(line64(t), rel=1e-5)
        c_t, Z_t = line32.point(t)
        assert c_t.dtype == np.float32 and Z_t.dtype == np.float32


# --------------------------------------------------------------------------------------
# Sample weights: integer weights are repeated rows, a zero weight a dropped row
# --------------------------------------------------------------------------------------
@all_cases
@pytest.mark.parametrize("fmt", ["dense", "csr"])
def test_integer_weights_equal_repeated_rows(case, fmt):
    loss, k = LOSSES[case]
    rng = np.random.RandomState(5)
    n, p = 12, 4
    X = rng.standard_normal((n, p))
    if loss == "squared_error":
        y = rng.standard_normal((n, k))
    elif loss == "binomial":
        y = (np.arange(n) % 2).astype(float)
    else:
        y = np.arange(n) % k
    sw = rng.randint(0, 4, size=n)
    sw[0], sw[1] = 0, 3
    rep = np.repeat(np.arange(n), sw)
    weighted_obj = make_objective(loss, _to_format(X, fmt), y, sw, ALPHA, True, k)
    repeated_obj = make_objective(loss, _to_format(X[rep], fmt), y[rep], None, ALPHA,
                                  True, k)
    coef = rng.standard_normal(weighted_obj.shape)
    V = rng.standard_normal(weighted_obj.shape)
    Zw, Zr = weighted_obj.predictor(coef), repeated_obj.predictor(coef)
    assert weighted_obj.value(coef, Zw) == pytest.approx(
        repeated_obj.value(coef, Zr), rel=1e-12)
    np.testing.assert_allclose(weighted_obj.gradient(coef, Zw),
                               repeated_obj.gradient(coef, Zr), rtol=1e-12, atol=1e-14)
    cw, cr = weighted_obj.curvature(coef, Zw), repeated_obj.curvature(coef, Zr)
    np.testing.assert_allclose(weighted_obj.hessp(cw, V), repeated_obj.hessp(cr, V),
                               rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(weighted_obj.hessian(cw), repeated_obj.hessian(cr),
                               rtol=1e-12, atol=1e-14)


@all_cases
def test_weights_are_scale_invariant_and_none_means_uniform(case):
    obj_none, X, y, _, coef = make_problem(case, weighted=False)
    loss, k = LOSSES[case]
    for sw in [np.ones(N_SAMPLES), np.full(N_SAMPLES, 7.5)]:
        obj = make_objective(loss, X, y, sw, ALPHA, True, k)
        Z = obj.predictor(coef)
        assert obj.value(coef, Z) == pytest.approx(_value(obj_none, coef), rel=1e-13)
        np.testing.assert_allclose(obj.gradient(coef, Z), _gradient(obj_none, coef),
                                   rtol=1e-12, atol=1e-15)


# --------------------------------------------------------------------------------------
# Numerical stability with huge raw predictions
# --------------------------------------------------------------------------------------
def _all_methods_finite(obj, coef):
    """Call every method at ``coef``; everything must be finite, nothing may warn."""
    with warnings.catch_warnings(), np.errstate(over="warn", invalid="warn",
                                                divide="warn", under="ignore"):
        warnings.simplefilter("error")
        Z = obj.predictor(coef)
        f = obj.value(coef, Z)
        f2, g = obj.value_gradient(coef, Z)
        g2 = obj.gradient(coef, Z)
        curv = obj.curvature(coef, Z)
        V = np.ones(obj.shape, dtype=obj.dtype)
        Hv = obj.hessp(curv, V)
        H = obj.hessian(curv)
        d = obj.hessian_diag(curv)
        line = obj.line(coef, Z, V)
        values_on_line = [line(t) for t in (0.0, 0.5, 1.0, -1.0)]
    for a in (f, f2, g, g2, curv, Hv, H, d, values_on_line):
        assert np.all(np.isfinite(a))
    return Z, f, g, curv


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("fmt", ["dense", "csr"])
def test_binomial_is_stable_at_huge_predictions(dtype, fmt):
    # z = +-1e4: exp(z) overflows and 1 - expit(z) cancels in a naive implementation.
    x = np.array([[1.0], [-1.0], [1.0], [-1.0]]) * 1e4
    y = np.array([1.0, 1.0, 0.0, 0.0], dtype=dtype)
    alpha = 0.5
    obj = make_objective("binomial", _to_format(x.astype(dtype), fmt), y, None, alpha,
                         True, 1)
    coef = np.array([[1.0], [0.0]], dtype=dtype)  # w = 1, b = 0
    Z, f, g, curv = _all_methods_finite(obj, coef)
    np.testing.assert_array_equal(Z[:, 0], [1e4, -1e4, 1e4, -1e4])
    # Losses 0, 1e4, 1e4, 0 (mean 5000), plus the penalty alpha / 2 * w^2.
    assert f == pytest.approx(5000.0 + 0.5 * alpha, rel=1e-6)
    # d/dw = mean((p_i - y_i) x_i) + alpha w = (0 + 1e4 + 1e4 + 0) / 4 + alpha;
    # d/db = mean(p_i - y_i) = (0 - 1 + 1 + 0) / 4.
    np.testing.assert_allclose(g[:, 0], [5000.0 + alpha, 0.0], rtol=1e-6, atol=1e-6)
    # p (1 - p) underflows to zero at |z| = 1e4; it must not come out negative.
    assert np.all(curv >= 0) and np.max(curv) <= 1e-30


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("fmt", ["dense", "csr"])
def test_multinomial_is_stable_at_huge_predictions(dtype, fmt):
    # W = I, so Z = X: rows with one raw prediction at +1e4 and one at -1e4.
    Zx = np.array([
        [1e4, -1e4, 0.0],
        [1e4, -1e4, 0.0],
        [-1e4, 0.0, 1e4],
        [0.0, 1e4, -1e4],
    ])
    y = np.array([0, 1, 1, 2])
    alpha = 0.5
    obj = make_objective("multinomial", _to_format(Zx.astype(dtype), fmt), y, None,
                         alpha, True, 3)
    coef = np.vstack([np.eye(3), np.zeros((1, 3))]).astype(dtype)
    Z, f, g, P = _all_methods_finite(obj, coef)
    np.testing.assert_array_equal(Z, Zx)
    # logsumexp(z_i) - z_{i, y_i} = 1e4 - z_{i, y_i}: 0, 2e4, 1e4, 2e4.
    assert f == pytest.approx(5e4 / 4 + 0.5 * alpha * 3, rel=1e-6)
    expected = reference_objective("multinomial", Zx, y, np.eye(3), np.zeros(3), alpha)
    assert f == pytest.approx(expected, rel=1e-6)
    # The probabilities are exact 0s and 1s; each row sums to one.
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-6)
    # Gradient w.r.t. the intercepts: mean(P - onehot(y)).
    onehot = np.eye(3)[y]
    np.testing.assert_allclose(g[-1], (np.eye(3)[[0, 0, 2, 1]] - onehot).mean(axis=0),
                               atol=1e-6)


# --------------------------------------------------------------------------------------
# Least squares from its sufficient statistics (GramObjective)
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["squared_error-1", "squared_error-2"])
@all_formats
@with_intercept
@weighted
@pytest.mark.parametrize("offset", [0.0, 1e3], ids=["centred", "offset"])
def test_gram_objective_matches_linear_objective(case, fmt, fit_intercept, weighted,
                                                 offset):
    """Value, gradient, Hessian, feature scales and line of the coefficient-space
    objective are those of the objective on X, shifted columns (offset 1e3, which
    ``_gram_shift`` takes off dense X) included."""
    from sklearn_hessian._objective import GramObjective

    obj, X, y, sw, coef = make_problem(case, "dense", np.float64, fit_intercept, weighted)
    X = _to_format(np.asarray(X) + offset, fmt)
    obj = make_objective("squared_error", X, y, sw, ALPHA, fit_intercept, obj.k)
    gram = GramObjective(obj)
    assert (gram.shift is not None) == (offset > 0 and fmt == "dense" and fit_intercept)
    for C in (coef, np.zeros_like(coef)):
        Z, Zg = obj.predictor(C), gram.predictor(C)
        f = obj.value(C, Z)
        assert gram.value(C, Zg) == pytest.approx(f, rel=1e-10)
        g = obj.gradient(C, Z)
        # Both lose about eps |X|^T |X| |C| to rounding.
        np.testing.assert_allclose(gram.gradient(C, Zg), g, rtol=0,
                                   atol=1e-12 * max(1.0, np.abs(g).max()))
    H = obj.hessian(obj.curvature(coef, obj.predictor(coef)), dtype=np.float64)
    np.testing.assert_allclose(gram.hessian(), H, rtol=1e-10, atol=1e-10 * np.abs(H).max())
    np.testing.assert_allclose(gram.feature_rms(), obj.feature_rms(), rtol=1e-10)
    D = np.random.RandomState(3).standard_normal(obj.shape)
    Zg = gram.predictor(coef)
    line = gram.line(coef, Zg, D)
    for t in [0.0, 1.0, 0.25, -0.5]:
        assert line(t) == pytest.approx(_value(obj, coef + t * D), rel=1e-10)
    c_t, Z_t = line.point(0.5)
    g = _gradient(obj, c_t)
    np.testing.assert_allclose(gram.gradient(c_t, Z_t), g, rtol=0,
                               atol=1e-12 * max(1.0, np.abs(g).max()))


# --------------------------------------------------------------------------------------
# Sub-sampled Hessians
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["binomial", "multinomial-3"])
@pytest.mark.parametrize("fmt", ["dense", "csr"])
def test_sampled_hessians_are_unbiased(case, fmt):
    """Rows drawn by ``sample_rows`` (by curvature share for sparse X, uniformly
    for dense X) and weighted by their inverse inclusion probabilities: the
    average of many sub-sampled Hessians is the full Hessian."""
    obj, X, y, sw, coef = make_problem(case, fmt, np.float64, True, True)
    curv = obj.curvature(coef, obj.predictor(coef))
    H = obj.hessian(curv, dtype=np.float64)
    rng = np.random.RandomState(0)
    n_draws, size = 4000, 12
    mean = np.zeros_like(H)
    sizes = []
    for _ in range(n_draws):
        rows, row_weights = obj.sample_rows(curv, size, rng)
        sizes.append(len(rows))
        if len(rows) == 0:
            continue
        # The unnormalised estimate sum_i s_i c_i x_i x_i^T / q_i is unbiased;
        # hessian() renormalises the weights, so undo that here.
        Hs = obj.hessian(curv, dtype=np.float64, rows=rows, row_weights=row_weights)
        w = obj.sw[rows] * (1.0 if row_weights is None else row_weights)
        Hs = (Hs - ALPHA * _penalty_diag(obj)) * float(w.sum()) + ALPHA * _penalty_diag(obj)
        mean += Hs / n_draws
    assert abs(np.mean(sizes) - size) < 0.5
    np.testing.assert_allclose(mean, H, rtol=0, atol=0.06 * np.abs(H).max())


def _penalty_diag(obj):
    d = np.zeros(obj.size if not obj.loss.shared_hessian and obj.k > 1 else obj.shape[0])
    n_pen = obj.n_features * (1 if d.size == obj.shape[0] else obj.k)
    d[:n_pen] = 1.0
    return np.diag(d)


def test_sampled_rows_favour_curvature_on_sparse_data():
    """On sparse X, rows with most of the curvature are drawn more often, with
    correspondingly smaller weights, which 10% of uniform draws bound."""
    rng = np.random.RandomState(0)
    X = sp.random(400, 6, density=0.5, format="csr", random_state=0)
    y = (rng.uniform(size=400) < 0.5).astype(float)
    obj = make_objective("binomial", X, y, None, ALPHA, True, 1)
    curv = np.full(400, 1e-3)
    curv[:20] = 0.25  # 20 rows with 250 times the curvature
    counts = np.zeros(400)
    for _ in range(300):
        rows, weights = obj.sample_rows(curv, 40, rng)
        counts[rows] += 1
        assert np.all(weights >= 1.0) and np.all(weights <= 10 * 400 / 40 + 1e-9)
    # The heavy rows are kept every time (probability capped at 1, weight 1); the
    # others share the remaining expected 20 draws.
    assert np.all(counts[:20] == 300)
    assert counts[20:].mean() == pytest.approx(300 * 20 / 380, rel=0.1)


@pytest.mark.parametrize("fmt", ["dense", "csr"])
@with_intercept
def test_class_hessian_blocks_are_the_diagonal_blocks_of_the_hessian(fmt, fit_intercept):
    obj, X, y, sw, coef = make_problem("multinomial-3", fmt, np.float64, fit_intercept)
    curv = obj.curvature(coef, obj.predictor(coef))
    H = obj.hessian(curv, dtype=np.float64)
    blocks = obj.class_hessian_blocks(curv)
    k = obj.k
    assert len(blocks) == k
    for c, B in enumerate(blocks):
        expected = H[c::k, c::k]  # flat index j k + c
        np.testing.assert_allclose(B, expected, rtol=1e-12, atol=1e-14)


def test_class_block_preconditioner_inverts_the_class_blocks():
    """Built from all rows, the preconditioner applied to a class block's action
    returns the vector (up to its small ridge), class by class, then centred."""
    from sklearn_hessian.solvers.newton_cg import _ClassBlockPreconditioner
    from sklearn_hessian._spectral import center_classes

    obj, X, y, sw, coef = make_problem("multinomial-3", "dense", np.float64, True)
    curv = obj.curvature(coef, obj.predictor(coef))
    pre = _ClassBlockPreconditioner(obj, curv, np.random.RandomState(0))
    blocks = obj.class_hessian_blocks(curv)
    V = np.random.RandomState(1).standard_normal(obj.shape)
    HV = np.column_stack([B @ V[:, c] for c, B in enumerate(blocks)])
    expected = V.copy()
    center_classes(expected, obj.k)
    np.testing.assert_allclose(pre(HV), expected, rtol=0, atol=1e-3 * np.abs(V).max())
    # Symmetric positive definite on the zero-mean (over classes) subspace.
    R = np.random.RandomState(2).standard_normal(obj.shape)
    center_classes(R, obj.k)
    assert float(np.vdot(R, pre(R))) > 0


@pytest.mark.parametrize("bad", [None, np.nan, np.inf, 1e200])
def test_deferred_value_check_runs_only_when_the_gram_trace_cannot_vouch(bad):
    """Least squares' Gram pass checks X's values from its trace: the check is
    handed X's squares summed, so it reads X itself only for values that are
    non-finite or whose squares overflow, and then before anything is solved."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 4))
    if bad is not None:
        X[7, 2] = bad
    calls = []
    objective = make_objective(
        "squared_error", X, rng.standard_normal((300, 1)), None, 1e-3, True, 1,
        check_values=lambda sum_of_squares=None: calls.append(sum_of_squares))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow/invalid warnings either
        objective.least_squares_statistics()
    limit = np.finfo(X.dtype).max
    vouched = [c is not None and c * X.shape[0] <= limit for c in calls]
    assert vouched == ([True] if bad is None else [False])
    if bad is None:
        assert calls[0] == pytest.approx(float(np.sum(X * X)), rel=1e-12)
    objective.confirm_values()  # once only
    assert len(calls) == 1


@pytest.mark.parametrize("minimum, expected", [(0.7, 1.0), (2.5, 2.0), (100.0, 8.0)])
def test_extrapolate_doubles_while_the_objective_decreases(minimum, expected):
    """``extrapolate`` keeps the last doubling that still decreased the
    objective, at most three of them."""
    from sklearn_hessian._linesearch import extrapolate

    def line(t):
        return (t - minimum) ** 2

    step, value = extrapolate(line, 1.0, line(1.0))
    assert step == expected
    assert value == line(expected)


def test_newton_extrapolation_saves_iterations_and_keeps_the_optimum(monkeypatch):
    """Binomial Newton takes longer steps when the unit step beats its model:
    fewer iterations on imbalanced classes, the optimum scikit-learn finds."""
    import sklearn_hessian.solvers._base as solver_base
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression
    from sklearn_hessian import HessianClassifier

    X, y = make_classification(2000, 20, weights=[0.97], random_state=0)
    alpha = 1e-4
    ours = HessianClassifier(alpha=alpha, solver="newton", tol=1e-10).fit(X, y)
    ref = LogisticRegression(C=1 / (alpha * len(y)), tol=1e-12, max_iter=10000).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-5, atol=1e-7)
    monkeypatch.setattr(solver_base, "EXTRAPOLATE_RATIO", np.inf)
    plain = HessianClassifier(alpha=alpha, solver="newton", tol=1e-10).fit(X, y)
    assert ours.n_iter_ < plain.n_iter_


@pytest.mark.parametrize("fmt", ["dense", "csr"])
@with_intercept
@pytest.mark.parametrize("weighted", [False, True])
def test_multinomial_hessian_with_shared_probabilities_is_a_kronecker_product(
        fmt, fit_intercept, weighted):
    """With all coefficients but the intercepts zero every sample has the same
    probabilities: ``hessian`` forms the Kronecker product, equal to the
    Hessian-vector products column by column, on all rows and on a sub-sample."""
    obj, X, y, sw, coef = make_problem("multinomial-3", fmt, np.float64, fit_intercept,
                                       weighted)
    coef[: obj.n_features] = 0.0
    curv = obj.curvature(coef, obj.predictor(coef))
    assert obj.same_probabilities(curv)
    np.testing.assert_allclose(obj.hessian(curv, dtype=np.float64),
                               _full_hessian_from_hessp(obj, curv), rtol=1e-12, atol=1e-14)
    rows = np.arange(0, obj.n_samples, 3)
    row_weights = np.linspace(1.0, 2.0, rows.size)
    sandwich = np.zeros((obj.size, obj.size))
    obj._multinomial_hessian(sandwich, curv, rows, obj._sample_weights(rows, row_weights))
    sandwich[np.arange(obj.n_features * obj.k), np.arange(obj.n_features * obj.k)] += ALPHA
    np.testing.assert_allclose(
        obj.hessian(curv, dtype=np.float64, rows=rows, row_weights=row_weights), sandwich,
        rtol=1e-12, atol=1e-14)
    coef[0, 0] = 0.1  # probabilities now differ between samples
    assert not obj.same_probabilities(obj.curvature(coef, obj.predictor(coef)))


@pytest.mark.parametrize("case", ["binomial", "multinomial-3"])
def test_row_block_products_are_those_of_the_rows_alone(case):
    """``hessp`` on ``sample_row_blocks``: the product with the Hessian of the
    objective restricted to those rows (weights renormalised), the sample about
    the fraction asked for and spread over all the rows."""
    rng = np.random.RandomState(0)
    n, p = 2000, 4
    X = rng.standard_normal((n, p))
    y = (np.arange(n) * 3 // n).astype(float)  # sorted by class
    loss, k = LOSSES[case]
    if loss == "multinomial":
        y = y.astype(int)
    else:
        y = (y > 0).astype(float)
    sw = rng.uniform(0.5, 2.0, size=n)
    obj = make_objective(loss, X, y, sw, ALPHA, True, k)
    coef = 0.3 * rng.standard_normal(obj.shape)
    curv = obj.curvature(coef, obj.predictor(coef))
    blocks = obj.sample_row_blocks(0.25, np.random.RandomState(1))
    rows = np.concatenate([np.arange(n)[b] for b in blocks])
    assert abs(rows.size / n - 0.25) < 0.02
    assert rows.min() < n / 8 and rows.max() > n - n / 8  # spans every class
    sub = make_objective(loss, X[rows], y[rows], sw[rows], ALPHA, True, k)
    V = rng.standard_normal(obj.shape)
    np.testing.assert_allclose(obj.hessp(curv, V, blocks), sub.hessp(curv[rows], V),
                               rtol=1e-12, atol=1e-14)
    assert obj.sample_row_blocks(0.8, rng) is None
    sparse = make_objective(loss, sp.csr_matrix(X), y, sw, ALPHA, True, k)
    assert sparse.sample_row_blocks(0.25, rng) is None


def test_cg_uses_the_relaxed_product_after_the_first_with_the_residual_ratio():
    """``relaxed_hessp`` serves every product but the first, and is told the
    residual's size relative to the gradient's; exact, it changes nothing."""
    from sklearn_hessian.solvers._cg import preconditioned_cg

    rng = np.random.RandomState(0)
    A = rng.standard_normal((30, 30))
    H = A @ A.T + 30 * np.eye(30)
    g = rng.standard_normal((30, 1))
    ratios = []

    def relaxed(p, ratio):
        ratios.append(ratio)
        return H @ p

    args = (lambda p: H @ p, g, lambda r: r / np.diag(H)[:, None], 1e-10, 100, 1.0)
    plain, n_plain = preconditioned_cg(*args)
    relaxed_s, n_relaxed = preconditioned_cg(*args, relaxed_hessp=relaxed)
    np.testing.assert_allclose(relaxed_s, plain, rtol=1e-12)
    assert n_relaxed == n_plain and len(ratios) == n_plain - 1
    assert 0 < ratios[-1] < ratios[0] < 1  # the residual shrinks
    np.testing.assert_allclose(H @ plain, -g, rtol=0, atol=1e-4)


@pytest.mark.parametrize("fmt", ["dense", "csr", "csc"])
def test_squared_t_dot_forms_the_plain_sums_in_the_same_pass(fmt):
    """``_squared_t_dot(X, C, sums)``: ``(X * X).T @ C`` returned and ``X.T @ C``
    added to ``sums`` (newton-cg's intercept column rides on the diagonal's
    pass)."""
    from sklearn_hessian._objective import _squared_t_dot

    rng = np.random.default_rng(0)
    Xd = rng.standard_normal((400, 9)) * (rng.random((400, 9)) < 0.3)
    X = Xd if fmt == "dense" else getattr(sp, f"{fmt}_matrix")(Xd)
    C = rng.random((400, 2))
    sums = np.ones((9, 2))
    np.testing.assert_allclose(_squared_t_dot(X, C, sums), (Xd * Xd).T @ C, rtol=1e-12)
    np.testing.assert_allclose(sums, 1.0 + Xd.T @ C, rtol=1e-12)


def _wide_objective(case, alpha, n=30, p=80, zero_column=False, fit_intercept=True,
                    seed=3):
    loss, k = LOSSES[case]
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n, p)) + 0.5  # off-centre: the intercept couples
    if zero_column:
        X[:, 2] = 0.0
    if loss == "squared_error":
        y = rng.standard_normal((n, k))
    elif loss == "binomial":
        y = (rng.uniform(size=n) < 0.4).astype(np.float64)
    else:
        y = np.arange(n) % k
    sw = rng.uniform(0.2, 3.0, size=n)
    return make_objective(loss, X, y, sw, alpha, fit_intercept, k)


def test_penalty_is_eigenvalue_when_x_has_a_null_vector():
    assert _wide_objective("binomial", 0.1).penalty_is_eigenvalue()  # wide
    tall = _wide_objective("binomial", 0.1, n=100, p=8)
    assert not tall.penalty_is_eigenvalue()
    assert _wide_objective("binomial", 0.1, n=100, p=8, zero_column=True).penalty_is_eigenvalue()
    # Rows of zero weight do not count: 7 weighted rows, 8 features.
    X = np.random.RandomState(0).standard_normal((40, 8))
    sw = np.zeros(40)
    sw[:7] = 1.0
    obj = make_objective("binomial", X, (X[:, 0] > 0).astype(float), sw, 0.1, True, 1)
    assert obj.penalty_is_eigenvalue()


@pytest.mark.parametrize("case", list(LOSSES))
@pytest.mark.parametrize("shape", ["wide", "wide, no intercept", "zero column"])
def test_lanczos_condition_estimate_pinned_by_the_penalty(case, shape):
    """With alpha an eigenvalue, the Lanczos estimate (forced here: the exact one
    would be cheaper) only has to find the largest eigenvalue. Then it is exact,
    except that on wide data the unpenalised intercept has one eigenvalue below
    alpha (``[X, 1] v = 0`` for some v moving the intercept), which the estimate
    under-estimates by at most alpha's distance to it."""
    from sklearn_hessian._spectral import (condition_from_eigenvalues,
                                           deflate_class_symmetry,
                                           estimate_condition_number)

    alpha = 1e-3
    kwargs = {"wide": {}, "wide, no intercept": {"fit_intercept": False},
              "zero column": {"n": 200, "p": 12, "zero_column": True}}[shape]
    obj = _wide_objective(case, alpha, **kwargs)
    assert obj.penalty_is_eigenvalue()
    coef = 0.1 * np.random.RandomState(1).standard_normal(obj.shape)
    Z = obj.predictor(coef)
    H = obj.hessian(obj.curvature(coef, Z))
    if obj.class_symmetric:
        H = deflate_class_symmetry(H, obj.k, np.trace(H) / H.shape[0])
    eigenvalues = np.linalg.eigvalsh(H)
    assert eigenvalues[0] <= alpha * (1 + 1e-9)
    exact = condition_from_eigenvalues(eigenvalues)
    obj.hessian_cost = lambda: np.inf  # force the Lanczos path
    estimate = estimate_condition_number(obj, coef, Z)
    if shape == "wide":
        assert eigenvalues[-1] / alpha * (1 - 1e-2) <= estimate <= exact * (1 + 1e-9)
    else:
        assert estimate == pytest.approx(exact, rel=1e-2)

    singular = _wide_objective(case, 0.0, **kwargs)
    singular.hessian_cost = lambda: np.inf
    assert estimate_condition_number(singular, coef, singular.predictor(coef)) == np.inf


def test_condition_estimate_from_a_known_product_saves_products():
    """newton-cg on least squares hands the Lanczos start's product (H s, summed
    from CG's products) and the Hessian's intercept column is known: the same
    estimate for fewer products."""
    from sklearn_hessian._spectral import estimate_condition_number

    rng = np.random.RandomState(0)
    X = sp.random(60, 300, density=0.1, random_state=rng, format="csr") + 0.0
    X.data += 0.5  # uncentred
    y = rng.standard_normal((60, 1))
    obj = make_objective("squared_error", X, y, None, 1e-3, True, 1)
    obj.feature_rms()  # the pass that forms the intercept column
    assert obj.constant_intercept_column() is not None
    obj.hessian_cost = lambda: np.inf
    coef = obj.zeros()
    Z = obj.predictor(coef)
    s = rng.standard_normal(obj.shape)
    curv = obj.curvature(coef, Z)
    Hs = obj.hessp(curv, s)
    calls = []
    hessp = obj.hessp
    obj.hessp = lambda *a, **k: calls.append(1) or hessp(*a, **k)
    plain = estimate_condition_number(obj, coef, Z, start=s)
    n_plain = len(calls)
    calls.clear()
    known = estimate_condition_number(obj, coef, Z, start=s, start_product=Hs)
    assert len(calls) < n_plain
    exact = np.linalg.eigvalsh(obj.hessian(curv))
    assert known == pytest.approx(plain, rel=1e-3)
    assert known == pytest.approx(exact[-1] / 1e-3, rel=1e-3)


@all_cases
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_start_point_predictions_are_one_row_repeated(case, fit_intercept):
    """At coefficients zero but the intercepts, the raw prediction is the
    intercepts' row repeated, read-only and without memory of its own; value,
    gradient and curvature there (the multinomial loss computes its softmax once)
    are those of the same array materialised."""
    obj, _, _, _, coef = make_problem(case, "dense", np.float64, fit_intercept, True)
    start = obj.zeros()
    if fit_intercept:
        start[-1] = np.linspace(-0.5, 0.7, obj.k)
    Z = obj.predictor(start)
    assert Z.strides[0] == 0 and not Z.flags.writeable
    full = np.array(Z)
    f, g = obj.value_gradient(start, Z)
    curv = obj.curvature(start, Z)
    obj.drop_curvature()
    f_full, g_full = obj.value_gradient(start, full)
    assert f == pytest.approx(f_full, rel=1e-14)
    np.testing.assert_allclose(g, g_full, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(curv, obj.curvature(start, full, exact=True), rtol=1e-14)
    if obj.class_symmetric:
        assert obj.same_probabilities(curv)


@all_cases
@pytest.mark.parametrize("speculate", [None, 1.0])
def test_line_point_consumed_in_place(case, speculate):
    """The Newton loop's last call on a line forms the point in the memory of X @ d:
    the same numbers as the point formed anew, and the line is spent."""
    obj, _, _, _, coef = make_problem(case, "dense", np.float64, True, True)
    D = np.random.RandomState(4).standard_normal(obj.shape)
    Z = obj.predictor(coef)
    for t in (1.0, 0.5):
        line = obj.line(coef, Z, D, speculate=speculate)
        c_new, Z_new = line.point(t)
        c_in, Z_in = line.point(t, consume=True)
        np.testing.assert_array_equal(c_in, c_new)
        np.testing.assert_array_equal(Z_in, Z_new)
        with pytest.raises(RuntimeError, match="consume"):
            line.point(t)
        if speculate == t:  # the gradient computed by the pass is kept for Z_in
            np.testing.assert_allclose(obj.gradient(c_in, Z_in), _gradient(obj, c_in),
                                       rtol=1e-12, atol=1e-14)


@all_cases
@pytest.mark.parametrize("gradient", [True, False])
def test_line_forms_speculated_point_in_place(case, gradient):
    """With ``overwrite``, the speculated point is formed in Z's memory. Another
    trial either restores Z (X @ d kept) or speculates again there (not kept:
    the point at that step is then formed in Z's memory too); either way every
    step's value, point and gradient are those of ``coef + t D``, and
    ``origin`` gives Z's values back."""
    obj, _, _, _, coef = make_problem(case, "dense", np.float64, True, True)
    D = np.random.RandomState(5).standard_normal(obj.shape)
    Z = np.array(obj.predictor(coef))
    Z_before = Z.copy()
    line = obj.line(coef, Z, D, speculate=1.0, gradient=gradient, overwrite=True)
    assert line(1.0) == pytest.approx(_value(obj, coef + D), rel=1e-12)
    c1, Z1 = line.point(1.0)
    assert Z1 is Z  # the speculated point lives in Z's memory
    np.testing.assert_allclose(Z1, obj.predictor(coef + D), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(obj.gradient(c1, Z1), _gradient(obj, coef + D),
                               rtol=1e-11, atol=1e-13)
    for t in (0.5, 0.25, 1.0):
        assert line(t) == pytest.approx(_value(obj, coef + t * D), rel=1e-12)
        c_t, Z_t = line.point(t)
        np.testing.assert_allclose(Z_t, obj.predictor(coef + t * D), rtol=1e-12,
                                   atol=1e-13)
        np.testing.assert_allclose(obj.gradient(c_t, Z_t), _gradient(obj, coef + t * D),
                                   rtol=1e-11, atol=1e-13)
    Z_origin = line.origin()
    assert Z_origin is Z
    np.testing.assert_allclose(Z_origin, Z_before, rtol=1e-12, atol=1e-13)
    # Z's gradient is not mistaken for a point's that was formed in its memory.
    np.testing.assert_allclose(obj.gradient(coef, Z), _gradient(obj, coef),
                               rtol=1e-11, atol=1e-13)
    c, Z_half = line.point(0.5, consume=True)
    np.testing.assert_allclose(Z_half, obj.predictor(coef + 0.5 * D), rtol=1e-12,
                               atol=1e-13)
    with pytest.raises(RuntimeError, match="consume"):
        line.origin()


def test_line_origin_after_failed_search_restores_point():
    """A line search that fails leaves the caller its point: ``origin`` gives back
    Z's values even though the speculated point was formed in its memory."""
    obj, _, _, _, coef = make_problem("multinomial-3", "dense", np.float64, True, True)
    D = np.random.RandomState(6).standard_normal(obj.shape)
    Z = np.array(obj.predictor(coef))
    Z_before = Z.copy()
    line = obj.line(coef, Z, D, speculate=1.0, overwrite=True)
    line(1.0)
    assert not np.allclose(Z, Z_before)
    np.testing.assert_allclose(line.origin(), Z_before, rtol=1e-12, atol=1e-13)


def test_dense_multinomial_curvature_is_float32_unless_exact():
    """Dense multinomial passes keep the probabilities (which only feed Hessians)
    in float32: within float32 rounding of the exact ones, which ``exact=True``
    (the inference module's Hessian) still gives."""
    obj, X, _, _, coef = make_problem("multinomial-3", "dense", np.float64, True, True)
    Z = obj.predictor(coef)
    obj.value_gradient(coef, Z)
    curv = obj.curvature(coef, Z)
    exact = obj.curvature(coef, Z, exact=True)
    assert curv.dtype == np.float32 and exact.dtype == np.float64
    np.testing.assert_allclose(curv, exact, rtol=1e-6, atol=1e-7)
    obj_sparse = make_problem("multinomial-3", "csr", np.float64, True, True)[0]
    np.testing.assert_allclose(exact, obj_sparse.curvature(coef, Z), rtol=1e-14)
    # Hessian products with it are as accurate as float32 probabilities allow.
    V = np.random.RandomState(7).standard_normal(obj.shape)
    np.testing.assert_allclose(obj.hessp(curv, V), obj.hessp(exact, V), rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("keep", [False, True])
def test_csr_hessp_blocked_and_row_by_row_agree(dtype, index_dtype, keep):
    """The compiled CSR product's two loops (row by row, and gathers then scatters
    by blocks of rows, for long vectors) give the same product, rows with zero
    curvature, empty rows, long rows and a last partial block included."""
    kernels = pytest.importorskip("sklearn_hessian._sparse_kernels")
    rng = np.random.default_rng(0)
    n, p = 203, 97  # 203 = 3 blocks of 64 and a partial one
    X = sp.random(n, p, density=0.2, format="csr", random_state=1, dtype=dtype)
    X = X.tolil()
    X[5] = 0.0  # an empty row
    X[7, :60] = rng.standard_normal(60)  # a row long enough for two partial sums
    X = X.tocsr()
    X.indices = X.indices.astype(index_dtype)
    X.indptr = X.indptr.astype(index_dtype)
    v = rng.standard_normal(p).astype(dtype)
    c = rng.random(n).astype(dtype)
    c[::3] = 0.0
    b = 0.3
    expected_z = X.astype(np.float64) @ v.astype(np.float64) + b
    expected = np.append(X.T.astype(np.float64) @ (c * expected_z), c @ expected_z)
    for blocked in (False, True):
        out = np.full(p + 1, np.nan)
        z = np.full(n if keep else 0, np.nan)
        kernels.csr_hessp(X.data, X.indices, X.indptr, v, b, c, True, out, z, blocked)
        rtol = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(out, expected, rtol=rtol, atol=rtol * np.abs(expected).max())
        if keep:
            np.testing.assert_allclose(z, expected_z, rtol=rtol, atol=rtol)
