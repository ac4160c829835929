"""Behaviour of the estimators as a scikit-learn user sees it."""

import pickle
import re

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_breast_cancer, load_iris, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_hessian import HessianClassifier, HessianRegressor, __version__
from sklearn_hessian.solvers import AUTO_NEWTON_MAX_SIZE

SOLVERS = ["newton", "newton-cg", "lbfgs"]


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def test_version_is_exposed():
    assert isinstance(__version__, str) and __version__


@pytest.mark.parametrize("solver", SOLVERS)
def test_multiclass_shapes_and_symmetric_parametrisation(iris, solver):
    X, y = iris
    clf = HessianClassifier(alpha=1e-3, solver=solver).fit(X, y)
    assert clf.coef_.shape == (3, 4) and clf.intercept_.shape == (3,)
    np.testing.assert_allclose(clf.coef_.sum(axis=0), 0, atol=1e-10)
    np.testing.assert_allclose(clf.intercept_.sum(), 0, atol=1e-10)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    np.testing.assert_allclose(np.log(proba), clf.predict_log_proba(X), rtol=1e-10)
    assert clf.decision_function(X).shape == (150, 3)
    assert clf.score(X, y) > 0.95
    assert clf.n_iter_ >= 1 and len(clf.loss_curve_) >= 1
    assert np.all(np.diff(clf.loss_curve_) <= 1e-12)  # monotone objective


@pytest.mark.parametrize("solver", SOLVERS)
def test_binary_string_labels(solver):
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    labels = np.array(["benign", "malignant"])[1 - y]
    clf = HessianClassifier(alpha=1e-3, solver=solver).fit(X, labels)
    assert list(clf.classes_) == ["benign", "malignant"]
    assert clf.coef_.shape == (1, 30) and clf.intercept_.shape == (1,)
    d = clf.decision_function(X)
    assert d.shape == (569,)
    # positive decision means classes_[1]
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[(d > 0).astype(int)])
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-d)), rtol=1e-10)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("Estimator", [HessianClassifier, HessianRegressor])
def test_float32_is_kept(solver, Estimator):
    X, y = make_classification(n_samples=300, n_features=8, n_informative=5,
                               n_classes=3, random_state=0)
    X32 = X.astype(np.float32)
    est = Estimator(alpha=1e-2, solver=solver).fit(X32, y)
    assert est.coef_.dtype == np.float32
    assert est.predict(X32[:5]).dtype in (np.float32, y.dtype)
    ref = Estimator(alpha=1e-2, solver=solver).fit(X, y)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("solver", SOLVERS)
def test_sparse_and_dense_agree(solver):
    X, y = make_classification(n_samples=200, n_features=10, random_state=1)
    X[np.abs(X) < 0.5] = 0
    dense = HessianClassifier(alpha=1e-3, solver=solver).fit(X, y)
    for fmt in (sp.csr_matrix, sp.csc_matrix, sp.csr_array):
        sparse = HessianClassifier(alpha=1e-3, solver=solver).fit(fmt(X), y)
        np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-6, atol=1e-9)


def test_auto_rule():
    X, y = make_classification(n_samples=100, n_features=20, random_state=0)
    assert HessianClassifier().fit(X, y).solver_ == "newton"
    X_sparse = sp.random(300, 200, density=0.02, format="csr", random_state=0)
    y_sparse = np.arange(300) % 2
    assert HessianClassifier().fit(X_sparse, y_sparse).solver_ == "newton-cg"
    # dense enough (as a9a): forming the Hessian pays
    assert HessianClassifier().fit(sp.csr_matrix(X), y).solver_ == "newton"
    # 4% non-zeros, but many rows per feature (as w8a): a sub-sampled Hessian
    # costs a few passes over X
    X_tall = sp.random(20000, 100, density=0.04, format="csr", random_state=0)
    y_tall = np.arange(20000) % 2
    with pytest.warns(ConvergenceWarning):  # labels without signal; the choice counts
        assert HessianClassifier(max_iter=3).fit(X_tall, y_tall).solver_ == "newton"
    wide = np.random.RandomState(0).randn(50, AUTO_NEWTON_MAX_SIZE)
    assert HessianRegressor().fit(wide, np.arange(50.0)).solver_ == "newton-cg"
    # multinomial: the Hessian has (p + 1) * K columns
    X5 = np.random.RandomState(0).randn(300, 120)
    y5 = np.arange(300) % 10
    assert HessianClassifier().fit(X5, y5).solver_ == "newton-cg"
    # 510 columns from 300 rows: newton's preconditioner would cost ~150 passes
    assert HessianClassifier().fit(X5[:, :50], y5).solver_ == "newton-cg"
    # 55 columns, 20,000 rows: a sub-sample of 4,096 builds it for about one pass
    X6 = np.random.RandomState(0).randn(20000, 10)
    y6 = np.arange(20000) % 5
    assert HessianClassifier().fit(X6, y6).solver_ == "newton"


@pytest.mark.parametrize("solver", SOLVERS)
def test_warm_start_restarts_at_the_solution(solver):
    X, y = make_classification(n_samples=300, n_features=6, random_state=2)
    clf = HessianClassifier(alpha=1e-3, solver=solver, warm_start=True).fit(X, y)
    coef = clf.coef_.copy()
    clf.fit(X, y)
    assert clf.n_iter_ <= 2
    np.testing.assert_allclose(clf.coef_, coef, rtol=1e-6, atol=1e-9)


def test_class_weight_equals_sample_weight():
    X, y = make_classification(n_samples=300, n_features=5, weights=[0.8],
                               random_state=3)
    balanced = HessianClassifier(class_weight="balanced").fit(X, y)
    counts = np.bincount(y)
    sw = (len(y) / (2 * counts))[y]
    weighted = HessianClassifier().fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(balanced.coef_, weighted.coef_, rtol=1e-8)
    as_dict = HessianClassifier(class_weight={0: 1.0, 1: 3.0}).fit(X, y)
    weighted = HessianClassifier().fit(X, y, sample_weight=np.where(y == 1, 3.0, 1.0))
    np.testing.assert_allclose(as_dict.coef_, weighted.coef_, rtol=1e-8)


@pytest.mark.parametrize("Estimator", [HessianClassifier, HessianRegressor])
def test_inputs_are_not_modified_and_read_only_memmaps_work(Estimator, tmp_path):
    X, y = make_classification(n_samples=100, n_features=5, random_state=4)
    path = tmp_path / "X.npy"
    np.save(path, X)
    X_ro = np.load(path, mmap_mode="r")
    sw = np.linspace(0.5, 2, 100)
    sw_copy, y_copy = sw.copy(), y.copy()
    for solver in SOLVERS:
        Estimator(solver=solver).fit(X_ro, y, sample_weight=sw)
    np.testing.assert_array_equal(X_ro, X)
    np.testing.assert_array_equal(sw, sw_copy)
    np.testing.assert_array_equal(y, y_copy)


@pytest.mark.parametrize("Estimator", [HessianClassifier, HessianRegressor])
def test_bad_sample_weight_is_rejected(Estimator):
    X, y = make_classification(n_samples=20, n_features=3, n_informative=2,
                               n_redundant=0, random_state=5)
    with pytest.raises(ValueError, match="[Nn]egative"):
        Estimator().fit(X, y, sample_weight=-np.ones(20))
    with pytest.raises(ValueError):
        Estimator().fit(X, y, sample_weight=np.ones(19))
    with pytest.raises(ValueError):
        Estimator().fit(X, y, sample_weight=np.full(20, np.nan))


def test_one_class_is_rejected():
    with pytest.raises(ValueError, match="one class"):
        HessianClassifier().fit(np.ones((5, 2)), np.zeros(5))


@pytest.mark.parametrize("solver", SOLVERS)
def test_max_iter_reached_warns(solver):
    X, y = load_breast_cancer(return_X_y=True)
    clf = HessianClassifier(alpha=1e-6, solver=solver, max_iter=1, tol=0)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        clf.fit(X, y)
    assert clf.n_iter_ == 1
    assert np.all(np.isfinite(clf.coef_))


@pytest.mark.parametrize("solver", ["newton", "newton-cg", "lbfgs"])
def test_verbose_prints_a_header_one_row_per_iteration_and_a_summary(capsys, solver):
    rng = np.random.RandomState(1)
    Z = rng.randn(300, 4)
    X = np.column_stack([Z, Z[:, 0]])  # duplicated column: a null direction at alpha=0
    y = (Z @ [1.0, -1.0, 0.5, 0.0] + rng.logistic(size=300) > 0).astype(int)
    HessianClassifier(alpha=0, solver=solver).fit(X, y)
    assert capsys.readouterr().out == ""  # silent by default
    clf = HessianClassifier(alpha=0, solver=solver, verbose=1).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    prefix = f"[{solver}] "
    assert all(line.startswith(prefix) for line in lines)
    header, columns, *rows, summary = [line[len(prefix):] for line in lines]
    assert "at most tol 1e-08" in header and "300 samples x 5 features" in header
    assert columns.split() == ["iter", "objective", "max|grad|", "step", "decrement/2",
                               "notes"]
    assert len(rows) == clf.n_iter_ + 1  # row 0: the starting point
    for i, row in enumerate(rows):
        fields = row.split()
        assert int(fields[0]) == i
        if i:  # the objective after the iteration, as loss_curve_ has it
            assert float(fields[1]) == pytest.approx(clf.loss_curve_[i - 1], rel=1e-11)
            assert float(fields[3]) > 0  # the step length
        assert fields[2] == "-" or float(fields[2]) >= 0  # "-": not computed
    gradients = [row.split()[2] for row in rows]
    assert float([g for g in gradients if g != "-"][-1]) <= 1e-8  # the test passed
    if solver == "newton":  # the condition correction, named
        assert all(row.endswith("dropped 1 null direction") for row in rows[1:])
    if solver == "newton-cg":
        assert all(" cg " in row for row in rows[1:])
    assert summary.startswith(f"converged in {clf.n_iter_} iterations: objective ")
    assert "max|grad|" in summary and "condition number" in summary


def test_verbose_summary_says_why_a_fit_stopped(capsys):
    X, y = load_breast_cancer(return_X_y=True)
    with pytest.warns(ConvergenceWarning, match=r"max_iter=2 reached"):
        HessianClassifier(solver="lbfgs", max_iter=2, verbose=1).fit(X, y)
    summary = capsys.readouterr().out.splitlines()[-1]
    assert summary.startswith("[lbfgs] did not converge in 2 iterations "
                              "(max_iter=2 reached): objective ")


@pytest.mark.parametrize("Estimator", [HessianClassifier, HessianRegressor])
def test_pickle_round_trip_predicts_identically(Estimator):
    X, y = make_classification(n_samples=100, n_features=5, random_state=6)
    est = Estimator().fit(X, y)
    blob = pickle.dumps(est)
    assert len(blob) < 5000  # coefficients only, no training data
    again = pickle.loads(blob)
    np.testing.assert_array_equal(again.predict(X), est.predict(X))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # lbfgs
def test_pipeline_and_grid_search_over_solver_settings():
    X, y = load_breast_cancer(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), HessianClassifier())
    grid = GridSearchCV(
        pipe,
        {
            "hessianclassifier__solver": SOLVERS,
            "hessianclassifier__alpha": [1e-4, 1e-2],
            "hessianclassifier__tol": [1e-4, 1e-8],
        },
        cv=3,
    ).fit(X, y)
    assert grid.best_score_ > 0.95
    assert set(grid.cv_results_["param_hessianclassifier__solver"]) == set(SOLVERS)


@pytest.mark.parametrize("solver", SOLVERS)
def test_regressor_shapes(solver):
    rng = np.random.RandomState(7)
    X = rng.randn(50, 4)
    y = X @ [1.0, 2.0, 0.0, -1.0] + 3.0
    reg = HessianRegressor(alpha=0, solver=solver).fit(X, y)
    assert reg.coef_.shape == (4,) and isinstance(reg.intercept_, float)
    np.testing.assert_allclose(reg.coef_, [1, 2, 0, -1], atol=1e-6)
    np.testing.assert_allclose(reg.intercept_, 3, atol=1e-6)
    Y = np.column_stack([y, -y])
    reg2 = HessianRegressor(alpha=0, solver=solver).fit(X, Y)
    assert reg2.coef_.shape == (2, 4) and reg2.intercept_.shape == (2,)
    assert reg2.predict(X).shape == (50, 2)
    no_intercept = HessianRegressor(solver=solver, fit_intercept=False).fit(X, y)
    assert no_intercept.intercept_ == 0.0


@pytest.mark.parametrize("solver", SOLVERS)
def test_parallel_line_search_gives_identical_coefficients(solver):
    # More than two blocks of 65,536 rows, so the threads really split the trials.
    rng = np.random.RandomState(8)
    X = rng.randn(140_000, 4)
    y = np.digitize(X @ [1.0, -1.0, 0.5, 0.0] + rng.logistic(size=140_000), [-1, 1])
    serial = HessianClassifier(solver=solver, max_iter=30).fit(X, y)
    threaded = HessianClassifier(solver=solver, max_iter=30, n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(serial.coef_, threaded.coef_)
    np.testing.assert_array_equal(serial.intercept_, threaded.intercept_)
    assert serial.n_iter_ == threaded.n_iter_


def test_newton_multinomial_with_sampled_products_reaches_the_exact_optimum(capsys):
    """Tall dense multinomial data whose rows are sorted by class: the first step
    from the Kronecker Hessian, then CG whose first products use a fifth of the
    rows, then half of them; the fit still ends where the exact Hessian's does."""
    rng = np.random.RandomState(0)
    X = rng.standard_normal((20000, 5))
    y = np.argmax(X[:, :3] + 0.5 * rng.standard_normal((20000, 3)), axis=1)
    order = np.argsort(y, kind="stable")
    X, y = np.ascontiguousarray(X[order]), y[order]
    clf = HessianClassifier(solver="newton", alpha=1e-4, verbose=1).fit(X, y)
    log = capsys.readouterr().out
    shares = [int(v) for v in re.findall(r"products on (\d+)% of the rows", log)]
    assert shares == [pytest.approx(20, abs=2), pytest.approx(50, abs=2)]
    exact = HessianClassifier(solver="newton", alpha=1e-4, hessian_subsample=1.0).fit(X, y)
    np.testing.assert_allclose(clf.coef_, exact.coef_, rtol=0, atol=1e-7)
    np.testing.assert_allclose(clf.intercept_, exact.intercept_, rtol=0, atol=1e-7)
