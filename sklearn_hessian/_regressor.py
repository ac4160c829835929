"""HessianRegressor: L2-penalised least squares."""

import numpy as np
from sklearn.base import MultiOutputMixin, RegressorMixin, _fit_context
from sklearn.utils._available_if import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import (
    _ACCEPT_SPARSE, _DTYPES, _BaseHessianModel, _check_numeric_target,
    _validate_fit_data,
)
from ._docstrings import COMMON_ATTRIBUTES, COMMON_PARAMETERS
from .inference import _InferenceMixin


class HessianRegressor(
    _InferenceMixin, MultiOutputMixin, RegressorMixin, _BaseHessianModel
):
    """Linear least squares with L2 penalty, fitted by second-order methods.

    Minimises ``sum_i s_i * ||y_i - x_i W - b||^2 / 2 / sum_i s_i + alpha / 2 *
    ||W||^2`` (weighted mean of half squared errors, intercept unpenalised). The same
    optimum as :class:`sklearn.linear_model.Ridge` with ``alpha_ridge = alpha *
    sum(sample_weight)`` (``alpha * n_samples`` without weights). For several
    targets one Hessian factorisation serves them all.

    Parameters
    ----------
    alpha : float, default=1e-4
        Strength of the L2 penalty on the coefficients (not on the intercept).

    {common_parameters}

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Coefficients, with X's dtype.

    intercept_ : float or ndarray of shape (n_targets,)
        Intercept (0.0 when ``fit_intercept=False``).

    {common_attributes}

    See Also
    --------
    HessianClassifier : The logistic counterpart.
    sklearn.linear_model.Ridge : scikit-learn's ridge regression.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn_hessian import HessianRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = HessianRegressor(alpha=1e-3).fit(X, y)
    >>> reg.solver_
    'newton'
    >>> round(reg.score(X, y), 3)
    0.492
    """

    # The parameters are exactly the shared ones: ``_BaseHessianModel.__init__``.

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; float32 stays float32. Never modified nor copied when
            already float64/float32 and C- or F-ordered.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; the objective is their weighted mean loss.

        Returns
        -------
        self : HessianRegressor
            The fitted estimator.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import load_diabetes
        >>> from sklearn_hessian import HessianRegressor
        >>> X, y = load_diabetes(return_X_y=True)
        >>> reg = HessianRegressor(alpha=1e-3).fit(X, y)
        >>> reg.coef_.shape, reg.solver_, reg.n_iter_
        ((10,), 'newton', 2)

        Sample weights weigh the mean loss (here, twice the weight for large y):

        >>> weights = np.where(y > 150, 2.0, 1.0)
        >>> reg = HessianRegressor(alpha=1e-3).fit(X, y, sample_weight=weights)
        """
        _check_numeric_target(self, y)
        # X's values are checked by the solver's first pass over X (least
        # squares' Gram matrix) rather than by one of their own.
        X, y = _validate_fit_data(self, X, y, check_values=False, multi_output=True,
                                  y_numeric=True)
        sample_weight = self._check_sample_weight(sample_weight, X)
        y = np.asarray(y, dtype=np.float64)
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        offset = None
        if self.fit_intercept:
            # Centre y in float64 before it takes X's dtype: float32 would round
            # targets near 1e9 to multiples of 64 and bias every coefficient. The
            # intercept absorbs the offset exactly.
            offset = np.average(Y, axis=0, weights=sample_weight)
            Y = Y - offset
        Y = Y.astype(X.dtype, copy=False)
        coef = self._solve("squared_error", X, Y, sample_weight, Y.shape[1],
                           intercept_offset=offset, defer_values_check=True)
        W, b = self._split_coef(coef)
        if y.ndim == 1:
            self.coef_, self.intercept_ = W[0], float(b[0])
        else:
            self.coef_, self.intercept_ = W, b
        return self

    @available_if(_BaseHessianModel._check_partial_fit)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
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
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target values of the chunk.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights, relative to those of the other chunks.

        Returns
        -------
        self : HessianRegressor
            The updated estimator.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import make_regression
        >>> from sklearn_hessian import HessianRegressor
        >>> X, y = make_regression(n_samples=2000, n_features=5, noise=1.0,
        ...                        random_state=0)
        >>> reg = HessianRegressor(solver="sgd", random_state=0)
        >>> for epoch in range(3):
        ...     for rows in np.array_split(np.arange(len(y)), 4):
        ...         reg = reg.partial_fit(X[rows], y[rows])
        >>> round(reg.score(X, y), 4)
        0.9999
        """
        _check_numeric_target(self, y)
        first = not hasattr(self, "_partial_state") and not hasattr(self, "coef_")
        X, y = _validate_fit_data(self, X, y, multi_output=True, y_numeric=True,
                                  reset=first)
        sample_weight = self._check_sample_weight(sample_weight, X)
        y = np.asarray(y, dtype=np.float64)
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        if not first and np.ndim(self.coef_) != y.ndim:
            raise ValueError(
                f"y has {y.ndim} dimension(s) but the model was fitted with "
                f"{np.ndim(self.coef_)}-dimensional targets."
            )
        # The first chunk's mean target starts the intercept (the optimum of a
        # model with no features).
        intercept0 = np.average(Y, axis=0, weights=sample_weight)
        coef = self._partial_step("squared_error", X, Y.astype(X.dtype, copy=False),
                                  sample_weight, Y.shape[1], intercept0)
        W, b = self._split_coef(coef)
        if y.ndim == 1:
            self.coef_, self.intercept_ = W[0], float(b[0])
        else:
            self.coef_, self.intercept_ = W, b
        return self

    def predict(self, X):
        """Predict with the linear model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
            Predicted values.

        Examples
        --------
        >>> from sklearn.datasets import load_diabetes
        >>> from sklearn_hessian import HessianRegressor
        >>> X, y = load_diabetes(return_X_y=True)
        >>> reg = HessianRegressor(alpha=1e-3).fit(X, y)
        >>> reg.predict(X[:3]).round(1)
        array([190.9,  81.4, 169.4])
        """
        check_is_fitted(self)
        X = validate_data(
            self, X, accept_sparse=_ACCEPT_SPARSE, dtype=_DTYPES, reset=False
        )
        return np.asarray(X @ self.coef_.T) + self.intercept_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


HessianRegressor.__doc__ = HessianRegressor.__doc__.format(
    common_parameters=COMMON_PARAMETERS, common_attributes=COMMON_ATTRIBUTES
)
