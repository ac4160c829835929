"""Condition-corrected Newton with the exact Hessian.

Each iteration forms the Hessian (one BLAS-3 pass over X, by blocks of rows,
accumulated in float64) and solves the Newton system:

1. The unpenalised intercepts are eliminated exactly (Schur complement, see
   ``_NewtonSystem``), so badly centred data cost nothing in conditioning.
2. The remaining matrix is scaled to unit diagonal (Jacobi scaling), which
   makes everything below blind to the units of the features.
3. Cholesky of the scaled matrix (plus the Levenberg-Marquardt damping ``mu``,
   normally 0) and a LAPACK estimate of its condition number. When it factorises
   and the condition number is at most ``max_condition``, that is the step.
4. Otherwise (singular, indefinite by rounding, or too ill-conditioned) its
   eigendecomposition is corrected:

   - eigenvalues below ``100 sqrt(size) eps lam_max`` are zero to rounding: those
     directions are left out (a pseudo-inverse, like the ``rcond`` cut-off of
     ``numpy.linalg.lstsq``), and the step is projected off the null space of the
     Hessian. Starting from zero the coefficients then stay orthogonal to it, so a
     rank-deficient problem with ``alpha=0`` (duplicated columns, p > n) ends at
     its minimum-norm optimum, as ``lstsq`` does for least squares;
   - the other eigenvalues are floored at ``lam_max / max_condition``, the
     smallest change that restores the bound.

The damping ``mu`` follows the ratio of actual to predicted decrease: it grows when
the quadratic model was poor (the line search cut the step to a quarter or less,
or the ratio fell below 0.1) and shrinks back to zero after good full steps.

For the multinomial loss the class-symmetry directions, along which the loss is
flat by construction, are deflated first (see ``_spectral.deflate_class_symmetry``).
For the squared error the Hessian does not depend on the coefficients and is the
same for every target: it is factorised once and serves all targets.
"""

import os

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve, eigh, eigvalsh
from scipy.linalg.lapack import dpocon

from .._objective import GramObjective
from .._spectral import center_classes, condition_from_eigenvalues, deflate_class_symmetry
from ._base import NewtonLoop
from ._cg import preconditioned_cg

_EPS = np.finfo(np.float64).eps
# Dense matrices of the Hessian's side that newton holds at once: the Hessian,
# its scaled copy and its factor.
_HESSIAN_COPIES = 3


def _physical_memory():
    """Bytes of physical memory, or None where the platform does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # pragma: no cover - Windows
        return None


def _check_hessian_fits(size):
    """Refuse a Hessian that cannot fit in memory, naming the solvers that need
    none, before numpy fails to allocate it (or the system swaps)."""
    need = _HESSIAN_COPIES * 8.0 * size * size
    memory = _physical_memory()
    if memory is not None and need > memory:
        raise ValueError(
            f"solver='newton' forms the dense {size:,} x {size:,} Hessian: about "
            f"{need / 2**30:,.1f} GiB with its factorisation, more than this "
            f"machine's {memory / 2**30:,.1f} GiB of memory. Use solver='newton-cg' "
            "or solver='lbfgs' (they never form it), or solver='auto'."
        )


def default_max_condition(dtype):
    """``min(1e12, 0.1 / eps)``: 1e12 for float64, about 8.4e5 for float32.

    The Hessian is accumulated in float64, but with float32 data the gradient is
    only known to float32 precision, and a step that divides it by eigenvalues
    smaller than ``eps * lam_max`` amplifies rounding noise.
    """
    return min(1e12, 0.1 / float(np.finfo(dtype).eps))


class _Factorization:
    """Solves with a symmetric PSD matrix, correcting it when needed (steps 2-4)."""

    def __init__(self, H, max_condition, mu, fresh=None):
        # fresh: a callable returning H anew; H itself is then scaled and
        # factorised in place (one d x d array fewer during the build).
        n = H.shape[0]
        self.corrected = ""
        self._null = None
        diag = np.diag(H).copy()
        # A zero diagonal is a zero row and column (an all-zero feature with
        # alpha=0): scale it by 1 and let the null-space handling take it.
        diag[~(diag > 0)] = 1.0
        self._s = 1.0 / np.sqrt(diag)
        # One scaled matrix, factorised in place (its transpose is the same
        # symmetric matrix in the Fortran order LAPACK writes into), and formed
        # again for the spectral correction, the rare case: the d^2 copies of a
        # build were the peak of a dense multinomial fit's memory.
        Hs = self._scaled(H if fresh is not None else H.copy(), mu)
        anorm = max((float(np.abs(Hs[:, j:j + 64]).sum(axis=0).max())
                     for j in range(0, n, 64)), default=0.0)
        try:
            self._chol = cho_factor(Hs.T, lower=False, overwrite_a=True,
                                    check_finite=False)
            rcond, info = dpocon(self._chol[0], anorm)
            if info == 0 and rcond > 0 and 1.0 / rcond <= max_condition:
                self.kind = "cholesky"
                return
        except LinAlgError:
            pass
        self._chol = None
        Hs = self._scaled(fresh() if fresh is not None else H.copy(), mu)
        lam, V = eigh(Hs, check_finite=False, overwrite_a=True)
        lam_max = max(float(lam[-1]), np.finfo(np.float64).tiny)
        null = lam <= 100 * np.sqrt(n) * _EPS * lam_max
        floor = lam_max / max_condition
        keep = ~null
        inv = np.zeros_like(lam)
        inv[keep] = 1.0 / np.maximum(lam[keep], floor)
        n_floored = int(np.sum(keep & (lam < floor)))
        parts = []
        if null.any():
            n_null = int(null.sum())
            parts.append(f"dropped {n_null} null direction" + "s" * (n_null > 1))
            # Null vectors of H itself are s * u for null vectors u of Hs; an
            # orthonormal basis of them lets the step be projected off them.
            self._null, _ = np.linalg.qr(self._s[:, None] * V[:, null])
        if n_floored:
            parts.append(f"floored {n_floored} eigenvalue" + "s" * (n_floored > 1)
                         + f" at lam_max/{max_condition:.3g}")
        self.corrected = ", ".join(parts)
        self.kind = "spectral"
        self._V, self._inv = V, inv

    def _scaled(self, H, mu):
        """``S H S + mu I`` with ``S = diag(self._s)``, in ``H``'s memory."""
        H *= self._s[:, None]
        H *= self._s[None, :]
        if mu > 0:
            H[np.diag_indices(H.shape[0])] += mu
        return H

    def solve(self, G):
        s = self._s[:, None]
        if self.kind == "cholesky":
            return s * cho_solve(self._chol, s * G, check_finite=False)
        X = s * (self._V @ (self._inv[:, None] * (self._V.T @ (s * G))))
        if self._null is not None:
            X -= self._null @ (self._null.T @ X)
        return X


def _pinv_small(S):
    """Pseudo-inverse of a small symmetric PSD block (the intercepts' curvature)."""
    lam, V = eigh(S, check_finite=False)
    keep = lam > S.shape[0] * _EPS * max(float(lam[-1]), 0.0)
    return (V[:, keep] / lam[keep]) @ V[:, keep].T


def eliminate_intercepts(H, n_intercept):
    """``(A - U S^+ U^T, U, S^+, U S^+)`` for ``H = [[A, U], [U^T, S]]``.

    The Schur complement is the Hessian of the coefficients with the (last
    ``n_intercept``) intercepts profiled out; without intercepts it is ``H``.
    """
    nb = n_intercept
    if not nb:
        return H, None, None, None
    A, U, S = H[:-nb, :-nb], H[:-nb, -nb:], H[-nb:, -nb:]
    S_pinv = _pinv_small(S)
    US = U @ S_pinv
    C = US @ U.T
    np.subtract(A, C, out=C)
    return _symmetrize(C), U, S_pinv, US


def _symmetrize(A, block=128):
    """``(A + A^T) / 2`` in place, by blocks (no second d x d array)."""
    n = A.shape[0]
    for i in range(0, n, block):
        for j in range(i, n, block):
            upper, lower = A[i:i + block, j:j + block], A[j:j + block, i:i + block]
            mean = 0.5 * (upper + lower.T)
            upper[...] = mean
            lower[...] = mean.T
    return A


class _NewtonSystem:
    """Solves ``H x = G`` with the intercepts eliminated first.

    With the intercept rows last, ``H = [[A, U], [U^T, S]]``. The intercepts are
    unpenalised, so they are eliminated exactly through the Schur complement
    ``A - U S^+ U^T`` (the Hessian of the coefficients on weighted-centred data),
    and only that is factorised and corrected. Two gains: badly centred data no
    longer inflate the condition number, and on rank-deficient problems the
    minimum-norm correction applies to the *coefficients* with a free intercept,
    which is the ``alpha -> 0`` limit of the penalised fit (and what ``lstsq`` on
    centred data returns).
    """

    def __init__(self, H, n_intercept, max_condition, mu):
        self.nb = n_intercept
        A, self.U, self.S_pinv, self.US = eliminate_intercepts(H, n_intercept)
        # The Schur complement is a new array, which the factorisation may use.
        fresh = (lambda: eliminate_intercepts(H, n_intercept)[0]) if n_intercept else None
        self.fact = _Factorization(A, max_condition, mu, fresh)
        del A
        self.corrected = self.fact.corrected

    def solve(self, G):
        """``H^{-1} G`` for ``G`` of shape (size, r)."""
        nb = self.nb
        if not nb:
            return self.fact.solve(G)
        gW, gb = G[:-nb], G[-nb:]
        xW = self.fact.solve(gW - self.US @ gb)
        xb = self.S_pinv @ (gb - self.U.T @ xW)
        return np.vstack([xW, xb])


class _ShiftedSystem:
    """Solves with ``M^T A M`` from a solver of ``A``, where ``M C`` adds ``shift .
    W`` to the intercept of ``C = [W; b]``: the Hessian in X's coefficients from
    the one in the coefficients of the shifted columns ``X - shift``."""

    def __init__(self, system, shift):
        self.system, self.shift = system, shift
        self.corrected = system.corrected

    def solve(self, G):
        p = self.shift.shape[0]
        G = np.array(G, dtype=np.float64)
        G[:p] -= self.shift[:, None] * G[p]  # M^{-T} G
        X = self.system.solve(G)
        X[p] -= self.shift @ X[:p]  # M^{-1} X
        return X


def initial_hessian_fraction(hessian_subsample, n_samples, size, constant_hessian,
                             preconditioner=False):
    """Fraction of the samples the first Hessian is built on.

    ``"auto"``: enough rows for a sub-sampled Hessian accurate to ~15%
    (``max(50 size, 4096)`` rows, its relative error being about
    ``sqrt(size / rows)``); as a CG preconditioner (``preconditioner=True``) a
    rougher one does, ``max(5 size, 4096)`` rows. All the rows when that is half
    the data or more, and always for least squares, whose one Hessian is reused.
    """
    if hessian_subsample == "auto":
        if constant_hessian:
            return 1.0
        rows = max((5 if preconditioner else 50) * size, 4096)
        frac = rows / max(n_samples, 1)
        return 1.0 if frac >= 0.5 else frac
    return float(hessian_subsample)


class NewtonSolver(NewtonLoop):
    """Condition-corrected Newton with the exact Hessian (see module docstring).

    Early iterations may use a sub-sampled Hessian (exact gradient, Hessian from a
    random fraction of the samples, growing by ``HESSIAN_GROWTH`` each iteration up
    to all of them): for n >> d the Hessian build dominates the run, and far from
    the solution a Hessian accurate to 15% costs a few iterations of linear
    convergence instead of quadratic, for a tenth of the work. The final
    iterations always use the full Hessian, so the accuracy is that of Newton.
    For the multinomial loss, whose full Hessian costs K^2 sandwich products, and
    wherever one Hessian costs more than ``REFINE_MIN_HESSPS`` Hessian-vector
    products (sparse X), the sub-sampled Hessian instead preconditions CG on the exact Hessian-vector
    products (a few per step), which makes every step an exact Newton step to
    the forcing tolerance without ever forming the full Hessian; it is rebuilt
    (at the current point) only once CG needs more than ``REFINE_REBUILD_CG``
    iterations with it. Those products too start on a sample of the rows (dense
    X, ``hessian_subsample="auto"``: ``max(50 size, 4096)`` of them, contiguous
    blocks read in place), growing by ``HESSP_GROWTH`` each iteration up to all
    of them: far from the optimum the step of a Hessian accurate to 15% is as
    good, and a product costs a pass over the rows it reads.

    Parameters
    ----------
    max_condition : float or None
        Largest condition number accepted before correcting the Hessian; None means
        ``default_max_condition(dtype)``.
    hessian_subsample : "auto" or float in (0, 1]
        Fraction of the samples the first Hessian is built on (see
        ``initial_hessian_fraction``); 1 always builds the full Hessian.
    """

    name = "newton"
    confirms_values = True  # from the Gram matrix's trace, where it forms one
    HESSIAN_GROWTH = 4.0
    HESSP_GROWTH = 2.0
    MAX_REFINE = 50  # CG iterations per step with a sub-sampled preconditioner
    REFINE_REBUILD_CG = 4  # more CG iterations than this: rebuild the preconditioner
    REFINE_MIN_HESSPS = 10.0  # see solve()
    reuse_hessian = True
    # Below this many Hessian columns a rebuild costs about a gradient pass, and
    # the extra iterations of a reused Hessian cost more than they save.
    REUSE_MIN_SIZE = 64

    def __init__(self, tol=1e-8, max_iter=100, verbose=0, random_state=None,
                 max_condition=None, hessian_subsample="auto"):
        super().__init__(tol=tol, max_iter=max_iter, verbose=verbose,
                         random_state=random_state)
        self.max_condition = max_condition
        self.hessian_subsample = hessian_subsample

    def solve(self, objective, coef0):
        self._kappa = (
            default_max_condition(objective.dtype)
            if self.max_condition is None else float(self.max_condition)
        )
        self._mu = 0.0
        self._fact = None
        self._H, self._H_dtype = None, np.float64
        self._mu_changed = False
        self._model_good = False
        self._fact_full = False
        self._fact_kronecker = False
        self._kronecker_uses = 0
        self._g0_norm = None
        self._n_cg = 0
        self._fact_constant = objective.loss.constant_hessian
        # Longer steps when the unit step beat the model by far (NewtonLoop):
        # binomial w8a 11 -> 8 iterations (0.117 -> 0.092 s at tol 1e-6), a9a 7
        # -> 6 at tol 1e-4. Not for the multinomial loss, where the longer step
        # cost CG products at the next points (Letter +15%, iterations equal),
        # nor on truncated-CG directions (newton-cg: w8a 11 -> 15 iterations).
        self.extrapolate = (objective.loss.diagonal_curvature
                            and not objective.loss.constant_hessian)
        size = objective.shape[0] * (1 if objective.loss.shared_hessian else objective.k)
        self._size = size
        _check_hessian_fits(size)
        # For the multinomial loss the Hessian has K^2 blocks and forming it all
        # is the trap: the sub-sample only preconditions CG on the exact Hessian.
        # The same when one Hessian costs more than REFINE_MIN_HESSPS
        # Hessian-vector products (sparse X: a9a ~30, w8a ~35; a9a 0.14 -> 0.06 s,
        # w8a 0.49 -> 0.27 s). Otherwise (dense X, one output: ~3) the growing
        # sub-sample is cheaper, SYRK beating the memory-bound products.
        self._refine = not objective.loss.diagonal_curvature or (
            not objective.loss.constant_hessian
            and objective.hessian_cost() > self.REFINE_MIN_HESSPS * 2 * objective.pass_cost()
        )
        self._fraction = initial_hessian_fraction(
            self.hessian_subsample, objective.n_samples, size,
            objective.loss.constant_hessian, preconditioner=self._refine,
        )
        self._hessp_fraction = self._hessp_used = self._hessp_floor = 1.0
        if self._refine and self.hessian_subsample == "auto":
            self._hessp_fraction = initial_hessian_fraction(
                "auto", objective.n_samples, size, objective.loss.constant_hessian)
            # Relaxed products (see direction) read at least as many rows as
            # the preconditioner is built on.
            self._hessp_floor = min(self._hessp_fraction, self._fraction)
        if objective.loss.constant_hessian and self._fraction >= 1.0:
            # Least squares: the one full Hessian is all Newton needs of X, so it
            # iterates on the sufficient statistics (formed in the same pass) and
            # never reads X again (1M x 50: 0.25 -> 0.1 s). The pass that forms
            # them checks X's values too.
            objective = GramObjective(objective)
        else:
            objective.confirm_values()
        # Reproducible by default: a fixed seed unless the caller gave one.
        seed = 0 if self.random_state is None else self.random_state
        self._rng = (seed if isinstance(seed, np.random.RandomState)
                     else np.random.RandomState(seed))
        return super().solve(objective, coef0)

    def direction(self, objective, coef, Z, g):
        k = objective.k
        self._hessp_used = 1.0  # until CG samples rows for its products
        # The start's Kronecker Hessian serves one direct step, then
        # preconditions the next step's CG: a sub-sampled Hessian built at the
        # second point, which the iterates leave at once, cost more than the
        # extra CG products (dense multinomial: 2 products and a 15 ms build
        # against 3 products on a quarter of the rows).
        kronecker_cg = self._fact_kronecker and self._kronecker_uses == 1
        # Lazy Hessian: after a full step whose decrease the quadratic model
        # predicted well, the Hessian has barely changed; solving with the old
        # factorisation costs nothing and still converges superlinearly.
        reuse = self._fact is not None and (kronecker_cg or not self._fact_kronecker and (
            self._fact_constant
            or (self._model_good and self._fact_full and self._size >= self.REUSE_MIN_SIZE)
            # A sub-sampled preconditioner stays good while CG converges fast
            # with it: CG corrects for the Hessian having moved, and a rebuild
            # costs as much as several Hessian-vector products.
            or (self._refine and not self._fact_full and not self._mu_changed
                and self._n_cg <= self.REFINE_REBUILD_CG)
        ))
        rebuild = not reuse or self._mu_changed
        # CG on the exact Hessian (refine) needs the curvature even when the
        # factorisation is reused.
        curv = objective.curvature(coef, Z) if rebuild or self._refine else None
        if rebuild:
            rows = row_weights = None
            # Where all samples share their probabilities (the start), the
            # multinomial Hessian costs one Gram matrix, on the rows CG's first
            # products would read: a direct first step instead of CG.
            self._fact_kronecker = self._refine and objective.same_probabilities(curv)
            self._kronecker_uses = 0
            if self._fact_kronecker and self._hessp_fraction < 1.0:
                rows, row_weights = objective.sample_rows(
                    curv, self._hessp_fraction * objective.n_samples, self._rng)
            elif self._fraction < 1.0 and not self._fact_kronecker:
                rows, row_weights = objective.sample_rows(
                    curv, self._fraction * objective.n_samples, self._rng)
                if not self._refine:
                    self._fraction = min(1.0, self._fraction * self.HESSIAN_GROWTH)
            # Only steps from the full Hessian certify the point they lead to.
            self.exact_steps = self._fact_full = rows is None
            # A sub-sampled multinomial Hessian that only preconditions CG is
            # accurate to ~30% anyway: its K^2 sandwich products in float32 run
            # at twice the speed (100k x 50, K = 10, 4,096 rows: 30 -> 15 ms).
            dtype = (np.float32 if rows is not None and self._refine
                     and not objective.loss.diagonal_curvature
                     and not self._fact_kronecker else np.float64)
            # The old Hessian and factorisation go before the new ones are formed.
            self._H = self._fact = None
            H = objective.hessian(curv, dtype=dtype, rows=rows,
                                  row_weights=row_weights).astype(np.float64, copy=False)
            if objective.class_symmetric:
                H = deflate_class_symmetry(H, k)
            self._H, self._H_dtype = H, dtype
            n_intercept = 0
            if objective.fit_intercept:
                n_intercept = 1 if objective.loss.shared_hessian else k
            shift = getattr(objective, "shift", None)
            if shift is None:
                self._fact = _NewtonSystem(H, n_intercept, self._kappa, self._mu)
            else:
                # Least squares on badly centred columns: the system of the shifted
                # ones, where profiling the intercept out cancels nothing.
                self._fact = _ShiftedSystem(
                    _NewtonSystem(objective.A, n_intercept, self._kappa, self._mu), shift)
            self._mu_changed = False
        elif not self._fact_constant:
            self.exact_steps = False  # a reused Hessian is an approximation
        self._model_good = False
        G = g.astype(np.float64)
        if objective.class_symmetric:
            center_classes(G, k)
        # The shared Hessian (squared error) acts on the (size, k) matrix: one
        # factorisation, every target. Otherwise it acts on the flat vector.
        shared = objective.loss.shared_hessian
        if self._g0_norm is None:
            self._g0_norm = max(float(np.linalg.norm(G)), np.finfo(np.float64).tiny)
        if self._fact_kronecker:
            self._kronecker_uses += 1
        if self._refine and (kronecker_cg or not self._fact_full and not self._fact_kronecker):
            # A sub-sampled Hessian as the preconditioner of CG on the exact
            # Hessian (two passes over X per product): a few products make the
            # step an exact Newton step to the forcing tolerance, and the full
            # Hessian is never formed.
            fact, dtype = self._fact, objective.dtype

            def precondition(R):
                R2 = R.astype(np.float64)
                if objective.class_symmetric:
                    center_classes(R2, k)
                out = fact.solve(R2 if shared else R2.reshape(-1, 1))
                return out.reshape(R.shape).astype(dtype, copy=False)

            # LIBLINEAR's superlinear forcing term min(0.5, sqrt(|g|)), relative to
            # the first gradient: a linear one over-solved the steps near the
            # optimum, whose accuracy the next Newton step makes up anyway (CG
            # products: dense multinomial 9 -> 8, w8a to 1e-8 0.105 -> 0.084 s).
            eta = min(0.5, np.sqrt(float(np.linalg.norm(G)) / self._g0_norm))
            blocks = objective.sample_row_blocks(self._hessp_fraction, self._rng)
            self._hessp_used = 1.0 if blocks is None else (
                sum(b.stop - b.start for b in blocks) / objective.n_samples)
            self._hessp_fraction = min(1.0, self._hessp_fraction * self.HESSP_GROWTH)
            used = self._hessp_used

            def relaxed_hessp(V, ratio):
                # The row sample shrinks with the residual, down to the
                # preconditioner's size (dense multinomial, final steps: products
                # on all the rows, then a quarter, then 4%). Sized from CG's
                # tolerance instead (rows = size (ratio / eta)^2, exact products
                # once eta is small) it was as fast to 1e-8 relative (0.171 s
                # against 0.175 s) but slower at tol 1e-8 (0.43 s against 0.32 s).
                fraction = max(self._hessp_floor, used * ratio)
                return objective.hessp(
                    curv, V, objective.sample_row_blocks(fraction, self._rng))

            D, self._n_cg = preconditioned_cg(
                lambda V: objective.hessp(curv, V, blocks), g, precondition, eta,
                self.MAX_REFINE, curvature_scale=float(np.max(np.diag(self._H))),
                relaxed_hessp=relaxed_hessp if self._hessp_floor < 1.0 else None,
            )
            self._dHd = -float(np.vdot(g, D))
            return D
        G2 = G if shared else G.reshape(-1, 1)
        D2 = -self._fact.solve(G2)
        self._dHd = float(np.vdot(D2, self._H @ D2))
        return D2.reshape(G.shape).astype(objective.dtype, copy=False)

    def after_step(self, predicted, actual, step, f_old):
        if predicted <= 1e3 * np.finfo(np.float64).eps * abs(f_old):
            # A decrease at rounding level says nothing against the model.
            self._model_good = self.reuse_hessian and step == 1.0
            return
        ratio = actual / predicted
        self._model_good = (
            self.reuse_hessian and step == 1.0 and abs(ratio - 1.0) <= 0.1
        )
        # mu is in units of the unit-diagonal (Jacobi-scaled) Hessian.
        if step <= 0.25 or ratio < 0.1:
            self._mu = max(4 * self._mu, 1e-6)
            self._mu_changed = True
        elif self._mu > 0 and step >= 1.0 and ratio > 0.5:
            self._mu = self._mu / 8 if self._mu > 1e-12 else 0.0
            self._mu_changed = True

    def _curvature_along(self, d, slope):
        return self._dHd

    def _extra_log(self):
        parts = []
        if self._fact_kronecker:
            parts.append("the start's Kronecker Hessian"
                         + (f", cg {self._n_cg}" if self._kronecker_uses > 1 else ""))
        elif not self._fact_full:
            parts.append("sub-sampled Hessian" + (f", cg {self._n_cg}" if self._n_cg else ""))
        elif not self.exact_steps:
            parts.append("Hessian reused")
        if self._hessp_used < 1.0:
            parts.append(f"products on {self._hessp_used:.0%} of the rows")
        if self._fact is not None and self._fact.corrected:
            parts.append(self._fact.corrected)
        if self._mu:
            parts.append(f"damping {self._mu:.3g}")
        return ("  " + "; ".join(parts)) if parts else ""

    def condition_number(self, objective, coef, Z):
        # The last Hessian built (at the last iterate but one, or at the only one
        # for least squares): its eigenvalues, once, for an exact 2-norm figure.
        # One built in float32 (a multinomial preconditioner) carries no digits
        # beyond float32's, nor do eigenvalues computed in float32, twice as fast
        # (side 510: 8.4 -> 5.5 ms, 3% of a dense multinomial fit).
        if self._H is None:
            return np.nan
        H = self._H.astype(self._H_dtype, copy=False)
        return condition_from_eigenvalues(eigvalsh(H, check_finite=False),
                                          eps=np.finfo(self._H_dtype).eps)
