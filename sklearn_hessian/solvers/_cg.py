"""Preconditioned conjugate gradients on the Newton system, with LIBLINEAR's
stopping rule: the inner solver of ``"newton-cg"`` and of ``"newton"`` with a
sub-sampled preconditioner."""

import numpy as np


def preconditioned_cg(hessp, g, precondition, eta, max_iter, curvature_scale,
                      residual_tol=None, residual_weights=None, relaxed_hessp=None,
                      on_step=None):
    """Approximately solve ``H s = -g`` by preconditioned conjugate gradients.

    Stops on LIBLINEAR's quadratic-model rule ``j (Q_j - Q_{j-1}) >= eta Q_j``
    with ``Q(s) = g.s + s.H.s / 2``, after ``max_iter`` iterations, or on flat
    curvature (``p.H.p <= 1e-14 p.(curvature_scale p)``), where it keeps what it has
    (the preconditioned gradient if nothing yet). ``curvature_scale`` is a scalar
    (a bound on the largest curvature) or an array of the shape of ``g`` (the
    preconditioner's diagonal: a test blind to the units of the features). With
    ``residual_tol``, it also
    stops once ``max|r| <= residual_tol``: for a quadratic objective the residual
    ``r = -g - H s`` is minus the gradient at the new point, so that is the outer
    stopping test met in advance; ``residual_weights`` (broadcasting against
    ``r``) weigh its entries as the outer test weighs the gradient's.
    ``relaxed_hessp(p, ratio)``, when given, replaces ``hessp`` after the first
    iteration: a cheaper, inexact product, allowed an error that grows as the
    residual shrinks (``ratio = |r| / |g|``). An error ``E p`` in the product of
    iteration j moves the step by about ``a_j E p_j``, and ``a_j H p_j`` is the
    change of the residual then, of the size of ``r_j``: so errors of products
    made once the residual is small barely move it (the relaxation of inexact
    Krylov methods, Simoncini and Szyld 2003). ``on_step(a)``, when given, is
    told each step ``s += a p`` along the direction of the last product, and
    ``on_step(None)`` when ``s`` is not such a sum (the preconditioned gradient
    kept on flat curvature). Returns ``(s, iterations)``.
    """
    s = np.zeros_like(g)
    r = -g
    z = precondition(r)
    p = z.copy()
    # One scratch vector for the elementwise products, instead of a temporary
    # of the coefficients' size for each (six an iteration).
    tmp = np.empty_like(g)
    scale_is_array = isinstance(curvature_scale, np.ndarray)
    rz = float(np.vdot(r, z))
    Q = 0.0
    n_cg = 0
    g_norm = float(np.linalg.norm(g)) if relaxed_hessp is not None else 0.0
    for n_cg in range(1, max_iter + 1):
        if n_cg == 1 or relaxed_hessp is None or not g_norm > 0:
            Hp = hessp(p)
        else:
            Hp = relaxed_hessp(p, float(np.linalg.norm(r)) / g_norm)
        pHp = float(np.vdot(p, Hp))
        if scale_is_array:
            pMp = float(np.vdot(p, np.multiply(curvature_scale, p, out=tmp)))
        else:
            pMp = curvature_scale * float(np.vdot(p, p))
        if not pHp > 1e-14 * pMp:
            if n_cg == 1:
                s = z
                if on_step is not None:
                    on_step(None)
            break
        a = rz / pHp
        s += np.multiply(p, a, out=tmp)
        if on_step is not None:
            on_step(a)
        r -= np.multiply(Hp, a, out=tmp)
        newQ = -0.5 * (float(np.vdot(r, s)) - float(np.vdot(g, s)))
        if not (newQ <= 0 and newQ - Q <= 0):
            break
        if n_cg * (newQ - Q) >= eta * newQ:
            break
        if residual_tol is not None:
            weighted = np.abs(r, out=tmp)
            if residual_weights is not None:
                weighted *= residual_weights
            if float(np.max(weighted)) <= residual_tol:
                break
        Q = newQ
        z = precondition(r)
        rz_new = float(np.vdot(r, z))
        p *= rz_new / rz
        p += z
        rz = rz_new
    return s, n_cg
