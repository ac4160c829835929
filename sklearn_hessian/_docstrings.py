"""Parameter descriptions shared by the estimators' docstrings."""

COMMON_PARAMETERS = """\
solver : {"auto", "newton", "newton-cg", "lbfgs"}, default="auto"
        Algorithm used to minimise the objective:

        - ``"newton"``: condition-corrected Newton with the exact Hessian; when the
          Hessian is singular or its condition number exceeds ``max_condition`` it
          is corrected (null directions left out, small eigenvalues floored,
          Levenberg-Marquardt damping after poor steps) instead of failing. On
          rank-deficient problems with ``alpha=0`` it returns the minimum-norm
          optimum. Cost per iteration: one ``X^T D X`` (n d^2) and a d^3/3
          factorisation, where d is the number of coefficients.
        - ``"newton-cg"``: Hessian-free truncated Newton with diagonally
          preconditioned conjugate gradients; never forms the Hessian, for sparse or
          wide data.
        - ``"lbfgs"``: quasi-Newton with rank-2 inverse-Hessian updates.
        - ``"auto"``: ``"newton"`` when the Hessian has at most 1024 columns
          (``(n_features + fit_intercept) * n_classes`` for the multinomial loss)
          and X is dense or sparse with at least 5% non-zeros, ``"newton-cg"``
          otherwise. The choice is stored in ``solver_``.

    fit_intercept : bool, default=True
        Whether to fit an (unpenalised) intercept.

    tol : float, default=1e-8
        Stop when the largest absolute entry of the objective's gradient is at most
        ``tol`` and half the Newton decrement is too. An entry of a feature whose
        root-mean-square is below 1 is first divided by it (the gradient as if that
        feature had unit RMS), so the test does not depend on the units of the
        features; on standardised data it is the plain ``max|g| <= tol``. The
        objective is a mean over samples, so ``tol`` does not grow with n. Newton
        steps converge quadratically, which makes the tight default cheap; a fit
        that reaches the limit of floating-point precision first (common in
        float32) stops there and counts as converged.

    max_iter : int, default=100
        Maximum number of solver iterations.

    max_condition : float, default=None
        Largest Hessian condition number the ``"newton"`` solver accepts before it
        corrects the Hessian. None means ``1 / (100 * eps)`` of X's dtype (about
        4.5e13 for float64, 8.4e4 for float32). Ignored by the other solvers.

    hessian_subsample : "auto" or float in (0, 1], default="auto"
        ``"newton"`` only: fraction of the samples its first Hessian is built on,
        growing fourfold each iteration up to all of them (the gradient is always
        exact, and the final iterations use the full Hessian, so the accuracy is
        unchanged). ``"auto"`` uses ``max(50 d, 4096)`` rows when that is less than
        half the samples (d: Hessian columns), else all; never for least squares.
        1.0 always builds the full Hessian. The rows are drawn with
        ``random_state`` (a fixed seed when None, so fits are reproducible).

    warm_start : bool, default=False
        Start from the previous solution when refitting data of the same shape.

    verbose : int, default=0
        Print a header, one line per iteration (objective, the gradient measure
        that ``tol`` applies to, step length, half the Newton decrement, and the
        condition correction, Hessian reuse or CG iterations of that step) and a
        summary saying why the fit stopped.

    random_state : int, RandomState instance or None, default=None
        Seed of the rows drawn for ``"newton"``'s sub-sampled Hessians. None
        means a fixed seed, so that repeated fits are identical.

    n_jobs : int, default=None
        Threads for the line search of the Newton-type solvers: each trial step
        (O(n) work, ``X @ d`` being computed once per direction) is summed over
        fixed blocks of 65,536 rows on ``n_jobs`` joblib threads. It pays from
        about 10^6 samples; the steps, hence the coefficients, are bit-identical
        to the serial search. None means one thread. No BLAS call runs in these
        threads, so they do not multiply BLAS threads."""

COMMON_ATTRIBUTES = """\
n_iter_ : int
        Number of solver iterations run (at least 1).

    solver_ : str
        The solver that ran (what ``"auto"`` chose).

    loss_curve_ : ndarray of shape (n_iter_,)
        Objective value after each iteration.

    condition_number_ : float
        Condition number of the Hessian near the solution: from the last
        factorisation for ``"newton"`` (a LAPACK estimate, exact when a correction
        was needed), exact from the eigenvalues or a Lanczos estimate for the other
        solvers. ``inf`` for a singular Hessian. For the multinomial loss the
        directions along which the loss is flat by construction (the same shift
        for all classes) are left out.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X has string column names."""
