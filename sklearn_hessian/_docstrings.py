"""Parameter descriptions shared by the estimators' docstrings."""

COMMON_PARAMETERS = """\
solver : {"auto", "newton", "newton-cg", "lbfgs", "sgd", "minibatch"}, \
default="auto"
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
        - ``"sgd"`` (one sample per step, compiled loop) and ``"minibatch"``
          (``batch_size`` samples per step): stochastic steps preconditioned by a
          sub-sampled Hessian, so that the default step needs no tuning on
          unscaled data; ``fit`` is variance-reduced (a memory of every
          sample's residual; exact passes give the ``tol`` test), ``partial_fit``
          learns from chunks of data. ``max_iter`` counts epochs.
        - ``"auto"``: ``"newton"`` when the Hessian has at most 1024 columns
          (``(n_features + fit_intercept) * n_classes`` for the multinomial loss)
          and, for the multinomial loss or sparse X (where newton's sub-sampled
          Hessian preconditions CG), that Hessian costs at most about 15 passes
          over X to build and factorise; ``"newton-cg"`` otherwise. The choice is
          stored in ``solver_``.

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
        Maximum number of solver iterations (epochs, passes over the data, for
        ``"sgd"`` and ``"minibatch"``).

    max_condition : float, default=None
        Largest Hessian condition number the ``"newton"`` solver accepts before it
        corrects the Hessian (that of the Hessian with the intercepts eliminated
        and the coefficients scaled to unit diagonal). None means
        ``min(1e12, 0.1 / eps)`` of X's dtype: 1e12 for float64, about 8.4e5 for
        float32. Ignored by the other solvers.

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
        summary saying why the fit stopped. The stochastic solvers print one
        line per epoch, and from 2 on a progress bar over the epochs when
        ``tqdm`` is installed (it is optional).

    random_state : int, RandomState instance or None, default=None
        Seed of the rows drawn for the sub-sampled Hessians, and of the order of
        the samples and the ``early_stopping`` split of the stochastic solvers.
        None means a fixed seed, so that repeated fits are identical.

    n_jobs : int, default=None
        Threads for the line search of the Newton-type solvers: each trial step
        (O(n) work, ``X @ d`` being computed once per direction) is summed over
        fixed blocks of 65,536 rows on ``n_jobs`` joblib threads. It pays from
        about 10^6 samples; the steps, hence the coefficients, are bit-identical
        to the serial search. None means one thread. No BLAS call runs in these
        threads, so they do not multiply BLAS threads.

    batch_size : int or "auto", default="auto"
        ``"minibatch"`` only: samples per step. ``"auto"`` is
        ``min(256, n_samples // 32)`` (at least 1), so that an epoch has at least
        32 steps.

    learning_rate : {"auto", "constant", "invscaling", "adaptive"}, \
default="auto"
        Step-size schedule of ``"sgd"`` and ``"minibatch"``, in the metric of the
        Hessian preconditioner (where a step of 1 is a Newton step):

        - ``"auto"``: in ``fit``, the constant step ``1 / max_i lev_i`` (per
          sample; ``batch_size / max_i lev_i``, at most 1, per batch), where
          ``lev_i`` is sample i's curvature in that metric, halved whenever an
          epoch increases the objective (then undone); in ``partial_fit``,
          ``eta / (1 + eta t)`` after ``t`` samples, the decay of strongly
          convex SGD;
        - ``"constant"``: ``eta0``;
        - ``"invscaling"``: ``eta0 / (1 + t) ** power_t``;
        - ``"adaptive"``: ``eta0``, divided by 5 each time ``n_iter_no_change``
          epochs pass without improvement, until it falls below 1e-6.

    eta0 : float or "auto", default="auto"
        Initial step of the schedules; ``"auto"`` is the step of
        ``learning_rate="auto"``.

    power_t : float, default=0.5
        Exponent of ``learning_rate="invscaling"``.

    average : bool, default=False
        Return the average of the iterates (Polyak-Ruppert) instead of the last
        one. Useful with ``partial_fit`` and the decaying schedules; ``fit``'s
        variance-reduced steps converge without it. Costs O(n_coefficients) per
        step.

    shuffle : bool, default=True
        Visit the samples in a new random order each epoch (``random_state``).

    n_iter_no_change : int, default=5
        ``"sgd"`` and ``"minibatch"``: stop (with a ``ConvergenceWarning``) when
        the objective, or the validation loss with ``early_stopping``, has not
        decreased by more than ``tol`` times its value for this many epochs.

    early_stopping : bool, default=False
        ``"sgd"`` and ``"minibatch"``: hold out ``validation_fraction`` of the
        samples (stratified for classifiers; by zero weights, X is not copied) and
        stop when their loss stops improving (see ``n_iter_no_change``). The
        model is then fitted on the other samples only.

    validation_fraction : float in (0, 1), default=0.1
        Fraction of the samples held out by ``early_stopping``."""

COMMON_ATTRIBUTES = """\
n_iter_ : int
        Number of solver iterations run (at least 1).

    solver_ : str
        The solver that ran (what ``"auto"`` chose).

    loss_curve_ : ndarray of shape (n_iter_,)
        Objective value after each iteration (for ``"sgd"`` and
        ``"minibatch"``, the last epoch's is the mean of its samples' losses
        where they were stepped on, unless an exact pass ended the fit).

    condition_number_ : float
        Condition number of the Hessian near the solution, from its eigenvalues:
        for ``"newton"`` those of the last Hessian it formed (sub-sampled for large
        multinomial problems, hence an estimate there), for the other solvers
        those of the Hessian at the solution, or a Lanczos estimate (from below)
        when forming it would cost more; where X has a null vector (fewer rows
        than features, an all-zero column) ``alpha`` is an eigenvalue and bounds
        the smallest one. ``inf`` for a singular Hessian. For the multinomial
        loss the directions along which the loss is flat by construction (the
        same shift for all classes) are left out.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X has string column names."""
