# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""Compiled passes over X for the objective: a Hessian-vector product with CSR X
in one pass over its rows, and ``(X * X).T @ weights`` without the squares of X.

For a loss with one curvature per sample (binomial, single-target squared error)
the product is ``[X, 1]^T (c * ([X, 1] v))``. scipy makes it two passes over X's
values and indices (``X @ v``, then ``X.T @ r`` as a CSC product that scatters).
Row ``i`` of the second product needs only row ``i`` of the first, so one loop over
the rows does both while the row is in cache: its dot product with ``v``, times
its curvature, then its scatter into the result. Measured (one thread): w8a 1.06
-> 0.75 ms, a9a 0.44 -> 0.33 ms, sparse 50k x 200k tf-idf 4.5 -> 3.6 ms. (With
ten columns, MNIST's multinomial product, the loops gained nothing over scipy's.)
"""

ctypedef fused floating:
    float
    double

ctypedef fused index_t:
    int
    long long


cdef inline double _row_dot(const floating* data, const index_t* indices,
                            Py_ssize_t start, Py_ssize_t stop, const floating* v,
                            double b) noexcept nogil:
    """``b + sum_jj data[jj] v[indices[jj]]`` over one row."""
    cdef double z = b, z1 = 0.0
    cdef Py_ssize_t jj
    if stop - start >= 32:
        # Two partial sums: the adds of one form a dependency chain that
        # long rows wait on (tf-idf, 57 values a row: 5-6% off the
        # product). From 16 values on, w8a (12 a row on average) lost 7%.
        jj = start
        while jj + 2 <= stop:
            z += data[jj] * v[indices[jj]]
            z1 += data[jj + 1] * v[indices[jj + 1]]
            jj += 2
        if jj < stop:
            z += data[jj] * v[indices[jj]]
        return z + z1
    for jj in range(start, stop):
        z += data[jj] * v[indices[jj]]
    return z


cdef inline void _row_scatter(const floating* data, const index_t* indices,
                              Py_ssize_t start, Py_ssize_t stop, double z,
                              double* out) noexcept nogil:
    """``out[indices[jj]] += data[jj] z`` over one row."""
    cdef Py_ssize_t jj
    for jj in range(start, stop):
        out[indices[jj]] += data[jj] * z


# Rows per block of the two-phase product (see csr_hessp).
cdef enum:
    _BLOCK_ROWS = 64


def csr_hessp(const floating[::1] data, const index_t[::1] indices,
              const index_t[::1] indptr, const floating[::1] v, double b,
              const floating[::1] c, bint fit_intercept, double[::1] out,
              double[::1] z_out, bint blocked=False):
    """``out = [X, 1]^T diag(c) [X, 1] [v; b]`` (``out[p]``, the intercept's
    entry, only with ``fit_intercept``; ``b`` is then the intercept's entry of
    the vector). ``c`` is the curvature times the sample weight; ``out`` is
    overwritten and accumulated in float64. Unless ``z_out`` is empty, it
    receives ``[X, 1] [v; b]``, the first product (newton-cg sums these into
    ``X @ s`` for its line search).

    ``blocked``: by blocks of 64 rows, the dot products of all of a block's rows
    first, then their scatters, the rows' values and indices still in cache.
    When ``v`` and ``out`` are too long to stay in the core's own caches, the
    gathers of the next rows then no longer queue behind the scatters of this
    one (sparse 50k x 200k tf-idf, one thread: 8.1 -> 7.0 ms on an AMD EPYC,
    1 MiB of L2 per core); with short vectors it costs a re-read of each row
    for nothing (w8a, 300 features: 1.06 -> 1.3 ms)."""
    cdef Py_ssize_t n = indptr.shape[0] - 1, p = v.shape[0]
    cdef Py_ssize_t i, jj, i0, i1, start, stop
    cdef double z, total = 0.0
    cdef bint keep = z_out.shape[0] > 0
    cdef double zb[_BLOCK_ROWS]
    cdef const floating* d = &data[0] if data.shape[0] > 0 else NULL
    cdef const index_t* ix = &indices[0] if indices.shape[0] > 0 else NULL
    cdef const floating* vv = &v[0] if p > 0 else NULL
    cdef double* o = &out[0]
    out[:] = 0.0
    with nogil:
        if blocked:
            i0 = 0
            while i0 < n:
                i1 = min(i0 + _BLOCK_ROWS, n)
                for i in range(i0, i1):
                    if c[i] == 0 and not keep:
                        continue
                    zb[i - i0] = _row_dot(d, ix, indptr[i], indptr[i + 1], vv, b)
                    if keep:
                        z_out[i] = zb[i - i0]
                for i in range(i0, i1):
                    if c[i] == 0:
                        continue
                    z = zb[i - i0] * c[i]
                    total += z
                    _row_scatter(d, ix, indptr[i], indptr[i + 1], z, o)
                i0 = i1
        else:
            for i in range(n):
                if c[i] == 0 and not keep:
                    continue
                start, stop = indptr[i], indptr[i + 1]
                z = _row_dot(d, ix, start, stop, vv, b)
                if keep:
                    z_out[i] = z
                    if c[i] == 0:
                        continue
                z *= c[i]
                total += z
                _row_scatter(d, ix, start, stop, z, o)
        if fit_intercept:
            out[p] = total


def weighted_squares(
    bint sparse,
    const floating[:, ::1] Xd,
    const floating[::1] data,
    const index_t[::1] indices,
    const index_t[::1] indptr,
    const double[:, ::1] weights,
    double[:, ::1] out,
    double[:, ::1] sums,
):
    """``out[j, c] += sum_i weights[i, c] x_ij^2`` (``(X * X).T @ weights``) in
    one pass over X, without forming the squares of X; unless ``sums`` is empty,
    also ``sums[j, c] += sum_i weights[i, c] x_ij`` (``X.T @ weights``) in the
    same pass."""
    cdef Py_ssize_t n = weights.shape[0], kc = weights.shape[1], i, j, jj, c
    cdef double x
    cdef double* o = &out[0, 0]
    cdef double* sm = NULL
    cdef const double* wt
    if sums.shape[0] > 0:
        sm = &sums[0, 0]
    with nogil:
        for i in range(n):
            wt = &weights[i, 0]
            if sparse and kc == 1:
                for jj in range(indptr[i], indptr[i + 1]):
                    x = data[jj]
                    o[indices[jj]] += wt[0] * x * x
                    if sm != NULL:
                        sm[indices[jj]] += wt[0] * x
            elif sparse:
                for jj in range(indptr[i], indptr[i + 1]):
                    x = data[jj]
                    j = indices[jj] * kc
                    for c in range(kc):
                        o[j + c] += wt[c] * x * x
                        if sm != NULL:
                            sm[j + c] += wt[c] * x
            else:
                for jj in range(Xd.shape[1]):
                    x = Xd[i, jj]
                    for c in range(kc):
                        o[jj * kc + c] += wt[c] * x * x
                        if sm != NULL:
                            sm[jj * kc + c] += wt[c] * x
