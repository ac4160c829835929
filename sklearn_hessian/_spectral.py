"""Spectral helpers: class-symmetry deflation and condition-number estimates."""

import numpy as np
from scipy.linalg import eigh_tridiagonal, eigvalsh

# Above this many coefficients the Hessian is not formed just to report its
# condition number; a short Lanczos run on Hessian-vector products estimates it.
_LANCZOS_STEPS = 20
_LANCZOS_STEPS_FROM_STEP = 10
# When only the largest eigenvalue is estimated: stop once its error bound is
# this fraction of it.
_LANCZOS_MAX_RTOL = 1e-3


def center_classes(A, k):
    """Remove the mean over classes from each row of a (m, k) or flat (m*k,) array.

    In the symmetric multinomial parametrisation adding the same value to every
    class of one row changes nothing; the zero-mean representative is the
    minimum-norm one, and scikit-learn returns it too.
    """
    A2 = A.reshape(-1, k)
    A2 -= A2.mean(axis=1, keepdims=True)
    return A


def deflate_class_symmetry(H, k, shift=None):
    """``H + shift * P`` where ``P`` projects on the class-symmetry directions.

    The multinomial Hessian is singular along ``1_K`` within each row of the
    coefficients (always for the intercept, for all rows when alpha is 0). Adding
    ``shift`` on exactly those directions makes it invertible without changing its
    action on zero-mean (over classes) vectors, where gradients and steps live.

    ``shift`` is a scalar, or one value per row of the coefficients; None means
    each row's mean Hessian diagonal, which keeps the deflated matrix's scaled
    spectrum blind to the units of the features: a common shift of the size of
    the typical diagonal would dominate the block of a feature in small units
    (1e-8), whose own curvature then looks like rounding next to it once the
    Newton solver scales the matrix to unit diagonal.
    """
    m = H.shape[0] // k
    if shift is None:
        shift = np.maximum(np.diag(H).reshape(m, k).mean(axis=1), 0.0)
    shift = np.broadcast_to(np.asarray(shift, dtype=H.dtype), (m,))
    for j in range(m):
        block = slice(j * k, (j + 1) * k)
        H[block, block] += shift[j] / k
    return H


def condition_from_eigenvalues(eigenvalues, eps=np.finfo(np.float64).eps):
    """``lam_max / lam_min``; ``inf`` when ``lam_min`` is zero to rounding (at most
    ``size * eps * lam_max``, where a computed eigenvalue carries no digit; ``eps``
    that of the precision they were computed in)."""
    eigenvalues = np.asarray(eigenvalues)
    lmax = float(np.max(eigenvalues))
    lmin = float(np.min(eigenvalues))
    if lmax <= 0 or lmin <= eigenvalues.size * eps * lmax:
        return np.inf
    return lmax / lmin


def lanczos_extremes(matvec, v0, n_steps=_LANCZOS_STEPS, max_rtol=None,
                     first_product=None):
    """Ritz estimates of the extreme eigenvalues of a symmetric operator.

    Plain three-term Lanczos: without reorthogonalisation spurious copies of
    converged Ritz values appear, but the extreme ones stay right, and the cost is
    ``n_steps`` products plus O(size) work each (no basis is stored). The smallest
    Ritz value is an upper bound on the smallest eigenvalue, so the condition
    number is under-estimated when it converges slowly. With ``max_rtol``, stops
    early once the largest Ritz value is known to that relative accuracy, by the
    bound ``res^2 / gap`` on its error (``res`` its Ritz vector's residual, free
    from the recurrence; ``gap`` to the next Ritz value): for a caller who only
    needs the largest eigenvalue. ``first_product``: ``matvec(v0)`` when the
    caller knows it, saving a product.
    """
    n_steps = int(min(n_steps, v0.size))
    q = v0.astype(np.float64).ravel()
    norm = np.linalg.norm(q)
    q /= norm
    q_prev = np.zeros_like(q)
    b = 0.0
    diag, off = [], []
    for j in range(n_steps):
        if j == 0 and first_product is not None:
            w = np.asarray(first_product, dtype=np.float64).ravel() / norm
        else:
            w = np.asarray(matvec(q), dtype=np.float64).ravel()
        a = float(q @ w)
        diag.append(a)
        w -= a * q
        w -= b * q_prev
        b = float(np.linalg.norm(w))
        if j == n_steps - 1 or b <= 1e-12 * max(abs(a), 1e-300):
            break
        if max_rtol is not None and j > 0:
            theta, Y = eigh_tridiagonal(np.array(diag), np.array(off))
            res = b * abs(Y[-1, -1])
            if res * res <= max_rtol * (theta[-1] - theta[-2]) * abs(theta[-1]):
                break
        off.append(b)
        q_prev, q = q, w / b
    theta = eigh_tridiagonal(np.array(diag), np.array(off), eigvals_only=True)
    return float(theta[0]), float(theta[-1])


def estimate_condition_number(objective, coef, Z, start=None, random_state=0,
                              start_product=None):
    """Condition number of the objective's Hessian at ``coef``.

    Exact (from the eigenvalues) when forming the Hessian costs less than a
    Lanczos run, otherwise a Lanczos estimate. ``start`` (shape of ``coef``), the
    solver's last Newton-type direction ``~ -H^{-1} g``, is rich in the
    eigenvectors of the smallest eigenvalues, the slow ones for Lanczos: started
    from it, ``_LANCZOS_STEPS_FROM_STEP`` products estimate the condition number
    about as well as twice as many from a random vector (measured on w8a, MNIST
    and the sparse wide problems). When ``alpha`` is known to be an eigenvalue
    (``LinearObjective.penalty_is_eigenvalue``: wide data, a zero column) the
    smallest is taken as at most ``alpha``, and Lanczos stops once the largest
    has converged (sparse 50k x 200k least squares: 3 products instead of 10, and
    50,800 against the true 50,829 where 10 steps said 48,355). For the
    multinomial loss the class-symmetry directions, along which the objective is
    flat by construction, are left out.

    ``start_product``: the Hessian times ``start`` at ``coef``, when the solver
    knows it (newton-cg on least squares sums it from its CG products). Then the
    first Lanczos step is free, and when the intercept's column of the constant
    Hessian is known too (``constant_intercept_column``), the start also takes
    the intercept's unit vector, for free: on uncentred data the largest
    eigenvector leans on it (sparse 50k x 200k least squares: the largest
    eigenvalue to 6e-9 after one product instead of three).
    """
    curv = objective.curvature(coef, Z)
    k = objective.k
    n_steps = _LANCZOS_STEPS if start is None else _LANCZOS_STEPS_FROM_STEP
    # Whichever is cheaper: forming the Hessian and its eigenvalues, or the
    # Hessian-vector products of a Lanczos run (two passes over X each). The
    # estimate must not cost a sizeable part of the fit.
    if objective.hessian_cost() <= 2 * n_steps * objective.pass_cost():
        H = objective.hessian(curv, dtype=np.float64)
        if objective.class_symmetric:
            shift = np.trace(H) / H.shape[0]
            H = deflate_class_symmetry(H, k, shift)
        return condition_from_eigenvalues(eigvalsh(H))
    # alpha is an eigenvalue when X has a null vector (wide data, a zero column).
    pinned = objective.penalty_is_eigenvalue()
    if pinned and not objective.alpha > 0:
        return np.inf
    first_product = None
    if start is not None and np.any(start):
        v0 = np.array(start, dtype=np.float64).ravel()
        if start_product is not None:
            first_product = np.array(start_product, dtype=np.float64).ravel()
            column = objective.constant_intercept_column()
            if column is not None and objective.k == 1:
                norm = np.linalg.norm(v0)
                v0 /= norm
                first_product /= norm
                v0[-1] += 1.0
                first_product += column
    else:
        v0 = np.random.RandomState(random_state).standard_normal(objective.size)
    if objective.class_symmetric:
        center_classes(v0, k)

    def matvec(v):
        V = v.reshape(objective.shape).astype(objective.dtype)
        return objective.hessp(curv, V)

    if pinned:
        # The smallest eigenvalue is at most alpha (below it only through the
        # unpenalised intercept's coupling, by 0.06% on sparse 50k x 200k least
        # squares): only the largest is left to estimate, and Lanczos finds it in
        # 3 products where the smallest took 10 to converge from above.
        lmin, lmax = lanczos_extremes(matvec, v0, n_steps, max_rtol=_LANCZOS_MAX_RTOL,
                                      first_product=first_product)
        lmin = min(lmin, objective.alpha)
    else:
        lmin, lmax = lanczos_extremes(matvec, v0, n_steps, first_product=first_product)
    return lmax / lmin if lmin > 0 else np.inf
