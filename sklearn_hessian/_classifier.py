"""HessianClassifier: L2-penalised logistic regression, binary and multinomial."""


import warnings

import numpy as np
from scipy.special import log_softmax
from sklearn.base import _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model._base import LinearClassifierMixin
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils._available_if import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from ._base import _BaseHessianModel, _label_index, _validate_fit_data
from ._docstrings import COMMON_ATTRIBUTES, COMMON_PARAMETERS
from .inference import _InferenceMixin


class HessianClassifier(_InferenceMixin, LinearClassifierMixin, _BaseHessianModel):
    """Logistic regression with L2 penalty, fitted by second-order methods.

    Minimises ``sum_i s_i * logloss_i / sum_i s_i + alpha / 2 * ||W||^2`` (weighted
    mean log-loss, intercept unpenalised): the binomial loss for two classes, the
    multinomial (softmax over all classes, symmetric parametrisation whose
    coefficients and intercepts sum to zero over classes) for more.
    :class:`sklearn.linear_model.LogisticRegression` with ``C`` has the same optimum
    at ``alpha = 1 / (C * n_samples)`` (``1 / (C * sum(sample_weight))`` with weights).

    Parameters
    ----------
    alpha : float, default=1e-4
        Strength of the L2 penalty on the coefficients (not on the intercepts).

    {common_parameters}

    class_weight : dict or "balanced", default=None
        Weights associated with classes, multiplied with ``sample_weight``.
        ``"balanced"`` uses ``n_samples / (n_classes * np.bincount(y))``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.

    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Coefficients, with X's dtype; one row for binary problems (for
        ``classes_[1]``).

    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts (zeros when ``fit_intercept=False``).

    {common_attributes}

    See Also
    --------
    HessianRegressor : The least-squares counterpart.
    sklearn.linear_model.LogisticRegression : scikit-learn's logistic regression.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_hessian import HessianClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = HessianClassifier(alpha=1e-3).fit(X, y)
    >>> clf.solver_
    'newton'
    >>> clf.predict(X[:3])
    array([0, 0, 0])
    >>> clf.predict_proba(X[:1]).shape
    (1, 3)
    """

    _parameter_constraints: dict = {
        **_BaseHessianModel._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
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
        batch_size="auto",
        learning_rate="auto",
        eta0="auto",
        power_t=0.5,
        average=False,
        shuffle=True,
        n_iter_no_change=5,
        early_stopping=False,
        validation_fraction=0.1,
        class_weight=None,
    ):
        super().__init__(
            alpha=alpha, solver=solver, fit_intercept=fit_intercept, tol=tol,
            max_iter=max_iter, max_condition=max_condition,
            hessian_subsample=hessian_subsample, warm_start=warm_start,
            verbose=verbose, random_state=random_state, n_jobs=n_jobs,
            batch_size=batch_size, learning_rate=learning_rate, eta0=eta0,
            power_t=power_t, average=average, shuffle=shuffle,
            n_iter_no_change=n_iter_no_change, early_stopping=early_stopping,
            validation_fraction=validation_fraction,
        )
        self.class_weight = class_weight

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; float32 stays float32.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; the objective is their weighted mean loss.

        Returns
        -------
        self : HessianClassifier
            The fitted estimator.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import load_iris
        >>> from sklearn_hessian import HessianClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = HessianClassifier(alpha=1e-3).fit(X, y)
        >>> clf.coef_.shape, clf.intercept_.shape  # one row per class
        ((3, 4), (3,))
        >>> bool(np.allclose(clf.coef_.sum(axis=0), 0))  # symmetric multinomial
        True
        """
        X, y = _validate_fit_data(self, X, y)
        check_classification_targets(y)
        # unique with return_inverse sorts all of y (a9a: 0.6 ms, a fifth of a
        # one-epoch SGD fit); the classes are few, so locate y among them.
        self.classes_ = np.unique(y)
        y_index = np.searchsorted(self.classes_, y)
        n_classes = len(self.classes_)
        if n_classes < 2:
            raise ValueError(
                "HessianClassifier needs samples of at least 2 classes in the data, "
                f"but the data contain only one class: {self.classes_[0]!r}."
            )
        sample_weight = self._weights(sample_weight, X, y, y_index, self.classes_)
        loss_name, target, k = self._loss(X, y_index, n_classes)
        coef = self._solve(loss_name, X, target, sample_weight, k, stratify=y_index)
        self.coef_, self.intercept_ = self._split_coef(coef)
        if self.alpha == 0:
            self._warn_if_separable(X, y, sample_weight)
        return self

    @available_if(_BaseHessianModel._check_partial_fit)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One pass of the stochastic solver over a chunk of data.

        Only with ``solver="sgd"`` or ``"minibatch"``. Each call continues from
        the previous one (coefficients, step counter, averaged iterate), so a data
        set read from disk chunk by chunk, which never fits in memory at once, is
        learned by calling this once per chunk (several times over the chunks for
        several epochs). A model from ``fit`` is continued too.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A chunk of training data; a numpy memmap is read, never copied whole.
        y : array-like of shape (n_samples,)
            Class labels of the chunk.
        classes : array-like of shape (n_classes,), default=None
            All the classes that can appear in any chunk. Required on the first
            call, optional (but then equal) afterwards.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights, relative to those of the other chunks.

        Returns
        -------
        self : HessianClassifier
            The updated estimator.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import load_breast_cancer
        >>> from sklearn_hessian import HessianClassifier
        >>> X, y = load_breast_cancer(return_X_y=True)
        >>> clf = HessianClassifier(solver="sgd", random_state=0)
        >>> for epoch in range(5):
        ...     for rows in np.array_split(np.arange(len(y)), 5):
        ...         clf = clf.partial_fit(X[rows], y[rows], classes=[0, 1])
        >>> clf.n_iter_, clf.t_
        (25, 2845)
        >>> bool(clf.score(X, y) > 0.9)
        True
        """
        first = not hasattr(self, "_partial_state") and not hasattr(self, "classes_")
        if first and classes is None:
            raise ValueError(
                "classes must be passed on the first call to partial_fit: a chunk "
                "may not contain every class."
            )
        X, y = _validate_fit_data(self, X, y, reset=first)
        check_classification_targets(y)
        if classes is not None:
            classes = np.unique(np.asarray(classes))
            if not first and not np.array_equal(classes, self.classes_):
                raise ValueError(
                    f"classes={classes!r} is not the same as on the first call to "
                    f"partial_fit, {self.classes_!r}."
                )
            if len(classes) < 2:
                raise ValueError(
                    "HessianClassifier needs at least 2 classes, got classes="
                    f"{classes!r}."
                )
        else:
            classes = self.classes_
        y_index = _label_index(
            y, classes, "y contains labels that are not in classes: {labels!r} "
            "(classes: {classes!r}).")
        if self.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' is not supported by partial_fit: the class "
                "frequencies of the whole data are unknown. Pass a dict of weights."
            )
        sample_weight = self._weights(sample_weight, X, y, y_index, classes)
        self.classes_ = classes
        n_classes = len(classes)
        # Start the intercepts at the log-odds of the first chunk's (smoothed)
        # class frequencies: the optimum of a model with no features.
        counts = np.bincount(y_index, weights=sample_weight, minlength=n_classes) + 0.5
        logp = np.log(counts / counts.sum())
        intercept0 = logp[1] - logp[0] if n_classes == 2 else logp - logp.mean()
        loss_name, target, k = self._loss(X, y_index, n_classes)
        coef = self._partial_step(loss_name, X, target, sample_weight, k, intercept0)
        self.coef_, self.intercept_ = self._split_coef(coef)
        return self

    @staticmethod
    def _loss(X, y_index, n_classes):
        """``(loss name, encoded target, outputs)``: binomial for two classes (the
        target in X's dtype), multinomial over all classes otherwise."""
        if n_classes == 2:
            return "binomial", y_index.astype(X.dtype), 1
        return "multinomial", y_index, n_classes

    def _weights(self, sample_weight, X, y, y_index, classes):
        """The validated sample weights times the class weights (None for none)."""
        sample_weight = self._check_sample_weight(sample_weight, X)
        if self.class_weight is None:
            return sample_weight
        per_sample = compute_class_weight(
            self.class_weight, classes=classes, y=y
        )[y_index].astype(X.dtype)
        sample_weight = per_sample if sample_weight is None else sample_weight * per_sample
        if not np.any(sample_weight > 0):
            raise ValueError("The class weights give every sample a weight of zero.")
        return sample_weight

    def _warn_if_separable(self, X, y, sample_weight):
        # A model that classifies every (weighted) training sample correctly is
        # itself a separating hyperplane: the unpenalised log-loss then has no
        # finite minimiser, and the coefficients only grew until the gradient test
        # passed. The fit is usable but its scale is arbitrary: say so.
        # X is already validated (an array): score it directly, as predict would
        # re-validate it and warn about the feature names it no longer has.
        scores = np.asarray(X @ self.coef_.T) + self.intercept_
        index = (scores[:, 0] > 0).astype(int) if scores.shape[1] == 1 else scores.argmax(1)
        correct = self.classes_[index] == y
        if sample_weight is not None:
            correct |= sample_weight == 0
        if np.all(correct):
            warnings.warn(
                "The training data are linearly separable: with alpha=0 the "
                "log-loss has no finite minimiser, so the coefficients are finite "
                "but their scale is arbitrary (set alpha > 0 for a unique "
                "optimum).",
                ConvergenceWarning,
            )

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probability of each class, in the order of ``classes_``.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from sklearn_hessian import HessianClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = HessianClassifier(alpha=1e-3).fit(X, y)
        >>> clf.predict_proba(X[[0, 50, 100]]).round(2)
        array([[1.  , 0.  , 0.  ],
               [0.  , 0.99, 0.01],
               [0.  , 0.  , 1.  ]])
        """
        return np.exp(self.predict_log_proba(X))

    def predict_log_proba(self, X):
        """Logarithm of the class probabilities, computed without overflow.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probability of each class, in the order of ``classes_``.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from sklearn_hessian import HessianClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = HessianClassifier(alpha=1e-3).fit(X, y)
        >>> clf.predict_log_proba(X[[50]]).round(2)
        array([[-9.07, -0.01, -4.23]])

        Far from the data the probabilities underflow, their logarithms do not:

        >>> clf.predict_log_proba(100 * X[[0]]).round(1)
        array([[-496.7,    0. , -566. ]])
        """
        check_is_fitted(self)
        scores = self.decision_function(X)
        if scores.ndim == 1:
            scores = np.column_stack([np.zeros_like(scores), scores])
        return log_softmax(scores, axis=1)


HessianClassifier.__doc__ = HessianClassifier.__doc__.format(
    common_parameters=COMMON_PARAMETERS, common_attributes=COMMON_ATTRIBUTES
)
