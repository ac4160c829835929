"""Stochastic solvers: ``"sgd"`` (one sample per step) and ``"minibatch"``.

Both take steps preconditioned by a sub-sampled Hessian ``P ~ H^{-1}``, so a step
size of about 1 is right whatever the units of the features: the same
``_NewtonSystem`` as the Newton solver (intercepts eliminated, Jacobi scaling,
spectral floor) when the Hessian is small, its diagonal otherwise.

``fit`` (``StochasticSolver.solve``) is variance-reduced (SVRG with a Newton
preconditioner, as in "stochastic variance-reduced Newton", Derezinski et al.
2022). Each epoch starts at an *anchor* ``W~``, where one pass gives the exact
objective, its gradient ``g~`` and every sample's residual ``r_i(W~)``; the steps
of the epoch then use ``P (g~ + x_i (r_i(W) - r_i(W~)) + alpha (W - W~))``, an
unbiased gradient estimate whose variance vanishes as ``W`` and ``W~`` approach
the optimum. So a constant step converges linearly (no decaying schedule is
needed) and the anchor gives the exact gradient for the same stopping test as the
other solvers. The default step is ``1 / max_i lev_i`` (``"sgd"``) and
``min(1, batch_size / max_i lev_i)`` (``"minibatch"``), where ``lev_i = c_i x_i^T P
x_i`` is sample i's curvature in the metric of ``P`` (a leverage score; they sum
to about the number of coefficients): the largest step for which no single sample
overshoots. An epoch that increases the objective is undone and the step halved.

``partial_fit`` (``StochasticSolver.partial_epoch``) sees one chunk at a time and
cannot anchor, so it is plain preconditioned SGD whose step decays as
``eta0 / (1 + eta0 t)`` with ``t`` the number of samples seen: the ``1 / (mu t)``
schedule of strongly convex SGD, with ``mu = 1`` in the metric of ``P``.

Cost of an epoch: two passes over X for the anchor, the Hessian of a sub-sample
(``max(50 d, 2000)`` rows), and the steps: O(nnz(X) k) with a diagonal
preconditioner, O(n d k) plus ``X P`` by BLAS with a full one (``"sgd"``) or
O(n d k / batch_size) more (``"minibatch"``).
"""

import numpy as np
import scipy.sparse as sp

from .._losses import BinomialLoss, MultinomialLoss
from .._objective import _squared_t_dot
from .._spectral import center_classes
from ._base import Solver, SolverResult, floored_diagonal
from ._sgd_fast import sgd_chunk
from .newton import _NewtonSystem, default_max_condition

# Codes of the compiled loop (_sgd_fast.pyx).
_SQUARED, _BINOMIAL, _MULTINOMIAL = 0, 1, 2
_CONSTANT, _INVERSE, _INVSCALING = 0, 1, 2

# Samples handed to the compiled loop at a time: the preconditioned rows and the
# gathered copy of X are this many rows, never the whole of X.
_CHUNK = 1024


def _loss_code(objective):
    if isinstance(objective.loss, MultinomialLoss):
        return _MULTINOMIAL
    if isinstance(objective.loss, BinomialLoss):
        return _BINOMIAL
    return _SQUARED


def _augmented(objective, Xc):
    """``[X_c, 1]`` as a dense float64 array (a chunk of rows, never all of X)."""
    A = Xc.toarray() if sp.issparse(Xc) else np.asarray(Xc)
    A = A.astype(np.float64, copy=False)
    if objective.fit_intercept:
        A = np.hstack([A, np.ones((A.shape[0], 1))])
    return A


def _xdot(objective, Xc, V):
    """``[X_c, 1] @ V`` for a chunk of rows; V of the coefficients' shape."""
    p = objective.n_features
    out = np.asarray(Xc @ V[:p])
    if objective.fit_intercept:
        out = out + V[p]
    return out


def _xtdot(objective, Xc, R):
    """``[X_c, 1]^T @ R``."""
    p = objective.n_features
    out = np.empty((objective.shape[0], R.shape[1]), dtype=np.float64)
    out[:p] = np.asarray(Xc.T @ R)
    if objective.fit_intercept:
        out[p] = R.sum(axis=0)
    return out


class _Preconditioner:
    """``P``, an approximate inverse Hessian at the raw prediction ``Z``.

    For the multinomial loss, whose Hessian has ``(d K)^2`` entries, one block
    per class: the Hessian of class c's coefficients alone, built with the
    curvatures ``p_c (1 - p_c)`` (the cross-class blocks are left out). Full
    when ``full`` (from the rows ``rows``, a sub-sample), otherwise the diagonal
    (from all rows, one pass).
    """

    def __init__(self, objective, Z, rows, full, max_condition):
        curv = objective.curvature(None, Z)
        self.per_output = not objective.loss.diagonal_curvature
        if self.per_output:
            C = curv.astype(np.float64) * (1 - curv)
        else:
            C = np.asarray(curv, dtype=np.float64)[:, None]
        self.C = C  # (n, 1) or (n, K): per-sample curvature of each block
        self.full = full
        self.objective = objective
        p, dtype = objective.n_features, objective.dtype
        corrected = []
        if full:
            max_condition = max_condition or default_max_condition(dtype)
            # P itself (d x d, d <= 512): then P G and the rows X P are plain
            # BLAS products.
            self._P = []
            eye = np.eye(objective.shape[0])
            for c in range(C.shape[1]):
                H = objective.weighted_gram(C[:, c], np.float64, rows)
                system = _NewtonSystem(H, int(objective.fit_intercept), max_condition, 0.0)
                P = system.solve(eye)
                self._P.append(0.5 * (P + P.T))
                if system.corrected:
                    corrected.append(system.corrected)
            self.dinv = np.zeros((0, 0), dtype=dtype)
        else:
            sw = objective.sw.astype(np.float64)[:, None]
            diag = np.empty((objective.shape[0], C.shape[1]))
            diag[:p] = _squared_t_dot(objective.X, sw * C) + objective.alpha
            if objective.fit_intercept:
                diag[p] = (sw * C).sum(axis=0)
            self.dinv = np.ascontiguousarray(1.0 / floored_diagonal(diag), dtype=dtype)
        self.corrected = "; ".join(corrected)

    def apply(self, G):
        """``P G``, output by output, for ``G`` of the coefficients' shape."""
        G = np.asarray(G, dtype=np.float64)
        if not self.full:
            return self.dinv * G
        if not self.per_output:
            return self._P[0] @ G
        return np.column_stack([P @ G[:, c] for c, P in enumerate(self._P)])

    def rows(self, A):
        """``P_c [x_i, 1]`` for the rows of ``A = [X_c, 1]`` (full only): shape
        ``(m, d)``, or ``(m, d K)`` ordered ``j K + c`` for one block per class."""
        U = [A @ P for P in self._P]
        if not self.per_output:
            return U[0]
        return np.stack(U, axis=2).reshape(A.shape[0], -1)

    def leverage(self, rows):
        """``max_c C_ic x_i^T P_c x_i`` for the given rows: sample i's largest
        curvature in the metric of P."""
        objective = self.objective
        Xc = objective.X[rows]
        if self.full:
            A = _augmented(objective, Xc)
            quad = np.column_stack([np.einsum("ij,ij->i", A @ P, A) for P in self._P])
        else:
            p = objective.n_features
            d = self.dinv.astype(np.float64)
            quad = _row_squares_dot(Xc, d[:p])
            if objective.fit_intercept:
                quad = quad + d[p]
        return np.max(quad * self.C[rows], axis=1)


def _row_squares_dot(Xc, d):
    """``(X_c * X_c) @ d`` for a chunk of rows; ``d`` of shape (p, r)."""
    if sp.issparse(Xc):
        Xc = Xc.tocsr()
        return np.asarray(Xc.multiply(Xc) @ d)
    Xc = np.asarray(Xc, dtype=np.float64)
    return (Xc * Xc) @ d


class StochasticSolver(Solver):
    """``"sgd"`` (``batch_size = 1``, compiled loop) or ``"minibatch"``.

    ``max_iter`` counts epochs. See the module docstring for the method.
    """

    name = "sgd"

    def __init__(self, tol=1e-8, max_iter=100, verbose=0, random_state=None,
                 batch_size="auto", learning_rate="auto", eta0="auto", power_t=0.5,
                 average=False, shuffle=True, n_iter_no_change=5,
                 max_condition=None, validation=None):
        super().__init__(tol=tol, max_iter=max_iter, verbose=verbose,
                         random_state=random_state)
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.average = average
        self.shuffle = shuffle
        self.n_iter_no_change = n_iter_no_change
        self.max_condition = max_condition
        # (rows, weights) of held-out samples for early stopping; their weights
        # in the objective are zero.
        self.validation = validation

    # -- configuration -----------------------------------------------------------
    def _rng(self):
        seed = 0 if self.random_state is None else self.random_state
        if isinstance(seed, np.random.RandomState):
            return seed
        return np.random.RandomState(seed)

    def _batch(self, n_active):
        return 1

    def _use_full(self, objective):
        # A full preconditioner makes each step cost O(d k) (u_i = P x_i is
        # dense) instead of O(nnz(x_i) k), plus O(d^2) per sample to form P x_i:
        # worth it for few coefficients and rows that are not much sparser.
        d = objective.shape[0]
        X = objective.X
        nnz_row = X.nnz / max(X.shape[0], 1) if sp.issparse(X) else X.shape[1]
        return d <= 256 and d <= 4 * (nnz_row + 1)

    def _hessian_rows(self, objective, active, rng):
        m = max(50 * objective.shape[0], 2000)
        if m >= len(active):
            return active
        return np.sort(rng.choice(active, m, replace=False))

    def _precondition(self, objective, Z, active, omega, batch, rng):
        """The preconditioner at ``Z`` and the automatic step size under it."""
        rows = self._hessian_rows(objective, active, rng)
        pre = _Preconditioner(objective, Z, rows, self._use_full(objective),
                              self.max_condition)
        lev_max = float(np.max(pre.leverage(rows) * omega[rows]))
        if batch == 1:
            eta = 1.0 / max(lev_max, 1.0)
        else:
            eta = min(1.0, batch / max(lev_max, np.finfo(np.float64).tiny))
        return pre, eta

    # -- fit ---------------------------------------------------------------------
    def solve(self, objective, coef0):
        rng = self._rng()
        sw = objective.sw
        active = np.flatnonzero(sw > 0)
        n_active = len(active)
        # Weights relative to their mean over the samples stepped on.
        omega = sw.astype(np.float64) * n_active
        batch = self._batch(n_active)
        code = _loss_code(objective)
        auto = self.learning_rate == "auto"
        W = np.array(coef0, dtype=objective.dtype, order="C", copy=True)
        state = _AverageState(W, self.average)
        best_W, f_best, g_best, eta_scale = None, np.inf, np.inf, 1.0
        curve, converged, message = [], False, ""
        no_improvement, best_monitor = 0, np.inf
        adaptive_eta = None
        epoch = 0
        eps = float(np.finfo(objective.dtype).eps)
        tol = None
        while True:
            Z = objective.predictor(W)
            f, g = objective.value_gradient(W, Z)
            if not np.isfinite(f):
                raise _diverged(self, epoch)
            g_norm1 = float(np.abs(g).sum())
            if auto and epoch and not (
                f < f_best or (f <= f_best + 100 * eps * abs(f_best) and g_norm1 < g_best)
            ):
                # The epoch made things worse: undo it and halve the step.
                self._log(f"epoch {epoch:3d}  objective {f:.6e} > {f_best:.6e}: "
                          "undone, step halved")
                W, Z, f, g, g_norm1 = best_W.copy(), Zb, f_best, gb, g_best
                eta_scale *= 0.5
                state.reset(W)
            else:
                best_W, Zb, f_best, gb, g_best = W.copy(), Z, f, g, g_norm1
            curve.append(f)
            g_max = float(np.max(np.abs(g)))
            if tol is None:
                # As in NewtonLoop: the gradient is only known to about eps times
                # its starting size.
                tol = self.effective_tol = max(self.tol, 10 * eps * g_max)
            if epoch:
                self._log(f"epoch {epoch:3d}  objective {f:.12e}  max|grad| {g_max:.3e}")
            if g_max <= tol:
                converged = True
                break
            monitor = f if self.validation is None else self._validation_loss(objective, Z)
            if epoch == 0 or monitor < best_monitor - tol * abs(best_monitor):
                best_monitor, no_improvement = monitor, 0
            elif epoch:
                no_improvement += 1
                if no_improvement >= self.n_iter_no_change:
                    if self.learning_rate == "adaptive" and adaptive_eta > 1e-6:
                        adaptive_eta /= 5
                        no_improvement = 0
                    else:
                        # As scikit-learn's SGD: a converged objective (or
                        # validation loss), not a failure.
                        converged = True
                        message = (f"no improvement of the "
                                   f"{'validation loss' if self.validation else 'objective'}"
                                   f" in {self.n_iter_no_change} epochs")
                        break
            if epoch >= self.max_iter:
                break
            epoch += 1
            R_anchor = objective.loss.gradient(objective.y, Z).astype(objective.dtype)
            pre, eta_auto = self._precondition(objective, Z, active, omega, batch, rng)
            eta0 = eta_auto if self.eta0 == "auto" else float(self.eta0)
            if self.learning_rate == "adaptive":
                adaptive_eta = eta0 if adaptive_eta is None else adaptive_eta
                eta0 = adaptive_eta
            eta0 *= eta_scale
            g_loss = g.astype(np.float64)
            g_loss[: objective.n_features] -= objective.alpha * W[: objective.n_features]
            order = rng.permutation(active) if self.shuffle else active
            bad = self._epoch(objective, W, state, order, omega, code, pre, eta0,
                              R_anchor, g_loss, best_W)
            if bad:
                if not auto:
                    raise _diverged(self, epoch)
                W = best_W.copy()
                eta_scale *= 0.5
                state.reset(W)
        W = state.result(W)
        if objective.class_symmetric:
            center_classes(W, objective.k)
        return SolverResult(coef=W, n_iter=max(epoch, 1), converged=converged,
                            loss_curve=curve[1:] or curve, message=message)

    def _validation_loss(self, objective, Z):
        rows, weights = self.validation
        values = objective.loss.value(objective.y[rows], Z[rows])
        return float(np.dot(weights, values) / weights.sum())

    # -- partial_fit -------------------------------------------------------------
    def partial_epoch(self, objective, W, state):
        """One pass over the chunk bound to ``objective``, without anchors.

        ``state`` (a dict, kept by the estimator between calls) holds the step
        counter ``t``, the averaged iterate and the step size. Returns the new W.
        """
        rng = state.setdefault("rng", self._rng())
        active = np.flatnonzero(objective.sw > 0)
        # Weights relative to the mean weight of all the samples seen so far.
        omega = objective.sw.astype(np.float64) * state["omega_scale"]
        batch = self._batch(len(active))
        W = np.array(W, dtype=objective.dtype, order="C", copy=True)
        Z = objective.predictor(W)
        pre, eta_auto = self._precondition(objective, Z, active, omega, batch, rng)
        # The automatic step is fixed on the first chunk; the schedule decays it.
        eta_auto = state.setdefault("eta_auto", eta_auto)
        eta0 = eta_auto if self.eta0 == "auto" else float(self.eta0)
        avg = state.setdefault("average", _AverageState(W, self.average))
        order = rng.permutation(active) if self.shuffle else active
        bad = self._epoch(objective, W, avg, order, omega, _loss_code(objective), pre,
                          eta0, None, None, None, state=state)
        if bad:
            raise _diverged(self, None)
        return W

    # -- the steps ---------------------------------------------------------------
    def _schedule(self, state):
        """(code, eta0, decay) of the compiled loop's step-size schedule."""
        if self.learning_rate == "invscaling":
            return _INVSCALING
        if self.learning_rate == "auto" and state is not None:
            return _INVERSE
        return _CONSTANT

    def _epoch(self, objective, W, avg, order, omega, code, pre, eta0, R_anchor,
               g_loss, W_anchor, state=None):
        """The steps of one epoch, in place on W; True if the iterate diverged."""
        X = objective.X
        p, k = objective.n_features, objective.k
        dtype = objective.dtype
        sparse = sp.issparse(X)
        alpha = objective.alpha
        schedule = self._schedule(state)
        t = 0 if state is None else state.setdefault("t", 0)
        has_anchor = R_anchor is not None
        y = objective.y
        Y_all = y.reshape(len(y), -1)
        buf = np.empty(3 * k)
        empty2 = np.zeros((0, 0), dtype=dtype)
        empty1 = np.zeros(0, dtype=dtype)
        empty_idx = np.zeros(0, dtype=np.intp)
        for start in range(0, len(order), _CHUNK):
            rows = order[start:start + _CHUNK]
            Xc = X[rows]
            if sparse:
                Xc = Xc.tocsr()
            # Every step adds -eta V: the anchor's gradient and the penalty at the
            # chunk's start, preconditioned (the penalty drifts little in a chunk).
            G = np.zeros(objective.shape)
            if has_anchor:
                G += g_loss
            G[:p] += alpha * W[:p]
            V = np.ascontiguousarray(pre.apply(G), dtype=dtype)
            ZV = _xdot(objective, Xc, V)
            U = empty2
            if pre.full:
                U = np.ascontiguousarray(pre.rows(_augmented(objective, Xc)), dtype=dtype)
            R = R_anchor[rows] if has_anchor else empty2
            t, avg.n, bad = sgd_chunk(
                code, sparse,
                empty2 if sparse else np.ascontiguousarray(Xc, dtype=dtype),
                Xc.data.astype(dtype, copy=False) if sparse else empty1,
                Xc.indices.astype(np.intp) if sparse else empty_idx,
                Xc.indptr.astype(np.intp) if sparse else empty_idx,
                np.ascontiguousarray(Y_all[rows], dtype=np.float64),
                np.ascontiguousarray(omega[rows]),
                np.ascontiguousarray(R, dtype=dtype),
                has_anchor,
                U, pre.full, pre.dinv if not pre.full else empty2,
                pre.per_output,
                V, np.ascontiguousarray(ZV, dtype=dtype),
                W, avg.W, avg.on, avg.n,
                schedule, eta0, eta0, float(self.power_t), t,
                objective.fit_intercept, buf,
            )
            if bad >= 0 or not np.all(np.isfinite(W)):
                return True
        if state is not None:
            state["t"] = t
        return False


class MinibatchSolver(StochasticSolver):
    """``"minibatch"``: the same method on batches of rows, vectorised with BLAS."""

    name = "minibatch"

    def _batch(self, n_active):
        if self.batch_size == "auto":
            # At least 32 steps per epoch, so that small data sets still take
            # many steps; 256 rows make each step a BLAS-3 product.
            return int(min(256, max(1, n_active // 32)))
        return int(min(self.batch_size, max(n_active, 1)))

    def _use_full(self, objective):
        # P G costs O(d^2 k) per batch of b rows, against O(b nnz k) for the
        # batch gradient itself.
        return objective.shape[0] <= 512

    def _epoch(self, objective, W, avg, order, omega, code, pre, eta0, R_anchor,
               g_loss, W_anchor, state=None):
        X = objective.X
        p = objective.n_features
        alpha = objective.alpha
        loss, y = objective.loss, objective.y
        batch = self._batch(len(order))
        has_anchor = R_anchor is not None
        t = 0 if state is None else state.setdefault("t", 0)
        for start in range(0, len(order), batch):
            rows = order[start:start + batch]
            Xb = X[rows]
            Zb = _xdot(objective, Xb, W)
            if not np.all(np.isfinite(Zb)):
                return True
            R = loss.gradient(y[rows], Zb).astype(np.float64)
            if not np.all(np.isfinite(R)):
                return True
            if has_anchor:
                R -= R_anchor[rows]
            R *= omega[rows][:, None] / len(rows)
            G = _xtdot(objective, Xb, R)
            if has_anchor:
                G += g_loss
            G[:p] += alpha * W[:p]
            eta = self._eta(eta0, t, len(rows), state)
            W -= (eta * pre.apply(G)).astype(W.dtype)
            t += len(rows)
            avg.update(W)
        if state is not None:
            state["t"] = t
        return not np.all(np.isfinite(W))

    def _eta(self, eta0, t, b, state):
        if self.learning_rate == "invscaling":
            return eta0 / (1.0 + t / b) ** self.power_t
        if self.learning_rate == "auto" and state is not None:
            return eta0 / (1.0 + eta0 * t / b)
        return eta0


class _AverageState:
    """Polyak-Ruppert average of the iterates (when ``average``)."""

    def __init__(self, W, average):
        self.on = bool(average)
        self.W = np.array(W, copy=True) if self.on else np.zeros((0, 0), W.dtype)
        self.n = 0

    def reset(self, W):
        if self.on:
            self.W[...] = W
            self.n = 0

    def update(self, W):
        if self.on:
            self.n += 1
            self.W += (W - self.W) / self.n

    def result(self, W):
        return self.W.copy() if self.on and self.n else W


def _diverged(solver, epoch):
    where = "" if epoch is None else f" in epoch {epoch}"
    return ValueError(
        f"The {solver.name!r} solver diverged{where}: the predictions or the "
        "coefficients became infinite or NaN. Use learning_rate='auto' (steps "
        "scaled by the Hessian), or a smaller eta0, or scale the features (e.g. "
        "with StandardScaler). The estimator keeps its previous state."
    )
