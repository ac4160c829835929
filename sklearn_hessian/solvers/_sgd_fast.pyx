# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""The hot loop of the stochastic solvers: steps over samples in a given order.

Everything that costs more than O(nnz(x_i) k) per sample is done once per chunk
of samples: by BLAS in Python (the preconditioned rows ``U = [X, 1] P`` of a full
preconditioner with one sample per step, and the predictions ``ZV = [X, 1] V``
of a gathered chunk), or here every ``refresh`` samples (the dense direction
``V``). ``V`` is the part of every step that does not depend on the sample: the
memory's gradient and the penalty, preconditioned, ``V = P (G + alpha W)``. It
is applied lazily: the true weights are ``W + S V``, where ``S`` is minus the sum
of the steps so far, so a step costs O(nnz(x_i) k) (or O(d k) with a full
preconditioner), not O(d k) for ``V``.

For sample ``s = order[i]`` (``k`` outputs; ``x_s`` with a trailing 1 for the
intercept)::

    z     = x_s (W + S V)                               the current prediction
    r     = grad_loss(y_s, z)                           recorded in R_out[s]
    delta = omega_s (r - R_in[s])                       minus the memory's
    step  = P_c x_s delta_c  for each output c          (U[i], or dinv * x_s)

With ``batch == 1`` (solver "sgd") every sample's step is applied at once,
``W[:, c] -= eta_t step_c`` and ``S -= eta_t``. With ``batch > 1`` (solver
"minibatch") the gradients ``eta_t x_s delta`` of ``batch`` consecutive samples
are summed at the same W, and ``P`` is applied to their mean once, at the
batch's end.

While it steps, the loop keeps the memory up to date: every sample's residual
``r`` (in ``R_out``, which may be ``R_in`` itself), their gradient ``G_acc +=
w_s x_s (r - R_in[s])`` and the loss ``sum_s w_s loss(y_s, z)`` (``w_s = gscale
omega_s``, the sample's weight in the objective); and it can measure the exact
loss at a fixed point ``W_obj`` from the same rows. That is what makes the
variance reduction of ``fit`` cost one pass over X per epoch, with no separate
pass for an anchor.
"""

from libc.math cimport exp, frexp, isfinite, log, pow

ctypedef fused floating:
    float
    double

ctypedef fused index_t:
    int
    long long

ctypedef fused real_t:
    float
    double

cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define SGD_PREFETCH(p) __builtin_prefetch((const void *)(p))
    #else
    #define SGD_PREFETCH(p) ((void)0)
    #endif
    """
    void SGD_PREFETCH(const void* p) noexcept nogil

# Loss codes and step-size schedules, shared with stochastic.py.
cdef enum:
    SQUARED = 0
    BINOMIAL = 1
    MULTINOMIAL = 2

cdef enum:
    CONSTANT = 0
    INVERSE = 1       # eta0 / (1 + decay t): the 1 / (mu t) decay of strongly convex SGD
    INVSCALING = 2    # eta0 / (1 + t) ** power_t

cdef double LN2 = 0.6931471805599453

# Outputs whose per-sample sums and factors the row loops keep in local arrays.
cdef enum:
    MAX_LOCAL = 32

# Samples ahead whose row and per-sample values are requested from memory: in a
# shuffled order every row is a cache miss (a9a: 1.5 ms per epoch instead of
# 1.2), and the loop knows which comes next long before the hardware does.
cdef Py_ssize_t AHEAD = 4


cdef inline void _row_predict(
    bint sparse, const floating* xrow, const floating* data, const index_t* indices,
    Py_ssize_t start, Py_ssize_t end, Py_ssize_t p, Py_ssize_t k,
    const floating* w, const double* v, double S, double* z,
    const floating* w2, double* z2,
) noexcept nogil:
    """``z[c] += x_s (W + S V)[:p, c]`` (no intercept): the dense row ``xrow``, or
    the sparse row ``data/indices[start:end]``; ``v`` NULL for W alone. With
    ``w2``, ``z2[c] += x_s W2[:p, c]`` in the same reading of the row."""
    cdef Py_ssize_t j, j1, jj, c, n = end - start if sparse else p
    cdef double x, x1, z0 = 0.0, z20 = 0.0
    # Sums in locals: through z, which might alias W for all the compiler
    # knows, every entry would be stored and loaded again (a9a: 2x slower;
    # MNIST, 10 outputs: 1.3x).
    cdef double zl[MAX_LOCAL]
    cdef double z2l[MAX_LOCAL]
    if k == 1:
        for jj in range(n):
            x = data[start + jj] if sparse else xrow[jj]
            j = indices[start + jj] if sparse else jj
            if v == NULL:
                z0 += x * w[j]
            else:
                z0 += x * (w[j] + S * v[j])
            if w2 != NULL:
                z20 += x * w2[j]
        z[0] += z0
        if w2 != NULL:
            z2[0] += z20
        return
    if k > MAX_LOCAL:
        for jj in range(n):
            x = data[start + jj] if sparse else xrow[jj]
            j = (indices[start + jj] if sparse else jj) * k
            for c in range(k):
                z[c] += x * (w[j + c] + (0.0 if v == NULL else S * v[j + c]))
                if w2 != NULL:
                    z2[c] += x * w2[j + c]
        return
    for c in range(k):
        zl[c] = 0.0
        z2l[c] = 0.0
    # Two entries of the row at a time: each sum is a chain of additions
    # through memory (k is not known to the compiler, the sums stay on the
    # stack), half as long so (MNIST: 15% of an epoch).
    for jj in range(0, n - 1, 2):
        x = data[start + jj] if sparse else xrow[jj]
        x1 = data[start + jj + 1] if sparse else xrow[jj + 1]
        j = (indices[start + jj] if sparse else jj) * k
        j1 = (indices[start + jj + 1] if sparse else jj + 1) * k
        if v == NULL:
            for c in range(k):
                zl[c] += x * w[j + c] + x1 * w[j1 + c]
        else:
            for c in range(k):
                zl[c] += x * (w[j + c] + S * v[j + c]) + x1 * (w[j1 + c] + S * v[j1 + c])
        if w2 != NULL:
            for c in range(k):
                z2l[c] += x * w2[j + c] + x1 * w2[j1 + c]
    if n % 2:
        x = data[end - 1] if sparse else xrow[n - 1]
        j = (indices[end - 1] if sparse else n - 1) * k
        for c in range(k):
            zl[c] += x * (w[j + c] + (0.0 if v == NULL else S * v[j + c]))
            if w2 != NULL:
                z2l[c] += x * w2[j + c]
    for c in range(k):
        z[c] += zl[c]
        if w2 != NULL:
            z2[c] += z2l[c]


cdef inline void _row_scatter(
    bint sparse, const floating* xrow, const floating* data, const index_t* indices,
    Py_ssize_t start, Py_ssize_t end, Py_ssize_t p, Py_ssize_t k, bint fit_intercept,
    const double* di, Py_ssize_t kd, const double* r, real_t* out,
    const double* r2, double* out2,
) noexcept nogil:
    """``out[j k + c] += x_sj di[j kd + c] r[c]`` (``di`` NULL: 1; ``kd`` 1: one
    column of ``di`` for all outputs, else k), and ``r[c]`` times the intercept's ``di``
    to its row p; then, in the same reading of the row, ``out2 += x_s r2``
    without ``di`` (``out2`` NULL: none)."""
    cdef Py_ssize_t j, jj, c, n = end - start if sparse else p
    cdef Py_ssize_t co = 1 if kd > 1 else 0
    cdef double x, r0 = r[0], r20 = r2[0] if out2 != NULL else 0.0
    if k == 1:
        # One output: the factors in registers (through the pointers they
        # would be read again after every store), one loop per case.
        if out2 == NULL:
            for jj in range(n):
                x = data[start + jj] if sparse else xrow[jj]
                j = indices[start + jj] if sparse else jj
                out[j] += x * (r0 if di == NULL else di[j] * r0)
        elif di == NULL:
            for jj in range(n):
                x = data[start + jj] if sparse else xrow[jj]
                j = indices[start + jj] if sparse else jj
                out[j] += x * r0
                out2[j] += x * r20
        else:
            for jj in range(n):
                x = data[start + jj] if sparse else xrow[jj]
                j = indices[start + jj] if sparse else jj
                out[j] += x * di[j] * r0
                out2[j] += x * r20
        if fit_intercept:
            out[p] += r0 if di == NULL else di[p] * r0
            if out2 != NULL:
                out2[p] += r20
        return
    # The factors in locals, as in _row_predict (at most MAX_LOCAL outputs).
    cdef double rl[MAX_LOCAL]
    cdef double r2l[MAX_LOCAL]
    cdef const double* rp = r
    cdef const double* r2p = r2
    if k <= MAX_LOCAL:
        for c in range(k):
            rl[c] = r[c]
            if out2 != NULL:
                r2l[c] = r2[c]
        rp = rl
        r2p = r2l
    for jj in range(n):
        if sparse:
            x = data[start + jj]
            j = indices[start + jj]
        else:
            x = xrow[jj]
            j = jj
            if x == 0:
                continue
        if di == NULL:
            for c in range(k):
                out[j * k + c] += x * rp[c]
        elif kd == 1:
            for c in range(k):
                out[j * k + c] += x * di[j] * rp[c]
        else:
            for c in range(k):
                out[j * k + c] += x * di[j * k + c] * rp[c]
        if out2 != NULL:
            for c in range(k):
                out2[j * k + c] += x * r2p[c]
    if fit_intercept:
        for c in range(k):
            out[p * k + c] += r[c] if di == NULL else di[p * kd + c * co] * r[c]
            if out2 != NULL:
                out2[p * k + c] += r2[c]


cdef inline void _fold_steps(
    Py_ssize_t d, Py_ssize_t k, Py_ssize_t kd, double factor, const double* di,
    floating* w, double* wsnap, double* g,
) noexcept nogil:
    """``g -= factor (W - wsnap) / dinv``: the gradient summed by the steps since
    ``wsnap`` (see sgd_steps' implicit_g); then ``wsnap = W``."""
    cdef Py_ssize_t j, c
    for j in range(d):
        for c in range(k):
            g[j * k + c] -= factor * (w[j * k + c] - wsnap[j * k + c]) / di[j * kd + (c if kd > 1 else 0)]
            wsnap[j * k + c] = w[j * k + c]


cdef struct LogProduct:
    double prod
    int exp


cdef inline void _add_loss(double* f, LogProduct* acc, double value, double q,
                           double weight, double unit, double scale) noexcept nogil:
    """``f += scale * weight * (value + log(q))``, a sample's loss split as
    ``_residual`` returns it. For the samples of weight ``unit`` the log(q) are
    summed as the log of their product ``acc`` (``_log_product``): one logarithm
    every few hundred samples instead of one each (a third of an epoch of a9a).
    q is in [1, k] or [1, 2]; the product is renormalised before it could
    overflow."""
    cdef int e
    if weight == unit:
        f[0] += scale * unit * value
        acc.prod *= q
        if acc.prod > 1e200:
            acc.prod = frexp(acc.prod, &e)
            acc.exp += e
    else:
        f[0] += scale * weight * (value + log(q))


cdef inline double _log_product(LogProduct acc) noexcept nogil:
    """log of the product ``_add_loss`` accumulated."""
    return log(acc.prod) + acc.exp * LN2


cdef inline double _residual(
    int loss, const double* z, Py_ssize_t k, const double* y, double* r, bint value,
    double* q,
) noexcept nogil:
    """``r = dloss/dz`` at ``z`` for the target ``y`` (k values, or the label /
    the 0-1 target in y[0]), from one exponential per output. When ``value``,
    the loss itself is the value returned plus ``log(q[0])``, without overflow
    (else 0 and q untouched): the logarithm is left to the caller, who can
    take it of a product of many samples' ``q`` at once."""
    cdef Py_ssize_t c, label
    cdef double e, zmax, zsum, out = 0.0
    if loss == SQUARED:
        for c in range(k):
            r[c] = z[c] - y[c]
            out += 0.5 * r[c] * r[c]
        if value:
            q[0] = 1.0
    elif loss == BINOMIAL:
        # log(1 + exp(z)) - y z and expit(z) - y.
        if z[0] > 0:
            e = exp(-z[0])
            r[0] = 1.0 / (1.0 + e) - y[0]
            out = z[0] - y[0] * z[0]
        else:
            e = exp(z[0])
            r[0] = e / (1.0 + e) - y[0]
            out = -y[0] * z[0]
        if value:
            q[0] = 1.0 + e
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
        out = zmax - z[label]
        if value:
            q[0] = zsum
    return out if value else 0.0


cdef inline void _apply_P(
    bint full, bint per_output, Py_ssize_t d, Py_ssize_t k, const double* Pm,
    Py_ssize_t pm_cols, const double* di, const double* src, double* dst,
) noexcept nogil:
    """``dst = P src`` on coefficients of shape (d, k): the diagonal ``di`` (one
    column per output, or one for all), or the matrix ``Pm``: one (d, d) block
    for all outputs, one per output stacked (``(k d, d)``), or, when it has ``d
    k`` columns, one matrix on the flat coefficients (the whole multinomial
    Hessian's inverse, classes coupled)."""
    cdef Py_ssize_t j, jj, c, kd = k if per_output else 1
    cdef const double* Pc
    cdef double total
    if not full:
        for j in range(d):
            for c in range(k):
                dst[j * k + c] = di[j * kd + (c if per_output else 0)] * src[j * k + c]
    elif pm_cols == d * k and k > 1:
        for j in range(d * k):
            total = 0.0
            for jj in range(d * k):
                total += Pm[j * d * k + jj] * src[jj]
            dst[j] = total
    else:
        for c in range(k):
            Pc = &Pm[(c if per_output else 0) * d * d]
            for j in range(d):
                total = 0.0
                for jj in range(d):
                    total += Pc[j * d + jj] * src[jj * k + c]
                dst[j * k + c] = total


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
    const floating[:, ::1] R_in,
    floating[:, ::1] R_out,
    double[:, ::1] G_acc,
    double gscale,
    const floating[:, ::1] W_obj,
    const floating[:, ::1] U,
    const double[:, ::1] Pm,
    bint full,
    const double[:, ::1] dinv,
    bint per_output,
    double[:, ::1] V,
    const floating[:, ::1] ZV,
    const double[:, ::1] G,
    double alpha,
    Py_ssize_t refresh,
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
    double[:, ::1] D,
    double[:, ::1] scratch,
):
    """Run the steps over ``order``; see the module docstring.

    ``R_in`` (the memory's residuals, subtracted; no rows: none) and ``R_out``
    (where the residuals are recorded, possibly ``R_in`` itself; no rows: not
    recorded) are indexed by the sample, as ``Y`` and ``omega``. With ``G_acc``
    (no rows: none), the memory's gradient follows the steps, ``G_acc += w_s
    x_s (r - R_in[s])``, and the loss is summed.
    ``U[i]`` (full preconditioner, one sample
    per step; ``U[c m + i]`` for output c with one block per class) and ``ZV[i]``
    belong to ``order[i]``. ``Pm`` is the full preconditioner (see
    ``_apply_P``), ``dinv`` the diagonal one (one column per output, or one for
    all).

    ``V`` is the direction of the module docstring: given (with ``ZV``) when
    ``refresh`` is 0; otherwise set here to ``P (G + alpha W)`` at the start and
    every ``refresh`` samples (at a batch's end), ``W`` first brought up to date
    (the penalty then follows W within the epoch). ``D`` (shape of W) is the
    batch's accumulator, ``scratch`` (6 rows of at least ``d k``) holds
    temporaries. ``W_obj`` (no rows: none) is a fixed point whose loss is
    measured on the way, from the rows read for the steps: ``fo = sum_s w_s
    loss(y_s, x_s W_obj)``, exact once every sample has been stepped on.
    Returns ``(t, n_avg, bad, f, fo)``: the number of samples stepped on and of
    averaged iterates so far, the position in ``order`` of the first sample
    whose prediction or gradient was not finite (-1 when none; the steps stop
    there), the recorded loss ``sum_s w_s loss(y_s, z_s)``, and ``fo``.
    """
    cdef Py_ssize_t m = order.shape[0]
    cdef Py_ssize_t k = W.shape[1]
    cdef Py_ssize_t d = W.shape[0]
    cdef Py_ssize_t p = d - 1 if fit_intercept else d
    cdef Py_ssize_t i, s, s_ahead, j, c, in_batch = 0, bad = -1, start = 0, end = 0
    cdef Py_ssize_t since = refresh
    # Rows of U per output: U stacks one (m, d) block per class.
    cdef Py_ssize_t mu = U.shape[0] // k if per_output else U.shape[0]
    # dinv has one column per output, or one for all.
    cdef Py_ssize_t kd = k if per_output else 1
    cdef double S = 0.0, eta = eta0, u, total, weight, value, f = 0.0
    cdef double q = 1.0, fo = 0.0
    cdef LogProduct q_acc = LogProduct(1.0, 0), qo_acc = LogProduct(1.0, 0)
    cdef bint memory = R_in.shape[0] > 0
    cdef bint record = G_acc.shape[0] > 0
    cdef bint record_r = R_out.shape[0] > 0
    cdef double* z = &scratch[0, 0]
    cdef double* delta = &scratch[1, 0]
    cdef double* rg = &scratch[2, 0]
    cdef double* tmp = &scratch[3, 0]
    cdef double* zo = &scratch[4, 0]
    cdef double* wsnap = &scratch[5, 0]
    cdef const floating* wo = &W_obj[0, 0] if W_obj.shape[0] > 0 else NULL
    # Plain pointers in the loops: memoryview indexing there costs about 2x.
    cdef floating* w = &W[0, 0]
    cdef floating* wavg = &Wavg[0, 0] if average else NULL
    cdef double* v = &V[0, 0]
    cdef const double* gm = &G[0, 0]
    cdef double* gacc = &G_acc[0, 0] if record else NULL
    cdef const floating* zv = &ZV[0, 0] if ZV.shape[0] > 0 else NULL
    cdef const floating* r_in = &R_in[0, 0] if memory else NULL
    cdef floating* r_out = &R_out[0, 0] if record_r else NULL
    cdef const double* y = &Y[0, 0]
    cdef Py_ssize_t ky = Y.shape[1]
    cdef double* acc = &D[0, 0]
    cdef const double* di = &dinv[0, 0] if not full else NULL
    cdef const double* pm = &Pm[0, 0] if full and Pm.shape[0] > 0 else NULL
    cdef const floating* Ui
    cdef const floating* xrow = NULL
    # X's stored values and column indices (sparse; NULL for dense X).
    cdef const floating* dp = &data[0] if sparse else NULL
    cdef const index_t* ip = &indices[0] if sparse else NULL
    # With batches the raw gradients go to D first; one sample per step writes
    # W itself.
    cdef bint direct = batch <= 1
    # One sample a step with a constant step and a diagonal P: every change of
    # W is a step, ``-eta dinv x_s delta_s``, and ``G_acc`` changes by ``w_s x_s
    # delta_s``: G_acc follows from W's change at every refresh (O(d k))
    # instead of a second scatter per row (MNIST: a fifth of an epoch). Not
    # in float32, whose W would not give G_acc's change to its precision.
    cdef bint implicit_g = (record and direct and not full and schedule == CONSTANT
                            and floating is double)

    with nogil:
        if implicit_g:
            for j in range(d * k):
                wsnap[j] = w[j]
        for i in range(m):
            s = order[i]
            if i + AHEAD < m:
                s_ahead = order[i + AHEAD]
                if sparse:
                    SGD_PREFETCH(&dp[indptr[s_ahead]])
                    SGD_PREFETCH(&ip[indptr[s_ahead]])
                    if i + 2 * AHEAD < m:
                        SGD_PREFETCH(&indptr[order[i + 2 * AHEAD]])
                else:
                    SGD_PREFETCH(&Xd[s_ahead, 0])
                SGD_PREFETCH(&y[s_ahead * ky])
                SGD_PREFETCH(&omega[s_ahead])
                if memory:
                    SGD_PREFETCH(&r_in[s_ahead * k])
                if record_r:
                    SGD_PREFETCH(&r_out[s_ahead * k])
            if refresh > 0 and in_batch == 0 and since >= refresh:
                if implicit_g:
                    _fold_steps(d, k, kd, gscale / eta0, di, w, wsnap, gacc)
                # W + S V is the true W: fold S V in, then the new direction.
                for j in range(d * k):
                    w[j] += S * v[j]
                    tmp[j] = gm[j] + (alpha * w[j] if j < p * k else 0.0)
                    if implicit_g:
                        wsnap[j] = w[j]
                S = 0.0
                _apply_P(full, per_output, d, k, pm, Pm.shape[1], di, tmp, v)
                since = 0
            since += 1

            # The prediction at the true weights W + S V; x_s V from ZV, or
            # (without ZV) along with x_s W, as the row is read anyway.
            if sparse:
                start = indptr[s]
                end = indptr[s + 1]
            else:
                xrow = &Xd[s, 0]
            for c in range(k):
                z[c] = S * zv[i * k + c] if zv != NULL else 0.0
                if fit_intercept:
                    z[c] += w[p * k + c] + (0.0 if zv != NULL else S * v[p * k + c])
                if wo != NULL:
                    zo[c] = wo[p * k + c] if fit_intercept else 0.0
            _row_predict(sparse, xrow, dp, ip, start, end, p, k, w,
                         NULL if zv != NULL else v, S, z, wo, zo)
            if wo != NULL:
                # The loss at W_obj.
                value = _residual(loss, zo, k, &y[s * ky], rg, True, &q)
                _add_loss(&fo, &qo_acc, value, q, omega[s], 1.0, gscale)

            # The loss's gradient with respect to z, minus the memory's.
            value = _residual(loss, z, k, &y[s * ky], delta, record, &q)
            weight = omega[s]
            total = value
            for c in range(k):
                total += z[c] + delta[c]
            if not isfinite(total):
                bad = i
                break
            if record:
                _add_loss(&f, &q_acc, value, q, weight, 1.0, gscale)
            for c in range(k):
                u = r_in[s * k + c] if memory else 0.0
                if record_r:
                    r_out[s * k + c] = <floating> delta[c]
                delta[c] = weight * (delta[c] - u)
                rg[c] = gscale * delta[c]

            if direct or in_batch == 0:
                if schedule == CONSTANT:
                    eta = eta0
                elif schedule == INVERSE:
                    eta = eta0 / (1.0 + decay * t)
                else:
                    eta = eta0 / pow(1.0 + t, power_t)
            for c in range(k):
                delta[c] *= -eta if direct else eta
            if direct and full:
                # W += (P_c x_s) delta_c from the row U[i], then the memory.
                if per_output:
                    for c in range(k):
                        Ui = &U[c * mu + i, 0]
                        for j in range(d):
                            w[j * k + c] += Ui[j] * delta[c]
                else:
                    Ui = &U[i, 0]
                    for j in range(d):
                        u = Ui[j]
                        if u != 0:
                            for c in range(k):
                                w[j * k + c] += u * delta[c]
                if record:
                    _row_scatter(sparse, xrow, dp, ip, start, end, p, k, fit_intercept,
                                 NULL, 1, rg, gacc, NULL, NULL)
            elif direct:
                _row_scatter(sparse, xrow, dp, ip, start, end, p, k, fit_intercept,
                             di, kd, delta, w, rg, NULL if implicit_g else gacc)
            else:
                # The batch's raw gradient; P is applied once, at its end, and
                # the memory's gradient follows from it then.
                _row_scatter(sparse, xrow, dp, ip, start, end, p, k, fit_intercept,
                             NULL, 1, delta, acc, NULL, NULL)
            t += 1
            in_batch += 1
            if direct or in_batch == batch or i == m - 1:
                if not direct:
                    # The batch's mean step (acc holds eta times its samples'
                    # gradients: acc / eta is their gradient).
                    _apply_P(full, per_output, d, k, pm, Pm.shape[1], di, acc, tmp)
                    for j in range(d * k):
                        w[j] -= tmp[j] / in_batch
                        if record:
                            gacc[j] += gscale / eta * acc[j]
                        acc[j] = 0
                S -= eta
                in_batch = 0
                if average:
                    n_avg += 1
                    for j in range(d * k):
                        wavg[j] += (w[j] + S * v[j] - wavg[j]) / n_avg

        if implicit_g and bad < 0:
            _fold_steps(d, k, kd, gscale / eta0, di, w, wsnap, gacc)
        for j in range(d * k):
            w[j] += S * v[j]
        f += gscale * _log_product(q_acc)
        fo += gscale * _log_product(qo_acc)
    return t, n_avg, bad, f, fo


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
    """The exact objective's parts at W in one pass over X: the weighted mean
    loss (returned, without the penalty), every sample's residual ``R =
    dloss/dz`` and the loss's gradient ``G = [X, 1]^T (sw * R)`` (accumulated in
    float64, G zeroed by the caller). Two sparse products and the elementwise
    passes between them would read X twice and the residuals three times.
    """
    cdef Py_ssize_t n = R.shape[0]
    cdef Py_ssize_t k = W.shape[1]
    cdef Py_ssize_t d = W.shape[0]
    cdef Py_ssize_t p = d - 1 if fit_intercept else d
    cdef Py_ssize_t s, c, start, end
    cdef double f = 0.0, value, weight, q
    cdef LogProduct q_acc = LogProduct(1.0, 0)
    cdef double w0 = sw[0] if n > 0 else 0.0
    cdef const floating* xrow = NULL
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
            if not sparse:
                xrow = &Xd[s, 0]
            for c in range(k):
                z[c] = w[p * k + c] if fit_intercept else 0.0
            _row_predict(sparse, xrow, dp, ip, start, end, p, k, w, NULL, 0.0, z, NULL, NULL)
            value = _residual(loss, z, k, &Y[s, 0], r, True, &q)
            weight = sw[s]
            _add_loss(&f, &q_acc, value, q, weight, w0, 1.0)
            for c in range(k):
                R[s, c] = r[c]
                r[c] *= weight
            if weight != 0:
                _row_scatter(sparse, xrow, dp, ip, start, end, p, k, fit_intercept,
                             NULL, 1, r, g, NULL, NULL)
        f += w0 * _log_product(q_acc)
    return f


def row_quadratic(
    bint sparse,
    const floating[:, ::1] Xd,
    const floating[::1] data,
    const index_t[::1] indices,
    const index_t[::1] indptr,
    const double[:, ::1] dinv,
    double[:, ::1] out,
):
    """``out[i, c] = sum_j x_ij^2 dinv[j, c]`` for every row of X (the first
    ``n_features`` rows of ``dinv``): ``(X * X) @ dinv`` without forming the
    squares of X."""
    cdef Py_ssize_t n = out.shape[0], kc = out.shape[1]
    cdef Py_ssize_t i, j, j1, jj, c, start, end
    cdef double x, x1, total
    cdef const double* di = &dinv[0, 0]
    # The sums in locals (see _row_predict), at most MAX_LOCAL columns at once.
    cdef double acc[MAX_LOCAL]
    cdef Py_ssize_t c0, nc
    with nogil:
        for i in range(n):
            start = indptr[i] if sparse else 0
            end = indptr[i + 1] if sparse else Xd.shape[1]
            if kc == 1:
                total = 0.0
                for jj in range(start, end):
                    x = data[jj] if sparse else Xd[i, jj]
                    total += x * x * di[indices[jj] if sparse else jj]
                out[i, 0] = total
                continue
            c0 = 0
            while c0 < kc:
                nc = min(<Py_ssize_t> MAX_LOCAL, kc - c0)
                for c in range(nc):
                    acc[c] = 0.0
                # Two entries at a time, as in _row_predict.
                for jj in range(start, end - 1, 2):
                    x = data[jj] if sparse else Xd[i, jj]
                    x1 = data[jj + 1] if sparse else Xd[i, jj + 1]
                    j = (indices[jj] if sparse else jj) * kc + c0
                    j1 = (indices[jj + 1] if sparse else jj + 1) * kc + c0
                    for c in range(nc):
                        acc[c] += x * x * di[j + c] + x1 * x1 * di[j1 + c]
                if (end - start) % 2:
                    x = data[end - 1] if sparse else Xd[i, end - 1]
                    j = (indices[end - 1] if sparse else end - 1) * kc + c0
                    for c in range(nc):
                        acc[c] += x * x * di[j + c]
                for c in range(nc):
                    out[i, c0 + c] = acc[c]
                c0 += MAX_LOCAL


def shuffle(Py_ssize_t[::1] order, unsigned long long seed):
    """Shuffle ``order`` in place (Fisher-Yates) from a xorshift64* stream
    seeded by ``seed``: NumPy's permutation of 32,000 samples takes 0.25 ms, a
    tenth of an epoch of a9a."""
    cdef Py_ssize_t i, j, tmp
    cdef unsigned long long state = seed * 0x9E3779B97F4A7C15ULL + 1
    with nogil:
        for i in range(order.shape[0] - 1, 0, -1):
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            # A uniform double in [0, 1) from the top 53 bits, scaled to [0, i].
            j = <Py_ssize_t> (((state * 0x2545F4914F6CDD1DULL) >> 11)
                              * (1.0 / 9007199254740992.0) * (i + 1))
            tmp = order[i]
            order[i] = order[j]
            order[j] = tmp
