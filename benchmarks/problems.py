"""Benchmark problems: small, deterministic functions returning ``X, y, alpha, kind``.

Every problem is minimised under the project's objective convention

    F(W, b) = sum_i loss(y_i, x_i W + b) / n  +  alpha / 2 * ||W||_F^2

(intercept unpenalised, no sample weights), with ``kind`` one of ``"binomial"``
(``y`` in {0, 1}), ``"multinomial"`` (``y`` class indices ``0..K-1``) or
``"squared_error"`` (``y`` floats, half squared error). scikit-learn's
``LogisticRegression(C)`` has the same minimiser at ``C = 1 / (alpha n)`` and
``Ridge(alpha_r)`` at ``alpha_r = alpha n``.

Each problem function takes ``size`` (a fraction in (0, 1], default 1.0, of the rows,
and for the synthetic wide problems of the columns too) and ``seed``; the same
arguments always give the same data. Problems built from the real data sets in
``../shared/data`` (beside the repository) raise :class:`DataUnavailable` when the
file is missing.

This module does not import ``sklearn_hessian``: :func:`objective` evaluates F with
plain numpy / scipy, so the benchmark judges every solver (ours and scikit-learn's)
with the same independent ruler.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, logsumexp

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


class Problem(NamedTuple):
    X: object  # ndarray (C-contiguous float64) or CSR float64
    y: np.ndarray
    alpha: float
    kind: str  # "binomial", "multinomial" or "squared_error"


class DataUnavailable(FileNotFoundError):
    """A problem's real data set is not in ``../shared/data``."""


# --------------------------------------------------------------------------------------
# The objective, independent of the library
# --------------------------------------------------------------------------------------
def objective(kind, X, y, W, b, alpha):
    """F(W, b) in float64 for ``W`` of shape (p, k) and ``b`` of shape (k,)."""
    W = np.asarray(W, dtype=np.float64)
    if W.ndim == 1:
        W = W[:, None]
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    Z = np.asarray(X @ W, dtype=np.float64) + b
    n = Z.shape[0]
    if kind == "squared_error":
        Y = np.asarray(y, dtype=np.float64).reshape(n, -1)
        loss = 0.5 * np.einsum("ij,ij->i", Z - Y, Z - Y)
    elif kind == "binomial":
        z = Z[:, 0]
        loss = np.logaddexp(0.0, z) - np.asarray(y, dtype=np.float64) * z
    elif kind == "multinomial":
        idx = np.asarray(y, dtype=np.intp)
        loss = logsumexp(Z, axis=1) - Z[np.arange(n), idx]
    else:
        raise ValueError(f"unknown kind {kind!r}")
    return float(np.mean(loss)) + 0.5 * alpha * float(np.vdot(W, W))


def coef_of(estimator):
    """``(W, b)`` with ``W`` of shape (p, k), ``b`` of shape (k,), from a fitted
    linear estimator: ours, scikit-learn's ``LogisticRegression`` / ``Ridge``, glum."""
    coef = np.asarray(estimator.coef_, dtype=np.float64)
    W = coef[:, None] if coef.ndim == 1 else coef.T
    b = np.atleast_1d(np.asarray(estimator.intercept_, dtype=np.float64)).reshape(-1)
    if b.size == 1 and W.shape[1] > 1:  # pragma: no cover - defensive
        b = np.repeat(b, W.shape[1])
    return W, b


def n_classes(problem):
    if problem.kind == "squared_error":
        return 1
    return int(np.max(problem.y)) + 1


def hessian_size(problem):
    """Side of the full Hessian (coefficients and intercept): (p + 1) * k."""
    p = problem.X.shape[1]
    k = n_classes(problem) if problem.kind == "multinomial" else 1
    return (p + 1) * k


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------
def _n(full, size, minimum):
    if not 0 < size <= 1:
        raise ValueError(f"size must be in (0, 1], got {size}")
    return max(minimum, int(round(full * size)))


def _encode(y):
    """Class labels to contiguous indices 0..K-1 (a subsample may miss a class)."""
    return np.unique(y, return_inverse=True)[1].astype(np.intp)


def _subsample(X, y, size, seed, minimum=200):
    n = X.shape[0]
    m = min(n, _n(n, size, minimum))
    if m == n:
        return X, y
    rows = np.sort(np.random.default_rng(seed).permutation(n)[:m])
    return X[rows], y[rows]


def _shared_file(name, data_dir=None):
    path = Path(data_dir) if data_dir is not None else SHARED_DATA
    path = path / name
    if not path.exists():
        raise DataUnavailable(f"{path} not found (the shared data sets are missing)")
    return path


def _load_svmlight(name, n_features, data_dir=None):
    path = _shared_file(name, data_dir)
    X, y = _load_svmlight_cached(str(path), n_features)
    return X.copy(), y.copy()


@functools.lru_cache(maxsize=4)
def _load_svmlight_cached(path, n_features):
    from sklearn.datasets import load_svmlight_file

    X, y = load_svmlight_file(path, n_features=n_features)
    return _csr32(X), y


def _csr32(X):
    """CSR float64 with sorted, 32-bit indices (SAG/SAGA refuse 64-bit ones)."""
    X = sp.csr_matrix(X, dtype=np.float64)
    if X.nnz < np.iinfo(np.int32).max:
        X.indices = X.indices.astype(np.int32, copy=False)
        X.indptr = X.indptr.astype(np.int32, copy=False)
    X.sort_indices()
    return X


def _correlated_gaussian(rng, n, p, rho):
    """Rows N(0, S) with the AR(1) covariance S_ij = rho^|i-j|, C-contiguous."""
    X = rng.standard_normal((n, p))
    # X_j = rho X_{j-1} + sqrt(1 - rho^2) e_j: the AR(1) recursion, in place.
    c = np.sqrt(1 - rho * rho)
    for j in range(1, p):
        X[:, j] *= c
        X[:, j] += rho * X[:, j - 1]
    return X


def _tfidf(rng, n, vocabulary, mean_length=60, zipf=1.1):
    """Sparse tf-idf-like CSR matrix: Zipf-distributed terms, L2-normalised rows."""
    ranks = np.arange(1, vocabulary + 1, dtype=np.float64)
    prob = (ranks + 10.0) ** -zipf
    prob /= prob.sum()
    lengths = 5 + rng.poisson(mean_length - 5, size=n)
    # Sampling by inverse CDF: draws are sorted within nothing, duplicates are counts.
    cdf = np.cumsum(prob)
    cdf[-1] = 1.0
    terms = np.searchsorted(cdf, rng.random(int(lengths.sum())), side="right")
    terms = np.minimum(terms, vocabulary - 1)
    # Scatter term ids over a random permutation of the columns, so that frequent
    # terms are not all in the first columns.
    terms = rng.permutation(vocabulary)[terms]
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    X = sp.csr_matrix(
        (np.ones(terms.size), terms, indptr), shape=(n, vocabulary), dtype=np.float64
    )
    X.sum_duplicates()  # counts
    df = np.bincount(X.indices, minlength=vocabulary)
    idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
    X.data = (1.0 + np.log(X.data)) * idf[X.indices]
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    return _csr32(sp.diags(1.0 / np.maximum(norms, 1e-300)) @ X)


# --------------------------------------------------------------------------------------
# Synthetic problems
# --------------------------------------------------------------------------------------
def dense_tall_logistic(size=1.0, seed=0):
    """Dense 200k x 100 logistic regression, AR(1)-correlated features (rho 0.9)."""
    rng = np.random.default_rng([seed, 1])
    n, p = _n(200_000, size, 200), 100
    X = _correlated_gaussian(rng, n, p, 0.9)
    w = rng.standard_normal(p) / np.sqrt(p)
    z = X @ w
    z *= 2.0 / np.std(z)
    y = (rng.random(n) < expit(z + 0.5)).astype(np.float64)
    return Problem(X, y, 1.0 / n, "binomial")


def dense_illcond_logistic(size=1.0, seed=0):
    """Dense 50k x 200 logistic, column scales over 8 orders of magnitude, alpha 1e-6."""
    rng = np.random.default_rng([seed, 2])
    n, p = _n(50_000, size, 200), 200
    X = _correlated_gaussian(rng, n, p, 0.5)
    w = rng.standard_normal(p) / np.sqrt(p)
    z = X @ w
    y = (rng.random(n) < expit(2.0 * z / np.std(z))).astype(np.float64)
    scales = np.logspace(-4, 4, p)[rng.permutation(p)]
    X *= scales
    return Problem(X, y, 1e-6, "binomial")


def dense_multinomial(size=1.0, seed=0):
    """Dense 100k x 50 multinomial logistic, K = 10, mildly correlated features."""
    rng = np.random.default_rng([seed, 3])
    n, p, k = _n(100_000, size, 300), 50, 10
    X = _correlated_gaussian(rng, n, p, 0.5)
    W = rng.standard_normal((p, k)) * (1.5 / np.sqrt(p))
    Z = X @ W
    P = np.exp(Z - logsumexp(Z, axis=1, keepdims=True))
    u = rng.random(n)[:, None]
    y = np.minimum((u > np.cumsum(P, axis=1)).sum(axis=1), k - 1)
    return Problem(X, _encode(y), 1.0 / n, "multinomial")


def sparse_wide_logistic(size=1.0, seed=0):
    """Sparse 50k x 200k tf-idf-like binary logistic regression (about 60 terms/row)."""
    rng = np.random.default_rng([seed, 4])
    n, p = _n(50_000, size, 300), _n(200_000, size, 1000)
    X = _tfidf(rng, n, p)
    w = rng.standard_normal(p)
    z = np.asarray(X @ w)
    y = (rng.random(n) < expit(4.0 * z / np.std(z) - 0.5)).astype(np.float64)
    return Problem(X, y, 1.0 / n, "binomial")


def dense_tall_ls(size=1.0, seed=0):
    """Dense 1M x 50 least squares (ridge at alpha_ridge = 1), correlated features."""
    rng = np.random.default_rng([seed, 5])
    n, p = _n(1_000_000, size, 200), 50
    X = _correlated_gaussian(rng, n, p, 0.9)
    X += rng.standard_normal(p)  # badly centred columns: the intercept matters
    w = rng.standard_normal(p)
    y = X @ w + 3.0 + rng.standard_normal(n)
    return Problem(X, y, 1.0 / n, "squared_error")


def sparse_wide_ls(size=1.0, seed=0):
    """Sparse 50k x 200k tf-idf-like least squares (ridge at alpha_ridge = 1)."""
    rng = np.random.default_rng([seed, 6])
    n, p = _n(50_000, size, 300), _n(200_000, size, 1000)
    X = _tfidf(rng, n, p)
    w = rng.standard_normal(p)
    y = np.asarray(X @ w) * 5.0 + 1.0 + 0.5 * rng.standard_normal(n)
    return Problem(X, y, 1.0 / n, "squared_error")


# --------------------------------------------------------------------------------------
# Real data sets (../shared/data)
# --------------------------------------------------------------------------------------
def a9a(size=1.0, seed=0, data_dir=None):
    """a9a (UCI Adult, LIBSVM): sparse 32,561 x 123 binary, alpha = 1/n."""
    X, y = _load_svmlight("a9a.libsvm", 123, data_dir)
    X, y = _subsample(X, y, size, seed)
    return Problem(_csr32(X), (y > 0).astype(np.float64), 1.0 / X.shape[0], "binomial")


def w8a(size=1.0, seed=0, data_dir=None):
    """w8a (LIBSVM): sparse 49,749 x 300 binary (3% positive), alpha = 1/n."""
    X, y = _load_svmlight("w8a.libsvm", 300, data_dir)
    X, y = _subsample(X, y, size, seed, minimum=1000)  # keep some positives
    return Problem(_csr32(X), (y > 0).astype(np.float64), 1.0 / X.shape[0], "binomial")


def mnist(size=1.0, seed=0, data_dir=None):
    """MNIST t10k: sparse 10,000 x 784, 10 classes, pixels scaled to [0, 1], alpha 1/n."""
    X, y = _load_svmlight("mnist_t10k.libsvm.gz", 784, data_dir)
    X = _csr32(X / 255.0)
    X, y = _subsample(X, y, size, seed)
    return Problem(_csr32(X), _encode(y), 1.0 / X.shape[0], "multinomial")


def letter(size=1.0, seed=0, data_dir=None):
    """UCI Letter: dense 20,000 x 16 (unscaled integer features), 26 classes, alpha 1/n."""
    path = _shared_file("letter-recognition.data", data_dir)
    labels, rows = [], []
    with open(path) as fh:
        for line in fh:
            parts = line.strip().split(",")
            if len(parts) < 17:
                continue
            labels.append(parts[0])
            rows.append([float(v) for v in parts[1:17]])
    X = np.ascontiguousarray(rows, dtype=np.float64)
    y = np.asarray(labels)
    X, y = _subsample(X, y, size, seed, minimum=600)
    return Problem(np.ascontiguousarray(X), _encode(y), 1.0 / X.shape[0], "multinomial")


# --------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------
PROBLEMS = {
    "dense_tall_logistic": dense_tall_logistic,
    "dense_illcond_logistic": dense_illcond_logistic,
    "dense_multinomial": dense_multinomial,
    "letter": letter,
    "a9a": a9a,
    "w8a": w8a,
    "mnist": mnist,
    "sparse_wide_logistic": sparse_wide_logistic,
    "dense_tall_ls": dense_tall_ls,
    "sparse_wide_ls": sparse_wide_ls,
}

#: Problems that need the data sets in ../shared/data.
SHARED_DATA_PROBLEMS = {"letter", "a9a", "w8a", "mnist"}


def get_problem(name, size=1.0, seed=0):
    """Build problem ``name`` (a key of :data:`PROBLEMS`)."""
    try:
        make = PROBLEMS[name]
    except KeyError:
        raise KeyError(f"unknown problem {name!r}; known: {', '.join(PROBLEMS)}") from None
    return make(size=size, seed=seed)


def describe(name, problem):
    """One line: shape, density, classes, alpha."""
    X = problem.X
    n, p = X.shape
    text = f"{n:,} x {p:,}"
    if sp.issparse(X):
        text += f" sparse (density {X.nnz / (n * p):.2g})"
    else:
        text += " dense"
    if problem.kind == "multinomial":
        text += f", K={n_classes(problem)}"
    text += f", {problem.kind}, alpha={problem.alpha:.3g}"
    return text
