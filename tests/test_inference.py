"""Inference: covariance, standard errors, coefficient tables, Hessian reports.

Parity with statsmodels (the ``test`` extra) on unpenalised fits: OLS on diabetes and
California housing, Logit on scaled breast_cancer (its first ten features: with all
thirty the classes are separable and the unpenalised MLE does not exist), MNLogit on
scaled wine (its first five features; iris is separable in every subset of its
features). Coefficients must agree to 1e-6 relative, standard errors and robust
(HC0/HC1/cluster) ones to 1e-5; both sides are fitted to tight tolerances, so the
agreement measured is ~1e-11.

Conventions checked against statsmodels:
- parameter order: per output, the coefficients then the intercept, which is
  statsmodels' order with ``add_constant(X, prepend=False)``; for MNLogit (reference
  class 0, equation-major) with ``reference_class=classes_[0]``;
- sample weights are frequency weights: weighted results equal statsmodels' on the
  rows repeated ``weight`` times;
- HC1 is ``HC0 * S / (S - p)`` for the regressor (as OLS) and equals HC0 for the
  classifier (as statsmodels' Logit / MNLogit).
"""

import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from _helpers import shared_data
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import StandardScaler

from sklearn_hessian import HessianClassifier, HessianRegressor
from sklearn_hessian.inference import HessianReport, InferenceWarning

COEF_RTOL = 1e-6
SE_RTOL = 1e-5
TIGHT = dict(alpha=0, tol=1e-12, max_iter=1000)
SOLVERS = ["newton", "newton-cg", "lbfgs"]
KINDS = ["hessian", "HC0", "HC1"]


# --------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------
def diabetes():
    return load_diabetes(return_X_y=True)


def breast_cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X[:, :10]), y


def wine():
    X, y = load_wine(return_X_y=True)
    return StandardScaler().fit_transform(X[:, :5]), y


def _sm():
    return pytest.importorskip("statsmodels.api")


def _with_const(X):
    return np.column_stack([X, np.ones(X.shape[0])])


def _sm_fit(sm, model, kind, groups=None, **fit):
    """statsmodels fit with the cov_type matching ``kind``."""
    if kind == "hessian":
        return model.fit(**fit)
    if kind == "cluster":
        return model.fit(cov_type="cluster", cov_kwds={"groups": groups}, **fit)
    return model.fit(cov_type=kind, **fit)


# statsmodels' Newton, to a tight tolerance on the parameters.
LOGIT_FIT = dict(disp=0, method="newton", tol=1e-12, maxiter=100)


def _assert_rel(actual, desired, rtol):
    np.testing.assert_allclose(actual, desired, rtol=rtol, atol=0)


# --------------------------------------------------------------------------------------
# Parity with statsmodels
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_ols_parity_diabetes(kind):
    sm = _sm()
    X, y = diabetes()
    reg = HessianRegressor(**TIGHT).fit(X, y)
    res = _sm_fit(sm, sm.OLS(y, _with_const(X)), kind)
    with warnings.catch_warnings():
        warnings.simplefilter("error", InferenceWarning)
        cov = reg.covariance_matrix(X, y, kind=kind)
        table = reg.coef_table(X, y, kind=kind)
    _assert_rel(np.r_[reg.coef_, reg.intercept_], res.params, COEF_RTOL)
    _assert_rel(table["coef"], res.params, COEF_RTOL)
    _assert_rel(table["std_err"], res.bse, SE_RTOL)
    _assert_rel(np.sqrt(np.diag(cov)), res.bse, SE_RTOL)
    np.testing.assert_allclose(
        cov, res.cov_params(), rtol=SE_RTOL, atol=1e-8 * np.abs(cov).max()
    )
    if kind == "hessian":  # t with n - p degrees of freedom, as statsmodels' nonrobust
        _assert_rel(table["t"], res.tvalues, SE_RTOL)
        np.testing.assert_allclose(table["p_value"], res.pvalues, rtol=1e-4, atol=1e-12)
        ci = res.conf_int(0.05)
        _assert_rel(table["ci_low"], ci[:, 0], SE_RTOL)
        _assert_rel(table["ci_high"], ci[:, 1], SE_RTOL)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("kind", KINDS)
def test_ols_parity_cal_housing(kind, solver):
    # Unscaled: populations in the thousands next to incomes around 4.
    sm = _sm()
    X, y = shared_data("cal_housing")
    reg = HessianRegressor(solver=solver, **TIGHT).fit(X, y)
    res = _sm_fit(sm, sm.OLS(y, _with_const(X)), kind)
    with warnings.catch_warnings():
        warnings.simplefilter("error", InferenceWarning)
        table = reg.coef_table(X, y, kind=kind)
    _assert_rel(table["coef"], res.params, COEF_RTOL)
    _assert_rel(table["std_err"], res.bse, SE_RTOL)


@pytest.mark.parametrize("kind", KINDS)
def test_logit_parity_breast_cancer(kind):
    sm = _sm()
    X, y = breast_cancer()
    clf = HessianClassifier(**TIGHT).fit(X, y)
    res = _sm_fit(sm, sm.Logit(y, _with_const(X)), kind, **LOGIT_FIT)
    bse = res.bse
    with warnings.catch_warnings():
        warnings.simplefilter("error", InferenceWarning)
        table = clf.coef_table(X, y, kind=kind)
    _assert_rel(np.r_[clf.coef_.ravel(), clf.intercept_], res.params, COEF_RTOL)
    _assert_rel(table["std_err"], bse, SE_RTOL)
    _assert_rel(table["z"], res.tvalues, SE_RTOL)
    np.testing.assert_allclose(table["p_value"], res.pvalues, rtol=1e-4, atol=1e-12)
    ci = res.conf_int(0.1)
    t90 = clf.coef_table(X, y, kind=kind, level=0.9)
    _assert_rel(t90["ci_low"], ci[:, 0], SE_RTOL)
    _assert_rel(t90["ci_high"], ci[:, 1], SE_RTOL)


@pytest.mark.parametrize("solver", SOLVERS)
def test_logit_parity_every_solver(solver):
    sm = _sm()
    X, y = breast_cancer()
    clf = HessianClassifier(solver=solver, **TIGHT).fit(X, y)
    res = sm.Logit(y, _with_const(X)).fit(**LOGIT_FIT)
    table = clf.coef_table(X, y)
    _assert_rel(table["coef"], res.params, COEF_RTOL)
    _assert_rel(table["std_err"], res.bse, SE_RTOL)


@pytest.mark.parametrize("kind", KINDS)
def test_mnlogit_parity_wine(kind):
    sm = _sm()
    X, y = wine()
    clf = HessianClassifier(**TIGHT).fit(X, y)
    res = _sm_fit(sm, sm.MNLogit(y, _with_const(X)), kind, **LOGIT_FIT)
    # statsmodels: reference class 0, parameters equation by equation.
    params = np.asarray(res.params).ravel(order="F")
    bse = np.asarray(res.bse).ravel(order="F")
    cov_ref = np.asarray(res.cov_params())
    with warnings.catch_warnings():
        warnings.simplefilter("error", InferenceWarning)
        table = clf.coef_table(X, y, kind=kind, reference_class=0)
        cov = clf.covariance_matrix(X, y, kind=kind, reference_class=0)
        cov_sym = clf.covariance_matrix(X, y, kind=kind)
    _assert_rel(table["coef"], params, COEF_RTOL)
    _assert_rel(table["std_err"], bse, SE_RTOL)
    np.testing.assert_allclose(
        cov, cov_ref, rtol=SE_RTOL, atol=1e-9 * np.abs(cov).max()
    )
    assert list(table.index.get_level_values("class").unique()) == [1, 2]
    # The symmetric parametrisation: theta_c = ref_c - mean_c(ref), ref_0 = 0.
    K, m = 3, X.shape[1] + 1
    T = np.kron(np.eye(K) - 1.0 / K, np.eye(m))[:, m:]  # (K m, (K - 1) m)
    _assert_rel(clf.coef_table(X, y)["coef"], T @ params, COEF_RTOL)
    np.testing.assert_allclose(
        cov_sym, T @ cov_ref @ T.T, rtol=SE_RTOL, atol=1e-9 * np.abs(cov_sym).max()
    )


@pytest.mark.parametrize("kind", KINDS)
def test_frequency_weights_are_repeated_rows(kind):
    sm = _sm()
    rng = np.random.RandomState(0)
    X, y = diabetes()
    w = rng.randint(0, 4, size=len(y))
    Xr, yr = np.repeat(X, w, axis=0), np.repeat(y, w)
    reg = HessianRegressor(**TIGHT).fit(X, y, sample_weight=w)
    res = _sm_fit(sm, sm.OLS(yr, _with_const(Xr)), kind)
    _assert_rel(reg.std_errors(X, y, sample_weight=w, kind=kind), res.bse, SE_RTOL)

    Xb, yb = breast_cancer()
    w = rng.randint(0, 4, size=len(yb))
    Xr, yr = np.repeat(Xb, w, axis=0), np.repeat(yb, w)
    clf = HessianClassifier(**TIGHT).fit(Xb, yb, sample_weight=w)
    res = _sm_fit(sm, sm.Logit(yr, _with_const(Xr)), kind, **LOGIT_FIT)
    bse = res.bse
    _assert_rel(clf.std_errors(Xb, yb, sample_weight=w, kind=kind), bse, SE_RTOL)


def test_cluster_parity():
    sm = _sm()
    X, y = diabetes()
    groups = np.arange(len(y)) % 23
    reg = HessianRegressor(**TIGHT).fit(X, y)
    res = _sm_fit(sm, sm.OLS(y, _with_const(X)), "cluster", groups=groups)
    table = reg.coef_table(X, y, kind="cluster", groups=groups)
    _assert_rel(table["std_err"], res.bse, SE_RTOL)
    # t with n_groups - 1 degrees of freedom, as statsmodels' cluster default
    res_t = sm.OLS(y, _with_const(X)).fit(
        cov_type="cluster", cov_kwds={"groups": groups}, use_t=True
    )
    np.testing.assert_allclose(table["p_value"], res_t.pvalues, rtol=1e-4, atol=1e-12)

    Xb, yb = breast_cancer()
    groups = np.arange(len(yb)) % 31
    clf = HessianClassifier(**TIGHT).fit(Xb, yb)
    res = _sm_fit(sm, sm.Logit(yb, _with_const(Xb)), "cluster", groups=groups,
                  **LOGIT_FIT)
    _assert_rel(clf.std_errors(Xb, yb, kind="cluster", groups=groups), res.bse, SE_RTOL)


def test_ols_without_intercept_parity():
    sm = _sm()
    X, y = diabetes()
    reg = HessianRegressor(fit_intercept=False, **TIGHT).fit(X, y)
    res = sm.OLS(y, X).fit()
    table = reg.coef_table(X, y)
    assert list(table.index) == [f"x{j}" for j in range(10)]
    _assert_rel(table["coef"], res.params, COEF_RTOL)
    _assert_rel(table["std_err"], res.bse, SE_RTOL)


@pytest.mark.filterwarnings("ignore:The design matrix is rank-deficient")
def test_duplicated_columns_match_statsmodels_pinv():
    # diabetes is centred, so the minimum-norm solution with a free intercept (ours)
    # is statsmodels' minimum-norm solution over all parameters (its pinv).
    sm = _sm()
    X, y = diabetes()
    Xd = np.column_stack([X, X[:, 2]])
    reg = HessianRegressor(**TIGHT).fit(Xd, y)
    res = sm.OLS(y, _with_const(Xd)).fit()
    with pytest.warns(InferenceWarning, match="not identified"):
        table = reg.coef_table(Xd, y)
    _assert_rel(table["coef"], res.params, COEF_RTOL)
    _assert_rel(table["std_err"], res.bse, SE_RTOL)


# --------------------------------------------------------------------------------------
# Singular Hessians
# --------------------------------------------------------------------------------------
def _dup_classification(n_classes):
    rng = np.random.RandomState(3)
    X = rng.randn(400, 4)
    y = np.digitize(X[:, 0] + X[:, 1] + rng.randn(400), [-0.5, 0.5][: n_classes - 1])
    return np.column_stack([X, X[:, 1], np.zeros(400)]), y


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_duplicated_columns_classifier_warns_and_is_finite(n_classes, solver):
    X, y = _dup_classification(n_classes)
    clf = HessianClassifier(solver=solver, **TIGHT).fit(X, y)
    with pytest.warns(InferenceWarning, match="not identified") as record:
        table = clf.coef_table(X, y)
    message = str(record[0].message)
    # x1 and its copy x4, and the all-zero x5; nothing else.
    assert "['x1', 'x4', 'x5']" in message
    values = table.to_numpy()
    assert np.all(np.isfinite(values[:, :2]))
    assert np.all(np.isfinite(table["ci_low"][table["std_err"] > 0]))
    # The copies share the estimate and the standard error.
    if n_classes == 2:
        assert table.loc["x1", "coef"] == pytest.approx(
            table.loc["x4", "coef"], rel=1e-6
        )
        assert table.loc["x1", "std_err"] == pytest.approx(
            table.loc["x4", "std_err"], rel=1e-6
        )


def test_duplicated_columns_dataframe_names():
    pd = pytest.importorskip("pandas")
    X, y = diabetes()
    frame = pd.DataFrame(np.column_stack([X, X[:, 3]]),
                         columns=[f"f{j}" for j in range(10)] + ["bp_copy"])
    reg = HessianRegressor(alpha=0).fit(frame, y)
    with pytest.warns(InferenceWarning, match=r"\['f3', 'bp_copy'\]"):
        se = reg.std_errors(frame, y)
    assert np.all(np.isfinite(se))


# --------------------------------------------------------------------------------------
# Input handling: solvers, sparse, float32, inputs left alone
# --------------------------------------------------------------------------------------
def _problems():
    X, y = diabetes()
    yield "regressor", HessianRegressor, X, y
    yield "multitarget", HessianRegressor, X, np.column_stack([y, np.sqrt(y)])
    Xb, yb = breast_cancer()
    yield "binary", HessianClassifier, Xb, yb
    Xw, yw = wine()
    yield "multinomial", HessianClassifier, Xw, yw


PROBLEMS = list(_problems())


@pytest.mark.parametrize("name, Est, X, y", PROBLEMS, ids=[p[0] for p in PROBLEMS])
@pytest.mark.parametrize("kind", KINDS)
def test_dense_sparse_float32_and_solvers_agree(name, Est, X, y, kind):
    w = np.random.RandomState(0).uniform(0.5, 2, size=len(y))
    ref = Est(solver="newton", **TIGHT).fit(X, y, sample_weight=w)
    cov = ref.covariance_matrix(X, y, sample_weight=w, kind=kind)
    for fmt in ("csr", "csc"):
        Xs = sp.csr_matrix(X) if fmt == "csr" else sp.csc_matrix(X)
        est = Est(solver="newton-cg", **TIGHT).fit(Xs, y, sample_weight=w)
        np.testing.assert_allclose(
            est.covariance_matrix(Xs, y, sample_weight=w, kind=kind), cov,
            rtol=1e-6, atol=1e-9 * np.abs(cov).max(),
        )
    est = Est(solver="lbfgs", **TIGHT).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(
        est.covariance_matrix(X, y, sample_weight=w, kind=kind), cov,
        rtol=1e-6, atol=1e-9 * np.abs(cov).max(),
    )
    X32 = X.astype(np.float32)
    est = Est(solver="newton", alpha=0).fit(X32, y, sample_weight=w.astype(np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error", InferenceWarning)
        cov32 = est.covariance_matrix(X32, y, sample_weight=w, kind=kind)
    assert cov32.dtype == np.float64
    np.testing.assert_allclose(cov32, cov, rtol=2e-3, atol=1e-5 * np.abs(cov).max())


@pytest.mark.parametrize("name, Est, X, y", PROBLEMS, ids=[p[0] for p in PROBLEMS])
def test_inputs_are_not_modified(name, Est, X, y):
    groups = np.arange(len(y)) % 7
    w = np.random.RandomState(0).uniform(0.5, 2, size=len(y))
    est = Est(alpha=0).fit(X, y, sample_weight=w)
    for data in (X, X.astype(np.float32), sp.csr_matrix(X)):
        copies = [
            data.copy(), np.array(y, copy=True), w.copy(), groups.copy()
        ]
        est.coef_table(data, y, sample_weight=w, kind="cluster", groups=groups)
        est.hessian_report(data, y, sample_weight=w)
        for before, after in zip(copies, (data, y, w, groups)):
            if sp.issparse(before):
                assert (before != after).nnz == 0
            else:
                np.testing.assert_array_equal(before, after)


# --------------------------------------------------------------------------------------
# Conventions
# --------------------------------------------------------------------------------------
def test_multinomial_symmetric_covariance_lives_on_zero_sum_subspace():
    X, y = wine()
    clf = HessianClassifier(**TIGHT).fit(X, y)
    K, m = 3, X.shape[1] + 1
    cov = clf.covariance_matrix(X, y)
    class_sums = np.kron(np.ones((1, K)), np.eye(m))  # sum over classes, per row
    np.testing.assert_allclose(class_sums @ cov, 0, atol=1e-10 * np.abs(cov).max())
    assert np.linalg.matrix_rank(cov) == (K - 1) * m
    table = clf.coef_table(X, y)
    np.testing.assert_allclose(
        table["coef"].to_numpy(), np.column_stack([clf.coef_, clf.intercept_]).ravel()
    )


def test_reference_class_string_labels_and_conversion():
    X, y = wine()
    labels = np.array(["barolo", "grignolino", "barbera"])[y]
    clf = HessianClassifier(**TIGHT).fit(X, labels)
    sym = clf.covariance_matrix(X, labels)
    for r, ref in enumerate(clf.classes_):
        table = clf.coef_table(X, labels, reference_class=ref)
        others = [c for c in clf.classes_ if c != ref]
        assert list(table.index.get_level_values("class").unique()) == others
        B = np.column_stack([clf.coef_, clf.intercept_])
        rows = [B[list(clf.classes_).index(c)] - B[r] for c in others]
        expected = np.concatenate(rows)
        np.testing.assert_allclose(table["coef"], expected, rtol=1e-12, atol=1e-12)
    # The reference parametrisation loses nothing: back to symmetric by the map.
    K, m = 3, X.shape[1] + 1
    cov_ref = clf.covariance_matrix(X, labels, reference_class=clf.classes_[0])
    T = np.kron(np.eye(K) - 1.0 / K, np.eye(m))[:, m:]
    np.testing.assert_allclose(T @ cov_ref @ T.T, sym, rtol=1e-8, atol=1e-12)


def test_binary_reference_class():
    X, y = breast_cancer()
    labels = np.where(y == 1, "benign", "malignant")
    clf = HessianClassifier(**TIGHT).fit(X, labels)
    np.testing.assert_array_equal(
        clf.std_errors(X, labels, reference_class="benign"), clf.std_errors(X, labels)
    )
    with pytest.raises(ValueError, match="reference_class must be"):
        clf.std_errors(X, labels, reference_class="malignant")


def test_class_weight_is_a_frequency_weight():
    X, y = breast_cancer()
    cw = {0: 2.0, 1: 1.0}
    a = HessianClassifier(class_weight=cw, **TIGHT).fit(X, y)
    b = HessianClassifier(**TIGHT).fit(X, y, sample_weight=np.where(y == 0, 2.0, 1.0))
    np.testing.assert_allclose(
        a.covariance_matrix(X, y, kind="HC1"),
        b.covariance_matrix(X, y, sample_weight=np.where(y == 0, 2.0, 1.0), kind="HC1"),
        rtol=1e-8,
    )


def test_multitarget_regression_blocks():
    X, y = diabetes()
    Y = np.column_stack([y, np.sqrt(y)])
    reg = HessianRegressor(**TIGHT).fit(X, Y)
    table = reg.coef_table(X, Y)
    assert table.index.names == ["target", "feature"]
    for t in range(2):
        single = HessianRegressor(**TIGHT).fit(X, Y[:, t])
        for kind in KINDS:
            se = reg.std_errors(X, Y, kind=kind)[t * 11 : (t + 1) * 11]
            np.testing.assert_allclose(se, single.std_errors(X, Y[:, t], kind=kind),
                                       rtol=1e-8)


def test_laplace_approximation_and_its_warning():
    X, y = diabetes()
    alpha = 1e-2
    reg = HessianRegressor(alpha=alpha, tol=1e-12).fit(X, y)
    with pytest.warns(InferenceWarning, match="Laplace approximation") as record:
        cov = reg.covariance_matrix(X, y)
    assert len(record) == 1  # one warning per call
    with pytest.warns(InferenceWarning, match="Laplace") as record:
        reg.coef_table(X, y)
    assert len(record) == 1
    # Bayesian ridge: sigma^2 (X1^T X1 + n alpha D)^-1, D the identity but for the
    # (unpenalised) intercept.
    n, p = X.shape
    X1 = _with_const(X)
    resid = y - reg.predict(X)
    sigma2 = resid @ resid / (n - p - 1)
    D = np.diag(np.r_[np.ones(p), 0.0])
    expected = sigma2 * np.linalg.inv(X1.T @ X1 + n * alpha * D)
    np.testing.assert_allclose(
        cov, expected, rtol=1e-8, atol=1e-12 * np.abs(expected).max()
    )


def test_no_warning_for_a_well_posed_unpenalised_fit():
    X, y = breast_cancer()
    clf = HessianClassifier(**TIGHT).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.coef_table(X, y)
        clf.coef_table(X, y, kind="HC1")


def test_warns_when_not_at_the_optimum():
    X, y = diabetes()
    reg = HessianRegressor(**TIGHT).fit(X[:300], y[:300])
    with pytest.warns(InferenceWarning, match="not at the optimum"):
        reg.std_errors(X, y)


def test_structured_array_without_pandas(monkeypatch):
    X, y = wine()
    clf = HessianClassifier(**TIGHT).fit(X, y)
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas -> ImportError
    table = clf.coef_table(X, y)
    assert isinstance(table, np.ndarray)
    assert table.dtype.names == (
        "class", "feature", "coef", "std_err", "z", "p_value", "ci_low", "ci_high"
    )
    assert table["class"][0] == "0" and table["feature"][5] == "intercept"
    np.testing.assert_allclose(
        table["coef"], np.column_stack([clf.coef_, clf.intercept_]).ravel()
    )
    reg = HessianRegressor(**TIGHT).fit(*diabetes())
    table = reg.coef_table(*diabetes())
    assert table.dtype.names[:3] == ("feature", "coef", "std_err")
    assert "t" in table.dtype.names


def test_feature_names_from_dataframe():
    pd = pytest.importorskip("pandas")
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    reg = HessianRegressor(**TIGHT).fit(X, y)
    table = reg.coef_table(X, y)
    assert list(table.index) == [*X.columns, "intercept"]
    columns = ["coef", "std_err", "t", "p_value", "ci_low", "ci_high"]
    assert list(table.columns) == columns
    assert isinstance(table, pd.DataFrame)


def test_level_changes_only_the_intervals():
    X, y = diabetes()
    reg = HessianRegressor(**TIGHT).fit(X, y)
    t95, t99 = reg.coef_table(X, y), reg.coef_table(X, y, level=0.99)
    np.testing.assert_array_equal(t95["std_err"], t99["std_err"])
    assert np.all(t99["ci_high"] - t99["ci_low"] > t95["ci_high"] - t95["ci_low"])


def test_errors():
    X, y = diabetes()
    with pytest.raises(NotFittedError):
        HessianRegressor().std_errors(X, y)
    reg = HessianRegressor(**TIGHT).fit(X, y)
    with pytest.raises(ValueError, match="kind must be"):
        reg.std_errors(X, y, kind="HC3")
    with pytest.raises(ValueError, match="needs groups"):
        reg.std_errors(X, y, kind="cluster")
    with pytest.raises(ValueError, match="only used with kind='cluster'"):
        reg.std_errors(X, y, groups=np.zeros(len(y)))
    with pytest.raises(ValueError, match="at least 2 groups"):
        reg.std_errors(X, y, kind="cluster", groups=np.zeros(len(y)))
    with pytest.raises(ValueError, match="level"):
        reg.coef_table(X, y, level=95)
    with pytest.raises(ValueError, match="reference_class"):
        reg.std_errors(X, y, reference_class=0)
    with pytest.raises(ValueError, match="1-D"):
        reg.std_errors(X, np.column_stack([y, y]))
    with pytest.raises(ValueError, match="features"):
        reg.std_errors(X[:, :5], y)
    Xw, yw = wine()
    clf = HessianClassifier(**TIGHT).fit(Xw, yw)
    with pytest.raises(ValueError, match="not seen in fit"):
        clf.std_errors(Xw, yw + 1)
    with pytest.raises(ValueError, match="not one of the classes"):
        clf.std_errors(Xw, yw, reference_class=7)
    with pytest.raises(ValueError, match="n_top"):
        clf.hessian_report(Xw, yw, n_top=0)


# --------------------------------------------------------------------------------------
# hessian_report
# --------------------------------------------------------------------------------------
def test_report_matches_condition_number_and_eigenvalues():
    X, y = diabetes()
    reg = HessianRegressor(alpha=0, solver="newton").fit(X, y)
    report = reg.hessian_report(X, y)
    assert isinstance(report, HessianReport)
    H = _with_const(X).T @ _with_const(X) / len(y)
    np.testing.assert_allclose(report.eigenvalues, np.linalg.eigvalsh(H), rtol=1e-9,
                               atol=1e-14)
    assert report.condition_number == pytest.approx(reg.condition_number_, rel=1e-8)
    assert report.n_null == 0
    assert len(report.worst) == 5 and len(report.smallest_eigenvector) == 11
    np.testing.assert_allclose(np.linalg.norm(report.smallest_eigenvector), 1.0)
    assert "condition number" in str(report)


def test_report_points_at_units_and_offsets():
    # A feature in large units with a large offset: ill-conditioned for gradient
    # methods, harmless once scaled and centred.
    rng = np.random.RandomState(0)
    X = rng.randn(500, 4)
    X[:, 2] = 1e4 + 1e3 * X[:, 2]
    y = X @ np.array([1.0, -1.0, 1e-3, 0.5]) + rng.randn(500)
    reg = HessianRegressor(alpha=0).fit(X, y)
    report = reg.hessian_report(X, y)
    assert report.condition_number > 1e10
    assert report.scaled_condition_number < 10
    assert report.worst[0][0] == "intercept"
    assert "StandardScaler" in str(report)


def test_report_names_collinear_features():
    rng = np.random.RandomState(0)
    X = rng.randn(300, 5)
    X[:, 4] = X[:, 1] - X[:, 3] + 1e-6 * rng.randn(300)  # nearly collinear
    y = (X[:, 0] + rng.randn(300) > 0).astype(int)
    clf = HessianClassifier(alpha=0).fit(X, y)
    report = clf.hessian_report(X, y, n_top=3)
    assert {name for name, _ in report.scaled_worst} == {"x1", "x3", "x4"}
    assert report.scaled_condition_number > 1e8
    assert "collinear" in str(report)


def test_report_multinomial_and_singular():
    X, y = _dup_classification(3)
    clf = HessianClassifier(alpha=0).fit(X, y)
    report = clf.hessian_report(X, y)
    assert report.n_null == 4  # (copy of x1, zero x5) x (K - 1) free class contrasts
    assert report.condition_number == np.inf or report.condition_number > 1e12
    assert len(report.names) == 3 * (X.shape[1] + 1)
    assert report.names[0] == "x0[0]"
    top = {name.split("[")[0] for name, _ in report.scaled_worst[:2]}
    assert top <= {"x1", "x4", "x5"}
    assert "not identified" in str(report)
