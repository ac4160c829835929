"""HessianClassifierCV / HessianRegressorCV, GridSearchCV and joblib backends."""

import sys
import time
import warnings
from pathlib import Path

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.linear_model import LogisticRegressionCV
from sklearn.metrics import get_scorer
from sklearn.model_selection import GridSearchCV, GroupKFold, KFold, StratifiedKFold
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import (
    check_dataframe_column_names_consistency,
    check_param_validation,
    parametrize_with_checks,
)

from sklearn_hessian import (
    HessianClassifier,
    HessianClassifierCV,
    HessianRegressor,
    HessianRegressorCV,
)

ALPHAS = np.geomspace(10, 1e-5, 16)  # strongest first, as the default grid
SCORE_KEYS = ("test_score", "rank_test_score", "n_iter", "param_alpha")


@pytest.fixture(scope="module")
def cancer():
    """Breast cancer, scaled; a stratified hold-out set and fixed shuffled folds."""
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0
    )
    folds = list(
        StratifiedKFold(5, shuffle=True, random_state=0).split(X_train, y_train)
    )
    return X_train, X_test, y_train, y_test, folds


# joblib >= 1.3; parallel_backend does the same here on older versions.
parallel_config = getattr(joblib, "parallel_config", None) or joblib.parallel_backend


def _score_entries(results):
    return {
        k: v for k, v in results.items() if any(key in k for key in SCORE_KEYS)
    }


def _n_iter(estimator, X, y):
    """A "scorer" that reports the solver iterations of the fitted model."""
    model = estimator[-1] if hasattr(estimator, "steps") else estimator
    return model.n_iter_


# --------------------------------------------------------------------------------------
# scikit-learn compatibility
# --------------------------------------------------------------------------------------
CV_ESTIMATORS = [
    HessianClassifierCV(alphas=3, cv=3),
    HessianRegressorCV(alphas=3, cv=3),
]


# The class-weight check has 2 samples of a class for cv=3: StratifiedKFold says so.
@pytest.mark.filterwarnings("ignore:The least populated class:UserWarning")
@parametrize_with_checks(CV_ESTIMATORS)
def test_sklearn_compatible_cv_estimator(estimator, check):
    # No expected failure: the sample-weight equivalence checks pass because the
    # test folds are scored with their weights and the refit starts from zero, and
    # class_weight="balanced" is computed once from all of y (see _cv.py).
    check(estimator)


@pytest.mark.parametrize("estimator", CV_ESTIMATORS, ids=repr)
def test_cv_dataframe_column_names_and_param_validation(estimator):
    pytest.importorskip("pandas")
    check_dataframe_column_names_consistency(type(estimator).__name__, estimator)
    check_param_validation(type(estimator).__name__, estimator)


@pytest.mark.parametrize("alphas", [[], [[1.0]], [1.0, -1.0], [np.inf], [np.nan]])
def test_invalid_alphas(alphas):
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="alphas must be"):
        HessianClassifierCV(alphas=alphas).fit(X, y)


# --------------------------------------------------------------------------------------
# Against GridSearchCV and LogisticRegressionCV
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("scoring", [None, "neg_log_loss"])
def test_same_choice_as_grid_search_in_less_time(cancer, scoring):
    X_train, X_test, y_train, y_test, folds = cancer
    cv_est = HessianClassifierCV(alphas=ALPHAS, cv=folds, scoring=scoring)
    gs_scoring = {"score": get_scorer(scoring or "accuracy"), "n_iter": _n_iter}
    gs = GridSearchCV(
        HessianClassifier(), {"alpha": ALPHAS}, cv=folds, scoring=gs_scoring,
        refit="score",
    )
    # Interleaved repetitions, the best of each: the ratio is printed, not asserted.
    t_cv, t_gs = [], []
    for _ in range(2):
        start = time.perf_counter()
        cv_est.fit(X_train, y_train)
        t_cv.append(time.perf_counter() - start)
        start = time.perf_counter()
        gs.fit(X_train, y_train)
        t_gs.append(time.perf_counter() - start)
    it_cv = cv_est.cv_results_["mean_n_iter"].sum()
    it_gs = gs.cv_results_["mean_test_n_iter"].sum()
    print(
        f"\n[scoring={scoring}] GridSearchCV {min(t_gs):.3f} s / HessianClassifierCV "
        f"{min(t_cv):.3f} s = {min(t_gs) / min(t_cv):.2f}x; solver iterations per "
        f"fold: {it_gs:.0f} cold / {it_cv:.0f} warm-started"
    )

    assert cv_est.alpha_ == gs.best_params_["alpha"]
    assert cv_est.best_index_ == gs.best_index_
    np.testing.assert_allclose(
        cv_est.cv_results_["mean_test_score"],
        gs.cv_results_["mean_test_score"], rtol=1e-5,
    )
    for k in range(len(folds)):
        np.testing.assert_allclose(
            cv_est.cv_results_[f"split{k}_test_score"],
            gs.cv_results_[f"split{k}_test_score"], rtol=1e-5,
        )
    np.testing.assert_array_equal(
        cv_est.cv_results_["rank_test_score"], gs.cv_results_["rank_test_score"]
    )
    assert cv_est.cv_results_["params"] == [{"alpha": a} for a in ALPHAS]
    # The refit is the plain estimator at alpha_, exactly: same test score.
    np.testing.assert_array_equal(cv_est.coef_, gs.best_estimator_.coef_)
    np.testing.assert_array_equal(cv_est.intercept_, gs.best_estimator_.intercept_)
    assert cv_est.score(X_test, y_test) == gs.score(X_test, y_test)
    # Warm starts: never more iterations in total than cold starts.
    assert it_cv <= it_gs


@pytest.mark.parametrize("scoring", ["neg_log_loss", "accuracy"])
def test_matches_logistic_regression_cv_within_the_grid(cancer, scoring):
    X_train, X_test, y_train, y_test, folds = cancer
    # C = 1 / (alpha * n_train): the folds' training sizes differ by at most one,
    # so their mean is used.
    n_train = np.mean([len(train) for train, _ in folds])
    Cs = 1 / (ALPHAS * n_train)
    ours = HessianClassifierCV(alphas=ALPHAS, cv=folds, scoring=scoring).fit(
        X_train, y_train
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        lrcv = LogisticRegressionCV(
            Cs=Cs, cv=folds, scoring=scoring, solver="newton-cholesky", tol=1e-10,
            max_iter=1000, l1_ratios=(0.0,), use_legacy_attributes=False,
        ).fit(X_train, y_train)
    theirs = int(np.argmin(np.abs(np.log(Cs / lrcv.C_))))
    print(
        f"\n[{scoring}] alpha_ = {ours.alpha_:.3g} (grid index {ours.best_index_}); "
        f"LogisticRegressionCV C_ = {lrcv.C_:.3g} -> alpha "
        f"{1 / (lrcv.C_ * n_train):.3g}"
        f" (grid index {theirs}); hold-out {scoring}: "
        f"{get_scorer(scoring)(ours, X_test, y_test):.4f} vs "
        f"{get_scorer(scoring)(lrcv, X_test, y_test):.4f}"
    )
    assert abs(ours.best_index_ - theirs) <= 1
    # Same per-fold models up to the solvers' tolerance: close mean scores.
    np.testing.assert_allclose(
        ours.cv_results_["mean_test_score"], lrcv.scores_.mean(axis=0).ravel(),
        rtol=1e-3,
    )


def test_matches_logistic_regression_cv_on_a9a():
    # Sparse, 32,561 x 123: the folds run newton-cg (ours) and newton-cholesky.
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _helpers import shared_data

    X, y = shared_data("a9a")
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    n_train = np.mean([len(train) for train, _ in folds])
    alphas = np.geomspace(1e-2, 1e-7, 6)
    Cs = 1 / (alphas * n_train)
    ours = HessianClassifierCV(alphas=alphas, cv=folds, scoring="neg_log_loss").fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        lrcv = LogisticRegressionCV(
            Cs=Cs, cv=folds, scoring="neg_log_loss", solver="newton-cholesky",
            tol=1e-8, max_iter=1000, l1_ratios=(0.0,), use_legacy_attributes=False,
        ).fit(X, y)
    theirs = int(np.argmin(np.abs(np.log(Cs / lrcv.C_))))
    assert abs(ours.best_index_ - theirs) <= 1
    np.testing.assert_allclose(
        ours.cv_results_["mean_test_score"], lrcv.scores_.mean(axis=0).ravel(),
        rtol=1e-3,
    )


def test_regressor_same_choice_as_grid_search():
    X, y = load_diabetes(return_X_y=True)
    alphas = np.geomspace(1, 1e-6, 10)
    folds = list(KFold(4, shuffle=True, random_state=0).split(X))
    ours = HessianRegressorCV(alphas=alphas, cv=folds).fit(X, y)
    gs = GridSearchCV(HessianRegressor(), {"alpha": alphas}, cv=folds).fit(X, y)
    assert ours.alpha_ == gs.best_params_["alpha"]
    np.testing.assert_allclose(
        ours.cv_results_["mean_test_score"], gs.cv_results_["mean_test_score"],
        rtol=1e-8,
    )
    np.testing.assert_array_equal(ours.coef_, gs.best_estimator_.coef_)
    assert ours.solver_ == "newton" and ours.n_iter_ >= 1
    assert np.isfinite(ours.condition_number_) and len(ours.loss_curve_) >= 1


# --------------------------------------------------------------------------------------
# The estimator's own behaviour
# --------------------------------------------------------------------------------------
def test_default_grid_rule_and_its_invariances():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    clf = HessianClassifierCV(alphas=7, cv=3).fit(X, y)
    # alpha_max = 10 * p (1 - p) * total variance (30 standardised features)
    p = y.mean()
    alpha_max = 10 * p * (1 - p) * X.var(axis=0).sum()
    np.testing.assert_allclose(
        clf.alphas_, np.geomspace(alpha_max, alpha_max * 1e-6, 7)
    )
    assert clf.alpha_ in clf.alphas_
    # Rescaling X by s rescales the grid by s**2: the same models, the same choice.
    scaled = HessianClassifierCV(alphas=7, cv=3).fit(3 * X, y)
    np.testing.assert_allclose(scaled.alphas_, 9 * clf.alphas_, rtol=1e-12)
    assert scaled.best_index_ == clf.best_index_
    np.testing.assert_allclose(3 * scaled.coef_, clf.coef_, rtol=1e-6, atol=1e-9)
    # Least squares: the grid does not depend on the scale of y.
    Xd, yd = load_diabetes(return_X_y=True)
    reg = HessianRegressorCV(alphas=5, cv=3).fit(Xd, yd)
    reg_y = HessianRegressorCV(alphas=5, cv=3).fit(Xd, 1000 * yd)
    np.testing.assert_allclose(reg.alphas_, reg_y.alphas_)
    assert reg.best_index_ == reg_y.best_index_
    # A given array keeps its order; a single value works.
    given = HessianClassifierCV(alphas=[1e-4, 1e-1, 1e-2], cv=3).fit(X, y)
    np.testing.assert_array_equal(given.alphas_, [1e-4, 1e-1, 1e-2])
    assert HessianClassifierCV(alphas=[1e-2], cv=3).fit(X, y).alpha_ == 1e-2


def test_n_jobs_1_and_2_give_identical_results(cancer):
    X_train, _, y_train, _, folds = cancer
    one = HessianClassifierCV(alphas=ALPHAS, cv=folds, n_jobs=1).fit(X_train, y_train)
    two = HessianClassifierCV(alphas=ALPHAS, cv=folds, n_jobs=2).fit(X_train, y_train)
    for key, value in _score_entries(one.cv_results_).items():
        np.testing.assert_array_equal(value, two.cv_results_[key], err_msg=key)
    assert one.alpha_ == two.alpha_
    np.testing.assert_array_equal(one.coef_, two.coef_)
    np.testing.assert_array_equal(one.intercept_, two.intercept_)


@pytest.mark.parametrize("dataset", ["cancer", "iris"])
def test_refit_false_averages_the_fold_models(cancer, dataset):
    if dataset == "cancer":
        X, _, y, _, folds = cancer
    else:
        X, y = load_iris(return_X_y=True)
        X = StandardScaler().fit_transform(X)
        folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    alphas = ALPHAS[::3]
    # tol well below the default: on iris alpha_ is 1e-6, where a gradient at
    # 1e-8 leaves the coefficients only about 1e-5 relative from the optimum.
    tol = 1e-11
    refit = HessianClassifierCV(alphas=alphas, cv=folds, tol=tol).fit(X, y)
    mean = HessianClassifierCV(alphas=alphas, cv=folds, refit=False, tol=tol).fit(X, y)
    assert mean.alpha_ == refit.alpha_
    assert mean.best_index_ == refit.best_index_
    for key, value in _score_entries(refit.cv_results_).items():
        np.testing.assert_array_equal(value, mean.cv_results_[key], err_msg=key)
    # The mean of cold-started fold models at alpha_ (the path's are warm-started:
    # the same optima up to the solver's tolerance).
    fold_models = [
        HessianClassifier(alpha=mean.alpha_, tol=tol).fit(X[train], y[train])
        for train, _ in folds
    ]
    np.testing.assert_allclose(
        mean.coef_, np.mean([m.coef_ for m in fold_models], axis=0), rtol=1e-6,
        atol=1e-9,
    )
    np.testing.assert_allclose(
        mean.intercept_, np.mean([m.intercept_ for m in fold_models], axis=0),
        rtol=1e-6, atol=1e-9,
    )
    assert not np.allclose(mean.coef_, refit.coef_, rtol=1e-3)  # not the refit
    np.testing.assert_array_equal(mean.classes_, refit.classes_)
    assert mean.solver_ == "newton" and mean.n_iter_ >= 1
    assert not hasattr(mean, "loss_curve_") and not hasattr(mean, "condition_number_")
    assert mean.predict_proba(X).shape == (len(y), len(mean.classes_))
    if dataset == "iris":  # the mean keeps the symmetric parametrisation
        np.testing.assert_allclose(mean.coef_.sum(axis=0), 0, atol=1e-10)
        np.testing.assert_allclose(mean.intercept_.sum(), 0, atol=1e-10)


def test_refit_false_needs_every_class_in_every_training_fold():
    X, y = load_iris(return_X_y=True)
    # The first training fold has no class 2, the second no class 0.
    folds = [
        (np.arange(0, 100), np.arange(100, 150)),
        (np.arange(50, 150), np.arange(50)),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the log-loss of unseen classes
        clf = HessianClassifierCV(alphas=2, cv=folds).fit(X, y)  # refit: fine
        assert clf.coef_.shape == (3, 4)
        with pytest.raises(ValueError, match="every class"):
            HessianClassifierCV(alphas=2, cv=folds, refit=False).fit(X, y)


def test_alpha_alias_inference_groups_and_sparse(cancer):
    X, _, y, _, _ = cancer
    clf = HessianClassifierCV(alphas=4, cv=3)
    assert not hasattr(clf, "alpha")  # not fitted: no alias
    with pytest.raises(ValueError, match="Invalid parameter 'alpha'"):
        clf.set_params(alpha=1.0)
    clf.fit(X, y)
    assert clf.alpha == clf.alpha_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the Laplace-approximation notice
        table = clf.coef_table(X, y)
    assert table.shape[0] == X.shape[1] + 1
    # Group splitters get their groups; sparse input goes to newton-cg.
    groups = np.arange(len(y)) % 7
    grouped = HessianClassifierCV(alphas=4, cv=GroupKFold(3)).fit(X, y, groups=groups)
    assert grouped.alpha_ in grouped.alphas_
    sparse = HessianClassifierCV(alphas=4, cv=3).fit(sp.csr_matrix(X), y)
    assert sparse.solver_ == "newton"  # dense data in CSR: dense enough for newton
    assert sparse.best_index_ == clf.best_index_
    np.testing.assert_allclose(sparse.coef_, clf.coef_, rtol=1e-5, atol=1e-7)


# --------------------------------------------------------------------------------------
# GridSearchCV over solver settings, in loky processes
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("sparse_input", [False, True], ids=["dense", "sparse"])
def test_grid_search_over_solver_settings_with_loky(cancer, sparse_input):
    X, _, y, _, _ = cancer
    X = np.abs(X) * (np.abs(X) > 0.5)  # some zeros, so that sparse means something
    if sparse_input:
        X = sp.csr_matrix(X)
    # warm_start=True: any state carried from one candidate (or fold) to the next
    # would change the iteration counts, which are compared with fresh fits.
    pipe = make_pipeline(
        StandardScaler(with_mean=not sparse_input),
        HessianClassifier(warm_start=True, max_iter=500),
    )
    grid = {
        "hessianclassifier__solver": ["newton", "newton-cg", "lbfgs"],
        "hessianclassifier__alpha": [1e-2, 1e-4],
        "hessianclassifier__tol": [1e-4, 1e-8],
    }
    scoring = {
        "log_loss": "neg_log_loss",
        "n_iter": _n_iter,
        "objective": lambda est, X, y: est[-1].loss_curve_[-1],
    }
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    with parallel_config(backend="loky"):
        gs = GridSearchCV(
            pipe, grid, cv=folds, scoring=scoring, refit="log_loss", n_jobs=2,
            error_score="raise",
        ).fit(X, y)
    results = gs.cv_results_
    assert len(results["params"]) == 12
    solvers_seen = set()
    for i, params in enumerate(results["params"]):
        for k, (train, test) in enumerate(folds):
            fresh = clone(pipe).set_params(**params).fit(X[train], y[train])
            solvers_seen.add(fresh[-1].solver_)
            assert results[f"split{k}_test_n_iter"][i] == fresh[-1].n_iter_, params
            np.testing.assert_allclose(
                results[f"split{k}_test_objective"][i], fresh[-1].loss_curve_[-1],
                rtol=1e-12,
            )
            np.testing.assert_allclose(
                results[f"split{k}_test_log_loss"][i],
                get_scorer("neg_log_loss")(fresh, X[test], y[test]), rtol=1e-12,
            )
    assert solvers_seen == {"newton", "newton-cg", "lbfgs"}
    best = clone(pipe).set_params(**gs.best_params_).fit(X, y)
    np.testing.assert_array_equal(gs.best_estimator_[-1].coef_, best[-1].coef_)


# --------------------------------------------------------------------------------------
# A real dask cluster
# --------------------------------------------------------------------------------------
def test_dask_backend_gives_the_local_result(cancer):
    distributed = pytest.importorskip("distributed")
    X_train, _, y_train, _, folds = cancer
    estimator = HessianClassifierCV(alphas=ALPHAS[::2], cv=folds, n_jobs=-1)
    local = clone(estimator).fit(X_train, y_train)
    grid = {"alpha": [1e-1, 1e-3], "solver": ["newton", "newton-cg"]}
    gs_local = GridSearchCV(HessianClassifier(), grid, cv=folds).fit(X_train, y_train)

    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
    ) as cluster, distributed.Client(cluster) as client:
        with distributed.get_task_stream(client) as tasks, parallel_config(
            backend="dask"
        ):
            remote = clone(estimator).fit(X_train, y_train)
            gs_remote = GridSearchCV(
                HessianClassifier(), grid, cv=folds, n_jobs=-1
            ).fit(X_train, y_train)
        assert len(tasks.data) >= len(folds)  # the work ran on the workers

    for key, value in _score_entries(local.cv_results_).items():
        np.testing.assert_array_equal(value, remote.cv_results_[key], err_msg=key)
    assert remote.alpha_ == local.alpha_
    np.testing.assert_array_equal(remote.coef_, local.coef_)
    np.testing.assert_array_equal(
        gs_remote.cv_results_["mean_test_score"],
        gs_local.cv_results_["mean_test_score"],
    )
    assert gs_remote.best_params_ == gs_local.best_params_
