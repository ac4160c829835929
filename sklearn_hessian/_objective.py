"""The penalised objective that every solver minimises.

``F(W, b) = sum_i s_i loss(y_i, x_i W + b) / sum_i s_i + alpha / 2 * ||W||_F^2``

with the intercept ``b`` unpenalised. The coefficients travel through the solvers as
one 2-D array ``coef`` of shape ``(n_features + fit_intercept, k)``: row ``j < p`` holds
the coefficients of feature ``j`` for each of the ``k`` outputs (targets or classes),
the last row holds the intercepts when ``fit_intercept``. Flat views use C order, so
the flat index of ``coef[j, c]`` is ``j * k + c``.

Every method takes the cached raw prediction ``Z = X @ W + b`` so nothing recomputes
``X @ W``. Passes over ``X`` per call: ``predictor`` 1, ``gradient`` 1, ``hessp`` 2,
``hessian`` 1 (a BLAS-3 one), ``line`` 1 and then O(n k) per trial step.
"""

import numpy as np
import scipy.sparse as sp

from ._linesearch import RowBlocks
from ._losses import BinomialLoss, HalfSquaredError, MultinomialLoss, _sum64

try:  # compiled by pip install; a source tree never built falls back to scipy
    from ._sparse_kernels import csr_hessp as _csr_hessp
    from ._sparse_kernels import weighted_squares as _weighted_squares
except ImportError:  # pragma: no cover - depends on the install
    _csr_hessp = _weighted_squares = None

# Rows per block when a temporary proportional to a block of X is needed, so that the
# extra memory stays far below the size of X.
_BLOCK_ELEMENTS = 1 << 21


# Blocks of the dense Hessian build: a scaled copy of the block is written, then
# read by SYRK, so it should stay in cache (2 MB): 200k x 101, 0.093 -> 0.079 s;
# 1M x 51, 0.21 -> 0.16 s. At least 256 rows, below which SYRK loses its speed.
_SYRK_BLOCK_ELEMENTS = 1 << 18
_SYRK_MIN_ROWS = 256

# The compiled CSR product goes by blocks of rows (gathers, then scatters) once the
# vector it reads and the one it writes together pass this size, beyond a core's
# own cache (see csr_hessp): sparse 50k x 200k, 8.1 -> 7.0 ms; below it the
# second read of each row costs more than it gains (w8a 1.06 -> 1.3 ms).
_CSR_BLOCKED_BYTES = 1 << 20


def _block_rows(n_cols, elements=_BLOCK_ELEMENTS, min_rows=1):
    return max(min_rows, elements // max(1, n_cols))


def _row_blocks(n_samples, n_cols, elements=_BLOCK_ELEMENTS, min_rows=1):
    size = _block_rows(n_cols, elements, min_rows)
    for start in range(0, n_samples, size):
        yield slice(start, min(start + size, n_samples))


def _loss_row_blocks(n_samples, k, n_features=0):
    """Blocks of rows for work on the loss's (rows, k) arrays (a few
    temporaries of that size: the softmax's) and, with ``n_features``, on the
    same rows of X, all of it sized to stay in cache (Letter, K = 26 on 16
    features: sized by X's block alone, the temporaries were five times it)."""
    return _row_blocks(n_samples, n_features + 4 * k, _SYRK_BLOCK_ELEMENTS)


def _dense_square_blocks(X):
    """``(rows, block, squares)`` over dense X by blocks of rows small enough to
    stay in cache (a 512 KiB buffer of squares, reused), without copying X:
    squaring large blocks cost three times as much."""
    n, p = X.shape
    rows = max(1, (1 << 16) // max(p, 1))
    buf = np.empty((min(rows, n), p), dtype=X.dtype)
    for start in range(0, n, rows):
        block = X[start:start + rows]
        yield slice(start, start + block.shape[0]), block, np.multiply(
            block, block, out=buf[: block.shape[0]])


def _squared_t_dot(X, C, sums=None):
    """``(X * X).T @ C`` without squaring all of X at once (that would copy it);
    with ``sums`` (float64, shape ``(n_features, C.shape[1])``), ``X.T @ C`` added
    to it in the same pass.

    Blocks run along the compressed axis of sparse X (rows of CSR, columns of
    CSC), sized by their number of stored entries. A sparse block is built on
    views of X's index arrays, with only its squared values as a temporary:
    slicing X instead copied each block's indices and values too, and squaring
    through ``multiply`` went through a general sparse product (w8a: 12 ms per
    call, a quarter of a Newton-CG fit, against 2 ms).
    """
    n, p = X.shape
    if (_weighted_squares is not None and sp.issparse(X) and X.format == "csr"
            and X.data.dtype in (np.float32, np.float64)
            and X.indices.dtype == X.indptr.dtype):
        # One compiled pass over the rows, squaring each value as it goes: no
        # temporary at all, a third of the time (sparse 50k x 200k: 5 -> 2 ms).
        out = np.zeros((p, C.shape[1]))
        _weighted_squares(True, np.zeros((0, 0), dtype=X.data.dtype), X.data, X.indices,
                          X.indptr, np.ascontiguousarray(C, dtype=np.float64), out,
                          np.zeros((0, 0)) if sums is None else sums)
        return out.astype(C.dtype, copy=False)
    out = np.zeros((p, C.shape[1]), dtype=C.dtype)
    if not sp.issparse(X):
        for rows, block, squares in _dense_square_blocks(X):
            out += squares.T @ C[rows]
            if sums is not None:  # the block is in cache
                sums += block.T @ C[rows]
        return out
    csr = X.format == "csr"
    if X.format not in ("csr", "csc"):
        X = X.tocsr()  # the estimators pass CSR or CSC; others are converted once
        csr = True
    n_lines = n if csr else p
    per_line = max(1, X.nnz // max(1, n_lines))
    kind = sp.csr_matrix if csr else sp.csc_matrix
    for lines in _row_blocks(n_lines, per_line):
        start, stop = X.indptr[lines.start], X.indptr[lines.stop]
        data = X.data[start:stop]
        index = (X.indices[start:stop], X.indptr[lines.start:lines.stop + 1] - start)
        shape = (lines.stop - lines.start, p) if csr else (n, lines.stop - lines.start)
        for values, total in ((data * data, out), (data, sums)):
            if total is None:
                continue
            block = kind((values, *index), shape=shape)
            if csr:
                total += np.asarray(block.T @ C[lines])
            else:
                total[lines] += np.asarray(block.T @ C)
    return out


def _scaled_rows(X, rows, scale, shift, out):
    """``(X[rows] - shift) * scale[:, None]`` written into ``out`` (shift None: 0).

    A slice of dense X is read once, straight into ``out``; sample indices
    gather with ``np.take`` into ``out`` and are scaled in place, where fancy
    indexing then multiplying wrote every block twice (a quarter of 200k x 100:
    0.034 -> 0.018 s).
    """
    if isinstance(rows, slice) and not sp.issparse(X):
        if shift is None:
            return np.multiply(X[rows], scale[:, None], out=out)
        np.subtract(X[rows], shift, out=out)
        out *= scale[:, None]
        return out
    if sp.issparse(X):
        block = X[rows]
        if block.dtype == out.dtype and block.format in ("csr", "csc"):
            block.toarray(out=out)
        else:
            out[...] = block.toarray()
    elif X.dtype == out.dtype:
        np.take(X, rows, axis=0, out=out)
    else:
        out[...] = X[rows]
    if shift is not None:
        out -= shift
    out *= scale[:, None]
    return out


def _squared_dot(X, v):
    """``(X * X) @ v`` (float64) without squaring all of X at once."""
    n = X.shape[0]
    out = np.empty(n)
    if sp.issparse(X):
        X = X.tocsr()  # CSC is converted once, as in _squared_t_dot
        for lines in _row_blocks(n, max(1, X.nnz // max(1, n))):
            block = X[lines]
            block.data = block.data.astype(np.float64) ** 2
            out[lines] = block @ v
        return out
    for rows in _row_blocks(n, X.shape[1]):
        Xb = X[rows]
        out[rows] = (Xb * Xb) @ v
    return out


def _dense_rows(X, rows):
    block = X[rows]
    return block.toarray() if sp.issparse(block) else block


def _syrk(A):
    """``A.T @ A``, exactly symmetric, with half the flops of a general product.

    numpy sends the product of an array with its own transpose to BLAS SYRK and
    mirrors the triangle itself. Calling scipy's ``dsyrk`` directly was slower
    with OpenBLAS (one thread: 1M x 50 by blocks, 0.102 -> 0.076 s; 200k x 101,
    0.059 -> 0.048 s; a 5,000 x 510 block, 0.039 -> 0.025 s).
    """
    return A.T @ A


def _mirror_lower(H):
    """``H`` with its strict upper triangle replaced by the lower one, in place."""
    iu = np.triu_indices(H.shape[0], 1)
    H[iu] = H.T[iu]
    return H


# Measured time per multiply-add: a sparse product ``X^T D X`` costs about 32 times
# a dense SYRK per pair of non-zeros of a row (index handling, scattered writes),
# and a pass over X (memory-bound) about 8 times a SYRK flop.
_SPARSE_PAIR_COST = 32.0
_PASS_COST = 8.0


def _sparse_pairs(X, rows=None):
    """Sum over rows of nnz_i^2: the multiply-adds of a sparse ``X^T D X``."""
    counts = np.diff(X.indptr).astype(np.float64)
    if rows is not None:
        counts = counts[rows]
    return float(counts @ counts)


class LinearObjective:
    """Penalised, weighted mean loss of a linear model, bound to its data.

    Parameters
    ----------
    loss : loss object from :mod:`sklearn_hessian._losses`
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        Never copied nor modified.
    y : ndarray
        Target encoded for ``loss``.
    sample_weight : ndarray of shape (n_samples,) or None
    alpha : float
        L2 penalty on the coefficients (not on the intercept).
    fit_intercept : bool
    n_outputs : int
        ``k``: number of columns of the raw prediction.
    n_jobs : int or None
        Threads for the line search's trials.
    check_values : callable or None
        X's values not checked yet: ``check_values(sum_of_squares=None)`` raises
        on values the solvers cannot use (``_base._check_values``). Called by
        ``confirm_values`` (see there).
    """

    def __init__(self, loss, X, y, sample_weight, alpha, fit_intercept, n_outputs,
                 n_jobs=None, check_values=None):
        self.loss = loss
        self._pending_check = check_values
        self._sum_of_squares = None  # of X's values, when a Gram pass formed it
        self.X = X
        self.y = y
        self.dtype = X.dtype
        n, p = X.shape
        if sample_weight is None:
            sw = np.full(n, 1.0 / n, dtype=self.dtype)
        else:
            sw = np.asarray(sample_weight, dtype=np.float64)
            sw = (sw / sw.sum()).astype(self.dtype, copy=False)
        self.sw = sw  # normalised: sums to one, so F is a weighted mean
        self._uniform_weights = sample_weight is None
        self.alpha = float(alpha)
        self.fit_intercept = bool(fit_intercept)
        self.n_samples, self.n_features = n, p
        self.k = int(n_outputs)
        self.shape = (p + self.fit_intercept, self.k)
        self.size = self.shape[0] * self.k
        # Symmetric multinomial: shifting every class's coefficients of one row by
        # the same amount leaves the loss unchanged.
        self.class_symmetric = isinstance(loss, MultinomialLoss)
        # Line-search trials are summed over these blocks (in parallel when
        # n_jobs > 1); release the threads with close().
        self.row_blocks = RowBlocks(n, n_jobs, width=self.k)
        self._curvature_cache = None  # (Z, curvature) of the last gradient's point
        self._gradient_cache = None  # (Z, gradient) of a line search's speculative step
        # Computed once, when first needed.
        self._rms = self._mean_squares = self._row_scales_cache = None
        self._intercept_column = None

    def confirm_values(self, sum_of_squares=None):
        """Run the deferred check of X's values, once, before a solver reads X.

        ``sum_of_squares``: the squares of X's values summed by a pass made
        anyway (the Gram matrix's trace), which the check then uses instead of
        its own pass over X: on 1M x 50 least squares that pass was a seventh of
        the fit.
        """
        check, self._pending_check = self._pending_check, None
        if check is not None:
            check(sum_of_squares=sum_of_squares)

    def close(self):
        """Release the line search's threads, if any, and the cached curvature."""
        self.row_blocks.close()
        self._curvature_cache = self._gradient_cache = None

    def feature_rms(self):
        """Root-mean-square of each column of ``[X, 1]`` under the sample weights,
        shape ``(n_features + fit_intercept,)``: ``sqrt(sum_i s_i x_ij^2 / sum_i s_i)``.

        One pass over X, no copy of it, on the first call (the result is kept).
        The intercept's column of ones has RMS 1. Dense X goes by blocks of rows
        small enough to stay in cache (a 512 KiB buffer of squares, then a
        matrix-vector product): about the cost of one gradient pass, where
        squaring large blocks cost three.
        """
        if self._rms is None:
            self._rms = np.sqrt(self._column_mean_squares())
        return self._rms.copy()

    def _column_mean_squares(self):
        """``sum_i s_i x_ij^2`` per column of ``[X, 1]`` (float64), computed once:
        the squared feature RMS, and the least-squares Hessian's diagonal."""
        if self._mean_squares is None:
            self._mean_squares = self._compute_mean_squares()
        return self._mean_squares

    def _finish_mean_squares(self, ms):
        if self.fit_intercept:
            ms = np.append(ms, 1.0)
        return np.maximum(ms, 0.0)

    def _t_dot_and_mean_squares(self, R):
        """``(X^T R, column mean squares)`` of dense X in one read of it."""
        G = np.zeros((self.n_features, R.shape[1]), dtype=np.result_type(self.X, R))
        ms = np.zeros(self.n_features)
        for rows, block, squares in _dense_square_blocks(self.X):
            ms += self.sw[rows] @ squares
            G += block.T @ R[rows]
        return G, self._finish_mean_squares(ms)

    def _compute_mean_squares(self):
        X, sw = self.X, self.sw  # sw in X's dtype: no mixed-type products
        if sp.issparse(X):
            sums = None
            if self.loss.constant_hessian and self.fit_intercept:
                # The Hessian's intercept column X^T S 1 (intercept_column), which
                # newton-cg's preconditioner wants, rides on this pass.
                sums = np.zeros((self.n_features, 1))
            ms = _squared_t_dot(X, sw.astype(np.float64)[:, None], sums)[:, 0]
            if sums is not None:
                self._intercept_column = (None, sums[:, 0])
        else:
            ms = np.zeros(X.shape[1])
            for rows, _, squares in _dense_square_blocks(X):
                ms += sw[rows] @ squares
        return self._finish_mean_squares(ms)

    def penalty_is_eigenvalue(self):
        """Whether ``alpha`` is an eigenvalue of the Hessian at every point.

        It is when X, on its rows of positive weight, has a null vector ``v``
        (fewer such rows than features, as in wide data, or an all-zero column):
        the data-fit part of the Hessian is ``[X, 1]^T (...) [X, 1]``, so on
        ``(v, 0)``, and for the multinomial loss on ``v`` times any vector of
        class weights, only the penalty acts. The smallest eigenvalue is then at
        most ``alpha`` (a Lanczos estimate of it converges slowly from above),
        and for ``alpha = 0`` the Hessian is singular. Costs nothing: the row
        count and the feature RMS, which the solvers compute anyway.
        """
        if self.n_features == 0:
            return False
        if int(np.count_nonzero(self.sw)) < self.n_features:
            return True
        return bool(np.any(self.feature_rms()[: self.n_features] == 0))

    # -- coefficients -----------------------------------------------------------------
    def zeros(self):
        return np.zeros(self.shape, dtype=self.dtype)

    def _W(self, coef):
        return coef[: self.n_features]

    def _penalty(self, coef):
        W = self._W(coef)
        return 0.5 * self.alpha * float(np.vdot(W, W))

    # -- products with X --------------------------------------------------------------
    def predictor(self, coef):
        """Raw prediction ``X @ W + b`` of shape (n_samples, k); read-only when
        all its rows are the intercepts."""
        W = self._W(coef)
        if not np.any(W):
            # The usual start: no pass over X that gives zeros, and no memory for
            # n copies of one row (Z arrays are never modified once built).
            row = np.zeros(self.k, dtype=self.dtype)
            if self.fit_intercept:
                row += coef[-1]
            return np.broadcast_to(row, (self.n_samples, self.k))
        Z = np.asarray(self.X @ W)
        if Z.dtype != self.dtype:  # sparse @ dense may promote
            Z = Z.astype(self.dtype)
        if self.fit_intercept:
            Z += coef[-1]
        return Z

    def _xt(self, R, coef_like):
        """``[X, 1]^T @ R`` plus the penalty's gradient part ``alpha * coef_like``.

        Dense X whose feature scales are not known yet (the first gradient of a
        fit, which the solvers follow with ``feature_rms``): both in one read of
        X, by blocks that stay in cache. First gradient and feature scales: 200k x
        100 logistic 19.4 -> 14.8 ms, 1M x 50 least squares 51 -> 37 ms; 100k x
        50 multinomial 20.4 -> 20.8 ms (its ten-column products lose on blocks
        what the read saves)."""
        out = np.empty(self.shape, dtype=self.dtype)
        p = self.n_features
        if not sp.issparse(self.X) and self._mean_squares is None and self.n_samples:
            out[:p], ms = self._t_dot_and_mean_squares(R)
            self._mean_squares = ms
        else:
            out[:p] = np.asarray(self.X.T @ R)
        if self.alpha:
            out[:p] += self.alpha * self._W(coef_like)
        if self.fit_intercept:
            out[p] = R.sum(axis=0)
        return out

    def _fuses(self):
        """Whether ``_fused_pass`` applies: dense X, read by blocks of rows."""
        return not sp.issparse(self.X)

    def speculates(self):
        """Whether ``line(..., speculate=t)`` reads X anyway (dense X: ``X @ D``
        with the point at ``t``, in one read), so that a ``dZ`` known in advance
        saves nothing there."""
        return self._fuses()

    def _one_pass_sparse_hessp(self):
        """Whether ``hessp`` goes through the compiled one-pass CSR product: one
        output and one curvature per sample, X in CSR with stored values."""
        X = self.X
        return (_csr_hessp is not None and sp.issparse(X) and X.format == "csr"
                and self.k == 1 and self.loss.diagonal_curvature and X.nnz > 0
                and X.data.dtype == self.dtype)

    def _fused_pass(self, V, residual, blocks=None, keep=True):
        """``(X @ V_W + V_b, [X, 1]^T R)`` with ``R`` built block by block from the
        first product, ``R[rows] = residual(rows, dZ[rows])``: one read of dense X
        (a residual of None: no transposed product for that block).

        Products with X that follow each other (``X @ d`` then ``X^T`` of the
        residuals it leads to) are memory-bound passes. Done block by block
        (2 MB of rows, which stay in cache between the two products) X is read
        from memory once for both: 200k x 100, binomial value and gradient at
        ``Z + X d``, 16 -> 11 ms. ``blocks`` (slices of rows, see
        ``sample_row_blocks``) restricts both products to those rows; ``dZ`` is
        then only filled there. ``keep=False``: ``dZ`` is not kept (None), each
        block's in one small buffer instead of an (n, k) array per
        Hessian-vector product. ``V`` None: no first product (``dZ`` None, and
        ``residual(rows, None)``).
        """
        X, p, k = self.X, self.n_features, self.k
        W = None if V is None else np.ascontiguousarray(V[:p])
        G = np.zeros((p, k), dtype=self.dtype)
        out = np.empty(self.shape, dtype=self.dtype)
        if self.fit_intercept:
            out[p] = 0
        blocks = list(_loss_row_blocks(self.n_samples, k, p) if blocks is None else blocks)
        keep = keep and V is not None
        dZ = buf = dz = None
        if keep:
            dZ = np.empty((self.n_samples, k), dtype=self.dtype)
        elif V is not None:
            buf = np.empty((max((b.stop - b.start for b in blocks), default=0), k),
                           dtype=self.dtype)
        for rows in blocks:
            Xb = X[rows]
            if V is not None:
                dz = np.matmul(Xb, W, out=dZ[rows] if keep else buf[: Xb.shape[0]])
                if self.fit_intercept:
                    dz += V[p]
            R = residual(rows, dz)
            if R is None:  # only X @ V was wanted of this block
                continue
            G += Xb.T @ R
            if self.fit_intercept:
                out[p] += R.sum(axis=0)
        out[:p] = G
        return dZ, out

    # -- value and gradient -----------------------------------------------------------
    def value(self, coef, Z):
        return _sum64(self.loss.value(self.y, Z), self.sw) + self._penalty(coef)

    def value_gradient(self, coef, Z):
        if self._by_blocks(Z):
            return self._value_gradient_blocks(coef, Z)
        values, R = self._loss_value_gradient(Z)
        R *= self.sw[:, None]
        return _sum64(values, self.sw) + self._penalty(coef), self._xt(R, coef)

    def gradient(self, coef, Z):
        cached = self._gradient_cache
        if cached is not None and cached[0] is Z:  # a line search computed it
            return cached[1]
        if self._by_blocks(Z):
            return self._value_gradient_blocks(coef, Z)[1]
        if hasattr(self.loss, "value_gradient_curvature"):
            R = self._loss_value_gradient(Z)[1]  # leaves the curvature for later
        else:
            R = self.loss.gradient(self.y, Z)
        R *= self.sw[:, None]
        return self._xt(R, coef)

    def _by_blocks(self, Z):
        """Whether the gradient at ``Z`` is taken block by block of rows
        (``_value_gradient_blocks``): dense X, several outputs with a curvature
        of their own (multinomial), and a ``Z`` that is not one row repeated
        (where the whole-array softmax is of that one row)."""
        return (self.k > 1 and self._fuses() and Z.shape[0] > 0 and Z.strides[0] != 0
                and hasattr(self.loss, "value_gradient_curvature"))

    def _new_curvature(self, shape, exact=False):
        """An array for the per-sample curvature that a dense pass computes with
        the gradient: the multinomial probabilities are kept in float32. They
        only feed Hessian products and Hessians (a relative error of 6e-8,
        below every forcing tolerance, that moves no fixed point: the gradient
        is float64), and each (n, K) array is a fifth of X on 100k x 50, K = 10."""
        return np.empty(shape, dtype=np.float32 if self.k > 1 and not exact else self.dtype)

    def _value_gradient_blocks(self, coef, Z):
        """``value_gradient`` with the loss's gradient and curvature formed block
        by block of rows as X is read (the curvature kept for ``curvature``):
        no (n, K) array but the curvature's (float32), where the whole-array
        softmax held four (dense multinomial: 0.8 x X at once)."""
        losses = _LossBlocks(self, self._new_curvature(Z.shape))
        _, g = self._fused_pass(None, lambda rows, _: losses(rows, Z[rows]))
        if self.alpha:
            g[: self.n_features] += self.alpha * self._W(coef)
        self._curvature_cache = (Z, losses.curv)
        return losses.total + self._penalty(coef), g

    def _loss_value_gradient(self, Z):
        # A loss whose curvature comes with its gradient (the multinomial one: the
        # probabilities) leaves it here for curvature() at the same Z, which the
        # solvers ask for next: one softmax per point instead of two. Z arrays
        # are not modified while cached (a line that forms its point in Z's
        # memory drops them first), so identity identifies the point.
        if hasattr(self.loss, "value_gradient_curvature"):
            values, R, curv = self.loss.value_gradient_curvature(self.y, Z)
            self._curvature_cache = (Z, curv)
            return values, R
        return self.loss.value_gradient(self.y, Z)

    # -- second order -----------------------------------------------------------------
    def drop_curvature(self):
        """Forget the curvature kept from the last gradient (``curvature`` would
        compute it again)."""
        self._curvature_cache = None

    def curvature(self, coef, Z, exact=False):
        """Per-sample second derivatives at ``Z``, the input of the Hessian methods.
        Dense multinomial: the probabilities in float32 (see ``_new_curvature``)
        unless ``exact`` (X's precision, for the Hessian of inference)."""
        cached = self._curvature_cache
        if (cached is not None and cached[0] is Z
                and (not exact or cached[1].dtype == self.dtype)):
            return cached[1]
        if self._by_blocks(Z):  # as _value_gradient_blocks keeps it
            curv = self._new_curvature(Z.shape, exact)
            for rows in _loss_row_blocks(self.n_samples, self.k):
                curv[rows] = self.loss.curvature(self.y[rows], Z[rows])
            return curv
        return self.loss.curvature(self.y, Z)

    def hessp(self, curv, V, blocks=None, with_predictor=False):
        """Hessian-vector product; ``V`` has the shape of ``coef``. Two passes over X
        (dense X: one read of it, ``_fused_pass``; CSR X with one curvature per
        sample: one compiled pass over its rows). ``blocks`` (from
        ``sample_row_blocks``; dense X only): the product with the Hessian of
        those rows alone, their weights renormalised to sum to one.
        ``with_predictor``: return ``(HV, X @ V_W + V_b)``, the first product
        being made anyway (None with ``blocks``)."""
        if self._fuses():
            def residual(rows, dz):
                R = self.loss.curvature_times(curv[rows], dz)
                R *= self.sw[rows, None]
                return R

            dZ, out = self._fused_pass(V, residual, blocks,
                                       keep=with_predictor and blocks is None)
            if blocks is not None:
                out /= sum(float(self.sw[rows].sum()) for rows in blocks)
                dZ = None
            if self.alpha:
                out[: self.n_features] += self.alpha * self._W(V)
            return (out, dZ) if with_predictor else out
        if self._one_pass_sparse_hessp():
            p, X = self.n_features, self.X
            b = float(V[p, 0]) if self.fit_intercept else 0.0
            out = np.empty(self.shape[0])
            dZ = np.empty(self.n_samples if with_predictor else 0)
            _csr_hessp(X.data, X.indices, X.indptr, np.ascontiguousarray(V[:p, 0]), b,
                       (self.sw * curv).astype(self.dtype, copy=False),
                       self.fit_intercept, out, dZ,
                       p * (X.data.itemsize + out.itemsize) > _CSR_BLOCKED_BYTES)
            out = out.astype(self.dtype, copy=False)[:, None]
            if self.alpha:
                out[:p] += self.alpha * self._W(V)
            if with_predictor:
                return out, dZ.astype(self.dtype, copy=False)[:, None]
            return out
        dZ = self.predictor(V)
        R = self.loss.curvature_times(curv, dZ)
        R *= self.sw[:, None]
        out = self._xt(R, V)
        return (out, dZ) if with_predictor else out

    def intercept_column(self, curv):
        """``X^T S c`` (float64, shape ``(n_features,)``): the Hessian's intercept
        column above its diagonal entry, for a loss with one curvature per sample
        (``c = curv``; the newton-cg preconditioner, ``_CentredJacobi``). Taken
        from the pass of ``hessian_diag`` at the same ``curv``, or kept when the
        Hessian is constant; otherwise one pass over X."""
        cached = self._intercept_column
        if cached is not None and (self.loss.constant_hessian or cached[0] is curv):
            return cached[1]
        w = (self.sw * curv).astype(self.dtype, copy=False)
        m = np.asarray(self.X.T @ w if sp.issparse(self.X) else w @ self.X,
                       dtype=np.float64).ravel()
        self._intercept_column = (curv, m)
        return m

    def constant_intercept_column(self):
        """The whole intercept column of a constant Hessian, ``[X^T S 1; 1]``
        (float64, shape ``(n_features + 1,)``), when a pass over X formed it
        already (sparse least squares, see ``_compute_mean_squares``); else None.
        Its product with the intercept's unit vector, for free."""
        cached = self._intercept_column
        if not (self.loss.constant_hessian and self.fit_intercept) or cached is None:
            return None
        return np.append(cached[1], float(np.sum(self.sw, dtype=np.float64)))

    def hessian_diag(self, curv):
        """Diagonal of the Hessian, shape of ``coef``; one pass over X, no copy of X.
        With an intercept and one curvature per sample, the same pass also forms
        ``intercept_column(curv)``."""
        p = self.n_features
        if self.loss.constant_hessian:
            # Unit curvature: the columns' mean squares, which the stopping test's
            # feature scales computed already (a pass over X saved).
            out = np.empty(self.shape, dtype=self.dtype)
            out[:] = self._column_mean_squares()[:, None]
            out[:p] += self.alpha
            return out
        sums = None
        if self.loss.diagonal_curvature:
            c = (self.sw * curv)[:, None]  # (n, 1), the same for every output
            if self.fit_intercept:
                sums = np.zeros((p, 1))
        elif self._fuses():
            c = _MultinomialDiagonalWeights(self.sw, curv, self.dtype)
        else:
            c = self.sw[:, None] * curv * (1 - curv)  # (n, K)
        out = np.empty(self.shape, dtype=self.dtype)
        out[:p] = _squared_t_dot(self.X, c, sums) + self.alpha
        if self.fit_intercept:
            out[p] = c.sum(axis=0)
        if sums is not None:
            self._intercept_column = (curv, sums[:, 0])
        return out

    def hessian(self, curv, dtype=None, rows=None, row_weights=None):
        """The full Hessian as a dense symmetric matrix, built in blocks of rows.

        For the squared error (``loss.shared_hessian``) the Hessian is the same for
        every output, so only the ``(p + fit_intercept)`` square block is returned and
        the caller solves with all outputs at once. Otherwise the matrix acts on the
        flat (C-order) coefficients and has side ``size``. ``dtype`` (default X's)
        is the precision the blocks are accumulated in: each block of rows is copied
        anyway, so float64 accumulation of float32 data costs only BLAS speed.
        ``rows`` (sorted sample indices) builds the sub-sampled Hessian of those
        samples, their weights times ``row_weights`` (inverse inclusion
        probabilities, see ``sample_rows``) and renormalised: an estimate at a
        fraction of the cost.
        """
        if self.loss.diagonal_curvature:
            return self._gram(curv, dtype, rows, row_weights=row_weights)[0]
        dtype = self.dtype if dtype is None else dtype
        p, k = self.n_features, self.k
        if self.same_probabilities(curv):
            # (diag(p) - p p^T) (x) [X, 1]^T S [X, 1]: one Gram matrix, where the
            # sandwich products cost K^2 of them (100k x 50, K = 10: an exact
            # Hessian for less than a 4,096-row sub-sampled one).
            q = curv[0].astype(np.float64)
            G = self._gram(np.ones(self.n_samples, dtype=self.dtype), dtype, rows,
                           row_weights=row_weights, penalty=False)[0]
            H = np.kron(G, np.diag(q) - np.outer(q, q)).astype(dtype, copy=False)
        else:
            H = np.zeros((self.size, self.size), dtype=dtype)
            self._multinomial_hessian(H, curv, rows,
                                      self._sample_weights(rows, row_weights))
        if self.alpha:
            idx = np.arange(p * k)
            H[idx, idx] += self.alpha
        return H

    def same_probabilities(self, curv):
        """Whether every sample has the same multinomial probabilities ``curv``:
        all coefficients but the intercepts zero (the usual start). The Hessian
        is then a Kronecker product, cheap to form exactly (see ``hessian``)."""
        if self.loss.diagonal_curvature or curv.shape[0] == 0:
            return False
        if curv.ndim == 2 and curv.strides[0] == 0:  # one row repeated, by construction
            return True
        # Away from the start the last row already differs: no pass over curv.
        return bool(np.array_equal(curv[-1], curv[0])) and bool(np.all(curv == curv[0]))

    def _sample_weights(self, rows, row_weights):
        """Weights of the sub-sample ``rows`` (None: all rows), each times its
        ``row_weights`` entry and normalised to sum to one."""
        if rows is None:
            return None
        w = self.sw[rows].astype(np.float64)
        if row_weights is not None:
            w *= row_weights
        total = float(w.sum())
        return w / total if total > 0 else w

    def sample_rows(self, curv, size, rng):
        """A random sub-sample of about ``size`` rows for a sub-sampled Hessian, and
        their ``row_weights`` (inverse inclusion probabilities).

        Rows are drawn in proportion to their share of the Hessian's trace in
        units of the features' RMS, ``s_i c_i ||[x_i, 1] / rms||^2`` (90%), mixed
        with uniform draws (10%, which bounds every weight by ``10 n / size``):
        uniform rows miss the few that carry the curvature (w8a, 3% positives:
        the relative condition number of the full Hessian to a 4,096-row estimate
        at the optimum is 30 with uniform rows, 2.5 with these; a9a 6.2 -> 1.9).
        Each row is kept independently with probability ``q_i`` (Poisson
        sampling), so the weighted estimate is unbiased. Dense X is sampled
        uniformly: the scores cost a pass over X, and on the dense benchmark
        problems they did not improve the estimate (200k x 100 binomial: 1.83
        -> 1.78; 100k x 50 multinomial: one more CG iteration).
        """
        n = self.n_samples
        if not sp.issparse(self.X):
            rows = np.flatnonzero(rng.random_sample(n) < size / n)
            return rows, np.full(rows.shape[0], n / max(size, 1e-300))
        c = curv if curv.ndim == 1 else np.sum(curv * (1 - curv), axis=1)
        score = self.sw.astype(np.float64) * c * self._row_scales()
        total = float(score.sum())
        pi = np.full(n, 1.0 / n) if not total > 0 else 0.9 * score / total + 0.1 / n
        q = np.minimum(1.0, size * pi)
        for _ in range(3):  # rows capped at q = 1 give their share to the others
            free = q < 1.0
            room = size - float(np.sum(~free))
            share = float(np.sum(pi[free]))
            if room <= 0 or share <= 0:
                break
            q[free] = np.minimum(1.0, pi[free] * (room / share))
        rows = np.flatnonzero(rng.random_sample(n) < q)
        return rows, 1.0 / q[rows]

    def sample_row_blocks(self, fraction, rng):
        """About ``fraction`` of the rows, as contiguous blocks for ``hessp``, or
        None (all rows) when that is above two thirds of them or X is sparse.

        Every k-th block (``k = round(1 / fraction)``) from a random offset
        (systematic sampling), blocks
        small enough for the sample to hold at least 16 of them: the products
        read X in place, without gathering rows, and the sample spans the whole
        data, so that rows ordered by class or by time are all represented.
        """
        n = self.n_samples
        step = int(round(1.0 / fraction)) if fraction > 0 else 1
        if step < 2 or not self._fuses():
            return None
        size = max(1, min(_block_rows(self.n_features, _SYRK_BLOCK_ELEMENTS),
                          int(fraction * n) // 16))
        starts = range(int(rng.randint(step)) * size, n, step * size)
        return [slice(start, min(start + size, n)) for start in starts] or None

    def _row_scales(self):
        """``||[x_i, 1] / rms||^2`` for every row, computed once (one pass)."""
        if self._row_scales_cache is None:
            rms = self.feature_rms()
            inv2 = np.where(rms > 0, 1.0 / np.where(rms > 0, rms, 1.0) ** 2, 0.0)
            p = self.n_features
            out = _squared_dot(self.X, inv2[:p])
            if self.fit_intercept:
                out += inv2[p]
            self._row_scales_cache = out
        return self._row_scales_cache

    def class_hessian_blocks(self, curv, rows=None, row_weights=None, dtype=np.float64):
        """The diagonal blocks of the multinomial Hessian, one per class: a list of
        K ``(m, m)`` arrays ``sum_i s_i p_ic (1 - p_ic) [x_i, 1]^T [x_i, 1] + alpha
        I`` (class c's coefficients alone; the coupling between classes left out),
        accumulated in ``dtype``. ``rows`` and ``row_weights`` as in ``hessian``."""
        # In the accumulation's dtype and one array (float32 for the newton-cg
        # preconditioner: half of an (n, K) float64 array, a fifth of X on 100k x
        # 50, K = 10).
        C = np.subtract(1.0, curv, dtype=np.result_type(curv.dtype, dtype))
        C *= curv
        return [self._gram(C[:, c], dtype, rows, row_weights=row_weights)[0]
                for c in range(self.k)]

    def weighted_gram(self, c, dtype=None, rows=None):
        """``sum_i s_i c_i [x_i, 1]^T [x_i, 1] + alpha I`` (no penalty on the
        intercept): the Hessian of a loss with per-sample curvature ``c``, of side
        ``n_features + fit_intercept``. ``rows`` and ``dtype`` as in ``hessian``;
        the stochastic solvers build their preconditioners with it.
        """
        return self._gram(c, dtype, rows)[0]

    def least_squares_statistics(self):
        """``(A, B, c, shift)``, float64: ``A = [X~, 1]^T S [X~, 1] + alpha I`` (no
        penalty on the intercept), ``B = [X~, 1]^T S Y`` and ``c = sum_i s_i
        ||y_i||^2``, with ``S`` the normalised sample weights and ``X~ = X - shift``
        (``shift`` None: ``X~ = X``; see ``_gram_shift``).

        Everything the squared error needs of the data (its sufficient
        statistics): in the coefficients ``C~`` of the shifted columns, ``F = c / 2
        - <C~, B> + <C~, A C~> / 2``. One pass over X, the products with Y riding
        on the blocks of rows that SYRK has in cache.
        """
        Y = np.asarray(self.y, dtype=np.float64)
        pending = self._pending_check is not None
        # Unchecked values may be inf or NaN: no warnings from the products over
        # them, the check below names the problem.
        with np.errstate(over="ignore", invalid="ignore"):
            shift = self._gram_shift()
            if shift is not None:
                self.confirm_values()  # before the shifted copies of X's blocks
            self._sum_of_squares = None
            A, B = self._gram(np.ones(self.n_samples, dtype=self.dtype), np.float64,
                              None, Y, shift)
        if pending:
            self.confirm_values(self._sum_of_squares)
        c = _sum64(np.einsum("ij,ij->i", Y, Y), self.sw)
        return A, B, c, shift

    def _gram_shift(self):
        """Column offsets to take off X before forming its Gram matrix, or None.

        The Gram matrix of columns whose mean is far from zero relative to their
        spread loses digits to cancellation once the intercept is profiled out
        (offsets of 1e4 standard deviations: coefficients off by 5e-7 relative).
        The means of the first block of rows remove most of any offset, and with
        an intercept the model is the same in the shifted columns. A shifted
        copy of each block costs 10-20% over SYRK in place, so only where some
        column's offset exceeds 10 standard deviations (rounding then stays
        below about 1e-13 relative).
        """
        X = self.X
        if not self.fit_intercept or sp.issparse(X) or self.n_samples < 2:
            return None
        head = np.asarray(X[: _block_rows(X.shape[1], _SYRK_BLOCK_ELEMENTS, 1024)],
                          dtype=np.float64)
        mean = head.mean(axis=0)
        if np.all(mean * mean <= 100.0 * head.var(axis=0)):
            return None
        return mean

    def _gram(self, c, dtype, rows, Y=None, shift=None, row_weights=None, penalty=True):
        """``(weighted_gram, [X, 1]^T S diag(c) Y or None)``, X's columns shifted
        by ``shift`` when given (dense X only), without ``alpha I`` unless
        ``penalty``."""
        dtype = self.dtype if dtype is None else dtype
        m, p = self.shape[0], self.n_features
        H = np.zeros((m, m), dtype=dtype)
        B = None if Y is None else np.zeros((m, Y.shape[1]), dtype=dtype)
        sw_rows = self._sample_weights(rows, row_weights)
        if self._sparse_hessian_pays(rows):
            self._sparse_hessian(H, c, rows, sw_rows)
            if Y is not None:  # one more pass over the (sparse) data: cheap
                w = (self.sw * c).astype(np.float64)[:, None] * Y
                B[:p] = np.asarray(self.X.T @ w)
                if self.fit_intercept:
                    B[p] = w.sum(axis=0)
        else:
            self._dense_hessian(H, c, rows, sw_rows, Y, B, shift)
        if self.alpha and penalty:
            idx = np.arange(p)
            H[idx, idx] += self.alpha
        return H, B

    def _dense_hessian(self, H, curv, rows, sw_rows, Y=None, B=None, shift=None):
        """Adds ``[X, 1]^T D [X, 1]`` to ``H``, one SYRK per densified block of
        rows, and ``[X, 1]^T D Y`` to ``B`` when ``Y`` is given; with ``shift``,
        ``X - shift`` in place of X."""
        X, p, m, dtype = self.X, self.n_features, self.shape[0], H.dtype
        n_rows = self.n_samples if rows is None else len(rows)
        blocks = _row_blocks(n_rows, m, _SYRK_BLOCK_ELEMENTS, _SYRK_MIN_ROWS)
        if (rows is None and shift is None and self._uniform_weights
                and curv.ndim == 1 and not np.ptp(curv)
                and not sp.issparse(X) and X.dtype == dtype and X.flags.c_contiguous):
            # Every row has the same weight (no sample weights, and least squares
            # or a Gram matrix for a Kronecker-product Hessian):
            # SYRK reads X's blocks in place and the weight scales the sum once,
            # no scaled copy (1M x 50: the copy cost as much as the SYRK).
            c = float(self.sw[0] * curv[0])
            G = np.zeros((p, p), dtype=dtype)
            col_sums = np.zeros(p, dtype=dtype)
            ones = np.ones(min(n_rows, _block_rows(m, _SYRK_BLOCK_ELEMENTS, _SYRK_MIN_ROWS)),
                           dtype=dtype)
            for block in blocks:
                Xb = X[block]
                G += _syrk(Xb)
                if self.fit_intercept:  # a BLAS product: numpy's column sums are slower
                    col_sums += ones[: Xb.shape[0]] @ Xb
                if Y is not None:
                    B[:p] += Xb.T @ Y[block]
            # X's squares summed: what its deferred value check needs.
            self._sum_of_squares = float(np.trace(G))
            G *= c
            H[:p, :p] += G
            if self.fit_intercept:
                col_sums *= c
                H[p, :p] += col_sums
                H[:p, p] += col_sums
                H[p, p] += c * n_rows
            if Y is not None:
                B[:p] *= c
                if self.fit_intercept:
                    B[p] += c * Y.sum(axis=0)
            return
        # A scaled copy of each block of rows, in one buffer that stays in cache;
        # the intercept's row and column from products with it.
        buf = np.empty((min(n_rows, _block_rows(m, _SYRK_BLOCK_ELEMENTS, _SYRK_MIN_ROWS)),
                        p), dtype=dtype)
        G = np.zeros((p, p), dtype=dtype)
        col = np.zeros(p, dtype=dtype)
        corner = 0.0
        for block in blocks:
            sel = block if rows is None else rows[block]
            sw = self._block_weights(block, rows, sw_rows)
            scale = np.sqrt(sw * curv[sel]).astype(dtype, copy=False)
            Xs = _scaled_rows(X, sel, scale, shift, buf[: scale.shape[0]])
            G += _syrk(Xs)
            if self.fit_intercept:
                col += scale @ Xs
                corner += float(scale @ scale)
            if Y is not None:
                Ys = scale[:, None] * Y[sel]
                B[:p] += Xs.T @ Ys
                if self.fit_intercept:
                    B[p] += scale @ Ys
        H[:p, :p] += G
        if self.fit_intercept:
            H[p, :p] += col
            H[:p, p] += col
            H[p, p] += corner

    def _block_weights(self, block, rows, sw_rows):
        """The weights of the rows in ``block`` (a slice of ``rows``, or of all
        rows when ``rows`` is None): ``sw_rows`` from ``_sample_weights``."""
        return self.sw[block] if rows is None else sw_rows[block]

    def _multinomial_hessian(self, H, curv, rows, sw_rows):
        """Adds the multinomial Hessian (flat C-order coefficients) to ``H``."""
        X, p, m, k, dtype = self.X, self.n_features, self.shape[0], self.k, H.dtype
        n_rows = self.n_samples if rows is None else len(rows)
        # Cache-sized blocks: Q below has the Hessian's side as columns, and at
        # 2^21 entries it was a fifth of X on 100k x 50, K = 10 (the peak of the
        # fit's memory), for no speed (4,096 rows: 14.0 ms, 14.3 ms at 2^18).
        for block in _row_blocks(n_rows, H.shape[0], _SYRK_BLOCK_ELEMENTS, _SYRK_MIN_ROWS):
            sel = block if rows is None else rows[block]
            # A copy of one block of rows, with the intercept's column of ones.
            Xb = _dense_rows(X, sel)
            Xa = np.empty((Xb.shape[0], m), dtype=dtype)
            sw = self._block_weights(block, rows, sw_rows).astype(dtype, copy=False)
            Xa[:, :p] = Xb
            if self.fit_intercept:
                Xa[:, p] = 1
            P = curv[sel].astype(dtype, copy=False)
            # diag(p) - p p^T per sample: block-diagonal part by class, then one
            # rank-(K) correction through a single SYRK on Q = x_i (x) sqrt(s_i) p_i.
            for c in range(k):
                A = Xa * np.sqrt(sw * P[:, c])[:, None]
                H[c::k, c::k] += _syrk(A)
            Q = (Xa[:, :, None] * (np.sqrt(sw)[:, None] * P)[:, None, :]).reshape(
                Xa.shape[0], H.shape[0]
            )
            H -= _syrk(Q)

    def _sparse_hessian_pays(self, rows=None):
        """Whether ``X^T D X`` as a sparse product beats densified SYRK blocks.

        Densifying costs ``n d^2 / 2`` multiply-adds whatever the sparsity; the
        sparse product ``sum_i nnz_i^2``, each dearer (w8a, density 0.04: 0.03 s
        against 0.14 s; MNIST, density 0.19: SYRK wins).
        """
        if not sp.issparse(self.X) or self.X.format != "csr":
            return False
        n_rows = self.n_samples if rows is None else len(rows)
        dense = 0.5 * n_rows * self.shape[0] ** 2
        return _SPARSE_PAIR_COST * _sparse_pairs(self.X, rows) < dense

    def hessian_cost(self):
        """Cost of ``hessian()`` plus its eigenvalues, in SYRK multiply-adds."""
        m = self.shape[0]
        if not self.loss.diagonal_curvature:  # K class blocks plus a side-mK SYRK
            d = m * self.k
            return 0.5 * self.n_samples * (d * d + self.k * m * m) + d**3
        if self._sparse_hessian_pays():
            build = _SPARSE_PAIR_COST * _sparse_pairs(self.X)
        else:
            build = 0.5 * self.n_samples * m * m
        return build + m**3

    def pass_cost(self):
        """Cost of one pass over X (a product with it), in SYRK multiply-adds."""
        nnz = self.X.nnz if sp.issparse(self.X) else self.X.size
        return _PASS_COST * nnz * self.k

    def _sparse_hessian(self, H, curv, rows, sw_rows):
        """Adds ``[X, 1]^T D [X, 1]`` to ``H`` by sparse products over row blocks
        (bounded temporaries: each block's scaled copy)."""
        X, p, dtype = self.X, self.n_features, H.dtype
        n_rows = self.n_samples if rows is None else len(rows)
        per_row = max(1, X.nnz // max(1, self.n_samples))
        for block in _row_blocks(n_rows, per_row):
            sel = block if rows is None else rows[block]
            Xb = X[sel].astype(dtype, copy=False)
            w = (self._block_weights(block, rows, sw_rows) * curv[sel]).astype(dtype,
                                                                                copy=False)
            DX = Xb.copy()  # rows scaled by w, in the same structure
            DX.data *= np.repeat(w, np.diff(Xb.indptr))
            H[:p, :p] += (Xb.T @ DX).toarray()
            if self.fit_intercept:
                col = np.asarray(DX.sum(axis=0)).ravel()
                H[p, :p] += col  # the lower triangle; mirrored below
                H[p, p] += w.sum(dtype=np.float64)
        _mirror_lower(H)  # exactly symmetric: the two triangles summed in other orders

    # -- line search support ----------------------------------------------------------
    def _line_keeps_products(self):
        """Whether a speculative line keeps ``X @ D`` (an (n, k) array) for its
        other trials. Kept while it is at most an eighth of X: otherwise (the
        multinomial loss on few features) it would be the largest thing a fit
        holds, and recomputing it for a rejected trial costs a pass over X that
        is only ``8 k / n_features`` times the line's own O(n k) work."""
        return 8 * self.k <= self.n_features

    def _forget(self, Z):
        """Drop what is cached for the array ``Z`` (a line moved its values)."""
        for name in ("_gradient_cache", "_curvature_cache"):
            cached = getattr(self, name)
            if cached is not None and cached[0] is Z:
                setattr(self, name, None)

    def line(self, coef, Z, D, speculate=None, dZ=None, gradient=True, curvature=True,
             overwrite=False):
        """The objective along ``coef + t D``: one pass over X, then O(n k) per t.

        ``speculate``: a step (1 for Newton directions) whose value, gradient and
        curvature are computed in the same read of (dense) X as ``X @ D``; when the
        line search takes it, its gradient costs no pass over X. ``gradient`` and
        ``curvature`` False: the caller needs neither there (its last step; a
        solver that never uses the curvature), only the value is computed.
        ``overwrite``: the point at the speculated step is formed in ``Z``'s
        memory, which then holds it until the line needs ``Z`` again (another
        trial, ``origin``): the caller gives ``Z`` up to the line and takes the
        point from ``point`` or ``origin``. ``dZ``: ``X @ D_W + D_b`` when the
        caller knows it (newton-cg sums it from its products); then sparse X is
        not read at all (dense X still is, to speculate).
        """
        return _Line(self, coef, Z, D, speculate, dZ, gradient, curvature, overwrite)


class _MultinomialDiagonalWeights:
    """The weights ``s_i p_ic (1 - p_ic)`` of the multinomial Hessian's diagonal,
    formed for the rows asked (``self[rows]``), as ``_squared_t_dot`` reads dense
    X block by block: no (n, K) array (a fifth of X on 100k x 50, K = 10)."""

    def __init__(self, sw, P, dtype):
        self.sw, self.P, self.dtype, self.shape = sw, P, np.dtype(dtype), P.shape

    def __getitem__(self, rows):
        P = self.P[rows]
        return (self.sw[rows, None] * P * (1 - P)).astype(self.dtype, copy=False)

    def sum(self, axis=0):
        blocks = _loss_row_blocks(*self.shape)
        return sum((self[rows].sum(axis=0) for rows in blocks),
                   np.zeros(self.shape[1], dtype=self.dtype))


class _LossBlocks:
    """The ``residual`` of ``_fused_pass`` at a point given block by block:
    ``self(rows, z)`` returns the loss's gradient on those rows times their
    sample weights (None when ``gradient`` is False) and adds their weighted
    loss to ``total``; ``curv``, an (n, k) array or None, receives the
    curvature the multinomial loss computes with its gradient."""

    def __init__(self, objective, curv=None, gradient=True):
        self.obj, self.curv, self.gradient = objective, curv, gradient
        self.total = 0.0

    def __call__(self, rows, z):
        obj, loss = self.obj, self.obj.loss
        if not self.gradient:
            self.total += _sum64(loss.value(obj.y[rows], z), obj.sw[rows])
            return None
        if self.curv is not None:
            values, R, self.curv[rows] = loss.value_gradient_curvature(obj.y[rows], z)
        else:
            values, R = loss.value_gradient(obj.y[rows], z)
        self.total += _sum64(values, obj.sw[rows])
        R *= obj.sw[rows, None]
        return R


class _Line:
    """``phi(t) = F(coef + t D)`` with ``X @ D`` computed once (see
    ``LinearObjective.line``)."""

    def __init__(self, objective, coef, Z, D, speculate=None, dZ=None, gradient=True,
                 curvature=True, overwrite=False):
        self.obj = objective
        self.coef, self.Z, self.D = coef, Z, D
        W, dW = objective._W(coef), objective._W(D)
        self._ww = float(np.vdot(W, W))
        self._wd = float(np.vdot(W, dW))
        self._dd = float(np.vdot(dW, dW))
        self._gradient, self._curvature = gradient, curvature
        self._speculated = None  # (t, value, coef, gradient, curvature) at self._t
        self._Zt = None  # the point at step self._t, once formed
        self._t = 0.0
        self._own = False  # whether self._Zt is Z's memory
        self._consumed = False
        self.dZ = None
        if speculate is not None and objective._fuses():
            # Dense multinomial, 100k x 50, K = 10, where each (n, K) array is a
            # fifth of X: the point at the step is formed in Z's memory (the
            # caller allows it) rather than beside Z and X @ D, and X @ D lives
            # block by block unless it is small (_line_keeps_products): another
            # trial is then one more such pass, which also speculates. Peak
            # extra memory of a fit, with the float32 probabilities
            # (_new_curvature): 0.80 -> 0.47 x X.
            self._own = overwrite and Z.flags.writeable  # not predictor()'s broadcast row
            self._Zt = Z if self._own else np.empty(Z.shape, dtype=objective.dtype)
            self._move(float(speculate))
        elif dZ is not None:
            self.dZ = dZ
        else:
            self.dZ = objective.predictor(D)

    def _move(self, t, evaluate=True):
        """Form the point at step ``t`` in ``self._Zt`` as ``X @ D`` is computed
        block by block (kept when ``_line_keeps_products``), with, in the same
        read of X and when ``evaluate``, the objective, its gradient and
        (multinomial) the probabilities there, exactly as ``point``,
        ``__call__`` and the objective's methods would compute them."""
        if self._consumed:
            raise RuntimeError("this line's point was taken with consume=True")
        obj, loss = self.obj, self.obj.loss
        self._speculated = None  # its (n, k) curvature goes before the new one
        Zt = self._Zt
        if self._own:  # Zt holds the point at self._t: moved from there
            obj._forget(Zt)
            source, step = Zt, t - self._t
        else:
            source, step = self.Z, t
        losses = curv = None
        if evaluate:
            if (self._gradient and self._curvature
                    and hasattr(loss, "value_gradient_curvature")):
                curv = obj._new_curvature(Zt.shape)
            losses = _LossBlocks(obj, curv, self._gradient)

        def residual(rows, dz):
            zt = np.add(source[rows], step * dz, out=Zt[rows])
            return None if losses is None else losses(rows, zt)

        keep = self.dZ is None and obj._line_keeps_products()
        dZ, g = obj._fused_pass(self.D, residual, keep=keep)
        if keep:
            self.dZ = dZ
        self._t = t
        if losses is None:
            return
        coef_t = self.coef + t * self.D
        if self._gradient and obj.alpha:
            g[: obj.n_features] += obj.alpha * obj._W(coef_t)
        self._speculated = (t, losses.total + self._penalty(t), coef_t,
                            g if self._gradient else None, curv)

    def _at_origin(self):
        """Make ``Z`` and ``X @ D`` available for O(n k) trials: ``X @ D`` by a
        pass over X if it was not kept, and ``Z`` from the point formed in its
        memory."""
        if self._consumed:
            raise RuntimeError("this line's point was taken with consume=True")
        if self.dZ is None:
            if self._speculated is not None:  # its (n, k) probabilities go first
                self._speculated = self._speculated[:4] + (None,)
            self.dZ = self.obj.predictor(self.D)
        if self._own and self._Zt is not None and self._t != 0:
            for rows in _loss_row_blocks(*self.Z.shape):
                self.Z[rows] -= self._t * self.dZ[rows]
            self.obj._forget(self.Z)
        self._Zt = None

    def origin(self):
        """The raw prediction at ``coef``: ``Z``, its values restored when a point
        was formed in its memory."""
        if self._own and self._Zt is not None and self._t != 0:
            if self.dZ is None:
                self._move(0.0, evaluate=False)
            else:
                self._at_origin()
        elif self._consumed:
            raise RuntimeError("this line's point was taken with consume=True")
        return self.Z

    def _penalty(self, t):
        return 0.5 * self.obj.alpha * (self._ww + 2 * t * self._wd + t * t * self._dd)

    def __call__(self, t):
        obj = self.obj
        if self._speculated is not None and t == self._speculated[0]:
            return self._speculated[1]
        if self.dZ is None and self._Zt is not None:  # X @ D not kept: speculate again
            self._move(t)
            return self._speculated[1]
        self._at_origin()

        def part(rows):
            values = obj.loss.line_value(obj.y[rows], self.Z[rows], self.dZ[rows], t)
            return _sum64(values, obj.sw[rows])

        return obj.row_blocks.sum(part) + self._penalty(t)

    @property
    def is_quadratic(self):
        return self.obj.loss.constant_hessian

    def minimiser(self):
        """Exact minimiser along the line for a quadratic objective (O(n k))."""
        obj = self.obj
        self._at_origin()
        dZ = self.dZ
        curvature = float(obj.sw @ np.einsum("ij,ij->i", dZ, dZ)) + obj.alpha * self._dd
        slope = float(obj.sw @ np.einsum("ij,ij->i", obj.loss.gradient(obj.y, self.Z), dZ))
        slope += obj.alpha * self._wd
        return -slope / curvature if curvature > 0 else 1.0

    def point(self, t, consume=False):
        """Coefficients and raw prediction at step ``t`` (no pass over X unless
        ``X @ D`` was not kept). ``consume``: the raw prediction is the point
        formed in Z's memory, or is formed in the memory of ``X @ D``, where it
        can be, and the line cannot be used afterwards (the Newton loop's last
        call: no new (n, K) array)."""
        if self._consumed:
            raise RuntimeError("this line's point was taken with consume=True")
        if self._Zt is not None and self._t == t:
            Zt = self._Zt
        elif self.dZ is None and self._Zt is not None:
            self._move(t)
            Zt = self._Zt
        else:
            self._at_origin()
            if consume and self.dZ.flags.writeable:  # not predictor()'s broadcast row
                Zt = np.multiply(self.dZ, t, out=self.dZ)
                Zt += self.Z  # Z + t dZ, as below (and as the speculative pass formed it)
            else:
                Zt = self.Z + t * self.dZ
        if consume:
            self.dZ = self._Zt = None
            self._consumed = True
        if self._speculated is not None and t == self._speculated[0]:
            _, _, coef_t, g, curv = self._speculated
            if g is not None:
                self.obj._gradient_cache = (Zt, g)
            if curv is not None:
                self.obj._curvature_cache = (Zt, curv)
            return coef_t, Zt
        return self.coef + t * self.D, Zt


class GramObjective:
    """The least-squares objective in coefficient space, from its sufficient
    statistics (``LinearObjective.least_squares_statistics``).

    With ``A`` the Hessian, ``B = [X, 1]^T S Y`` and ``c = sum_i s_i ||y_i||^2``,
    ``F(C) = c / 2 - <C, B> + <C, A C> / 2`` (the penalty is in ``A``) and ``g(C) =
    A C - B``: once ``A`` is formed (the one Hessian the Newton solver builds for
    least squares anyway), nothing needs X again. Every method of
    ``LinearObjective`` that the Newton loop calls costs O(size^2 k) here instead
    of a pass over X: the gradient that certifies the step, the line search, the
    feature scales of the stopping test (``A``'s diagonal).

    When the statistics are those of shifted columns ``X - m`` (badly centred
    data, see ``LinearObjective._gram_shift``), the coefficients ``C`` stay those
    of X and are mapped to the shifted ones, ``C~ = M C`` (the intercepts gain
    ``m . W``); values and gradients (``M^T`` of the shifted one) are computed
    from the well-conditioned shifted statistics, and ``hessian`` is ``M^T A M``
    (the Newton solver solves with ``A`` itself, ``shift`` telling it how).

    The "raw prediction" ``Z`` of the loop is ``A C~``. Rounding: ``A C~ - B``
    loses about ``eps |X~|^T |X~| |C~|`` to cancellation near the optimum, what
    computing the residuals ``X C - y`` and then ``X^T`` of them loses too.
    """

    def __init__(self, objective):
        self.base = objective
        for name in ("loss", "dtype", "n_samples", "n_features", "k", "shape", "size",
                     "alpha", "fit_intercept", "class_symmetric"):
            setattr(self, name, getattr(objective, name))
        self.A, self.B, self.c, self.shift = objective.least_squares_statistics()
        self._known_value = None  # (Z, F) of the last point a line search chose

    def zeros(self):
        return self.base.zeros()

    def close(self):
        self.base.close()

    def _shifted(self, C):
        """``M C``: the coefficients of the shifted columns, float64."""
        C = C.astype(np.float64)  # a copy
        if self.shift is not None:
            C[-1] += self.shift @ C[: self.n_features]
        return C

    def _unshifted_gradient(self, G):
        """``M^T G``: a gradient in the shifted coefficients, in X's."""
        if self.shift is not None:
            G[: self.n_features] += self.shift[:, None] * G[-1]
        return G

    def predictor(self, coef):
        return self.A @ self._shifted(coef)

    def value(self, coef, Z):
        known = self._known_value
        if known is not None and known[0] is Z:  # the line search's exact value
            return known[1]
        C = self._shifted(coef)
        # The penalty is inside <C, A C> (A holds alpha on its diagonal).
        return 0.5 * self.c - float(np.vdot(C, self.B)) + 0.5 * float(np.vdot(C, Z))

    def gradient(self, coef, Z):
        return self._unshifted_gradient(Z - self.B).astype(self.dtype, copy=False)

    def value_gradient(self, coef, Z):
        return self.value(coef, Z), self.gradient(coef, Z)

    def curvature(self, coef, Z, exact=False):
        return None  # the Hessian is A whatever the point

    def drop_curvature(self):
        pass

    def hessian(self, curv=None, dtype=None, rows=None, row_weights=None):
        if rows is not None:  # pragma: no cover - the Newton solver never asks
            raise ValueError("GramObjective holds the full Hessian only")
        H = self.A.copy()
        if self.shift is not None:
            # M^T A M, with M = I + e_b [m, 0]^T.
            u = np.zeros(H.shape[0])
            u[: self.n_features] = self.shift
            a = self.A[:, -1]
            H += np.outer(a, u) + np.outer(u, a) + self.A[-1, -1] * np.outer(u, u)
        return H

    def hessp(self, curv, V):
        G = self.A @ self._shifted(V)
        return self._unshifted_gradient(G).astype(self.dtype, copy=False)

    def hessian_diag(self, curv=None):
        d = np.diag(self.hessian())[:, None]
        return np.repeat(d, self.k, axis=1).astype(self.dtype, copy=False)

    def feature_rms(self):
        """``sqrt(sum_i s_i x_ij^2)``, from ``A``: ``sum_i s_i x~_ij^2`` is
        ``A_jj - alpha``, and with a shift ``m``, ``x = x~ + m``."""
        A, p = self.A, self.n_features
        ms = np.diag(A).copy()
        ms[:p] -= self.alpha
        if self.shift is not None:
            m = self.shift
            ms[:p] += 2 * m * A[-1, :p] + m * m * A[-1, -1]
        return np.sqrt(np.maximum(ms, 0.0))

    def line(self, coef, Z, D, speculate=None, dZ=None, gradient=True, curvature=True,
             overwrite=False):
        return _QuadraticLine(self, coef, Z, D)


class _QuadraticLine:
    """``phi(t) = F(C + t D) = F(C) + t g.D + t^2 / 2 D.A.D`` exactly, O(1) per trial:
    the value is its change from ``F(C)``, so rounding is relative to the
    decrease and not to ``c``."""

    is_quadratic = True

    def __init__(self, objective, coef, Z, D):
        self._objective = objective
        self.coef, self.Z, self.D = coef, Z, D
        D_shifted = objective._shifted(D)
        self.dZ = objective.A @ D_shifted
        self._f = objective.value(coef, Z)
        self._slope = float(np.vdot(Z - objective.B, D_shifted))
        self._curv = float(np.vdot(D_shifted, self.dZ))

    def __call__(self, t):
        return self._f + t * self._slope + 0.5 * t * t * self._curv

    def minimiser(self):
        return -self._slope / self._curv if self._curv > 0 else 1.0

    def origin(self):
        return self.Z

    def point(self, t, consume=False):
        Z = self.Z + t * self.dZ
        self._objective._known_value = (Z, self(t))
        return self.coef + t * self.D, Z


_LOSSES = {
    "squared_error": HalfSquaredError,
    "binomial": BinomialLoss,
    "multinomial": MultinomialLoss,
}


def make_objective(loss_name, X, y, sample_weight, alpha, fit_intercept, n_outputs,
                   n_jobs=None, check_values=None):
    """Build the objective for an encoded target.

    ``loss_name`` is ``"squared_error"`` (``y`` of shape (n, n_outputs) floats),
    ``"binomial"`` (``y`` in {0, 1}, ``n_outputs=1``) or ``"multinomial"`` (``y``
    integer class indices, ``n_outputs`` classes). ``n_jobs`` > 1 evaluates
    line-search trials on that many threads. ``check_values``: X's deferred
    value check (see ``LinearObjective``).
    """
    return LinearObjective(
        _LOSSES[loss_name](), X, y, sample_weight, alpha, fit_intercept, n_outputs,
        n_jobs=n_jobs, check_values=check_values,
    )
