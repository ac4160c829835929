"""Hessian-based inference and diagnostics for the fitted estimators.

:class:`_InferenceMixin` gives :class:`~sklearn_hessian.HessianRegressor` and
:class:`~sklearn_hessian.HessianClassifier` four methods, whatever solver fitted them:

- ``covariance_matrix(X, y, ...)``: covariance of the fitted coefficients, from the
  Hessian of the log-likelihood at the solution (``kind="hessian"``) or as a
  sandwich (``"HC0"``, ``"HC1"``, ``"cluster"``);
- ``std_errors(X, y, ...)``: the square roots of its diagonal;
- ``coef_table(X, y, ..., level=0.95)``: coefficients, standard errors, z (or t)
  statistics, p-values and confidence intervals, one row per coefficient;
- ``hessian_report(X, y)``: extreme eigenvalues, condition numbers and the features
  behind ill-conditioning.

Conventions, stated once here and referred to by the docstrings:

*Parameters and their order.* One block per output (per class for the multinomial
loss, per target for several regression targets), each holding the ``n_features``
coefficients then the intercept (when fitted): the order of
``np.column_stack([coef_, intercept_]).ravel()``. Binary classification and single
target regression have one block, ``[coef_..., intercept_]``, which is the order of
statsmodels with ``add_constant(X, prepend=False)``.

*Log-likelihood.* The estimators minimise a weighted *mean* loss. The log-likelihood
is the weighted *sum*, so its Hessian is ``S * H`` where ``S = sum(sample_weight)``
(``n_samples`` without weights) and ``H`` the objective's Hessian; the covariance is
its (pseudo-)inverse. Sample weights (times ``class_weight``) are **frequency
weights**: a weight of 2 counts as the sample repeated twice, as statsmodels'
``GLM(freq_weights=...)``; scaling all weights scales the covariance inversely, even
though it leaves the fit unchanged.

*Regression.* ``kind="hessian"`` is the classical OLS covariance
``sigma^2 (X^T X)^{-1}`` with ``sigma^2 = RSS / (S - p)``, ``p`` counting the
intercept (for several targets, the residual covariance matrix replaces
``sigma^2``: ``Cov(vec B) = (X^T X)^{-1} (x) Sigma``). Statistics are t-distributed
with ``S - p`` degrees of freedom (``n_groups - 1`` for ``kind="cluster"``).
Classification uses the normal distribution.

*Sandwiches.* ``HC0 = G M G`` with ``G`` the inverse Hessian and
``M = sum_i s_i g_i g_i^T`` over per-sample scores ``g_i``. ``HC1`` follows
statsmodels: ``HC0 * S / (S - p)`` for least squares (as its ``OLS``), and equal to
``HC0`` for the logistic models (as its ``Logit``, ``MNLogit`` and ``GLM``, which
apply no small-sample factor to likelihood sandwiches). ``cluster`` sums the weighted scores within each group and applies
statsmodels' (and Stata's) correction ``G/(G-1) * (S-1)/(S-p)``.

*Multinomial.* The coefficients are symmetric (they sum to zero over classes); the
loss is flat along the class-sum direction of each row, so the covariance of the
symmetric coefficients is the pseudo-inverse of the Hessian restricted to the
zero-sum subspace: it is singular, and every row of the table reads "class c versus
the average of all classes". ``reference_class=label`` gives instead the
coefficients of every other class minus those of ``label`` (the parametrisation of
statsmodels' ``MNLogit``, whose reference is the first class) and their covariance,
by the linear map.

*Penalty.* With ``alpha > 0`` the Hessian includes the penalty: the result is the
Laplace approximation around the penalised optimum (the posterior covariance under
a Gaussian prior of precision ``alpha * S`` on the coefficients). Frequentist
p-values and confidence intervals assume ``alpha = 0``; an
:class:`InferenceWarning` says so, once per call (and, under Python's default
warning filter, once per calling line).

``p`` above counts the identified parameters (the rank of the Hessian, intercept
included), as statsmodels does with a rank-deficient design.

*Singular or ill-conditioned Hessians.* The inverse goes through the ``"newton"``
solver's machinery (:class:`~sklearn_hessian.solvers.newton._NewtonSystem`): the
intercepts are eliminated by a Schur complement, the rest is scaled to unit
diagonal and factorised, and directions whose eigenvalue is zero to rounding are
left out (a pseudo-inverse, with no other eigenvalue changed). The result is the
covariance of the minimum-norm coefficients that the solvers return, finite, and an
:class:`InferenceWarning` names the coefficients that the data do not identify
(duplicated, collinear or all-zero columns).

Everything is computed in float64 (float32 input is converted, in a copy); the
inputs are never modified. The Hessian is formed densely: memory ``O(d^2)`` and time
``O(n d^2 + d^3)`` for ``d`` coefficients.
"""

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy import stats
from scipy.linalg import eigh
from sklearn.base import is_classifier
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.validation import (
    _check_sample_weight,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from ._base import _ACCEPT_SPARSE, _DTYPES, _label_index
from ._objective import _dense_rows, _row_blocks, _syrk, make_objective
from ._spectral import condition_from_eigenvalues
from .solvers.newton import _NewtonSystem, eliminate_intercepts

__all__ = ["HessianReport", "InferenceWarning"]

_EPS = np.finfo(np.float64).eps
_KINDS = {"hessian": "hessian", "hc0": "HC0", "hc1": "HC1", "cluster": "cluster"}
# A parameter whose row in the orthonormal null-space basis has at least this norm
# moves along a non-identified direction.
_NULL_LOADING = 1e-4
# The fitted coefficients should be an optimum of the objective on the data passed:
# warn when the Newton step from them exceeds this many standard errors.
_STATIONARITY_TOL = 1e-2


class InferenceWarning(UserWarning):
    """Caveat about a covariance, standard error or coefficient table.

    Raised when the Hessian is singular (some coefficients are not identified), when
    ``alpha > 0`` (the result is a Laplace approximation, not a frequentist
    covariance), or when the coefficients are not an optimum on the data passed.

    Examples
    --------
    >>> import warnings
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn_hessian import HessianRegressor
    >>> from sklearn_hessian.inference import InferenceWarning
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = HessianRegressor(alpha=1e-2).fit(X, y)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     std_err = reg.std_errors(X, y)  # alpha > 0: a Laplace approximation
    >>> [w.category is InferenceWarning for w in caught]
    [True]
    """


# --------------------------------------------------------------------------------------
# Linear algebra: the generalised inverse, through the Newton solver's machinery
# --------------------------------------------------------------------------------------
def _null_threshold_condition(size):
    # The Newton solver's "zero to rounding" cut-off, 100 sqrt(size) eps lam_max,
    # used as max_condition: Cholesky is accepted below it, and the spectral
    # fallback then drops the null directions without flooring any other eigenvalue.
    return 1.0 / (100.0 * np.sqrt(max(size, 1)) * _EPS)


def _identified_inverse(H, n_intercept):
    """Symmetric generalised inverse of a PSD Hessian, and its null directions.

    ``H = [[A, U], [U^T, S]]`` with the ``n_intercept`` intercept rows last. The
    Newton solver's ``_NewtonSystem`` eliminates the intercepts (Schur complement
    ``A_s = A - U S^+ U^T``), Jacobi-scales ``A_s`` and factorises it, leaving out the
    directions whose eigenvalue is zero to rounding. Its solve projects the result
    off those directions on the left; projecting the right-hand side too gives the
    Moore-Penrose inverse ``A_s^+``, and the intercept blocks follow from the Schur
    formulas. Returns ``(G, N)`` with ``N`` an orthonormal basis (in the coordinates
    of ``A``, the non-intercept rows) of the null directions, or None.
    """
    size = H.shape[0]
    nw = size - n_intercept
    system = _NewtonSystem(H, n_intercept, _null_threshold_condition(nw), 0.0)
    fact = system.fact
    N = fact._null if fact.kind == "spectral" else None
    P = np.eye(nw)
    if N is not None:
        P -= N @ N.T
    T = fact.solve(P)
    T = 0.5 * (T + T.T)
    if not n_intercept:
        return T, N
    US = system.US  # U S^+
    G = np.empty_like(H)
    G[:nw, :nw] = T
    G[:nw, nw:] = -T @ US
    G[nw:, :nw] = G[:nw, nw:].T
    G[nw:, nw:] = system.S_pinv + US.T @ T @ US
    return 0.5 * (G + G.T), N


def _scaled_schur(H, n_intercept):
    """The matrix the Newton solver factorises: Schur complement, unit diagonal.

    Returns ``(Hs, s)`` with ``Hs = diag(s) A_s diag(s)``; eigenvectors ``u`` of
    ``Hs`` are directions ``s * u`` of the coefficients.
    """
    A = eliminate_intercepts(H, n_intercept)[0]
    diag = np.diag(A).copy()
    diag[~(diag > 0)] = 1.0
    s = 1.0 / np.sqrt(diag)
    return A * s[:, None] * s[None, :], s


def _zero_sum_basis(k):
    """Orthonormal basis (k, k - 1) of the vectors of R^k that sum to zero."""
    # Q of the QR factorisation of the centring projector's first k - 1 columns.
    C = np.eye(k) - 1.0 / k
    Q, _ = np.linalg.qr(C[:, : k - 1])
    return Q


# --------------------------------------------------------------------------------------
# The fitted model on the data: one context object per call
# --------------------------------------------------------------------------------------
class _Context:
    """The objective rebuilt at the fitted coefficients, in float64, on (X, y)."""

    def __init__(self, est, X, y, sample_weight, groups=None):
        check_is_fitted(est)
        X = validate_data(
            est, X, accept_sparse=_ACCEPT_SPARSE, dtype=_DTYPES, reset=False
        )
        if X.dtype != np.float64:
            X = X.astype(np.float64)  # a copy: the caller's X is left alone
        n, p = X.shape
        self.n_samples, self.n_features = n, p
        self.fit_intercept = bool(est.fit_intercept)
        self.alpha = float(est.alpha)
        sw = None
        if sample_weight is not None:
            sw = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True
            )
        self.classifier = is_classifier(est)
        coef_ = np.asarray(est.coef_, dtype=np.float64)
        if self.classifier:
            y = column_or_1d(y, warn=True)
            check_consistent_length(X, y)
            classes = est.classes_
            idx = _label_index(
                y, classes, "y contains labels not seen in fit: {labels!r}; the "
                "classes are {classes!r}.")
            if getattr(est, "class_weight", None) is not None:
                per_class = compute_class_weight(
                    est.class_weight, classes=classes, y=y
                )
                sw = per_class[idx] if sw is None else sw * per_class[idx]
            K = len(classes)
            if K == 2:
                loss, y_enc, k = "binomial", idx.astype(np.float64), 1
            else:
                loss, y_enc, k = "multinomial", idx, K
            self.labels = None if K == 2 else list(classes)
            self.output_name = "class"
        else:
            y = np.asarray(y, dtype=np.float64)
            check_consistent_length(X, y)
            if coef_.ndim == 1:
                if y.ndim != 1 and not (y.ndim == 2 and y.shape[1] == 1):
                    raise ValueError(
                        "The model was fitted on one target: y must be 1-D, got shape "
                        f"{y.shape}."
                    )
                k = 1
            else:
                k = coef_.shape[0]
                if y.ndim != 2 or y.shape[1] != k:
                    raise ValueError(
                        f"The model was fitted on {k} targets: y must have shape "
                        f"(n_samples, {k}), got {y.shape}."
                    )
            loss, y_enc = "squared_error", y.reshape(n, k)
            self.labels = None if coef_.ndim == 1 else list(range(k))
            self.output_name = "target"
        self.loss_name, self.k = loss, k
        self.s = np.ones(n) if sw is None else sw
        self.S = float(self.s.sum())
        self.objective = make_objective(
            loss, X, y_enc, sw, self.alpha, self.fit_intercept, k
        )
        m = self.m = p + self.fit_intercept
        coef = np.zeros((m, k))
        coef[:p] = coef_.reshape(k, p).T
        if self.fit_intercept:
            coef[p] = np.ravel(est.intercept_)
        self.coef = coef
        self.X = X
        names = getattr(est, "feature_names_in_", None)
        if names is None:
            names = [f"x{j}" for j in range(p)]
        names = [str(c) for c in names]
        self.names = names + (["intercept"] if self.fit_intercept else [])
        self.shared = self.objective.loss.shared_hessian
        self.multinomial = loss == "multinomial"
        self.groups = None
        if groups is not None:
            groups = column_or_1d(groups)
            check_consistent_length(X, groups)
            _, self.groups = np.unique(groups, return_inverse=True)
            self.n_groups = int(self.groups.max()) + 1

    # -- the pieces ---------------------------------------------------------------
    def evaluate(self):
        obj = self.objective
        self.Z = obj.predictor(self.coef)
        self.curv = obj.curvature(self.coef, self.Z, exact=True)
        self.R = np.asarray(obj.loss.gradient(obj.y, self.Z), dtype=np.float64)

    def mean_hessian(self):
        """The objective's Hessian (penalty included), reduced for the multinomial.

        For the squared error the ``(m, m)`` matrix shared by every target; for the
        multinomial loss expressed on the zero-sum subspace, ``Q^T H Q`` with
        ``Q = I_m (x) B``; the intercept rows stay last in every case.
        """
        H = self.objective.hessian(self.curv, dtype=np.float64)
        if self.multinomial:
            K = self.k
            self.B = _zero_sum_basis(K)
            H = np.einsum(
                "ajbk,jc,kd->acbd", H.reshape(self.m, K, self.m, K), self.B, self.B,
                optimize=True,
            ).reshape(self.m * (K - 1), self.m * (K - 1))
        return H

    @property
    def n_intercept(self):
        if not self.fit_intercept:
            return 0
        if self.shared:
            return 1
        return self.k - 1 if self.multinomial else self.k

    def expand(self, M, side="both"):
        """From the reduced (zero-sum) coordinates back to all ``m K`` coefficients.

        ``Q M`` (``side="left"``, ``M`` of shape (m (K-1),) or (m (K-1), r)) or
        ``Q M Q^T``, with ``Q = I_m (x) B`` applied by reshaping, never formed.
        """
        if not self.multinomial:
            return M
        m, K, B = self.m, self.k, self.B

        def left(A):
            A3 = A.reshape(m, K - 1, -1)
            return np.einsum("cl,jlr->jcr", B, A3).reshape(m * K, -1)

        if side == "left":
            return left(M).reshape((m * K,) + M.shape[1:])
        return left(left(M).T).T

    def to_full(self, G):
        """Internal (C-order, ``j * k + c``) full-size version of a reduced matrix."""
        if self.shared:
            return np.kron(G, np.eye(self.k))
        return self.expand(G)

    def public_order(self):
        """Internal flat index of each public parameter (output-major)."""
        m, k = self.m, self.k
        return (np.arange(m)[None, :] * k + np.arange(k)[:, None]).ravel()

    def meat(self):
        """``sum_u a_u a_u^T``: per sample (frequency-weighted) or per cluster."""
        n, p, m, k = self.n_samples, self.n_features, self.m, self.k
        dim = m * k
        R, s = self.R, self.s
        M = np.zeros((dim, dim))
        U = None if self.groups is None else np.zeros((self.n_groups, dim))
        for rows in _row_blocks(n, dim):
            Xb = _dense_rows(self.X, rows)
            Xa = np.empty((Xb.shape[0], m))
            Xa[:, :p] = Xb
            if self.fit_intercept:
                Xa[:, p] = 1.0
            Gb = (Xa[:, :, None] * R[rows][:, None, :]).reshape(Xa.shape[0], dim)
            if U is None:
                M += _syrk(Gb * np.sqrt(s[rows])[:, None])
            else:
                nb = Xa.shape[0]
                ind = sp.csr_matrix(
                    (s[rows], (self.groups[rows], np.arange(nb))),
                    shape=(self.n_groups, nb),
                )
                U += ind @ Gb
        if U is not None:
            M = U.T @ U
        return M


# --------------------------------------------------------------------------------------
# The shared computation behind the public methods
# --------------------------------------------------------------------------------------
@dataclass
class _Result:
    coef: np.ndarray
    cov: np.ndarray
    keys: list  # (output label or None, parameter name) per public parameter
    df: float  # degrees of freedom of the t distribution; None for the normal
    output_name: str


def _check_kind(kind, groups):
    key = str(kind).lower() if isinstance(kind, str) else None
    if key not in _KINDS:
        raise ValueError(
            f"kind must be one of 'hessian', 'HC0', 'HC1', 'cluster'; got {kind!r}."
        )
    kind = _KINDS[key]
    if kind == "cluster" and groups is None:
        raise ValueError("kind='cluster' needs groups= (one group label per sample).")
    if kind != "cluster" and groups is not None:
        raise ValueError("groups= is only used with kind='cluster'.")
    return kind


def _warn(message, stacklevel=4):
    warnings.warn(message, InferenceWarning, stacklevel=stacklevel)


def _compute(est, X, y, sample_weight, kind, groups, reference_class):
    kind = _check_kind(kind, groups)
    ctx = _Context(est, X, y, sample_weight, groups)
    if reference_class is not None and not ctx.classifier:
        raise ValueError("reference_class applies to HessianClassifier only.")
    if kind == "cluster" and ctx.n_groups < 2:
        raise ValueError("kind='cluster' needs at least 2 groups.")
    ctx.evaluate()
    S = ctx.S
    H = ctx.mean_hessian() * S  # Hessian of the (penalised) log-likelihood
    G, N = _identified_inverse(H, ctx.n_intercept)
    n_null = 0 if N is None else N.shape[1]
    rank = H.shape[0] - n_null  # identified parameters (per target for regression)

    # Residual covariance of the regression (the "scale").
    Sigma = None
    df_resid = S - rank
    if not ctx.classifier:
        if df_resid > 0:
            Sigma = (ctx.R * ctx.s[:, None]).T @ ctx.R / df_resid
        else:
            Sigma = np.full((ctx.k, ctx.k), np.nan)
            _warn(
                f"No residual degrees of freedom (sum of weights {S:g} <= {rank} "
                "identified parameters): the residual variance is undefined.",
                stacklevel=4,
            )

    if kind == "hessian" and Sigma is not None:  # Cov(vec B) = G (x) Sigma
        cov = np.kron(G, Sigma)
    elif kind == "hessian":
        cov = ctx.to_full(G)
    else:
        bread = ctx.to_full(G)  # internal order, all m * k coefficients
        cov = bread @ ctx.meat() @ bread
        if kind == "HC1" and not ctx.classifier:
            cov *= S / (S - rank)
        elif kind == "cluster":
            ng = ctx.n_groups
            cov *= ng / (ng - 1.0) * (S - 1.0) / (S - rank)
    cov = 0.5 * (cov + cov.T)

    # Warnings: penalty, identification, stationarity.
    if ctx.alpha > 0:
        _warn(
            f"alpha={ctx.alpha:g} > 0: this is the Laplace approximation around the "
            "penalised optimum (the posterior covariance under a Gaussian prior of "
            f"precision alpha * sum(sample_weight) = {ctx.alpha * S:g} on the "
            "coefficients). Frequentist standard errors, p-values and confidence "
            "intervals assume alpha=0.",
        )
    if n_null:
        # N lives on the non-intercept rows of the (reduced) Hessian: pad, expand.
        N_full = np.zeros((H.shape[0], n_null))
        N_full[: N.shape[0]] = N
        N_full = ctx.expand(N_full, side="left")
        per_param = np.sqrt(np.sum(N_full**2, axis=1))
        if ctx.multinomial:  # rows j * K + c: a feature is involved in any class
            per_param = per_param.reshape(-1, ctx.k).max(axis=1)
        involved = [ctx.names[j] for j in np.flatnonzero(per_param > _NULL_LOADING)]
        _warn(
            f"The Hessian is singular: {n_null} direction(s) of the coefficients are "
            "not identified by the data (duplicated, collinear or all-zero columns). "
            f"Not identified: {involved}. Their estimates and standard errors are "
            "those of the minimum-norm solution (a pseudo-inverse); see "
            "hessian_report(X, y).",
        )
    _check_stationarity(ctx, G, Sigma)

    coef = ctx.coef.ravel()  # internal order
    order = ctx.public_order()
    coef, cov = coef[order], cov[np.ix_(order, order)]
    outputs = ctx.labels if ctx.labels is not None else [None]
    keys = [(label, name) for label in outputs for name in ctx.names]
    if reference_class is not None:
        coef, cov, keys = _to_reference(ctx, est, coef, cov, keys, reference_class)
    if ctx.classifier:
        df = None
    elif kind == "cluster":
        df = ctx.n_groups - 1.0
    else:
        df = df_resid
    return _Result(coef, cov, keys, df, ctx.output_name)


def _check_stationarity(ctx, G, Sigma):
    """Warn when the coefficients are visibly not an optimum on these data."""
    obj = ctx.objective
    g = obj.gradient(ctx.coef, ctx.Z).astype(np.float64)  # mean objective's
    # Newton step from the fitted point: (S H)^+ (S g), in internal coordinates.
    if ctx.shared:
        if not np.all(np.isfinite(Sigma)):
            return
        step = G @ g * ctx.S
        var = np.outer(np.diag(G), np.diag(Sigma))
    else:
        g_red = g.ravel()
        if ctx.multinomial:
            g_red = (g @ ctx.B).ravel()  # Q^T g, Q = I_m (x) B
        step = ctx.expand(G @ g_red * ctx.S, side="left")
        var = np.diag(ctx.to_full(G))
    step = np.abs(np.ravel(step))
    se = np.sqrt(np.abs(np.ravel(var)))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(se > 0, step / se, 0.0)
    worst = float(np.nanmax(ratio)) if ratio.size else 0.0
    if worst > _STATIONARITY_TOL:
        _warn(
            "The coefficients are not at the optimum of the objective on these data "
            f"(a Newton step would move one of them by {worst:.3g} standard "
            "errors): pass the training data (X, y, sample_weight as in fit), and "
            "make sure the fit converged.",
            stacklevel=5,
        )


def _to_reference(ctx, est, coef, cov, keys, reference_class):
    """Symmetric multinomial (or binary) parameters -> ``class - reference``."""
    classes = list(est.classes_)
    if reference_class not in classes:
        raise ValueError(
            f"reference_class={reference_class!r} is not one of the classes {classes}."
        )
    if not ctx.multinomial:
        if reference_class != classes[0]:
            raise ValueError(
                "For binary classification the coefficients are those of "
                f"classes_[1]={classes[1]!r} against the reference "
                f"classes_[0]={classes[0]!r}: reference_class must be "
                f"{classes[0]!r} or None."
            )
        return coef, cov, keys
    K, m = ctx.k, ctx.m
    r = classes.index(reference_class)
    others = [c for c in range(K) if c != r]
    C = np.zeros((K - 1, K))
    C[np.arange(K - 1), others] = 1.0
    C[:, r] = -1.0
    L = np.kron(C, np.eye(m))  # public order is class-major
    keys = [(classes[c], name) for c in others for name in ctx.names]
    return L @ coef, L @ cov @ L.T, keys


def _table(result, level):
    if not (isinstance(level, (int, float)) and 0 < level < 1):
        raise ValueError(f"level must be in (0, 1); got {level!r}.")
    coef = result.coef
    se = np.sqrt(np.clip(np.diag(result.cov), 0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = coef / se
    if result.df is None:
        dist, stat_name = stats.norm, "z"
    else:
        dist, stat_name = stats.t(result.df), "t"
    p_value = 2 * dist.sf(np.abs(stat))
    q = dist.ppf(0.5 + level / 2)
    columns = {
        "coef": coef,
        "std_err": se,
        stat_name: stat,
        "p_value": p_value,
        "ci_low": coef - q * se,
        "ci_high": coef + q * se,
    }
    labels = [key[0] for key in result.keys]
    names = [key[1] for key in result.keys]
    multi = labels[0] is not None
    try:
        import pandas as pd
    except ImportError:
        pd = None
    if pd is not None:
        if multi:
            index = pd.MultiIndex.from_arrays(
                [labels, names], names=[result.output_name, "feature"]
            )
        else:
            index = pd.Index(names, name="feature")
        return pd.DataFrame(columns, index=index)
    fields = []
    if multi:
        labels = [str(label) for label in labels]
        fields.append((result.output_name, f"U{max(map(len, labels))}"))
    fields.append(("feature", f"U{max(map(len, names))}"))
    fields += [(name, np.float64) for name in columns]
    out = np.empty(len(coef), dtype=fields)
    if multi:
        out[result.output_name] = labels
    out["feature"] = names
    for name, values in columns.items():
        out[name] = values
    return out


# --------------------------------------------------------------------------------------
# The Hessian report
# --------------------------------------------------------------------------------------
@dataclass
class HessianReport:
    """Spectrum of the objective's Hessian at the solution, and what drives it.

    Returned by ``hessian_report``; ``print(report)`` gives a readable summary.

    Attributes
    ----------
    eigenvalues : ndarray
        Eigenvalues of the objective's Hessian (the weighted *mean* loss plus the
        penalty, as the solvers see it), ascending. For the multinomial loss the
        class-symmetry directions are left out; for several regression targets the
        Hessian shared by all targets.
    eigenvalue_min, eigenvalue_max : float
        The extreme eigenvalues.
    condition_number : float
        ``eigenvalue_max / eigenvalue_min`` (``inf`` when singular): what governs
        L-BFGS and Newton-CG, and what ``condition_number_`` reports.
    scaled_condition_number : float
        The condition number after the intercepts are eliminated and the
        coefficients scaled to unit curvature: what the ``"newton"`` solver
        factorises. Large ``condition_number`` with small
        ``scaled_condition_number`` means the features' units or offsets are the
        problem (standardise them); both large means (near-)collinear features.
    n_null : int
        Number of directions with a zero eigenvalue to rounding (after scaling):
        coefficients not identified by the data.
    names : list of str
        Parameter names, in the order of the eigenvectors' entries.
    smallest_eigenvector : ndarray
        Unit eigenvector of ``eigenvalue_min``.
    worst : list of (str, float)
        Parameters with the largest components of ``smallest_eigenvector``.
    scaled_smallest_eigenvector : ndarray
        Smallest eigenvector of the scaled matrix, as a unit direction of the
        coefficients (intercepts excluded): the most collinear combination.
    scaled_worst : list of (str, float)
        Parameters with its largest components.

    Examples
    --------
    On the unscaled breast cancer data, the features' units make the Hessian
    ill-conditioned; scaling removes most of it:

    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn_hessian import HessianClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = HessianClassifier(alpha=1e-3).fit(X, y)
    >>> report = clf.hessian_report(X, y, n_top=2)
    >>> print(f"{report.condition_number:.1e} {report.scaled_condition_number:.1e}")
    1.9e+09 1.4e+03
    >>> print(report)  # doctest: +ELLIPSIS
    Hessian at the solution: 31 parameters
      eigenvalues: min ..., max ...
    ...
      -> the features' units or offsets make it ill-conditioned: standardise them ...
    """

    eigenvalues: np.ndarray
    eigenvalue_min: float
    eigenvalue_max: float
    condition_number: float
    scaled_condition_number: float
    n_null: int
    names: list
    smallest_eigenvector: np.ndarray
    worst: list
    scaled_smallest_eigenvector: np.ndarray
    scaled_worst: list

    def __str__(self):
        def fmt(pairs):
            return ", ".join(f"{name} {value:+.3f}" for name, value in pairs)

        lines = [
            f"Hessian at the solution: {len(self.names)} parameters",
            f"  eigenvalues: min {self.eigenvalue_min:.3e}, max "
            f"{self.eigenvalue_max:.3e}",
            f"  condition number: {self.condition_number:.3e}",
            f"  after eliminating the intercept and scaling to unit curvature: "
            f"{self.scaled_condition_number:.3e}",
            f"  smallest-eigenvalue direction: {fmt(self.worst)}",
            f"  most collinear combination (scaled): {fmt(self.scaled_worst)}",
        ]
        if self.n_null:
            lines.append(
                f"  {self.n_null} direction(s) not identified by the data "
                "(duplicated, collinear or all-zero columns)"
            )
        elif self.scaled_condition_number > 1e6:
            lines.append("  -> (near-)collinear features: see the combination above")
        elif self.condition_number > 1e3 * max(self.scaled_condition_number, 1.0):
            lines.append(
                "  -> the features' units or offsets make it ill-conditioned: "
                "standardise them (StandardScaler) for faster gradient-based fits"
            )
        return "\n".join(lines)


def _top(names, vector, n_top):
    order = np.argsort(-np.abs(vector), kind="stable")[:n_top]
    return [(names[i], float(vector[i])) for i in order]


def _hessian_report(est, X, y, sample_weight, n_top):
    ctx = _Context(est, X, y, sample_weight)
    ctx.evaluate()
    H = ctx.mean_hessian()
    lam, V = eigh(H)
    v = V[:, 0]
    Hs, s = _scaled_schur(H, ctx.n_intercept)
    lam_s, V_s = eigh(Hs)
    u = s * V_s[:, 0]
    u /= np.linalg.norm(u)
    null = int(np.sum(lam_s <= 100 * np.sqrt(Hs.shape[0]) * _EPS * max(lam_s[-1], 0)))
    # The scaled direction has no intercept component (the intercepts were
    # eliminated): pad it, then map both vectors to all parameters, public order.
    u = np.concatenate([u, np.zeros(H.shape[0] - u.size)])
    if ctx.multinomial:
        v = ctx.expand(v[:, None], side="left")[:, 0]
        u = ctx.expand(u[:, None], side="left")[:, 0]
        order = ctx.public_order()
        v, u = v[order], u[order]
        names = [f"{name}[{label}]" for label in ctx.labels for name in ctx.names]
        blocks = ctx.k
    else:  # binomial, or the (m, m) Hessian shared by every regression target
        names = list(ctx.names)
        blocks = 1
    is_coef = np.tile(np.arange(ctx.m) < ctx.n_features, blocks)
    coef_names = [name for name, keep in zip(names, is_coef) if keep]
    return HessianReport(
        eigenvalues=lam,
        eigenvalue_min=float(lam[0]),
        eigenvalue_max=float(lam[-1]),
        condition_number=condition_from_eigenvalues(lam),
        scaled_condition_number=condition_from_eigenvalues(lam_s),
        n_null=null,
        names=names,
        smallest_eigenvector=v,
        worst=_top(names, v, n_top),
        scaled_smallest_eigenvector=u,
        scaled_worst=_top(coef_names, u[is_coef], n_top),
    )


# --------------------------------------------------------------------------------------
# The mixin
# --------------------------------------------------------------------------------------
_COMMON_PARAMS = """\
X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The training data, as passed to ``fit`` (float32 and sparse accepted;
            never modified).
        y : array-like
            The training target, as passed to ``fit``.
        sample_weight : array-like of shape (n_samples,), default=None
            The sample weights passed to ``fit``, read as frequency weights (see
            :mod:`sklearn_hessian.inference`). ``class_weight`` is applied on top,
            as in ``fit``.
        kind : {"hessian", "HC0", "HC1", "cluster"}, default="hessian"
            ``"hessian"``: inverse Hessian of the log-likelihood (times the
            residual variance for the regressor). ``"HC0"``: sandwich
            ``G (sum_i s_i g_i g_i^T) G`` with per-sample scores ``g_i``;
            ``"HC1"``: for the regressor HC0 times ``S / (S - p)``, for the
            classifier HC0 itself (statsmodels' conventions for OLS and Logit). ``"cluster"``: scores summed
            within each group of ``groups``, times ``G/(G-1) (S-1)/(S-p)``.
        groups : array-like of shape (n_samples,), default=None
            Cluster labels for ``kind="cluster"``.
        reference_class : label, default=None
            Classifier only. None: the symmetric parametrisation of ``coef_``
            (multinomial rows are "class versus the average of the classes", the
            covariance is singular along the class sums). A class label: every
            other class's coefficients minus this class's, as statsmodels'
            ``MNLogit`` with this class as the reference."""


class _InferenceMixin:
    """Inference methods of the estimators; see :mod:`sklearn_hessian.inference`."""

    def covariance_matrix(
        self, X, y, sample_weight=None, kind="hessian", groups=None,
        reference_class=None,
    ):
        """Covariance matrix of the fitted coefficients and intercepts.

        The (pseudo-)inverse of the log-likelihood's Hessian at the solution, or a
        sandwich around it. For the regressor ``kind="hessian"`` is scaled by the
        residual variance ``RSS / (S - p)`` (``p`` includes the intercept). With
        ``alpha > 0`` this is the Laplace approximation around the penalised
        optimum, not a frequentist covariance: an :class:`InferenceWarning` says
        so. A singular Hessian is inverted on its identified part and an
        :class:`InferenceWarning` names the coefficients that are not identified.
        Conventions (parameter order, frequency weights, multinomial) are in
        :mod:`sklearn_hessian.inference`.

        Parameters
        ----------
        {params}

        Returns
        -------
        cov : ndarray of shape (n_params, n_params)
            In the order of ``np.column_stack([coef_, intercept_]).ravel()``: per
            output (class or target), the coefficients then the intercept.

        See Also
        --------
        std_errors : Square roots of the diagonal.
        coef_table : Coefficients with standard errors, tests and intervals.

        Examples
        --------
        >>> from sklearn.datasets import load_diabetes
        >>> from sklearn_hessian import HessianRegressor
        >>> X, y = load_diabetes(return_X_y=True)
        >>> reg = HessianRegressor(alpha=0).fit(X, y)
        >>> cov = reg.covariance_matrix(X, y)
        >>> cov.shape
        (11, 11)
        >>> round(float(cov[-1, -1]) ** 0.5, 3)  # standard error of the intercept
        2.576
        """
        result = _compute(self, X, y, sample_weight, kind, groups, reference_class)
        return result.cov

    def std_errors(
        self, X, y, sample_weight=None, kind="hessian", groups=None,
        reference_class=None,
    ):
        """Standard errors of the fitted coefficients and intercepts.

        Square roots of the diagonal of :meth:`covariance_matrix`; the same
        parameters, caveats and warnings.

        Parameters
        ----------
        {params}

        Returns
        -------
        std_err : ndarray of shape (n_params,)
            In the order of ``np.column_stack([coef_, intercept_]).ravel()``.

        See Also
        --------
        covariance_matrix : The full covariance matrix.
        coef_table : Coefficients with standard errors, tests and intervals.

        Examples
        --------
        >>> from sklearn.datasets import load_breast_cancer
        >>> from sklearn.preprocessing import StandardScaler
        >>> from sklearn_hessian import HessianClassifier
        >>> X, y = load_breast_cancer(return_X_y=True)
        >>> X = StandardScaler().fit_transform(X[:, :4])
        >>> clf = HessianClassifier(alpha=0).fit(X, y)
        >>> clf.std_errors(X, y, kind="HC0").round(3)
        array([6.168, 0.181, 5.183, 3.316, 0.366])
        """
        result = _compute(self, X, y, sample_weight, kind, groups, reference_class)
        return np.sqrt(np.clip(np.diag(result.cov), 0, None))

    def coef_table(
        self, X, y, sample_weight=None, kind="hessian", groups=None,
        reference_class=None, level=0.95,
    ):
        """Coefficient table: estimates, standard errors, tests, confidence intervals.

        One row per coefficient and intercept, keyed by feature name
        (``feature_names_in_`` when the model was fitted on a DataFrame, else
        ``x0``, ``x1``...; the intercept is ``"intercept"``), and by class label
        (``"class"``) for the multinomial classifier or target index
        (``"target"``) for several regression targets. Two-sided tests of a zero
        coefficient: the normal distribution (column ``z``) for the classifier,
        Student's t with ``S - p`` degrees of freedom (column ``t``;
        ``n_groups - 1`` for ``kind="cluster"``) for the regressor. With
        ``alpha > 0`` the intervals are Laplace-approximation credible intervals
        (see :meth:`covariance_matrix`).

        Parameters
        ----------
        {params}
        level : float, default=0.95
            Confidence level of the intervals.

        Returns
        -------
        table : pandas.DataFrame or structured ndarray
            Columns ``coef``, ``std_err``, ``z`` (``t`` for the regressor),
            ``p_value``, ``ci_low``, ``ci_high``; a DataFrame indexed by
            ``feature`` (a MultiIndex with ``class`` or ``target`` first when
            there are several outputs) when pandas is installed, otherwise a
            structured array with those key fields first.

        See Also
        --------
        covariance_matrix : The covariance behind the table.

        Examples
        --------
        >>> import pandas as pd
        >>> from sklearn.datasets import load_diabetes
        >>> from sklearn_hessian import HessianRegressor
        >>> X, y = load_diabetes(return_X_y=True, as_frame=True)
        >>> reg = HessianRegressor(alpha=0).fit(X, y)
        >>> table = reg.coef_table(X, y)
        >>> list(table.columns)
        ['coef', 'std_err', 't', 'p_value', 'ci_low', 'ci_high']
        >>> table.loc["bmi", ["coef", "std_err"]].round(2).tolist()
        [519.85, 66.53]
        """
        result = _compute(self, X, y, sample_weight, kind, groups, reference_class)
        return _table(result, level)

    def hessian_report(self, X, y, sample_weight=None, n_top=5):
        """Why a fit is slow or unstable: the spectrum of the Hessian at the solution.

        Forms the objective's Hessian (mean loss plus penalty, as the solvers see
        it) at the fitted coefficients, and reports its extreme eigenvalues and
        condition number, the condition number left after eliminating the
        intercepts and scaling the coefficients to unit curvature (what the
        ``"newton"`` solver factorises), and the parameters with the largest
        components in the eigenvectors of the smallest eigenvalues.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The training data, as passed to ``fit``.
        y : array-like
            The training target, as passed to ``fit``.
        sample_weight : array-like of shape (n_samples,), default=None
            The sample weights passed to ``fit``.
        n_top : int, default=5
            Number of parameters listed for each eigenvector.

        Returns
        -------
        report : HessianReport
            ``print(report)`` for a summary; the numbers are its attributes.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import load_diabetes
        >>> from sklearn_hessian import HessianRegressor
        >>> X, y = load_diabetes(return_X_y=True)
        >>> X = np.column_stack([X, 1000 * X[:, 2]])  # bmi again, in other units
        >>> reg = HessianRegressor(alpha=0).fit(X, y)
        >>> report = reg.hessian_report(X, y)
        >>> report.n_null
        1
        >>> [name for name, _ in report.scaled_worst[:2]]
        ['x2', 'x10']
        """
        if not (isinstance(n_top, (int, np.integer)) and n_top >= 1):
            raise ValueError(f"n_top must be a positive integer; got {n_top!r}.")
        return _hessian_report(self, X, y, sample_weight, int(n_top))


for _method in (
    _InferenceMixin.covariance_matrix,
    _InferenceMixin.std_errors,
    _InferenceMixin.coef_table,
):
    _method.__doc__ = _method.__doc__.replace("{params}", _COMMON_PARAMS)
del _method
