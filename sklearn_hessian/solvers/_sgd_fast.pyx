# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""The hot loop of the stochastic solvers: steps over samples in a given order.

Everything that costs more than O(nnz(x_i) k) per sample stays in Python, done
once per epoch or per chunk with BLAS: the preconditioned rows ``U = [X, 1] P``
(full preconditioner), the dense direction ``V`` that every step adds (the anchor
gradient of the variance-reduced solver and the penalty, preconditioned) and its
predictions ``ZV = [X, 1] V``. ``V`` is applied lazily: the true weights are
``W + S V``, where ``S`` is minus the sum of the steps so far, so a step costs
O(nnz(x_i) k) (or O(d k) with a full preconditioner), not O(d k) for ``V``.

For sample ``s = order[i]`` (``k`` outputs; ``x_s`` with a trailing 1 for the
intercept)::

    z     = x_s (W + S V)                               the current prediction
    delta = omega_s (grad_loss(y_s, z) - R_s)           minus the anchor's
    step  = P_c x_s delta_c  for each output c          (U[i], or dinv * x_s)

With ``batch == 1`` (solver "sgd") every sample's step is applied at once,
``W[:, c] -= eta_t step_c`` and ``S -= eta_t``. With ``batch > 1`` (solver
"minibatch") the steps of ``batch`` consecutive samples are averaged at the same
W and applied together.
"""

from libc.math cimport exp, isfinite, log, log1p, pow

ctypedef fused floating:
    float
    double

ctypedef fused index_t:
    int
    long long

# Loss codes and step-size schedules, shared with stochastic.py.
cdef enum:
    SQUARED = 0
    BINOMIAL = 1
    MULTINOMIAL = 2

cdef enum:
    CONSTANT = 0
    INVERSE = 1       # eta0 / (1 + decay t): the 1 / (mu t) decay of strongly convex SGD
    INVSCALING = 2    # eta0 / (1 + t) ** power_t


ctypedef fused real_t:
    float
    double


cdef inline void _row_predict(
    bint sparse, const floating* xrow, const floating* data, const index_t* indices,
    Py_ssize_t start, Py_ssize_t end, Py_ssize_t p, Py_ssize_t k,
    const floating* w, const floating* v, double S, double* z,
) noexcept nogil:
    """``z[c] += x_s (W + S V)[:p, c]`` (no intercept): the dense row ``xrow``, or
    the sparse row ``data/indices[start:end]``; ``v`` NULL for W alone."""
    cdef Py_ssize_t j, jj, c, n = end - start if sparse else p
    cdef double x
    for jj in range(n):
        if sparse:
            x = data[start + jj]
            j = indices[start + jj] * k
        else:
            x = xrow[jj]
            j = jj * k
            if x == 0:
                continue
        if v == NULL:
            for c in range(k):
                z[c] += x * w[j + c]
        else:
            for c in range(k):
                z[c] += x * (w[j + c] + S * v[j + c])


cdef inline void _row_scatter(
    bint sparse, const floating* xrow, const floating* data, const index_t* indices,
    Py_ssize_t start, Py_ssize_t end, Py_ssize_t p, Py_ssize_t k, bint fit_intercept,
    const double* r, real_t* out,
) noexcept nogil:
    """``out[j k + c] += x_sj r[c]``, and ``r[c]`` to the intercept's row p."""
    cdef Py_ssize_t j, jj, c, n = end - start if sparse else p
    cdef double x
    for jj in range(n):
        if sparse:
            x = data[start + jj]
            j = indices[start + jj] * k
        else:
            x = xrow[jj]
            j = jj * k
            if x == 0:
                continue
        for c in range(k):
            out[j + c] += x * r[c]
    if fit_intercept:
        for c in range(k):
            out[p * k + c] += r[c]


cdef inline double _residual(
    int loss, const double* z, Py_ssize_t k, const double* y, double* r, bint value,
) noexcept nogil:
    """``r = dloss/dz`` at ``z`` for the target ``y`` (k values, or the label /
    the 0-1 target in y[0]); returns the loss itself when ``value`` (else 0),
    without overflow, from one exponential per output."""
    cdef Py_ssize_t c, label
    cdef double e, zmax, zsum, out = 0.0
    if loss == SQUARED:
        for c in range(k):
            r[c] = z[c] - y[c]
            out += 0.5 * r[c] * r[c]
    elif loss == BINOMIAL:
        # log(1 + exp(z)) - y z and expit(z) - y.
        if z[0] > 0:
            e = exp(-z[0])
            r[0] = 1.0 / (1.0 + e) - y[0]
            if value:
                out = z[0] + log1p(e) - y[0] * z[0]
        else:
            e = exp(z[0])
            r[0] = e / (1.0 + e) - y[0]
            if value:
                out = log1p(e) - y[0] * z[0]
    else:
        zmax = z[0]
        for c in range(1, k):
            if z[c] > zmax:
                zmax = z[c]
        zsum = 0.0
        for c in range(k):
            r[c] = exp(z[c] - zmax)
            zsum += r[c]
        label = <Py_ssize_t> y[0]
        for c in range(k):
            r[c] /= zsum
        r[label] -= 1.0
        if value:
            out = zmax + log(zsum) - z[label]
    return out


def sgd_steps(
    int loss,
    bint sparse,
    const floating[:, ::1] Xd,
    const floating[::1] data,
    const index_t[::1] indices,
    const index_t[::1] indptr,
    const Py_ssize_t[::1] order,
    const double[:, ::1] Y,
    const double[::1] omega,
    const floating[:, ::1] R,
    bint has_anchor,
    const floating[:, ::1] U,
    const floating[:, ::1] Pm,
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
    Py_ssize_t batch,
    double[::1] buf,
    floating[:, ::1] D,
):
    """Run the steps over ``order``; see the module docstring.

    ``U[i]`` (full preconditioner, one sample per step; ``U[c m + i]`` for output
    c with one block per class) belongs to ``order[i]``. With batches the full
    preconditioner is ``Pm`` itself (``(d, d)``, or ``(K d, d)`` per class),
    applied to each batch's gradient (or ``(d K, d K)``: the whole multinomial
    Hessian's inverse on the flat coefficients). Every other per-sample
    array is indexed by the sample itself. ``D`` (shape of W) is the batch's
    accumulator, ``buf`` scratch of 2 k doubles. Returns ``(t, n_avg, bad)``: the
    number of samples stepped on and of averaged iterates so far, and the
    position in ``order`` of the first sample whose prediction or gradient was
    not finite (-1 when none; the steps stop there).
    """
    cdef Py_ssize_t m = order.shape[0]
    cdef Py_ssize_t k = W.shape[1]
    cdef Py_ssize_t d = W.shape[0]
    cdef Py_ssize_t p = d - 1 if fit_intercept else d
    cdef Py_ssize_t i, s, j, jj, c, in_batch = 0, bad = -1, start, end
    # Rows of U per output: U stacks one (m, d) block per class.
    cdef Py_ssize_t mu = U.shape[0] // k if per_output else U.shape[0]
    # dinv has one column per output, or one for all.
    cdef Py_ssize_t kd = k if per_output else 1
    cdef double S = 0.0, eta = eta0, x, u, total, scale
    cdef double* z = &buf[0]
    cdef double* delta = &buf[k]
    # Plain pointers in the loops: memoryview indexing there costs about 2x.
    cdef floating* w = &W[0, 0]
    cdef const floating* v = &V[0, 0]
    cdef bint have_zv = ZV.shape[0] > 0
    cdef floating* acc = &D[0, 0]
    cdef const floating* di = &dinv[0, 0] if not full else NULL
    cdef const floating* Ui
    cdef const floating* Pc
    cdef const floating* xrow
    # X's stored values and column indices (sparse; NULL for dense X).
    cdef const floating* dp = &data[0] if sparse else NULL
    cdef const index_t* ip = &indices[0] if sparse else NULL
    # With batches the steps go to D first; one sample per step writes W itself.
    cdef bint direct = batch <= 1
    cdef floating* target = w if direct else acc

    with nogil:
        for i in range(m):
            s = order[i]
            # The prediction at the true weights W + S V; x_s V from ZV, or
            # (without ZV) along with x_s W, as the row is read anyway.
            start = indptr[s] if sparse else 0
            end = indptr[s + 1] if sparse else 0
            xrow = NULL if sparse else &Xd[s, 0]
            for c in range(k):
                z[c] = S * ZV[s, c] if have_zv else 0.0
                if fit_intercept:
                    z[c] += w[p * k + c] + (0.0 if have_zv else S * v[p * k + c])
            _row_predict(sparse, xrow, dp, ip, start, end, p, k, w,
                         NULL if have_zv else v, S, z)

            # The loss's gradient with respect to z, minus the anchor's.
            _residual(loss, z, k, &Y[s, 0], delta, False)
            total = 0.0
            for c in range(k):
                total += z[c]
                if has_anchor:
                    delta[c] -= R[s, c]
                delta[c] *= omega[s]
                total += delta[c]
            if not isfinite(total):
                bad = i
                break

            if direct or in_batch == 0:
                if schedule == CONSTANT:
                    eta = eta0
                elif schedule == INVERSE:
                    eta = eta0 / (1.0 + decay * t)
                else:
                    eta = eta0 / pow(1.0 + t, power_t)
            # scale * (P_c x_s delta_c) goes to W (sgd) or to D (minibatch).
            scale = -eta if direct else 1.0
            for c in range(k):
                delta[c] *= scale
            if full and not direct:
                # The batch's raw gradient; P is applied once, at its end.
                _row_scatter(sparse, xrow, dp, ip, start, end, p, k, fit_intercept,
                             delta, acc)
            elif full:
                if per_output:
                    for c in range(k):
                        Ui = &U[c * mu + i, 0]
                        for j in range(d):
                            target[j * k + c] += Ui[j] * delta[c]
                else:
                    Ui = &U[i, 0]
                    for j in range(d):
                        u = Ui[j]
                        if u != 0:
                            for c in range(k):
                                target[j * k + c] += u * delta[c]
            else:
                if sparse:
                    for jj in range(indptr[s], indptr[s + 1]):
                        x = data[jj]
                        j = indices[jj]
                        for c in range(k):
                            target[j * k + c] += x * di[j * kd + c * per_output] * delta[c]
                else:
                    for j in range(p):
                        x = Xd[s, j]
                        if x != 0:
                            for c in range(k):
                                target[j * k + c] += x * di[j * kd + c * per_output] * delta[c]
                if fit_intercept:
                    for c in range(k):
                        target[p * k + c] += di[p * kd + c * per_output] * delta[c]
            t += 1
            in_batch += 1
            if direct or in_batch == batch or i == m - 1:
                if not direct and full and Pm.shape[1] == d * k and k > 1:
                    # One matrix on the flat (C-order) coefficients: the whole
                    # multinomial Hessian, classes coupled.
                    Pc = &Pm[0, 0]
                    for j in range(d * k):
                        total = 0.0
                        for jj in range(d * k):
                            total += Pc[j * d * k + jj] * acc[jj]
                        w[j] -= eta * total / in_batch
                    for j in range(d * k):
                        acc[j] = 0
                elif not direct and full:
                    # W[:, c] -= eta P_c (batch gradient)_c / b, with P_c the
                    # rows c d ... (c + 1) d - 1 of Pm (one block for all
                    # outputs unless per_output).
                    for c in range(k):
                        Pc = &Pm[(c if per_output else 0) * d, 0]
                        for j in range(d):
                            total = 0.0
                            for jj in range(d):
                                total += Pc[j * d + jj] * acc[jj * k + c]
                            w[j * k + c] -= eta * total / in_batch
                    for j in range(d * k):
                        acc[j] = 0
                elif not direct:
                    # The batch's mean step, then a fresh accumulator.
                    for j in range(d * k):
                        w[j] -= eta * acc[j] / in_batch
                        acc[j] = 0
                S -= eta
                in_batch = 0
                if average:
                    n_avg += 1
                    for j in range(d):
                        for c in range(k):
                            Wavg[j, c] += (w[j * k + c] + S * V[j, c] - Wavg[j, c]) / n_avg

        for j in range(d):
            for c in range(k):
                w[j * k + c] += S * V[j, c]
    return t, n_avg, bad


def anchor_pass(
    int loss,
    bint sparse,
    const floating[:, ::1] Xd,
    const floating[::1] data,
    const index_t[::1] indices,
    const index_t[::1] indptr,
    const double[:, ::1] Y,
    const floating[::1] sw,
    const floating[:, ::1] W,
    bint fit_intercept,
    floating[:, ::1] R,
    double[:, ::1] G,
    double[::1] buf,
):
    """The anchor of an epoch in one pass over X: the weighted mean loss (returned,
    without the penalty), every sample's residual ``R = dloss/dz`` and the loss's
    gradient ``G = [X, 1]^T (sw * R)`` (accumulated in float64, G zeroed by the
    caller). Two sparse products and the elementwise passes between them would
    read X twice and the residuals three times.
    """
    cdef Py_ssize_t n = R.shape[0]
    cdef Py_ssize_t k = W.shape[1]
    cdef Py_ssize_t d = W.shape[0]
    cdef Py_ssize_t p = d - 1 if fit_intercept else d
    cdef Py_ssize_t s, c, start, end
    cdef double f = 0.0, value, weight
    cdef const floating* xrow
    cdef const floating* dp = &data[0] if sparse else NULL
    cdef const index_t* ip = &indices[0] if sparse else NULL
    cdef double* z = &buf[0]
    cdef double* r = &buf[k]
    cdef const floating* w = &W[0, 0]
    cdef double* g = &G[0, 0]
    with nogil:
        for s in range(n):
            start = indptr[s] if sparse else 0
            end = indptr[s + 1] if sparse else 0
            xrow = NULL if sparse else &Xd[s, 0]
            for c in range(k):
                z[c] = w[p * k + c] if fit_intercept else 0.0
            _row_predict(sparse, xrow, dp, ip, start, end, p, k, w, NULL, 0.0, z)
            value = _residual(loss, z, k, &Y[s, 0], r, True)
            weight = sw[s]
            f += weight * value
            for c in range(k):
                R[s, c] = r[c]
                r[c] *= weight
            if weight != 0:
                _row_scatter(sparse, xrow, dp, ip, start, end, p, k, fit_intercept,
                             r, g)
    return f
