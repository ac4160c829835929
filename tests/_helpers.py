"""Shared test helpers (no tests here).

- ``objective_value`` evaluates the project's objective convention

      F(W, b) = sum_i s_i loss_i / sum_i s_i + alpha / 2 * ||W||_F^2

  (intercept unpenalised) at the coefficients of any fitted linear estimator: ours or
  scikit-learn's ``LogisticRegression`` / ``Ridge``. It is written with plain numpy /
  scipy and shares no code with ``sklearn_hessian``, so comparing two estimators
  through it is a real cross-check of the library.
- ``shared_data`` loads the real data sets kept beside the repository in
  ``../shared/data`` and skips the calling test when they are absent.
"""

import csv
import functools
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import logsumexp

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


# --------------------------------------------------------------------------------------
# The objective, computed independently of the library
# --------------------------------------------------------------------------------------
def reference_objective(kind, X, y, W, b, alpha, sample_weight=None):
    """F for raw parameters, in float64.

    Parameters
    ----------
    kind : {"squared_error", "binomial", "multinomial"}
    X : ndarray or sparse matrix of shape (n, p)
    y : ndarray
        ``(n,)`` or ``(n, k)`` floats for ``squared_error``; ``(n,)`` in {0, 1} for
        ``binomial``; ``(n,)`` class indices for ``multinomial``.
    W : ndarray of shape (p, k)
    b : ndarray of shape (k,)
    alpha : float
    sample_weight : ndarray of shape (n,) or None
    """
    X = X.astype(np.float64) if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    Z = np.asarray(X @ W) + b
    n = Z.shape[0]
    if kind == "squared_error":
        Y = np.asarray(y, dtype=np.float64).reshape(n, -1)
        loss = 0.5 * np.sum((Z - Y) ** 2, axis=1)
    elif kind == "binomial":
        z = Z[:, 0]
        y01 = np.asarray(y, dtype=np.float64)
        loss = np.logaddexp(0.0, z) - y01 * z
    elif kind == "multinomial":
        idx = np.asarray(y, dtype=np.intp)
        loss = logsumexp(Z, axis=1) - Z[np.arange(n), idx]
    else:  # pragma: no cover - programming error in a test
        raise ValueError(kind)
    if sample_weight is None:
        data_term = float(np.mean(loss))
    else:
        s = np.asarray(sample_weight, dtype=np.float64)
        data_term = float(np.dot(s, loss) / s.sum())
    return data_term + 0.5 * alpha * float(np.sum(W * W))


def objective_value(estimator, X, y, alpha, sample_weight=None):
    """F at a fitted estimator's ``coef_`` / ``intercept_``, in float64.

    Works for any estimator with scikit-learn's conventions for linear models:

    - classifiers (they have ``classes_``): ``coef_`` of shape ``(1, p)`` for two
      classes (binomial loss, positive class ``classes_[1]``) or ``(K, p)``
      (multinomial loss over all ``K`` classes); ``y`` holds the original labels;
    - regressors: ``coef_`` of shape ``(p,)`` (one target) or ``(T, p)``.

    ``intercept_`` may be a scalar, ``(k,)`` or 0.0 when no intercept was fitted.
    """
    coef = np.asarray(estimator.coef_, dtype=np.float64)
    W = coef.reshape(-1, coef.shape[-1]).T  # (p, k)
    k = W.shape[1]
    b = np.asarray(estimator.intercept_, dtype=np.float64).ravel()
    b = np.broadcast_to(b, (k,))
    if hasattr(estimator, "classes_"):
        classes = np.asarray(estimator.classes_)
        # Index of each label in classes_ (classes_ is sorted by both libraries).
        idx = np.searchsorted(classes, np.asarray(y))
        assert np.array_equal(classes[idx], np.asarray(y)), "labels not in classes_"
        if len(classes) == 2:
            assert k == 1
            return reference_objective("binomial", X, idx, W, b, alpha, sample_weight)
        assert k == len(classes)
        return reference_objective("multinomial", X, idx, W, b, alpha, sample_weight)
    return reference_objective("squared_error", X, y, W, b, alpha, sample_weight)


# --------------------------------------------------------------------------------------
# The shared data sets
# --------------------------------------------------------------------------------------
_SHARED_FILES = {
    "a9a": "a9a.libsvm",
    "w8a": "w8a.libsvm",
    "letter": "letter-recognition.data",
    "cal_housing": "cal_housing.data",
    "mnist": "mnist_t10k.libsvm.gz",
}
_SVMLIGHT_FEATURES = {"a9a": 123, "w8a": 300, "mnist": 784}


def shared_data_path(name):
    """Path of a shared data set; skips the test when the file is absent."""
    if name not in _SHARED_FILES:  # pragma: no cover - programming error in a test
        raise ValueError(
            f"unknown shared data set {name!r}; one of {sorted(_SHARED_FILES)}"
        )
    filename = _SHARED_FILES[name]
    path = SHARED_DATA / filename
    if not path.is_file():
        pytest.skip(
            f"../shared/data/{filename} not found: the shared data sets sit beside the "
            "repository in CI, not in a user's clone"
        )
    return path


@functools.lru_cache(maxsize=None)
def _load(name):
    path = shared_data_path(name)
    if name in _SVMLIGHT_FEATURES:
        from sklearn.datasets import load_svmlight_file

        X, y = load_svmlight_file(str(path), n_features=_SVMLIGHT_FEATURES[name])
        return X.tocsr(), y
    with open(path, newline="") as f:
        rows = [[field.strip() for field in row] for row in csv.reader(f) if row]
    if name == "letter":  # no header; column 0 is the class letter
        y = np.array([row[0] for row in rows])
        X = np.array([row[1:] for row in rows], dtype=np.float64)
        return X, y
    # cal_housing: a header row; the target is the last column, median_house_value
    header, rows = rows[0], rows[1:]
    assert header[-1] == "median_house_value", header
    data = np.array(rows, dtype=np.float64)
    return data[:, :-1], data[:, -1]


def shared_data(name):
    """``(X, y)`` of a shared data set, skipping the test when its file is absent.

    ``name`` is one of ``"a9a"`` (CSR, 32,561 x 123, labels -1/+1), ``"w8a"`` (CSR,
    49,749 x 300, labels -1/+1), ``"letter"`` (dense 20,000 x 16 float64, labels the
    letters A-Z), ``"cal_housing"`` (dense 20,640 x 8 float64, target
    median_house_value) or ``"mnist"`` (CSR 10,000 x 784, pixels 0..255, labels 0-9).
    Each call returns fresh copies, so a test may modify what it gets.
    """
    X, y = _load(name)
    return X.copy(), y.copy()
