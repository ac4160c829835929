"""HessianClassifierCV and HessianRegressorCV: ``alpha`` chosen by cross-validation.

Each estimator subclasses its plain counterpart (prediction, inference and tags come
from there) and fits through it: one joblib task per fold fits a plain estimator
along the whole ``alpha`` path, from strong to weak regularisation, with
``warm_start=True`` so that every fit starts from the previous optimum; the
refit is one more plain fit, at the chosen ``alpha``. Parameter validation, target
encoding, class weights and the solvers are therefore exactly those of the plain
estimators.
"""

import inspect
import time
from numbers import Integral

import numpy as np
from scipy.stats import rankdata
from sklearn.base import _fit_context, clone, is_classifier
from sklearn.metrics import check_scoring, get_scorer, get_scorer_names
from sklearn.model_selection import check_cv
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.extmath import row_norms
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import _ACCEPT_SPARSE, _DTYPES
from ._classifier import HessianClassifier
from ._regressor import HessianRegressor

# alpha_max = _ALPHA_MAX_FACTOR * trace of the data term's Hessian at the
# intercept-only model; the grid ends at alpha_max * _ALPHA_MIN_RATIO.
_ALPHA_MAX_FACTOR = 10.0
_ALPHA_MIN_RATIO = 1e-6

# Parameters of the plain estimator that the CV estimator sets itself.
_OWN = ("alpha", "warm_start", "n_jobs", "verbose")
# Settings of the stochastic solvers: the CV estimators leave them at their
# defaults (solver="sgd" or "minibatch" still works, with those defaults).
_STOCHASTIC = ("batch_size", "learning_rate", "eta0", "power_t", "average",
               "shuffle", "n_iter_no_change", "early_stopping", "validation_fraction")


def _null_curvature(estimator, y, sample_weight):
    """Curvature of the loss at the intercept-only model, and the sample weights.

    At the intercept-only model every sample has the same curvature ``c``, so the
    trace of the data term's Hessian (coefficients only) is ``c`` times the weighted
    total variance of the features. Class weights multiply the sample weights, as
    in the classifier's objective.
    """
    n = y.shape[0]
    weights = np.ones(n) if sample_weight is None else np.asarray(
        sample_weight, dtype=np.float64
    )
    if not is_classifier(estimator):
        return 1.0, weights  # half squared error: curvature 1 per target
    classes, index = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        return 1.0, weights  # the fits will raise; any positive scale will do
    if estimator.class_weight is not None:
        per_class = compute_class_weight(estimator.class_weight, classes=classes, y=y)
        weights = weights * per_class[index]
    if not estimator.fit_intercept:
        p = np.full(len(classes), 1.0 / len(classes))  # the zero model
    else:
        p = np.bincount(index, weights=weights, minlength=len(classes))
        p = p / p.sum() if p.sum() > 0 else np.full(len(classes), 1.0 / len(classes))
    if len(classes) == 2:
        return float(p[1] * (1 - p[1])), weights  # one logit
    return float(np.sum(p * (1 - p))), weights  # trace over the classes' blocks


def _alpha_grid(estimator, X, y, sample_weight, n_alphas):
    """The default grid: ``n_alphas`` log-spaced values, strongest first.

    ``alpha_max = 10 * c * V``: ``V`` is the weighted total variance of the features
    (their weighted mean squared norm when ``fit_intercept=False``) and ``c`` the
    loss's curvature at the intercept-only model (1 for least squares, ``p (1 - p)``
    for two classes, ``sum_k p_k (1 - p_k)`` for more, with ``p`` the weighted
    class frequencies). ``c * V`` is the trace of the data term's Hessian there (in
    the coefficients, the intercept profiled out), an upper bound on its largest
    eigenvalue ``lambda``, so at ``alpha_max`` every direction is shrunk at least
    elevenfold (``lambda / (lambda + alpha_max) <= 1 / 11``); the grid ends at
    ``alpha_max * 1e-6``. One pass over X.
    """
    c, w = _null_curvature(estimator, y, sample_weight)
    total = w.sum()
    if total > 0:
        variance = float(w @ row_norms(X, squared=True)) / total
        if estimator.fit_intercept:
            mean = np.asarray(X.T @ w, dtype=np.float64).ravel() / total
            variance -= float(mean @ mean)
        alpha_max = _ALPHA_MAX_FACTOR * c * max(variance, 0.0)
    else:
        alpha_max = 0.0
    if not np.isfinite(alpha_max) or alpha_max <= 0:
        alpha_max = 1.0  # constant features: every alpha gives the same model
    if n_alphas == 1:
        return np.array([alpha_max])
    return np.geomspace(alpha_max, alpha_max * _ALPHA_MIN_RATIO, n_alphas)


def _accepts_sample_weight(scorer):
    try:
        params = inspect.signature(scorer).parameters.values()
    except (TypeError, ValueError):  # pragma: no cover - builtins without signature
        return False
    return any(
        p.name == "sample_weight" or p.kind == inspect.Parameter.VAR_KEYWORD
        for p in params
    )


def _fit_path(template, X, y, sample_weight, train, test, alphas, order, scorer):
    """One fold: fit ``template`` along ``alphas[order]`` with warm starts.

    Returns, in the order of ``alphas``: test scores, iterations, fit and score
    times, and the fitted coefficients and intercepts; plus the fold model's
    ``classes_`` (None for regressors) and the solver that ran.
    """
    X_train, y_train = _safe_indexing(X, train), _safe_indexing(y, train)
    X_test, y_test = _safe_indexing(X, test), _safe_indexing(y, test)
    fit_params, score_params = {}, {}
    if sample_weight is not None:
        fit_params["sample_weight"] = sample_weight[train]
        if _accepts_sample_weight(scorer):
            score_params["sample_weight"] = sample_weight[test]
    n_alphas = len(alphas)
    scores = np.empty(n_alphas)
    n_iter = np.empty(n_alphas, dtype=np.int64)
    fit_time = np.empty(n_alphas)
    score_time = np.empty(n_alphas)
    coefs, intercepts = [None] * n_alphas, [None] * n_alphas
    est = clone(template).set_params(warm_start=True)
    for i in order:
        est.set_params(alpha=float(alphas[i]))
        start = time.perf_counter()
        est.fit(X_train, y_train, **fit_params)
        fit_time[i] = time.perf_counter() - start
        start = time.perf_counter()
        scores[i] = scorer(est, X_test, y_test, **score_params)
        score_time[i] = time.perf_counter() - start
        n_iter[i] = est.n_iter_
        coefs[i] = np.copy(est.coef_)
        intercepts[i] = np.copy(est.intercept_)
    classes = getattr(est, "classes_", None)
    return dict(
        scores=scores, n_iter=n_iter, fit_time=fit_time, score_time=score_time,
        coefs=coefs, intercepts=intercepts, classes=classes, solver=est.solver_,
    )


_CV_PARAMETERS = """\
alphas : int or array-like of shape (n_alphas,), default=10
        Values of ``alpha`` to try. An int ``n`` gives ``n`` log-spaced values from
        ``alpha_max`` down to ``alpha_max * 1e-6``, where ``alpha_max = 10 * c * V``:
        ``V`` is the (weighted) total variance of the features, their summed
        variances (mean squared norm of the rows when ``fit_intercept=False``), and
        ``c`` the loss's curvature at the intercept-only model:
        {curvature}.
        ``c * V`` is the trace of the mean loss's Hessian in the coefficients there
        (the intercept profiled out), an upper bound on its largest eigenvalue, so
        at ``alpha_max`` the penalty dominates in every direction. The rule scales
        like the optimal ``alpha`` does: rescaling X by ``s`` rescales the grid by
        ``s ** 2``.{target_scale}
        An array is used as given (order kept); the folds always run it from the
        largest value to the smallest, with warm starts.

    cv : int, cross-validation generator or iterable, default=None
        Cross-validation splitting strategy, as in
        :class:`~sklearn.model_selection.GridSearchCV`: None for 5 folds, an int
        for that many folds ({splitter}), a splitter, or an iterable of
        ``(train, test)`` index arrays.

    scoring : str or callable, default=None
        Score that selects ``alpha`` (the higher the better): a scorer name (see
        :func:`sklearn.metrics.get_scorer_names`), a callable
        ``scorer(estimator, X, y)``, or None for the plain estimator's ``score``
        ({default_score}).{scoring_hint}
        With ``sample_weight`` the test folds are scored with their weights (when
        the scorer accepts ``sample_weight``).

    solver : {{"auto", "newton", "newton-cg", "lbfgs"}}, default="auto"
        Solver of every fit, as in :class:`{plain}` (see there).

    fit_intercept : bool, default=True
        Whether to fit an (unpenalised) intercept.

    tol : float, default=1e-8
        Tolerance of every fit, as in :class:`{plain}`.

    max_iter : int, default=100
        Maximum number of solver iterations of every fit.

    max_condition : float, default=None
        ``"newton"`` only: largest accepted Hessian condition number, as in
        :class:`{plain}`.

    hessian_subsample : "auto" or float in (0, 1], default="auto"
        ``"newton"`` only: sub-sampled early Hessians, as in :class:`{plain}`.

    refit : bool, default=True
        True: refit on all the data at ``alpha_``, from zero coefficients (the
        model is the plain estimator fitted with ``alpha=alpha_``). False: the
        model is the mean of the fold models at ``alpha_`` (their coefficients and
        intercepts), with no further fit; ``loss_curve_`` and
        ``condition_number_`` are then not set.

    verbose : int, default=0
        Progress of the folds (passed to :class:`joblib.Parallel`); above 1, every
        fit also prints one line per solver iteration (``verbose - 1`` is passed to
        the fits).

    random_state : int, RandomState instance or None, default=None
        Passed to every fit (it does not shuffle the folds: pass a splitter with
        its own ``random_state`` as ``cv`` for that).

    n_jobs : int, default=None
        Number of folds fitted in parallel (one joblib task per fold, each running
        the whole path); None means 1 unless in a :func:`joblib.parallel_config`
        context, -1 all processors. Any joblib backend works, dask and ray
        included: see ``doc/parallel.md``. The fits themselves run with
        ``n_jobs=None``."""

_CV_ATTRIBUTES = """\
alpha_ : float
        The chosen ``alpha``: best mean test score over the folds (the first of
        ``alphas_`` among equal scores, as in GridSearchCV).

    alphas_ : ndarray of shape (n_alphas,)
        The values tried, in the order of ``cv_results_``.

    best_index_ : int
        Index of ``alpha_`` in ``alphas_``.

    best_score_ : float
        Mean test score at ``alpha_``.

    cv_results_ : dict of ndarrays
        One entry per value of ``alphas_``, in GridSearchCV's layout (it converts
        to a pandas DataFrame): ``"param_alpha"``, ``"params"``,
        ``"split{{k}}_test_score"``, ``"mean_test_score"``, ``"std_test_score"``,
        ``"rank_test_score"``, ``"mean_fit_time"``, ``"std_fit_time"``,
        ``"mean_score_time"``, ``"std_score_time"``, plus ``"split{{k}}_n_iter"``
        and ``"mean_n_iter"``, the solver iterations of each warm-started fit.
        Fit times are those of the warm-started fits along the path.

    alpha : float
        Read-only alias of ``alpha_`` (not a parameter), so that code written for
        the plain estimator, such as the inference methods, sees the fitted
        penalty."""


# The attributes of the refitted model, as the plain estimator's.
_REFIT_ATTRIBUTES = """\
n_iter_ : int
        Iterations of the refit (with ``refit=False``: the largest number of
        iterations among the fold fits at ``alpha_``).

    solver_ : str
        The solver that ran.

    loss_curve_ : ndarray of shape (n_iter_,)
        Objective after each iteration of the refit (``refit=True`` only).

    condition_number_ : float
        Hessian condition number of the refit, as in :class:`{plain}`
        (``refit=True`` only).

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X has string column names."""


class _HessianCVMixin:
    """The cross-validation loop shared by both CV estimators."""

    _plain = None  # the plain estimator class
    _supports_partial_fit = False

    def __init__(
        self,
        *,
        alphas=10,
        cv=None,
        scoring=None,
        solver="auto",
        fit_intercept=True,
        tol=1e-8,
        max_iter=100,
        max_condition=None,
        hessian_subsample="auto",
        refit=True,
        verbose=0,
        random_state=None,
        n_jobs=None,
    ):
        self.alphas = alphas
        self.cv = cv
        self.scoring = scoring
        self.solver = solver
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.max_condition = max_condition
        self.hessian_subsample = hessian_subsample
        self.refit = refit
        self.verbose = verbose
        self.random_state = random_state
        self.n_jobs = n_jobs

    @classmethod
    def _cv_constraints(cls, plain):
        constraints = {
            k: v for k, v in plain._parameter_constraints.items()
            if k not in ("alpha", "warm_start", *_STOCHASTIC)
        }
        constraints.update(
            alphas=[Interval(Integral, 1, None, closed="left"), "array-like"],
            cv=["cv_object"],
            scoring=[StrOptions(set(get_scorer_names())), callable, None],
            refit=["boolean"],
        )
        return constraints

    @property
    def alpha(self):
        """Read-only alias of ``alpha_``, the chosen penalty (after ``fit``)."""
        check_is_fitted(self, "alpha_")
        return self.alpha_

    def _plain_estimator(self, **params):
        """A plain estimator with this estimator's solver parameters."""
        names = set(self._plain._get_param_names()) - set(_OWN) - set(_STOCHASTIC)
        values = {name: getattr(self, name) for name in names}
        values.update(n_jobs=None, verbose=max(0, int(self.verbose) - 1))
        values.update(params)
        return self._plain(**values)

    def _check_alphas(self, X, y, sample_weight):
        if isinstance(self.alphas, Integral):
            return _alpha_grid(self, X, y, sample_weight, int(self.alphas))
        alphas = np.asarray(self.alphas, dtype=np.float64)
        if alphas.ndim != 1 or alphas.size == 0:
            raise ValueError(
                "alphas must be an int or a non-empty 1-D array of values, got "
                f"shape {alphas.shape}."
            )
        if not np.all(np.isfinite(alphas)) or np.any(alphas < 0):
            raise ValueError(
                f"alphas must be finite and non-negative, got {self.alphas!r}."
            )
        return alphas

    def _scorer(self, estimator):
        return check_scoring(estimator, scoring=self.scoring)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, groups=None):
        """Choose ``alpha`` by cross-validation, then refit (see ``refit``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; float32 stays float32.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target values (class labels for the classifier).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights: they weight the fits and the test scores.
        groups : array-like of shape (n_samples,), default=None
            Group labels for a group splitter such as
            :class:`~sklearn.model_selection.GroupKFold` passed as ``cv``.

        Returns
        -------
        self : object
            The fitted estimator.

        Examples
        --------
        >>> from sklearn.datasets import load_diabetes
        >>> from sklearn_hessian import HessianRegressorCV
        >>> X, y = load_diabetes(return_X_y=True)
        >>> reg = HessianRegressorCV(alphas=5, cv=3).fit(X, y)
        >>> reg.alphas_.shape, reg.cv_results_["mean_test_score"].shape
        ((5,), (5,))
        >>> bool(reg.alpha_ == reg.alphas_[reg.best_index_])
        True
        """
        classifier = is_classifier(self)
        X, y = validate_data(
            self, X, y, accept_sparse=_ACCEPT_SPARSE, dtype=_DTYPES,
            multi_output=not classifier, y_numeric=not classifier,
        )
        if classifier:
            check_classification_targets(y)
        sample_weight = self._check_sample_weight(sample_weight, X)
        alphas = self._check_alphas(X, y, sample_weight)
        cv = check_cv(self.cv, y, classifier=classifier)
        folds = list(cv.split(X, y, groups))
        template = self._plain_estimator()
        if classifier and isinstance(self.class_weight, str):
            # "balanced" from the whole y, as LogisticRegressionCV does: every fold
            # then weights the classes alike (the refit is unchanged by this).
            classes = np.unique(y)
            weights = compute_class_weight(self.class_weight, classes=classes, y=y)
            template.set_params(class_weight=dict(zip(classes, weights)))
        scorer = self._scorer(template)
        order = np.argsort(-alphas, kind="stable")  # strongest penalty first

        paths = Parallel(n_jobs=self.n_jobs, verbose=self.verbose)(
            delayed(_fit_path)(
                template, X, y, sample_weight, train, test, alphas, order, scorer
            )
            for train, test in folds
        )

        self.alphas_ = alphas
        self.cv_results_ = self._cv_results(alphas, paths)
        self.best_index_ = int(np.argmin(self.cv_results_["rank_test_score"]))
        self.best_score_ = float(self.cv_results_["mean_test_score"][self.best_index_])
        self.alpha_ = float(alphas[self.best_index_])
        if self.refit:
            # A cold start: the refit is exactly the plain estimator at alpha_
            # (a warm start from the fold solutions would save an iteration or two,
            # but would make the result depend on the folds through the solver's
            # tolerance).
            model = template.set_params(alpha=self.alpha_)
            model.fit(X, y, sample_weight=sample_weight)
            for name, value in vars(model).items():
                if (
                    name.endswith("_") and not name.startswith("_")
                    and name not in ("n_features_in_", "feature_names_in_")
                ):
                    setattr(self, name, value)
        else:
            start_coef, start_intercept = self._mean_fold_model(paths)
            if start_coef is None:
                raise ValueError(
                    "refit=False averages the fold models, which needs every "
                    "training fold to contain every class; use refit=True or a "
                    "stratified splitter."
                )
            self.coef_, self.intercept_ = start_coef, start_intercept
            if paths[0]["classes"] is not None:
                self.classes_ = paths[0]["classes"]
            self.solver_ = paths[0]["solver"]
            self.n_iter_ = int(max(p["n_iter"][self.best_index_] for p in paths))
        return self

    def _mean_fold_model(self, paths):
        """Mean of the fold models at ``best_index_``; None when their shapes or
        classes differ (a training fold without some class)."""
        i = self.best_index_
        first = paths[0]
        for path in paths[1:]:
            if np.shape(path["coefs"][i]) != np.shape(first["coefs"][i]):
                return None, None
            if first["classes"] is not None and not np.array_equal(
                path["classes"], first["classes"]
            ):
                return None, None
        coef = np.mean([p["coefs"][i] for p in paths], axis=0)
        intercept = np.mean([p["intercepts"][i] for p in paths], axis=0)
        coef = coef.astype(np.asarray(first["coefs"][i]).dtype, copy=False)
        if np.ndim(first["intercepts"][i]) == 0:
            intercept = float(intercept)
        else:
            intercept = intercept.astype(first["intercepts"][i].dtype, copy=False)
        return coef, intercept

    @staticmethod
    def _cv_results(alphas, paths):
        results = {
            "param_alpha": alphas.copy(),
            "params": [{"alpha": float(a)} for a in alphas],
        }
        scores = np.column_stack([p["scores"] for p in paths])  # (n_alphas, n_folds)
        for k, path in enumerate(paths):
            results[f"split{k}_test_score"] = path["scores"]
        results["mean_test_score"] = np.average(scores, axis=1)
        results["std_test_score"] = np.sqrt(
            np.average((scores - results["mean_test_score"][:, None]) ** 2, axis=1)
        )
        means = results["mean_test_score"]
        if np.all(np.isnan(means)):
            ranks = np.ones(len(alphas), dtype=np.int32)
        else:
            # As GridSearchCV: NaN ranks last, equal scores share the best rank.
            filled = np.where(np.isnan(means), np.nanmin(means) - 1, means)
            ranks = rankdata(-filled, method="min").astype(np.int32)
        results["rank_test_score"] = ranks
        for key in ("fit_time", "score_time"):
            times = np.column_stack([p[key] for p in paths])
            results[f"mean_{key}"] = times.mean(axis=1)
            results[f"std_{key}"] = times.std(axis=1)
        for k, path in enumerate(paths):
            results[f"split{k}_n_iter"] = path["n_iter"]
        results["mean_n_iter"] = np.column_stack([p["n_iter"] for p in paths]).mean(1)
        return results

    def score(self, X, y, sample_weight=None):
        """Score with ``scoring`` (the plain estimator's score when it is None).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            True targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            The score of the fitted model on ``(X, y)``.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from sklearn_hessian import HessianClassifierCV
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = HessianClassifierCV(alphas=5, cv=3, scoring="neg_log_loss").fit(X, y)
        >>> print(round(clf.score(X, y), 3))  # minus the log-loss, as scoring says
        -0.041
        """
        if self.scoring is None:
            return super().score(X, y, sample_weight=sample_weight)
        scorer = get_scorer(self.scoring)
        if sample_weight is None:
            return scorer(self, X, y)
        return scorer(self, X, y, sample_weight=sample_weight)


class HessianClassifierCV(_HessianCVMixin, HessianClassifier):
    """Logistic regression with L2 penalty, ``alpha`` chosen by cross-validation.

    For every fold, a :class:`HessianClassifier` is fitted along the whole path of
    ``alphas``, from the strongest penalty to the weakest, each fit starting from
    the previous solution (warm start), so that the path costs a few Newton
    iterations per value; the folds run in parallel as joblib tasks (any joblib
    backend: loky, threads, dask, ray). The ``alpha`` with the best mean test
    score is then refitted on all the data. The objective, its solvers and what they
    report (``solver_``, ``n_iter_``, ``condition_number_``...) are those of
    :class:`HessianClassifier`; :class:`sklearn.linear_model.LogisticRegressionCV`
    with ``Cs`` has the same models at ``alpha = 1 / (C * n_train)``, ``n_train``
    the number of training samples of a fold.

    Parameters
    ----------
    {cv_parameters}

    class_weight : dict or "balanced", default=None
        Weights associated with classes, multiplied with ``sample_weight``;
        ``"balanced"`` is computed once, from all of y, and applied to every fold
        (as in LogisticRegressionCV; GridSearchCV would recompute it per fold).

    Attributes
    ----------
    {cv_attributes}

    classes_ : ndarray of shape (n_classes,)
        Class labels.

    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Coefficients of the refitted model.

    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts of the refitted model.

    {refit_attributes}

    See Also
    --------
    HessianClassifier : The estimator fitted for each fold and ``alpha``.
    HessianRegressorCV : The least-squares counterpart.
    sklearn.linear_model.LogisticRegressionCV : scikit-learn's counterpart.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_hessian import HessianClassifierCV
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> clf = HessianClassifierCV(alphas=8, scoring="neg_log_loss").fit(X, y)
    >>> clf.alphas_.shape, clf.solver_
    ((8,), 'newton')
    >>> bool(clf.alphas_.min() <= clf.alpha_ <= clf.alphas_.max())
    True
    """

    _plain = HessianClassifier
    _parameter_constraints: dict = _HessianCVMixin._cv_constraints(HessianClassifier)

    def __init__(
        self,
        *,
        alphas=10,
        cv=None,
        scoring=None,
        solver="auto",
        fit_intercept=True,
        tol=1e-8,
        max_iter=100,
        max_condition=None,
        hessian_subsample="auto",
        refit=True,
        verbose=0,
        random_state=None,
        n_jobs=None,
        class_weight=None,
    ):
        super().__init__(
            alphas=alphas, cv=cv, scoring=scoring, solver=solver,
            fit_intercept=fit_intercept, tol=tol, max_iter=max_iter,
            max_condition=max_condition, hessian_subsample=hessian_subsample,
            refit=refit, verbose=verbose, random_state=random_state, n_jobs=n_jobs,
        )
        self.class_weight = class_weight


class HessianRegressorCV(_HessianCVMixin, HessianRegressor):
    """Least squares with L2 penalty, ``alpha`` chosen by cross-validation.

    For every fold, a :class:`HessianRegressor` is fitted along the whole path of
    ``alphas``, from the strongest penalty to the weakest, each fit starting from
    the previous solution (warm start); the folds run in parallel as joblib tasks
    (any joblib backend: loky, threads, dask, ray). The ``alpha`` with the best mean
    test score is refitted on all the data. :class:`sklearn.linear_model.RidgeCV`
    with ``alphas_ridge`` has the same models at ``alpha = alpha_ridge /
    n_train``.

    Parameters
    ----------
    {cv_parameters}

    Attributes
    ----------
    {cv_attributes}

    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Coefficients of the refitted model.

    intercept_ : float or ndarray of shape (n_targets,)
        Intercept of the refitted model.

    {refit_attributes}

    See Also
    --------
    HessianRegressor : The estimator fitted for each fold and ``alpha``.
    HessianClassifierCV : The logistic counterpart.
    sklearn.linear_model.RidgeCV : scikit-learn's counterpart (efficient
        leave-one-out).

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn_hessian import HessianRegressorCV
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = HessianRegressorCV(alphas=[1e-1, 1e-2, 1e-3, 1e-4]).fit(X, y)
    >>> reg.alpha_ in reg.alphas_
    True
    """

    _plain = HessianRegressor
    _parameter_constraints: dict = _HessianCVMixin._cv_constraints(HessianRegressor)
    # The parameters are exactly the shared ones: ``_HessianCVMixin.__init__``.


HessianClassifierCV.__doc__ = HessianClassifierCV.__doc__.format(
    cv_parameters=_CV_PARAMETERS.format(
        curvature="``p (1 - p)`` for two classes, ``sum_k p_k (1 - p_k)`` for more,"
        "\n        ``p`` the weighted class frequencies",
        target_scale="",
        splitter="stratified",
        default_score="accuracy",
        scoring_hint=(
            '\n        ``"neg_log_loss"`` separates close values of ``alpha`` better '
            "than the\n        accuracy, which often ties."
        ),
        plain="HessianClassifier",
    ),
    cv_attributes=_CV_ATTRIBUTES,
    refit_attributes=_REFIT_ATTRIBUTES.format(plain="HessianClassifier"),
)
HessianRegressorCV.__doc__ = HessianRegressorCV.__doc__.format(
    cv_parameters=_CV_PARAMETERS.format(
        curvature="1 for the half squared error",
        target_scale=" The grid does not depend on the scale of y.",
        splitter="not shuffled",
        default_score="R^2",
        scoring_hint="",
        plain="HessianRegressor",
    ),
    cv_attributes=_CV_ATTRIBUTES,
    refit_attributes=_REFIT_ATTRIBUTES.format(plain="HessianRegressor"),
)
