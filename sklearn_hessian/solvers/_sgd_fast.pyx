# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""The per-sample hot loop of ``solver="sgd"``, one chunk of samples at a time.

Everything that costs more than O(nnz(x_i) k) per sample stays in Python, done
once per chunk with BLAS: the preconditioned rows ``U = X_chunk @ P`` (full
preconditioner), the dense direction ``V`` that every step adds (the anchor
gradient of the variance-reduced solver and the penalty, preconditioned) and its
predictions ``ZV = X_chunk @ V``. ``V`` is applied lazily: the stored weights are
``W + S V`` where ``S`` is minus the sum of the steps taken so far, so a step costs
O(nnz k) (or O(d k) with a full preconditioner), not O(d k) for ``V``.

One step on sample i (``k`` outputs, ``x_i`` with a trailing 1 for the intercept)::

    z     = x_i W                         (the current prediction)
    delta = omega_i (grad_loss(y_i, z) - R_i)
    W[:, c] -= eta_t (P_c x_i) delta_c  +  eta_t V[:, c]

with ``P_c`` the preconditioner of output c (one for all outputs, or one per
class of the multinomial loss), ``R_i`` the sample's residual at the anchor (zero without
variance reduction) and ``omega_i`` its weight relative to the mean weight.
"""

from libc.math cimport exp, isfinite, pow

ctypedef fused floating:
    float
    double

# Loss codes and step-size schedules, shared with stochastic.py.
cdef enum:
    SQUARED = 0
    BINOMIAL = 1
    MULTINOMIAL = 2

cdef enum:
    CONSTANT = 0
    INVERSE = 1       # eta0 / (1 + decay t): the 1 / (mu t) decay of strongly convex SGD
    INVSCALING = 2    # eta0 / (1 + t) ** power_t


cdef inline double _expit(double z) noexcept nogil:
    cdef double e
    if z >= 0:
        return 1.0 / (1.0 + exp(-z))
    e = exp(z)
    return e / (1.0 + e)


def sgd_chunk(
    int loss,
    bint sparse,
    const floating[:, ::1] Xd,
    const floating[::1] data,
    const Py_ssize_t[::1] indices,
    const Py_ssize_t[::1] indptr,
    const double[:, ::1] Y,
    const double[::1] omega,
    const floating[:, ::1] R,
    bint has_anchor,
    const floating[:, ::1] U,
    bint full,
    const floating[:, ::1] dinv,
    bint per_output,
    const floating[:, ::1] V,
    const floating[:, ::1] ZV,
    floating[:, ::1] W,
    floating[:, ::1] Wavg,
    bint average,
    long long n_avg,
    int schedule,
    double eta0,
    double decay,
    double power_t,
    long long t,
    bint fit_intercept,
    double[::1] buf,
):
    """Run the steps of one chunk in order; see the module docstring.

    Returns ``(t, n_avg, bad)``: the step counter and the number of averaged
    iterates after the chunk, and the index of the first sample whose prediction
    was not finite (-1 when none; the chunk stops there, its steps applied).
    """
    cdef Py_ssize_t m = omega.shape[0]
    cdef Py_ssize_t k = W.shape[1]
    cdef Py_ssize_t d = W.shape[0]
    cdef Py_ssize_t p = d - 1 if fit_intercept else d
    cdef Py_ssize_t i, j, jj, c, label
    cdef double S = 0.0, eta, x, u, zmax, zsum, total
    cdef double[::1] z = buf[:k]
    cdef double[::1] delta = buf[k:2 * k]
    cdef Py_ssize_t bad = -1

    with nogil:
        for i in range(m):
            # The prediction at the true weights W + S V.
            for c in range(k):
                z[c] = S * ZV[i, c]
                if fit_intercept:
                    z[c] += W[p, c]
            if sparse:
                for jj in range(indptr[i], indptr[i + 1]):
                    j = indices[jj]
                    x = data[jj]
                    for c in range(k):
                        z[c] += x * W[j, c]
            else:
                for j in range(p):
                    x = Xd[i, j]
                    if x != 0:
                        for c in range(k):
                            z[c] += x * W[j, c]
            total = 0.0
            for c in range(k):
                total += z[c]
            if not isfinite(total):
                bad = i
                break

            # The loss's gradient with respect to z, minus the anchor's.
            if loss == SQUARED:
                for c in range(k):
                    delta[c] = z[c] - Y[i, c]
            elif loss == BINOMIAL:
                delta[0] = _expit(z[0]) - Y[i, 0]
            else:
                zmax = z[0]
                for c in range(1, k):
                    if z[c] > zmax:
                        zmax = z[c]
                zsum = 0.0
                for c in range(k):
                    delta[c] = exp(z[c] - zmax)
                    zsum += delta[c]
                label = <Py_ssize_t> Y[i, 0]
                for c in range(k):
                    delta[c] /= zsum
                delta[label] -= 1.0
            total = 0.0
            for c in range(k):
                if has_anchor:
                    delta[c] -= R[i, c]
                delta[c] *= omega[i]
                total += delta[c] * delta[c]
            if not isfinite(total):
                bad = i
                break

            if schedule == CONSTANT:
                eta = eta0
            elif schedule == INVERSE:
                eta = eta0 / (1.0 + decay * t)
            else:
                eta = eta0 / pow(1.0 + t, power_t)

            # W[:, c] -= eta delta_c P_c x_i; U[i] holds P x_i (per output:
            # U[i, j k + c]), dinv the diagonal of P (per output: dinv[j, c]).
            if full:
                if per_output:
                    for j in range(d):
                        for c in range(k):
                            W[j, c] -= eta * U[i, j * k + c] * delta[c]
                else:
                    for j in range(d):
                        u = eta * U[i, j]
                        if u != 0:
                            for c in range(k):
                                W[j, c] -= u * delta[c]
            else:
                if sparse:
                    for jj in range(indptr[i], indptr[i + 1]):
                        j = indices[jj]
                        u = eta * data[jj]
                        for c in range(k):
                            W[j, c] -= u * dinv[j, c if per_output else 0] * delta[c]
                else:
                    for j in range(p):
                        x = Xd[i, j]
                        if x != 0:
                            u = eta * x
                            for c in range(k):
                                W[j, c] -= u * dinv[j, c if per_output else 0] * delta[c]
                if fit_intercept:
                    for c in range(k):
                        W[p, c] -= eta * dinv[p, c if per_output else 0] * delta[c]
            S -= eta
            t += 1
            if average:
                n_avg += 1
                for j in range(d):
                    for c in range(k):
                        Wavg[j, c] += (W[j, c] + S * V[j, c] - Wavg[j, c]) / n_avg

        for j in range(d):
            for c in range(k):
                W[j, c] += S * V[j, c]
    return t, n_avg, bad
