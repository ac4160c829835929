"""Hessian-free truncated Newton: preconditioned CG on the Newton system.

The Hessian is never formed: each CG iteration costs one Hessian-vector product,
two passes over X (``X @ v`` then ``X.T @ r``); for the multinomial loss the
product is applied through the per-sample ``diag(p) - p p^T`` without K x K blocks.

Design after LIBLINEAR's Newton solver:

- diagonal preconditioner ``M = 0.01 diag(H) + 0.99 alpha`` (a pure diagonal
  can hurt, the mix with the penalty's identity is more robust); with an
  intercept and one curvature per sample (least squares, binomial), weight 0.5
  on the diagonal of the centred Hessian, the intercept's row and column kept
  exact (``_CentredJacobi``);
- CG stops on the quadratic model ``Q(s) = g.s + s.H.s / 2`` when
  ``j (Q_j - Q_{j-1}) >= eta Q_j``, with the forcing term
  ``eta = min(0.5, sqrt(||g|| / ||g_0||))``: relative to the first gradient, so
  that it does not depend on the units of y and X, and superlinear as LIBLINEAR's.
  The last step (taken once the gradient test passes) is solved to
  ``||g|| / ||g_0||``, quadratic: without it the final iterate stayed visibly
  inexact on ill-conditioned problems;
- the Armijo line search shares ``X @ d`` across trials.
"""

import numpy as np
from scipy.linalg.lapack import spotrf, spotri

from .._spectral import center_classes, estimate_condition_number
from ._base import NewtonLoop
from ._cg import preconditioned_cg


class _ClassBlockPreconditioner:
    """``P^{-1}`` with ``P`` the block-diagonal part (one block per class) of a
    sub-sampled multinomial Hessian.

    The diagonal preconditioner is weak on the multinomial Hessian, whose
    curvature sits on the few samples each class is uncertain about: on MNIST
    (785 x 10 coefficients) CG needed 417 iterations to solve a Newton system
    to 1e-8 with it, 41 with these blocks built from 2,000 rows drawn by their
    curvature (and 101 with the Kronecker factorisation ``A (x) X^T D X``, 22
    with the blocks from all rows). The full sub-sampled Hessian, which
    "newton" uses, would be 7,850 x 7,850.
    """

    def __init__(self, objective, curv, rng):
        size = self.rows(objective)
        rows = row_weights = None
        if size < objective.n_samples:
            rows, row_weights = objective.sample_rows(curv, size, rng)
        # In float32 throughout: a preconditioner needs no more precision (the
        # ridge below keeps the blocks definite at it), and float32 BLAS is twice
        # as fast. Each block is Jacobi-scaled, given a relative ridge (zero
        # columns, a zero penalty and the unpenalised intercept are then all
        # safe) and inverted: every application streams all K blocks from memory
        # (MNIST: 10 x 785^2), and one float32 inverse is a quarter of the
        # traffic of two triangular solves with a float64 factor.
        blocks = objective.class_hessian_blocks(curv, rows, row_weights, np.float32)
        m, k = objective.shape[0], objective.k
        self._inverses = np.empty((k, m, m), dtype=np.float32)
        for c, B in enumerate(blocks):
            d = np.diag(B).copy()
            d[~(d > 0)] = 1.0
            s = (1.0 / np.sqrt(d)).astype(np.float32)
            B *= s[:, None]
            B *= s[None, :]
            B[np.diag_indices_from(B)] += self.RIDGE
            U, info = spotrf(B, lower=0, overwrite_a=1)
            if info == 0:
                U, info = spotri(U, lower=0, overwrite_c=1)
            if info != 0:  # pragma: no cover - the ridge keeps B definite
                U = np.eye(m, dtype=np.float32)  # the Jacobi preconditioner
            Binv = self._inverses[c]
            np.copyto(Binv, np.triu(U))
            Binv += np.triu(U, 1).T
            Binv *= s[:, None]
            Binv *= s[None, :]
        self._k = k

    # Rows of the sub-sample: max(2 m, 1024) (MNIST, CG iterations to solve a
    # Newton system to 1e-8: 1,000 rows 59, 2,000 rows 41, 4,000 rows 30; each
    # build costs K SYRKs on them).
    ROWS_PER_COLUMN = 2
    MIN_ROWS = 1024
    # Added to the unit diagonal: bounds the condition number of the blocks so
    # that float32 rounding keeps them and their inverses definite; below the
    # penalty's share of the diagonal on the benchmark problems.
    RIDGE = 1e-4

    @classmethod
    def rows(cls, objective):
        return max(cls.ROWS_PER_COLUMN * objective.shape[0], cls.MIN_ROWS)

    @classmethod
    def pays(cls, objective, max_side, max_hessps):
        """Whether blocks of side ``m <= max_side`` can be built (K SYRKs on the
        sub-sample and K inversions) for at most ``max_hessps`` Hessian-vector
        products (two passes over X each)."""
        m, k = objective.shape[0], objective.k
        if m > max_side:
            return False
        rows = min(cls.rows(objective), objective.n_samples)
        build = k * (0.5 * rows * m * m + float(m) ** 3)
        return build <= max_hessps * 2 * objective.pass_cost()

    def __call__(self, r):
        # (K, m, m) @ (K, m, 1): K matrix-vector products in one call.
        z = np.matmul(self._inverses, r.T.astype(np.float32)[:, :, None])[:, :, 0].T
        z = z.astype(np.float64)
        center_classes(z, self._k)
        return z.astype(r.dtype, copy=False)


class _CentredJacobi:
    """``P^{-1}`` for ``P = U diag(D, h) U^T``, ``U = [[I, m / h], [0, 1]]``: the
    Hessian's intercept row and column kept exactly, the rest a diagonal.

    With an intercept the Hessian is ``[[A, m], [m^T, h]]``, ``m = X^T S c`` the
    curvature-weighted column sums and ``h = sum_i s_i c_i``. Jacobi keeps none of
    the coupling of the columns with the intercept: on uncentred data (tf-idf,
    every entry positive) it is a large outlier eigenvalue CG has to find. Here
    the intercept is profiled out exactly and ``D`` is the diagonal of the
    centred block ``A - m m^T / h``: the Jacobi preconditioner of the centred
    problem, which is what solvers that centre X work on (scikit-learn's Ridge
    centres sparse X implicitly for lsqr and sparse_cg). Least squares, CG
    iterations to 1e-8 from zero: sparse 50k x 200k 21 -> 11. Applying it costs
    O(size).
    """

    def __init__(self, D, m, h):
        self.D = D  # (n_features, 1)
        self.u = (m / h)[:, None].astype(D.dtype)
        self.h = h

    def __call__(self, r):
        p = self.u.shape[0]
        z = np.empty_like(r)
        zw = np.multiply(self.u, -r[p:], out=z[:p])
        zw += r[:p]
        zw /= self.D
        z[p:] = r[p:] / self.h - self.u.T @ zw
        return z


class _PredictedProducts:
    """Hessian-vector products for CG that also sum ``X @ s`` for the line search:
    each product forms ``X @ p`` on its way (``LinearObjective.hessp`` with
    ``with_predictor``), and ``s`` is the sum of ``a p`` over CG's steps, so ``X @
    s`` is the same sum of the ``X @ p``, O(n) a step instead of a pass over X
    (sparse 50k x 200k: 2.3 ms a Newton iteration). ``with_product``: ``H @ s``
    too, the same sum of the products. Either is None when ``s`` is not such a
    sum (CG's ``on_step(None)``)."""

    def __init__(self, objective, curv, with_predictor=True, with_product=False):
        self._objective, self._curv = objective, curv
        self._last = self._last_product = None
        self.predictor = (np.zeros((objective.n_samples, objective.k), dtype=objective.dtype)
                          if with_predictor else None)
        # H @ s, summed the same way (O(size) a step), when asked.
        self.product = np.zeros(objective.shape, dtype=np.float64) if with_product else None

    def __call__(self, p):
        if self.predictor is None:
            out = self._objective.hessp(self._curv, p)
        else:
            out, self._last = self._objective.hessp(self._curv, p, with_predictor=True)
        self._last_product = out
        return out

    def step(self, a):
        if a is None:
            self.predictor = self.product = None
            return
        if self.predictor is not None:
            if self._last is None:
                self.predictor = None
            else:
                self.predictor += a * self._last
        if self.product is not None:
            self.product += a * self._last_product


class NewtonCGSolver(NewtonLoop):
    """Truncated Newton with preconditioned CG (see module docstring).

    Parameters
    ----------
    max_inner : int
        Maximum CG iterations per Newton step.
    """

    name = "newton-cg"
    exact_steps = False
    DIAG_WEIGHT = 0.01  # M = w diag(H) + (1 - w) alpha, LIBLINEAR's mix
    # Least squares, where diag(H) is exact (squared column norms) and does not
    # move: more of it pays (sparse 50k x 200k: 0.73 -> 0.48 s). For the logistic
    # losses 0.5 was mixed (a9a, ill-conditioned: faster; MNIST 30% slower).
    DIAG_WEIGHT_QUADRATIC = 0.5
    # The centred diagonal (_CentredJacobi: least squares, and the binomial loss,
    # with an intercept) takes this weight whatever the loss. Binomial, against
    # Jacobi at 0.01 (CPU s at tol 1e-5 / 1e-3): a9a 0.169 / 0.076 -> 0.070 /
    # 0.040, ill-conditioned 1.03 / 0.81 -> 0.38 / 0.37, sparse wide 0.22 / 0.17
    # -> 0.18 / 0.14, w8a equal, dense tall 0.97 / 0.76 -> 1.10 / 0.66. At 0.01
    # it cost iterations (w8a 7 -> 10), at 0.2 and 1.0 w8a lost 30-80%.
    DIAG_WEIGHT_CENTRED = 0.5
    FORCING_POWER = 0.5
    # Multinomial: class blocks of a sub-sampled Hessian precondition CG when a
    # block (n_features + fit_intercept square) is small enough to factorise.
    # ... and when a build costs at most this many Hessian-vector products (MNIST:
    # about 40; a 500-row MNIST, 800, where the diagonal does better).
    CLASS_BLOCK_MAX_SIDE = 2048
    CLASS_BLOCK_MAX_HESSPS = 100
    CLASS_BLOCK_START_CG = 8
    CLASS_BLOCK_REBUILD_CG = 20
    # Least squares: CG runs until max|r| (the next gradient's entries) is this
    # fraction of tol, a margin for the drift of the recurred residual.
    QUADRATIC_RESIDUAL = 0.5

    def __init__(self, tol=1e-8, max_iter=100, verbose=0, random_state=None,
                 max_inner=250):
        super().__init__(tol=tol, max_iter=max_iter, verbose=verbose,
                         random_state=random_state)
        self.max_inner = max_inner

    def solve(self, objective, coef0):
        self._g0_norm = None
        self._M = None
        self._blocks = None
        self._n_cg = 0
        seed = 0 if self.random_state is None else self.random_state
        self._rng = (seed if isinstance(seed, np.random.RandomState)
                     else np.random.RandomState(seed))
        self._last_direction = None  # a start for the condition estimate's Lanczos
        self._predictor = self._last_product = None
        return super().solve(objective, coef0)

    def _preconditioner(self, objective, curv):
        """``(M, precondition)``: LIBLINEAR's diagonal ``w diag(H) + (1 - w) alpha``,
        floored (also the scale of CG's flat-curvature test), and the
        preconditioner CG applies: ``1 / M``, or with an intercept and one
        curvature per sample (least squares, binomial) the mix with weight
        ``DIAG_WEIGHT_CENTRED`` on the centred diagonal (``_CentredJacobi``).
        Computed once when the Hessian does not depend on the coefficients (least
        squares), with its own weight ``DIAG_WEIGHT_QUADRATIC``."""
        if self._M is not None:
            return self._M
        w = self.DIAG_WEIGHT_QUADRATIC if objective.loss.constant_hessian else self.DIAG_WEIGHT
        diag = objective.hessian_diag(curv)
        M = self.floored_diagonal(w * diag + (1.0 - w) * objective.alpha)
        p = objective.n_features
        h = float(diag[p, 0]) if objective.fit_intercept else 0.0
        if objective.loss.diagonal_curvature and h > 0:
            m = objective.intercept_column(curv)  # from hessian_diag's pass
            var = np.maximum(diag[:p, 0].astype(np.float64) - objective.alpha - m * m / h, 0)
            D = np.append(self.DIAG_WEIGHT_CENTRED * var + objective.alpha, h)
            D = self.floored_diagonal(D[:, None].astype(diag.dtype))
            precondition = _CentredJacobi(D[:p], m, float(D[p, 0]))
        else:
            Minv = 1.0 / M
            symmetric, k = objective.class_symmetric, objective.k

            def precondition(r):
                z = Minv * r
                if symmetric:  # stay in the zero-mean subspace where H is definite
                    center_classes(z, k)
                return z

        if objective.loss.constant_hessian:
            self._M = M, precondition
        return M, precondition

    def direction(self, objective, coef, Z, g):
        g_norm = float(np.linalg.norm(g))
        if self._g0_norm is None:
            self._g0_norm = max(g_norm, np.finfo(np.float64).tiny)
        curv = objective.curvature(coef, Z)
        M, precondition = self._preconditioner(objective, curv)
        symmetric = objective.class_symmetric

        if symmetric and _ClassBlockPreconditioner.pays(objective, self.CLASS_BLOCK_MAX_SIDE,
                                                        self.CLASS_BLOCK_MAX_HESSPS):
            # Rebuilt when CG slowed down: the curvature moved since.
            # Built once CG needs more than CLASS_BLOCK_START_CG iterations with
            # the diagonal (the first Newton steps take 2 or 3, and blocks built
            # at the start point, where every class has the same curvature, go
            # stale at once); rebuilt when CG slows down again.
            threshold = (self.CLASS_BLOCK_START_CG if self._blocks is None
                         else self.CLASS_BLOCK_REBUILD_CG)
            if self._n_cg > threshold:
                self._blocks = _ClassBlockPreconditioner(objective, curv, self._rng)
            if self._blocks is not None:
                precondition = self._blocks

        ratio = g_norm / self._g0_norm
        # sqrt forcing (superlinear, few CG iterations) on the way; the step taken
        # once the gradient test passes is solved to ||g|| / ||g0|| (quadratic),
        # since nothing refines it after.
        final = self.gradient_measure(g) <= self.effective_tol
        eta = min(0.5, ratio if final else ratio ** self.FORCING_POWER)
        residual_tol = None
        if objective.loss.constant_hessian and not final:
            # A quadratic: truncating CG and restarting it at the next point throws
            # its Krylov space away (sparse 50k x 200k least squares: 94 products
            # over 10 restarts). One solve to the gradient test, on the same
            # preconditioner, does the work; the final step above only polishes.
            eta = 0.0
            residual_tol = self.QUADRATIC_RESIDUAL * self.effective_tol
        # X @ s for the line search, except on dense X, whose line search reads X
        # for X @ d with the point at the unit step anyway (the sum would cost an
        # (n, k) array for nothing: 1M x 50 least squares, peak extra memory 0.12
        # -> 0.18 x X). With a constant Hessian, the final step's H @ s too: it
        # starts the condition estimate's Lanczos.
        products = _PredictedProducts(objective, curv,
                                      with_predictor=not objective.speculates(),
                                      with_product=objective.loss.constant_hessian and final)
        s, self._n_cg = preconditioned_cg(
            products, g, precondition, eta, self.max_inner,
            curvature_scale=M, residual_tol=residual_tol,
            residual_weights=self._grad_weights, on_step=products.step,
        )
        self._predictor = products.predictor
        self._last_direction, self._last_product = s, products.product
        return s

    def direction_predictor(self):
        return self._predictor

    def _extra_log(self):
        return f"  cg {self._n_cg}"

    def condition_number(self, objective, coef, Z):
        return estimate_condition_number(objective, coef, Z, start=self._last_direction,
                                         start_product=self._last_product)
