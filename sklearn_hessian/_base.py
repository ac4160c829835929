"""What both estimators share: parameters, validation, solver choice, results."""

import copy
import warnings
from functools import partial
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn import get_config
from sklearn.utils import assert_all_finite
from sklearn.utils.validation import _check_sample_weight, validate_data

from ._objective import _row_blocks, make_objective
from ._spectral import center_classes
from ._version import __version__
from .solvers import SOLVERS, STOCHASTIC_SOLVERS, choose_solver

_ACCEPT_SPARSE = ["csr", "csc"]
_DTYPES = [np.float64, np.float32]


class VersionMismatchWarning(UserWarning):
    """A model is unpickled under another sklearn_hessian version than it was
    pickled with: it may predict differently or fail; refit it, or load it with
    the version in the message.

    Attributes
    ----------
    estimator_name : str
    original_version : str
        The version that pickled the model (``"unknown"`` for pickles written
        before versions were recorded).
    current_version : str

    Examples
    --------
    A pickle written by another version (simulated here by editing the version
    recorded in the state) warns when it is loaded:

    >>> import pickle
    >>> import warnings
    >>> from sklearn_hessian import HessianRegressor, VersionMismatchWarning
    >>> state = HessianRegressor().__getstate__()
    >>> state["_sklearn_hessian_version"] = "0.0.1"
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     HessianRegressor().__setstate__(state)
    >>> caught[0].category.__name__, caught[0].message.original_version
    ('VersionMismatchWarning', '0.0.1')

    Make it an error where a silent mismatch is worse than a failure:

    >>> data = pickle.dumps(HessianRegressor())
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", VersionMismatchWarning)
    ...     model = pickle.loads(data)  # same version here: no error
    """

    def __init__(self, *, estimator_name, original_version, current_version):
        self.estimator_name = estimator_name
        self.original_version = original_version
        self.current_version = current_version

    def __str__(self):
        return (
            f"Trying to unpickle estimator {self.estimator_name} from "
            f"sklearn_hessian version {self.original_version} when using version "
            f"{self.current_version}. This might lead to breaking code or invalid "
            "results. Use at your own risk."
        )


def _check_numeric_target(estimator, y):
    """Reject string targets with a message that names them (regressors only).

    scikit-learn's ``y_numeric`` converts object arrays inside its own validation
    (failing with numpy's "could not convert string to float") and passes string
    arrays through; either way the error would not say that y is the problem.
    Arrays without strings (numbers, pandas' missing values) are left to
    ``validate_data``.
    """
    if sp.issparse(y):
        return
    y_arr = np.asarray(y)
    kind = y_arr.dtype.kind
    if kind in "US" or (
        kind == "O" and any(isinstance(v, (str, bytes)) for v in y_arr.flat)
    ):
        try:
            y_arr.astype(np.float64)
        except (TypeError, ValueError):
            example = next(
                (v for v in y_arr.flat if isinstance(v, (str, bytes, np.str_))),
                y_arr.flat[0],
            )
            raise ValueError(
                f"{type(estimator).__name__} needs a numeric target y, but y "
                f"contains non-numeric values such as {str(example)!r} (dtype "
                f"{y_arr.dtype}); for class labels use HessianClassifier."
            ) from None


def _label_index(y, classes, unknown):
    """Index of each label of ``y`` in the sorted ``classes``; a ValueError
    ``unknown.format(labels=..., classes=...)`` for labels not among them."""
    index = np.minimum(np.searchsorted(classes, y), len(classes) - 1)
    missing = classes[index] != y
    if np.any(missing):
        raise ValueError(unknown.format(labels=np.unique(y[missing]), classes=classes))
    return index


def _check_values(estimator, A, name, sum_of_squares=None):
    """Refuse non-finite values, and values whose squares summed over the samples
    overflow A's dtype.

    Such values overflow the objective and its Hessian (inf, then NaN) inside the
    solvers; say what to do instead. Both checks come from one dot product of the
    stored values with themselves (one pass, where scikit-learn's finiteness check
    and a max and a min made three: on 1M x 50, 0.045 -> 0.016 s). It is finite
    for finite values, and when it times the number of samples stays below the
    dtype's largest value, so does the largest square times it. Otherwise the
    values are looked at more closely: scikit-learn's check, with its message,
    then the largest of them. ``sum_of_squares``: that dot product, when a pass
    made anyway computed it (the Gram matrix's trace, see
    ``LinearObjective.confirm_values``).
    """
    values = A.data if sp.issparse(A) else A
    if values.size == 0:
        return
    with np.errstate(over="ignore", invalid="ignore"):
        if sum_of_squares is not None:
            total = float(sum_of_squares)
        elif values.flags.c_contiguous or values.flags.f_contiguous:
            flat = values.ravel(order="K")  # a view
            total = float(np.dot(flat, flat))
        else:
            total = sum(float(np.einsum("ij,ij->", values[rows], values[rows]))
                        for rows in _row_blocks(values.shape[0], values.shape[1]))
    limit = float(np.finfo(A.dtype).max)
    if total * A.shape[0] <= limit:  # False for inf and NaN
        return
    if not get_config()["assume_finite"]:
        assert_all_finite(values, estimator_name=type(estimator).__name__,
                          input_name=name)
    # max and min rather than max(abs(.)): no temporary the size of X.
    largest = max(abs(float(np.max(values))), abs(float(np.min(values))))
    if largest * largest * A.shape[0] > limit:  # Python floats: inf, no warning
        raise ValueError(
            f"{name} has values up to {largest:.3g}: their squares summed over "
            f"{A.shape[0]} samples overflow {A.dtype} (largest {limit:.3g}). Scale "
            + ("X (e.g. with StandardScaler)" if name == "X"
               else "y (e.g. divide it by its standard deviation)")
            + f" before fitting {type(estimator).__name__}"
            + (", or pass float64 data." if A.dtype == np.float32 else ".")
        )


def _validate_fit_data(estimator, X, y, check_values=True, **kwargs):
    """``validate_data(estimator, X, y, **kwargs)`` for fitting, X's checks of its
    values made by ``_check_values`` (one pass over X instead of three);
    ``check_values=False`` leaves them to the caller (``_solve(...,
    defer_values_check=True)``)."""
    X, y = validate_data(estimator, X, y, accept_sparse=_ACCEPT_SPARSE, dtype=_DTYPES,
                         ensure_all_finite=False, **kwargs)
    if check_values:
        _check_values(estimator, X, "X")
    return X, y


class _BaseHessianModel(BaseEstimator):
    """Shared machinery; the subclasses encode targets and shape the coefficients."""

    _parameter_constraints: dict = {
        "alpha": [Interval(Real, 0, None, closed="left")],
        "solver": [StrOptions({"auto", *SOLVERS})],
        "fit_intercept": ["boolean"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "max_condition": [Interval(Real, 1, None, closed="neither"), None],
        "hessian_subsample": [Interval(Real, 0, 1, closed="right"), StrOptions({"auto"})],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "learning_rate": [StrOptions({"auto", "constant", "invscaling", "adaptive"})],
        "eta0": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "average": ["boolean"],
        "shuffle": ["boolean"],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
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
    ):
        self.alpha = alpha
        self.solver = solver
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.max_condition = max_condition
        self.hessian_subsample = hessian_subsample
        self.warm_start = warm_start
        self.verbose = verbose
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.average = average
        self.shuffle = shuffle
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction

    def _check_sample_weight(self, sample_weight, X):
        if sample_weight is None:
            return None
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=X.dtype, ensure_non_negative=True
        )
        with np.errstate(over="ignore"):
            total = np.sum(sample_weight, dtype=np.float64)
        if not np.isfinite(total):
            # The objective is a weighted mean: only the weights' ratios matter.
            # Weights whose sum overflows would zero every normalised weight.
            sample_weight = sample_weight / np.max(sample_weight)
        return sample_weight

    def _make_solver(self, name):
        options = dict(
            tol=self.tol,
            max_iter=self.max_iter,
            verbose=self.verbose,
            random_state=self.random_state,
        )
        if name == "newton":
            options["max_condition"] = self.max_condition
            options["hessian_subsample"] = self.hessian_subsample
        if name in STOCHASTIC_SOLVERS:
            options.update(
                batch_size=self.batch_size, learning_rate=self.learning_rate,
                eta0=self.eta0, power_t=self.power_t, average=self.average,
                shuffle=self.shuffle, n_iter_no_change=self.n_iter_no_change,
                max_condition=self.max_condition,
            )
        return SOLVERS[name](**options)

    def _validation_split(self, n_samples, sample_weight, stratify):
        """Training weights (held-out rows at zero, so X is never copied) and the
        held-out (rows, weights) for ``early_stopping``."""
        seed = 0 if self.random_state is None else self.random_state
        try:
            _, rows = train_test_split(
                np.arange(n_samples), test_size=self.validation_fraction,
                random_state=seed, stratify=stratify,
            )
        except ValueError as exc:
            raise ValueError(
                f"early_stopping could not hold out validation_fraction="
                f"{self.validation_fraction} of the {n_samples} samples: {exc} "
                "Use more samples, a larger validation_fraction, or "
                "early_stopping=False."
            ) from None
        rows = np.sort(rows)
        base = (np.ones(n_samples) if sample_weight is None
                else np.asarray(sample_weight, dtype=np.float64))
        train = base.copy()
        train[rows] = 0
        if not np.any(train > 0) or not np.any(base[rows] > 0):
            raise ValueError(
                "early_stopping needs samples of positive weight both in the "
                "training part and in the held-out validation_fraction."
            )
        return train, (rows, base[rows])

    def _warm_start_coef(self, objective, force=False):
        """Previous solution as the solver's starting point, when shapes agree."""
        if not (self.warm_start or force) or not hasattr(self, "coef_"):
            return objective.zeros()
        coef = objective.zeros()
        p = objective.n_features
        W = np.asarray(self.coef_, dtype=coef.dtype).reshape(-1, p).T
        if W.shape != coef[:p].shape:
            return coef
        coef[:p] = W
        if objective.fit_intercept:
            coef[p] = np.ravel(self.intercept_)
        return coef

    def _solve(self, loss_name, X, y, sample_weight, n_outputs, intercept_offset=None,
               stratify=None, defer_values_check=False):
        """Run the chosen solver; return coefficients of shape (p + fi, k).

        ``intercept_offset`` (float64, one per output) was subtracted from y: the
        warm start and the returned intercepts account for it.
        ``defer_values_check``: X's values are not checked yet; the check runs
        before the solver reads X, or from a pass the solver makes anyway.
        """
        if loss_name == "squared_error":
            _check_values(self, y, "y")
        validation = None
        if self.early_stopping and self.solver in STOCHASTIC_SOLVERS:
            sample_weight, validation = self._validation_split(
                X.shape[0], sample_weight, stratify
            )
            sample_weight = sample_weight.astype(X.dtype)
        objective = make_objective(
            loss_name, X, y, sample_weight, self.alpha, self.fit_intercept, n_outputs,
            n_jobs=self.n_jobs,
            check_values=(partial(_check_values, self, X, "X") if defer_values_check
                          else None),
        )
        name = self.solver
        if name == "auto":
            name = choose_solver(
                X, n_outputs, self.fit_intercept, objective.loss.shared_hessian
            )
        solver = self._make_solver(name)
        if not solver.confirms_values:
            objective.confirm_values()
        if validation is not None:
            solver.validation = validation
        coef0 = self._warm_start_coef(objective)
        if intercept_offset is not None and self.warm_start:
            coef0[-1] -= intercept_offset.astype(coef0.dtype)
        try:
            result = solver.solve(objective, coef0)
        finally:
            objective.close()
        if intercept_offset is not None:
            result.coef[-1] += intercept_offset.astype(result.coef.dtype)
        if not result.converged:
            detail = f" ({result.message})" if result.message else ""
            warnings.warn(
                f"{type(self).__name__} with solver={name!r} did not converge to "
                f"tol={self.tol} in {result.n_iter} iterations{detail}. Increase "
                "max_iter, scale the features, or increase alpha.",
                ConvergenceWarning,
            )
        self.solver_ = name
        self.n_iter_ = int(result.n_iter)
        self.loss_curve_ = np.asarray(result.loss_curve, dtype=np.float64)
        self.condition_number_ = float(result.condition_number)
        self.__dict__.pop("_partial_state", None)
        return result.coef

    # -- partial_fit ------------------------------------------------------------
    _supports_partial_fit = True

    def _check_partial_fit(self):
        """``available_if`` check: partial_fit exists for the stochastic solvers."""
        if not self._supports_partial_fit:
            return False
        if self.solver not in STOCHASTIC_SOLVERS:
            raise AttributeError(
                f"partial_fit is only available with solver='sgd' or "
                f"solver='minibatch', not solver={self.solver!r}: the other solvers "
                "need all the data at once (use fit)."
            )
        return True

    def _partial_step(self, loss_name, X, Y, sample_weight, n_outputs, intercept0):
        """One pass of the stochastic solver over the chunk ``(X, Y)``.

        The solver's state (step counter, running mean weight, averaged iterate)
        lives in ``_partial_state``; it is replaced only when the pass succeeds,
        so a diverging chunk leaves the estimator as it was. ``intercept0`` (one
        value per output) starts the intercepts on the first call.
        """
        if loss_name == "squared_error":
            _check_values(self, Y, "y")
        objective = make_objective(
            loss_name, X, Y, sample_weight, self.alpha, self.fit_intercept, n_outputs
        )
        old = getattr(self, "_partial_state", None)
        state = {} if old is None else copy.deepcopy(old)
        W = state.get("coef")
        if W is None:
            # A model from fit is continued; otherwise start from the intercepts.
            W = self._warm_start_coef(objective, force=True)
            if not hasattr(self, "coef_") and self.fit_intercept:
                W[-1] = intercept0
        if W.shape != objective.shape:
            raise ValueError(
                f"partial_fit got data with {n_outputs} outputs, but the model "
                f"was fitted with {W.shape[1]}."
            )
        W = W.astype(objective.dtype, copy=False)
        weights = (np.ones(X.shape[0]) if sample_weight is None
                   else np.asarray(sample_weight, dtype=np.float64))
        chunk_total = float(weights.sum())
        state["weight_total"] = state.get("weight_total", 0.0) + chunk_total
        state["n_seen"] = state.get("n_seen", 0) + int(np.count_nonzero(weights > 0))
        state["omega_scale"] = chunk_total * state["n_seen"] / state["weight_total"]
        state["chunk_weight"] = chunk_total
        solver = self._make_solver(self.solver)
        try:
            W = solver.partial_epoch(objective, W, state)
        finally:
            objective.close()
        state["coef"] = W
        state["n_calls"] = state.get("n_calls", 0) + 1
        coef = state["average"].result(W).copy()
        if objective.class_symmetric:
            center_classes(coef, objective.k)
        self._partial_state = state
        self.solver_ = self.solver
        self.n_iter_ = state["n_calls"]
        self.t_ = int(state["t"])
        self.loss_curve_ = np.zeros(0)
        self.condition_number_ = np.nan
        return coef

    def _split_coef(self, coef):
        """(coef_ as (k, p), intercept_ as (k,)) from the solver's (p + fi, k)."""
        p = coef.shape[0] - self.fit_intercept
        W = np.ascontiguousarray(coef[:p].T)
        b = coef[p].copy() if self.fit_intercept else np.zeros(coef.shape[1], coef.dtype)
        return W, b

    def __getstate__(self):
        # Record the version, beside scikit-learn's own handling (it adds
        # ``_sklearn_version`` to the states of its own estimators only). A copy:
        # object.__getstate__ may return the instance's __dict__ itself.
        state = dict(super().__getstate__())
        state["_sklearn_hessian_version"] = __version__
        return state

    def __setstate__(self, state):
        state = dict(state)
        version = state.pop("_sklearn_hessian_version", "unknown")
        if version != __version__:
            warnings.warn(
                VersionMismatchWarning(
                    estimator_name=type(self).__name__,
                    original_version=version,
                    current_version=__version__,
                )
            )
        super().__setstate__(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
