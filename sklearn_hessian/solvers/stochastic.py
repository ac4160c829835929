"""Stochastic solvers: ``"sgd"`` (one sample per step) and ``"minibatch"``.

Both take steps preconditioned by a sub-sampled Hessian ``P ~ H^{-1}``, so a step
size of about 1 is right whatever the units of the features: the same
``_NewtonSystem`` as the Newton solver (intercepts eliminated, Jacobi scaling,
spectral floor) when the Hessian is small and the rows are not much sparser than
it, its diagonal otherwise.

``fit`` (``StochasticSolver.solve``) is variance-reduced with a memory, as SAGA
(Defazio et al. 2014) with a Newton preconditioner: for a linear model the memory
is one residual per sample and output, ``R_i = r_i(W_i)`` where sample i was last
stepped on, and their weighted gradient ``G = sum_i s_i x_i R_i``, both kept up
to date step by step. The steps use ``P (G + x_i (r_i(W) - R_i) + alpha W)``, an
unbiased gradient estimate whose variance vanishes as the iterates approach the
optimum, so a constant step converges linearly to the optimum itself, with one
pass over X per epoch (an SVRG anchor would need a second). The first epoch,
with no memory yet, is plain preconditioned SGD with the decaying step of
``partial_fit``; an exact pass after it (the objective, its gradient and every
residual at one point) anchors the memory. The default step is ``1 / max_i
lev_i`` (``"sgd"``) and ``min(1, batch_size / max_i lev_i)`` (``"minibatch"``),
where ``lev_i = c_i x_i^T P x_i`` is sample i's curvature in the metric of ``P``
(a leverage score; they sum to about the number of coefficients): the largest
step for which no single sample overshoots.

Each epoch's pass also measures the exact objective at the point the epoch
started from, from the rows it reads anyway: at the end of epoch e the objective
after epoch e - 1 is known exactly. An epoch found to have increased it is
undone (with the one after it) and the step halved; the ``n_iter_no_change``
test runs on these values. The memory gives the epoch's mean gradient for free,
a mean over the epoch's iterates: when it says the stopping test may pass, an
exact pass decides.

``partial_fit`` (``StochasticSolver.partial_epoch``) sees one chunk at a time and
keeps no memory, so it is plain preconditioned SGD whose step decays as
``eta0 / (1 + eta0 t)`` with ``t`` the number of samples seen: the ``1 / (mu t)``
schedule of strongly convex SGD, with ``mu = 1`` in the metric of ``P``.

Cost of an epoch: one pass over X, O(nnz(X) k) with a diagonal preconditioner,
O(n d k) plus ``X P`` by BLAS with a full one (``"sgd"``) or O(n d^2 k /
batch_size) more (``"minibatch"``); the preconditioner is built at the start
(from the features' mean squares, for a diagonal one at ``W = 0``) and rebuilt
at epochs 4, 16, 64... in the first half of ``max_iter`` (a diagonal one: two
passes over X; a full one: the Hessian of ``max(50 d, 2000)`` rows), every
epoch when that costs little.
"""

import numpy as np
import scipy.sparse as sp

from .._losses import BinomialLoss, MultinomialLoss
from .._spectral import center_classes, deflate_class_symmetry
from .._objective import _squared_t_dot, _weighted_squares
from ._base import Solver, SolverResult, floored_diagonal, gradient_weights
from .newton import _NewtonSystem, default_max_condition

# Codes of the compiled loop (_sgd_fast.pyx).
_SQUARED, _BINOMIAL, _MULTINOMIAL = 0, 1, 2
_CONSTANT, _INVERSE, _INVSCALING = 0, 1, 2

# Samples handed to the compiled loop at a time: the preconditioned rows and the
# gathered copy of X are this many rows, never the whole of X.
_CHUNK = 1024


def _compiled():
    """The compiled loops, imported on first use: the other solvers work from a
    source tree that was never built (``python -m sklearn_hessian`` run at the
    root of a clone imports it rather than the installed package)."""
    try:
        from . import _sgd_fast
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            "The stochastic solvers need the compiled module "
            "sklearn_hessian.solvers._sgd_fast, which this copy of sklearn_hessian "
            f"({__file__}) lacks: it is a source tree that was not built. Build it "
            "in place with `pip install -e .`, or run Python from another "
            "directory so that the installed package is imported."
        ) from exc
    return _sgd_fast


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


class _Preconditioner:
    """``P``, an approximate inverse Hessian at the raw prediction ``Z``.

    ``curvature`` (the Hessian blocks, or diagonal, that another instance
    measured: its ``curvature`` attribute) replaces the one measured here when
    given; ``curvature`` is always this instance's own measurement.

    For the multinomial loss, whose Hessian has ``(d K)^2`` entries, one block
    per class: the Hessian of class c's coefficients alone, built with the
    curvatures ``p_c (1 - p_c)`` (the cross-class blocks are left out). Full
    when ``full`` (from the rows ``rows``, a sub-sample), otherwise the diagonal
    (from all rows, one pass).
    """

    def __init__(self, objective, curv, rows, full, max_condition, curvature=None,
                 joint=False, rms2=None):
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
        self.joint = joint and full and self.per_output
        if self.joint:
            # The whole multinomial Hessian, classes coupled (the blocks below
            # leave out -p_c p_c' x x^T, which near separability is most of it).
            size = objective.size
            self.curvature = objective.hessian(curv, np.float64, rows)[None]
            H = self.curvature[0] if curvature is None else curvature[0]
            # Along the class-symmetry directions the loss is flat (the penalty
            # alone curves the coefficients' ones): deflated, as in "newton", so
            # that P does not blow steps up along them.
            H = deflate_class_symmetry(H.copy(), objective.k)
            system = _NewtonSystem(H, objective.k * int(objective.fit_intercept),
                                   max_condition or default_max_condition(dtype), 0.0)
            J = system.solve(np.eye(size))
            self._joint = 0.5 * (J + J.T)
            # Its diagonal blocks, class by class (flat index j k + c), for the
            # leverages.
            self._P = [self._joint[c::objective.k, c::objective.k]
                       for c in range(objective.k)]
            corrected.append(system.corrected)
            self.dinv = np.zeros((0, 0))
        elif full:
            max_condition = max_condition or default_max_condition(dtype)
            # P itself (d x d, d <= 512): then P G and the rows X P are plain
            # BLAS products.
            self._P = []
            eye = np.eye(objective.shape[0])
            self.curvature = np.stack([objective.weighted_gram(C[:, c], np.float64, rows)
                                       for c in range(C.shape[1])])
            for H in (self.curvature if curvature is None else curvature):
                system = _NewtonSystem(H, int(objective.fit_intercept), max_condition, 0.0)
                P = system.solve(eye)
                self._P.append(0.5 * (P + P.T))
                if system.corrected:
                    corrected.append(system.corrected)
            self.dinv = np.zeros((0, 0))
        else:
            sw = objective.sw.astype(np.float64)[:, None]
            diag = np.empty((objective.shape[0], C.shape[1]))
            if rms2 is not None and np.ptp(C) == 0:
                # One curvature for every sample (the usual start, at W = 0):
                # the diagonal is the features' mean squares, already measured
                # (and the weights sum to one).
                diag[:p] = C[0, 0] * rms2[:p, None] + objective.alpha
                diag[p:] = C[0, 0]
            else:
                diag[:p] = _squares_t_dot(objective, sw * C) + objective.alpha
                if objective.fit_intercept:
                    diag[p] = (sw * C).sum(axis=0)
            self.curvature = diag
            diag = diag if curvature is None else curvature
            self.dinv = np.ascontiguousarray(1.0 / floored_diagonal(diag))
        self.corrected = "; ".join(c for c in corrected if c)

    def apply(self, G):
        """``P G``, output by output, for ``G`` of the coefficients' shape."""
        G = np.asarray(G, dtype=np.float64)
        if self.joint:
            return (self._joint @ G.reshape(-1)).reshape(G.shape)
        if not self.full:
            return self.dinv * G
        if not self.per_output:
            return self._P[0] @ G
        return np.column_stack([P @ G[:, c] for c, P in enumerate(self._P)])

    def matrix(self):
        """P as one float64 matrix for the compiled loop (full only): the
        whole multinomial inverse (joint), else the per-output blocks stacked."""
        return np.ascontiguousarray(self._joint if self.joint else np.concatenate(self._P))

    def rows(self, A, dtype):
        """``P_c [x_i, 1]`` for the rows of ``A = [X_c, 1]`` (full only): shape
        ``(m, d)``, or ``(K m, d)`` with one block of rows per class."""
        m = A.shape[0]
        U = np.empty((m * len(self._P), A.shape[1]), dtype=dtype)
        for c, P in enumerate(self._P):
            U[c * m:(c + 1) * m] = A @ P
        return U

    def leverage(self, rows, A=None, U=None):
        """``max_c C_ic x_i^T P_c x_i``: sample i's largest curvature in the
        metric of P, for the given rows (full) or every row (diagonal). ``A =
        [X_rows, 1]`` and ``U = rows(A)``, when at hand, are not formed again."""
        if not self.full:
            # Every sample's x_i^T P_c x_i (one column when the outputs share
            # their diagonal).
            p = self.objective.n_features
            shared = np.all(self.dinv == self.dinv[:, :1])
            dinv = self.dinv[:, :1] if shared else self.dinv
            quad = _row_quadratic(self.objective, dinv[:p])
            if self.objective.fit_intercept:
                quad += dinv[p]
            if self.C.shape[1] == 1:  # max along an axis of length 1 is slow
                return quad[:, 0] * self.C[:, 0]
            return np.max(quad * self.C, axis=1)
        if A is None:
            A = _augmented(self.objective, self.objective.X[rows])
        if U is None:
            U = self.rows(A, np.float64)
        m = A.shape[0]
        quad = np.column_stack([np.einsum("ij,ij->i", U[c * m:(c + 1) * m], A)
                                for c in range(U.shape[0] // m)])
        return np.max(quad * self.C[rows], axis=1)


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
        return objective.shape[0] <= 256 and _dense_rows(objective)

    def _hessian_rows(self, objective, active, rng):
        m = max(50 * objective.shape[0], 2000)
        if m >= len(active):
            return active
        # With replacement (an unbiased estimate all the same), sorted for the
        # row gathers: choice without replacement would permute all n samples.
        return np.sort(active[rng.randint(0, len(active), m)])

    def _precondition(self, objective, curv, active, omega, batch, rng, curvature=None,
                      rms2=None):
        """The preconditioner for the loss curvature ``curv`` (what
        ``objective.curvature`` returns) and the automatic step size under it.
        ``rms2``: the features' weighted mean squares, when measured."""
        full = self._use_full(objective)
        rows = self._hessian_rows(objective, active, rng) if full else None
        pre = _Preconditioner(objective, curv, rows, full,
                              self.max_condition, curvature,
                              joint=batch > 1 and objective.size <= 512, rms2=rms2)
        if pre.full:
            # x_i^T P x_i costs d^2 per row: 1024 of them tell the step, and the
            # chunks of "sgd" clip it by their own rows' leverages anyway.
            rows = rows[:: max(1, len(rows) // 1024)]
        lev = pre.leverage(rows) * omega[rows if pre.full else slice(None)]
        return pre, _step_for(float(np.max(lev)), batch)

    @staticmethod
    def _step_bound(pre, A, U, rows, omega, batch):
        """The step for the largest leverage among the rows of a chunk, from
        ``A = [X_c, 1]`` and ``U = P A`` (stacked per class)."""
        lev = pre.leverage(rows, A, U) * omega[rows]
        return _step_for(float(np.max(lev)), batch)

    # -- fit ---------------------------------------------------------------------
    def solve(self, objective, coef0):
        rms = _feature_rms(objective)
        # The same unit-free gradient test as the Newton-type solvers.
        self._grad_weights = gradient_weights(objective, rms)
        self._Y = self._targets(objective)
        rng = self._rng()
        sw = objective.sw
        active = np.flatnonzero(sw > 0)
        # Weights relative to their mean over the samples stepped on; exactly 1
        # when all are equal (1/n times n may not be), which the compiled loop
        # sums the losses of faster.
        omega = sw.astype(np.float64) * len(active)
        if np.ptp(sw[active]) == 0:
            omega[active] = 1.0
        batch = self._batch(len(active))
        code = _loss_code(objective)
        auto = self.learning_rate == "auto"
        W = np.array(coef0, dtype=objective.dtype, order="C", copy=True)
        p = objective.n_features
        state = _AverageState(W, self.average)
        memory = _Memory(objective)
        # Each epoch's pass also measures the exact objective at the point the
        # epoch started from (a second product per row it reads anyway): at
        # the end of epoch e, the objective after epoch e - 1 is known. The
        # last point whose objective is known exactly is where an epoch found
        # to have increased it returns to: W_prev, its objective F_prev (None
        # before the first exact pass) and the step that left it.
        W_prev, F_prev, eta_prev = W.copy(), None, None
        # The last two decreases measured between epochs, and the exact
        # objectives since the stall test's last verdict.
        decreases, window = [np.inf, np.inf], []
        # After a failed epoch, the steps stay below half of its own.
        ceiling = np.inf
        curve, converged, message = [], False, ""
        no_improvement, best_monitor = 0, np.inf
        adaptive_eta = None
        epoch = 0
        eps = float(np.finfo(objective.dtype).eps)
        refresh = self._refresh_epochs(objective, len(active))
        tol = None
        order = active.copy()
        if np.any(W):
            # A warm start, presumably near the optimum, which plain SGD
            # steps would first leave: an exact pass anchors the memory, so
            # that the first epoch is variance-reduced (and the start may pass
            # the test already).
            F_prev = self._anchor_memory(objective, W, memory)
            tol = self.effective_tol = max(self.tol, 10 * eps * self._exact_measure)
            converged = self._exact_measure <= tol
            if converged:
                curve.append(F_prev)
                self._log("converged at the start")
        progress = _progress_bar(self.name, self.max_iter) if self.verbose >= 2 else None
        while epoch < self.max_iter and not converged:
            epoch += 1
            if epoch == 1 or refresh(epoch):
                # The first at the starting point, then at the memory.
                curv = (_curvature(objective, memory.R) if memory.valid
                        else _start_curvature(objective, W))
                pre, eta_auto = self._precondition(objective, curv, active, omega,
                                                   batch, rng, rms2=rms * rms)
            eta0 = eta_auto if self.eta0 == "auto" else float(self.eta0)
            if self.learning_rate == "adaptive":
                adaptive_eta = eta0 if adaptive_eta is None else adaptive_eta
                eta0 = adaptive_eta
            eta0 = min(eta0, ceiling)
            vr = memory.valid
            if vr and epoch == 2:
                # The average starts with the variance-reduced steps: the
                # first epoch's iterates are far from the optimum.
                state.reset(W)
            # Without a memory the epoch is plain SGD, whose automatic step
            # decays as in partial_fit; variance-reduced epochs keep it constant.
            schedule = self._schedule({} if not vr else None)
            if self.shuffle:
                _compiled().shuffle(order, rng.randint(0, 2**63, dtype=np.uint64))
            W_start = W.copy()
            # The objective at the start is measured unless already known (at
            # an exact pass).
            measure = epoch > 1 and not np.array_equal(W_prev, W)
            # The first epoch's memory would be of points along all its path,
            # the first ones far: unless it is the last, an exact pass after it
            # anchors the variance-reduced epochs instead (California housing:
            # 10 times the gap after 5 epochs without), and it records nothing.
            anchor = not vr and epoch < self.max_iter
            # The last epoch's residuals would not be used: not stored.
            bad = self._epoch(objective, W, state, order, omega, code, pre, eta0,
                              None if anchor else memory, schedule,
                              keep=epoch < self.max_iter,
                              W_obj=W_start if measure else None)
            if bad and not auto:
                raise _diverged(self, epoch)
            if bad:
                self._log(f"epoch {epoch:3d}  diverged: undone, step halved")
                W[...] = W_start
            elif measure:
                F_start = self._f_obj + objective._penalty(W_start)
                if auto and (F_start - F_prev > max(*decreases, 0.0)
                             + max(tol, 100 * eps) * abs(F_prev)):
                    # The epoch before made the objective worse, by more than
                    # the last two epochs decreased it (the variance-reduced
                    # steps move it up and down a little as they converge; the
                    # stall test below halves steps too noisy to converge) and
                    # than the objective test's resolution: back to its start,
                    # this one dropped with it.
                    self._log(f"epoch {epoch - 1:3d}  objective {F_start:.6e} > "
                              f"{F_prev:.6e}: undone, step halved")
                    W[...] = W_prev
                    bad, eta0 = True, eta_prev
                else:
                    # The exact value replaces the memory's mean.
                    curve[-1] = F_start
                    decreases = [decreases[-1], F_prev - F_start]
                    W_prev[...], F_prev = W_start, F_start
                    window.append(F_start)
            if bad:
                # Anchored exactly, with half the step.
                ceiling = eta0 / 2
                state.reset(W)
                F_prev = self._anchor_memory(objective, W, memory)
                W_prev[...] = W
                curve.append(F_prev)
                continue
            eta_prev = eta0
            if not anchor:
                # The memory's objective and gradient: every sample's loss and
                # gradient where it was stepped on, in this epoch.
                memory.valid = True
                f = memory.f + objective._penalty(W)
                g = memory.G.copy()
                g[:p] += objective.alpha * W[:p]
                g_max = self.gradient_measure(g)
            if tol is None and not anchor:
                # As in NewtonLoop: the gradient is only known to about eps
                # times its starting size (here, its mean over the epoch).
                tol = self.effective_tol = max(self.tol, 10 * eps * g_max)
            if anchor or g_max <= tol:
                # The memory's gradient is a mean over the epoch's iterates:
                # when it says the test may pass, an exact pass decides (and
                # anchors the memory otherwise).
                f = self._anchor_memory(objective, W, memory)
                if F_prev is not None and np.array_equal(W_prev, W_start):
                    decreases = [decreases[-1], F_prev - f]
                W_prev[...], F_prev = W, f
                window.append(f)
                g_max = self._exact_measure
                if tol is None:
                    tol = self.effective_tol = max(self.tol, 10 * eps * g_max)
                converged = g_max <= tol
            curve.append(f)
            self._log(f"epoch {epoch:3d}  objective {f:.12e}  max|grad| {g_max:.3e}"
                      f"  step {eta0:.3g}"
                      + (f"  ({pre.corrected})" if pre.corrected else ""))
            if progress is not None:
                progress.update(1)
                progress.set_postfix(objective=f"{f:.6g}", grad=f"{g_max:.2g}")
            if converged:
                break
            # As scikit-learn's SGD: the objective (exact, one epoch late) or
            # the validation loss has not decreased by more than tol times its
            # value for n_iter_no_change epochs.
            monitor = F_prev if self.validation is None else self._validation_loss(
                objective, W)
            if monitor is None:
                continue
            if best_monitor == np.inf or monitor < best_monitor - tol * abs(best_monitor):
                best_monitor, no_improvement = monitor, 0
                continue
            no_improvement += 1
            if no_improvement < self.n_iter_no_change:
                continue
            if self.learning_rate == "adaptive" and adaptive_eta > 1e-6:
                adaptive_eta /= 5
                no_improvement = 0
                continue
            if auto and self.validation is None:
                # An objective that went up and down by more than tol without
                # decreasing: the steps are too noisy to converge (a
                # variance-reduced fit stalls there, not at the optimum) unless
                # the gradient passes the test.
                window_up = any(b - a > tol * abs(a) for a, b in zip(window, window[1:]))
                window = window[-1:]
                if window_up:
                    f = F_prev = self._anchor_memory(objective, W, memory)
                    W_prev[...] = W
                    converged = self._exact_measure <= tol
                    if not converged:
                        # The halved steps start a new plateau test: measured
                        # against the best value before the halving, an
                        # objective still decreasing above it looked converged
                        # (an 8-sample least-squares fit stopped 7e-4 above the
                        # optimum).
                        self._log(f"epoch {epoch:3d}  objective stalled: step halved")
                        ceiling = eta0 / 2
                        no_improvement, best_monitor = 0, np.inf
                        continue
                    break
            # A converged objective (or validation loss), not a failure.
            converged = True
            message = (f"no improvement of the "
                       f"{'validation loss' if self.validation else 'objective'}"
                       f" in {self.n_iter_no_change} epochs")
        if progress is not None:
            progress.close()
        self._log(f"{'converged' if converged else 'stopped'} after {epoch} epoch(s)"
                  + (f": {message}" if message else ""))
        W = state.result(W)
        if objective.class_symmetric:
            center_classes(W, objective.k)
        return SolverResult(coef=W, n_iter=max(epoch, 1), converged=converged,
                            loss_curve=curve, message=message)

    def _refresh_epochs(self, objective, n_active):
        """Whether the preconditioner is rebuilt (at the memory) before an
        epoch: every epoch when that costs less than about 128 passes over X
        (a full one on small data); otherwise at epochs 4, 16, 64... in the
        first half of ``max_iter``. The curvature settles as the iterates do,
        and a stale preconditioner only slows the variance-reduced steps down,
        it does not bias them; a rebuild costs about half an epoch (a
        diagonal one: two passes over X, a full one m d^2: hundreds of passes
        over a sparse X like a9a's), which the epochs left must pay back.
        Never for the squared error, whose curvature does not move."""
        if objective.loss.constant_hessian:
            return lambda epoch: False
        d = objective.shape[0]
        X = objective.X
        nnz = X.nnz if sp.issparse(X) else X.size
        if (self._use_full(objective)
                and min(max(50 * d, 2000), n_active) * d * d <= 128 * nnz):
            return lambda epoch: True
        return lambda epoch: (epoch >= 4 and epoch & (epoch - 1) == 0
                              and epoch.bit_length() % 2 == 1
                              and 2 * (epoch - 1) <= self.max_iter)

    def _anchor_memory(self, objective, W, memory):
        """An exact pass at W becomes the memory (every sample's residual at one
        point: the variance-reduced steps that follow start from an exact
        anchor); returns the exact objective, and leaves the gradient's
        measure in ``_exact_measure``."""
        f, g, R = self._anchor(objective, W)
        self._exact_measure = self.gradient_measure(g)
        g_loss = g.astype(np.float64)
        g_loss[: objective.n_features] -= objective.alpha * W[: objective.n_features]
        memory.set(R, g_loss, f - objective._penalty(W))
        return f

    def _anchor(self, objective, W):
        """``(F, grad F, R)`` at W, R the residuals ``dloss/dz`` of every sample
        (the anchor's, for the variance-reduced steps): one fused compiled pass
        over CSR or C-ordered X, else the objective's two."""
        X = objective.X
        if _in_place(objective):
            G = np.zeros(objective.shape)
            R = np.empty((objective.n_samples, objective.k), dtype=objective.dtype)
            data, indices, indptr = _csr_arrays(X, objective.dtype)
            f = _compiled().anchor_pass(
                _loss_code(objective), sp.issparse(X),
                X if not sp.issparse(X) else np.zeros((0, 0), objective.dtype),
                data, indices, indptr, self._Y, objective.sw,
                W, objective.fit_intercept, R, G, np.empty(2 * objective.k))
            p = objective.n_features
            G[:p] += objective.alpha * W[:p]
            return f + objective._penalty(W), G.astype(objective.dtype), R
        Z = objective.predictor(W)
        f, g = objective.value_gradient(W, Z)
        R = np.ascontiguousarray(objective.loss.gradient(objective.y, Z), objective.dtype)
        return f, g, R

    def _validation_loss(self, objective, W):
        rows, weights = self.validation
        Z = _xdot(objective, objective.X[rows], W)
        values = objective.loss.value(objective.y[rows], Z)
        return float(np.dot(weights, values) / weights.sum())

    # -- partial_fit -------------------------------------------------------------
    def partial_epoch(self, objective, W, state):
        """One pass over the chunk bound to ``objective``, without anchors.

        ``state`` (a dict, kept by the estimator between calls) holds the step
        counter ``t``, the averaged iterate and the step size. Returns the new W.
        """
        rng = state.setdefault("rng", self._rng())
        self._Y = self._targets(objective)
        active = np.flatnonzero(objective.sw > 0)
        # Weights relative to the mean weight of all the samples seen so far.
        omega = objective.sw.astype(np.float64) * state["omega_scale"]
        batch = self._batch(len(active))
        W = np.array(W, dtype=objective.dtype, order="C", copy=True)
        Z = objective.predictor(W)
        # A preconditioner built from a chunk and applied to the same chunk's
        # samples pulls towards that chunk's own optimum (E[P_c grad F_c] is not
        # P grad F): use the running mean curvature of the chunks before, and
        # only then fold this chunk's in (its weight at least 1/10, so that the
        # mean follows the logistic curvature as the iterates move).
        running = state.get("curvature")
        pre, eta_auto = self._precondition(objective, objective.curvature(None, Z),
                                           active, omega, batch, rng,
                                           curvature=running)
        share = max(float(state["chunk_weight"]) / state["weight_total"], 0.1)
        state["curvature"] = (pre.curvature if running is None
                              else (1 - share) * running + share * pre.curvature)
        # The automatic step is fixed on the first chunk; the schedule decays it.
        eta_auto = state.setdefault("eta_auto", eta_auto)
        eta0 = eta_auto if self.eta0 == "auto" else float(self.eta0)
        avg = state.setdefault("average", _AverageState(W, self.average))
        order = active
        if self.shuffle:
            _compiled().shuffle(order, rng.randint(0, 2**63, dtype=np.uint64))
        bad = self._epoch(objective, W, avg, order, omega, _loss_code(objective), pre,
                          eta0, state=state)
        if bad:
            raise _diverged(self, None)
        return W

    # -- the steps ---------------------------------------------------------------
    def _schedule(self, state):
        """Code of the compiled loop's step-size schedule."""
        if self.learning_rate == "invscaling":
            return _INVSCALING
        if self.learning_rate == "auto" and state is not None:
            return _INVERSE
        return _CONSTANT

    def _epoch(self, objective, W, avg, order, omega, code, pre, eta0, memory=None,
               schedule=None, state=None, keep=True, W_obj=None):
        """The steps of one epoch over ``order``, in place on W.

        Returns True when the iterate diverged. ``memory`` (a ``_Memory``;
        None in ``partial_fit``) makes the steps variance-reduced once it holds
        an epoch, and records this epoch's (its residuals only when ``keep``).
        With ``W_obj``, the loss at that
        point (without the penalty) is measured on the way, into ``_f_obj``. On CSR or C-ordered X, unless a
        full preconditioner's rows ``X P`` are needed (one sample per step), the
        whole epoch is one call of the compiled loop on X itself, which
        refreshes the direction ``V`` every ``_CHUNK`` samples; otherwise the
        samples go by chunks of about ``_CHUNK`` rows, gathered with their rows
        ``X P``, and ``V`` is computed here for each.
        """
        X = objective.X
        p = objective.n_features
        dtype, k = objective.dtype, objective.k
        batch = self._batch(len(order))
        schedule = self._schedule(state) if schedule is None else schedule
        t = 0 if state is None else state.setdefault("t", 0)
        vr = memory is not None and memory.valid
        record = memory is not None
        # Steps add the memory's gradient once there is one (the first epoch
        # only builds it).
        G = memory.G if vr else np.zeros(objective.shape)
        no_rows = np.zeros((0, k), dtype=dtype)
        Y = self._Y
        D, V = np.zeros(objective.shape), np.zeros(objective.shape)
        scratch = np.empty((6, objective.size))
        self._f_obj = 0.0
        if record:
            memory.f = 0.0
        # One sample per step with a full P needs the rows P x_i (by chunks);
        # batches apply P to their gradient, in the loop.
        rows_of_P = pre.full and batch == 1
        Pm = pre.matrix() if pre.full and not rows_of_P else np.zeros((0, 0))
        # At least 16 chunks an epoch: the direction follows the memory's
        # gradient.
        size = batch * max(1, min(_CHUNK, -(-len(order) // 16)) // batch)

        def run(Xs, order_s, Y_s, omega_s, R_in, R_out, U, ZV, refresh, eta0=eta0):
            nonlocal t
            Xd = no_rows[:, :0] if sp.issparse(Xs) else Xs
            data, indices, indptr = _csr_arrays(Xs, dtype)
            t, avg.n, bad, f, fo = _compiled().sgd_steps(
                code, sp.issparse(Xs), Xd, data, indices, indptr, order_s, Y_s,
                omega_s, R_in, R_out, memory.G if record else D[:0],
                1.0 / len(order), no_rows if W_obj is None else W_obj, U, Pm, pre.full, pre.dinv, pre.per_output,
                V, ZV, G, objective.alpha, refresh, W, avg.W, avg.on, avg.n,
                # decay eta0 / batch: the step of a batch is eta0 / (1 + t eta0 / b)
                # after t samples, t / b steps.
                schedule, eta0, eta0 / batch, float(self.power_t), t,
                objective.fit_intercept, batch, D, scratch,
            )
            if record:
                memory.f += f
            self._f_obj += fo
            return bad >= 0

        if not rows_of_P and _in_place(objective):
            bad = run(X, order, Y, omega, memory.R if vr else no_rows,
                      memory.R if record and keep else no_rows, no_rows, no_rows, size)
        else:
            for start in range(0, len(order), size):
                rows = order[start:start + size]
                Xc = X[rows]
                Xc = Xc.tocsr() if sp.issparse(Xc) else np.ascontiguousarray(Xc, dtype)
                # The direction of the module docstring, the penalty's at the
                # chunk's W.
                V[...] = G
                V[:p] += objective.alpha * W[:p]
                V[...] = pre.apply(V)
                U, eta_chunk = no_rows, eta0
                if rows_of_P:
                    A = _augmented(objective, Xc)
                    U = pre.rows(A, dtype)
                    if record and self.learning_rate == "auto":
                        # eta0 came from the leverages of a sub-sample; the
                        # chunk's own are at hand: no sample may overshoot.
                        eta_chunk = min(eta0, self._step_bound(pre, A, U, rows, omega, batch))
                R_out = np.empty((len(rows), k), dtype=dtype) if record and keep else no_rows
                bad = run(Xc, np.arange(len(rows)), np.ascontiguousarray(Y[rows]),
                          np.ascontiguousarray(omega[rows]),
                          memory.R[rows] if vr else no_rows, R_out, U,
                          np.ascontiguousarray(_xdot(objective, Xc, V), dtype=dtype),
                          0, eta_chunk)
                if record and keep:
                    memory.R[rows] = R_out
                if bad:
                    break
        if state is not None:
            state["t"] = t
        return bad or not np.all(np.isfinite(W))

    @staticmethod
    def _targets(objective):
        """The encoded target as the compiled loop reads it: (n, k or 1) float64."""
        y = objective.y
        return np.ascontiguousarray(y.reshape(len(y), -1), dtype=np.float64)


class MinibatchSolver(StochasticSolver):
    """``"minibatch"``: the same method, the steps of ``batch_size`` samples
    averaged at the same iterate; the step is ``batch_size`` times larger (at most
    1, a Newton step) and the mean of a batch has that much less variance."""

    name = "minibatch"

    def _use_full(self, objective):
        # P costs O(d^2 k) per batch, once (not per sample): up to a few
        # hundred coefficients. But not on rows much sparser than that: there
        # its product costs several times the batch's gradient (a9a, 14 of 123
        # features per row: 4 times, a minibatch epoch 1.5 times a diagonal
        # one's), as for "sgd".
        return objective.shape[0] <= 512 and _dense_rows(objective)

    def _batch(self, n_active):
        if self.batch_size == "auto":
            # At least 32 steps per epoch, so that small data sets still take
            # many steps.
            return int(min(256, max(1, n_active // 32)))
        return int(min(self.batch_size, max(n_active, 1)))


def _dense_rows(objective):
    """Whether the rows of ``[X, 1]`` are not much sparser than the number of
    coefficients ``d``: at least ``d / 4`` stored entries on average."""
    X = objective.X
    nnz_row = X.nnz / max(X.shape[0], 1) if sp.issparse(X) else X.shape[1]
    return objective.shape[0] <= 4 * (nnz_row + 1)


def _in_place(objective):
    """Whether the compiled loops can read X itself: CSR or C-ordered dense."""
    X = objective.X
    if sp.issparse(X):
        return X.format == "csr" and X.data.dtype == objective.dtype
    return X.flags.c_contiguous


def _csr_arrays(X, dtype):
    """(data, indices, indptr) of sparse X for the compiled loops, with indices
    and indptr of one integer type (empty arrays for dense X)."""
    if not sp.issparse(X):
        empty = np.zeros(0, dtype=np.int32)
        return np.zeros(0, dtype=dtype), empty, empty
    indices, indptr = X.indices, X.indptr
    if indices.dtype != indptr.dtype:
        indices, indptr = indices.astype(np.int64), indptr.astype(np.int64)
    return X.data, indices, indptr


def _feature_rms(objective):
    """``objective.feature_rms()``, by one compiled pass on CSR or C-ordered X
    (scipy's product with the squares of X costs three times as much: on a9a
    a tenth of the time of a one-epoch fit)."""
    if not _in_place(objective):
        return objective.feature_rms()
    ms = _squares_t_dot(objective, objective.sw.astype(np.float64)[:, None])[:, 0]
    if objective.fit_intercept:
        ms = np.append(ms, 1.0)
    return np.sqrt(np.maximum(ms, 0.0))


def _squares_t_dot(objective, C):
    """``(X * X).T @ C``, by one compiled pass on C-ordered dense X, else by
    ``_squared_t_dot`` (itself compiled for CSR X)."""
    X, dtype = objective.X, objective.dtype
    if sp.issparse(X) or not _in_place(objective) or _weighted_squares is None:
        return _squared_t_dot(X, np.asarray(C, dtype=np.float64))
    out = np.zeros((X.shape[1], C.shape[1]))
    data, indices, indptr = _csr_arrays(X, dtype)
    _weighted_squares(False, X, data, indices, indptr,
                      np.ascontiguousarray(C, dtype=np.float64), out, np.zeros((0, 0)))
    return out


def _row_quadratic(objective, dinv):
    """``(X * X) @ dinv`` (shape ``(n_samples, dinv.shape[1])``), by the compiled
    pass on CSR or C-ordered X, else by chunks of rows."""
    X, dtype = objective.X, objective.dtype
    dinv = np.ascontiguousarray(dinv, dtype=np.float64)
    out = np.empty((X.shape[0], dinv.shape[1]))
    in_place = _in_place(objective)
    for start in range(0, X.shape[0], X.shape[0] if in_place else _CHUNK):
        rows = slice(start, start + (X.shape[0] if in_place else _CHUNK))
        Xc = X
        if not in_place:
            Xc = X[rows].tocsr() if sp.issparse(X) else np.ascontiguousarray(X[rows], dtype)
        data, indices, indptr = _csr_arrays(Xc, dtype)
        _compiled().row_quadratic(sp.issparse(Xc), Xc if not sp.issparse(Xc) else
                                  np.zeros((0, 0), dtype),
                                  data, indices, indptr, dinv, out[rows])
    return out


def _start_curvature(objective, W):
    """``objective.curvature`` at W; from one row when every sample has the same
    prediction (W = 0 but for the intercepts, the usual start), a pass over X
    and n exponentials otherwise."""
    p = objective.n_features
    if np.any(W[:p]):
        return objective.curvature(None, objective.predictor(W))
    z = np.zeros((1, objective.k), dtype=objective.dtype)
    if objective.fit_intercept:
        z += W[p]
    curv = objective.loss.curvature(objective.y[:1], z)
    return np.broadcast_to(curv, (objective.n_samples,) + curv.shape[1:])


def _curvature(objective, R):
    """The loss's curvature (what ``objective.curvature`` returns) from the
    residuals ``R = dloss/dz``: p = R + y, written so that p (1 - p) keeps its
    precision when p is near 0 or 1."""
    y = objective.y
    if isinstance(objective.loss, MultinomialLoss):
        P = R.astype(np.float64)
        P[np.arange(len(y)), y] += 1
        return P
    if isinstance(objective.loss, BinomialLoss):
        r = R[:, 0].astype(np.float64)
        return (y + r) * ((1 - y) - r)
    return np.ones(len(y))


def _progress_bar(name, total):
    """A tqdm progress bar over epochs when tqdm is installed (it is optional);
    None otherwise, and the per-epoch lines of ``verbose`` remain."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="epoch", desc=name, leave=False)


def _step_for(lev_max, batch):
    """The largest step for which no sample (or batch of ``batch`` samples)
    overshoots, in the metric of P: ``1 / lev_max``, or ``batch / lev_max`` up
    to a Newton step."""
    if batch == 1:
        return 1.0 / max(lev_max, 1.0)
    return min(1.0, batch / max(lev_max, np.finfo(np.float64).tiny))


class _Memory:
    """What ``fit``'s variance reduction remembers (SAGA-like; for a linear
    model one residual per sample and output): every sample's residual ``R``
    where it was last stepped on, and their weighted gradient ``G`` (the
    loss's, without the penalty), both kept up to date step by step; ``f``, the
    weighted loss of the samples when they were stepped on in the last epoch.
    """

    def __init__(self, objective):
        self.R = np.zeros((objective.n_samples, objective.k), dtype=objective.dtype)
        self.G = np.zeros(objective.shape)
        self.f = 0.0
        self.valid = False

    def set(self, R, G, f):
        """An exact anchor (residuals, loss gradient and loss at one point)."""
        self.R[...] = R
        self.G[...] = G
        self.f, self.valid = f, True


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
