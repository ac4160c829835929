"""Demo: ``python -m sklearn_hessian``.

Fits HessianClassifier and HessianRegressor with every solver on small data sets
bundled with scikit-learn, next to LogisticRegression and Ridge set up for the same
minimiser, and prints one table per problem. The objective column is computed the
same way for every row, from ``coef_`` and ``intercept_`` (see ``objective``):

    F(w, b) = mean_i loss_i + alpha / 2 * ||w||^2   (intercept unpenalised)

with the log-loss for classifiers and half the squared error for regressors.
Every model is fitted on, and scored on, the whole data set: the table compares
optimisers, not generalisation. BLAS and OpenMP are limited to one thread, for
every row alike, so that the timings stay comparable on a machine that is busy with
other work, where multithreaded BLAS can be many times slower.
"""

import time
import warnings

import numpy as np
from scipy.special import logsumexp
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from threadpoolctl import threadpool_limits

from . import HessianClassifier, HessianRegressor, __version__

ALPHA = 1e-3
SOLVERS = ("auto", "newton", "newton-cg", "lbfgs")


def objective(model, X, y, alpha):
    """Our objective at the model's ``coef_`` / ``intercept_``, with numpy only.

    Handles binary classifiers (``coef_`` of shape (1, p)), multinomial ones
    ((K, p)) and single-target regressors ((p,)).
    """
    W = np.atleast_2d(model.coef_)  # (k, p)
    Z = X @ W.T + model.intercept_  # (n, k)
    if hasattr(model, "classes_"):
        y_index = np.searchsorted(model.classes_, y)
        if W.shape[0] == 1:  # binary: one score, for classes_[1]
            z = Z[:, 0]
            losses = np.logaddexp(0, z) - (y_index == 1) * z
        else:  # multinomial: softmax over all K classes
            losses = logsumexp(Z, axis=1) - Z[np.arange(len(y)), y_index]
    else:
        losses = 0.5 * (Z[:, 0] - y) ** 2
    return float(np.mean(losses)) + 0.5 * alpha * float(np.sum(W * W))


def timed_fit(estimator, X, y):
    """Fit; return (seconds, whether it warned ConvergenceWarning).

    A fit faster than 0.1 s is repeated (5 fits at most) and the fastest one is
    reported, so that millisecond timings are not just first-call overhead. Warnings
    other than ConvergenceWarning are shown as usual.
    """
    best, not_converged = np.inf, False
    for _ in range(5):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            start = time.perf_counter()
            estimator.fit(X, y)
            best = min(best, time.perf_counter() - start)
        for w in caught:
            if issubclass(w.category, ConvergenceWarning):
                not_converged = True
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        if best >= 0.1:
            break
    return best, not_converged


def n_iterations(model):
    n_iter = getattr(model, "n_iter_", None)
    return "-" if n_iter is None else str(int(np.max(n_iter)))


def run_problem(title, X, y, candidates, score_name):
    """Fit every ``(estimator, solver label, model)`` candidate and print a table."""
    n_samples, n_features = X.shape
    print(f"\n{title}: {n_samples=}, {n_features=}, alpha={ALPHA:g}")
    header = (
        f"{'estimator':<19} {'solver':<19} {'seconds':>8} {'iter':>5} "
        f"{'objective':>20} {score_name:>9}"
    )
    print(header)
    print("-" * len(header))
    for name, solver, model in candidates:
        seconds, not_converged = timed_fit(model, X, y)
        if getattr(model, "solver_", solver) != solver:  # what "auto" chose
            solver = f"{solver} -> {model.solver_}"
        row = (
            f"{name:<19} {solver:<19} {seconds:8.4f} {n_iterations(model):>5} "
            f"{objective(model, X, y, ALPHA):20.12e} {model.score(X, y):9.4f}"
        )
        print(row + ("  (not converged)" if not_converged else ""))


def classifiers(n_samples):
    C = 1.0 / (ALPHA * n_samples)
    ours = [
        ("HessianClassifier", s, HessianClassifier(alpha=ALPHA, solver=s))
        for s in SOLVERS
    ]
    theirs = [
        ("LogisticRegression", s, LogisticRegression(C=C, solver=s))
        for s in ("lbfgs", "newton-cholesky")
    ]
    return ours + theirs


def regressors(n_samples):
    ours = [
        ("HessianRegressor", s, HessianRegressor(alpha=ALPHA, solver=s))
        for s in SOLVERS
    ]
    return ours + [("Ridge", "auto", Ridge(alpha=ALPHA * n_samples))]


def main():
    with threadpool_limits(limits=1):
        run_all()


def run_all():
    print(f"sklearn_hessian {__version__} demo (one BLAS thread)")
    print(
        "Objective: mean loss + alpha/2 ||w||^2 (log-loss for classifiers, half "
        "squared error for regressors);\nLogisticRegression with C = 1/(alpha n), "
        "Ridge with alpha_ridge = alpha n. Default settings otherwise\n(max_iter=100; "
        "tol=1e-8 for ours, scikit-learn's defaults for its own). Scores are on "
        "the training data."
    )
    X, y = load_breast_cancer(return_X_y=True)
    run_problem(
        "Breast cancer, binary, unscaled features", X, y,
        classifiers(X.shape[0]), "accuracy",
    )
    X, y = load_digits(return_X_y=True)
    run_problem(
        "Digits, 10 classes (multinomial)", X, y, classifiers(X.shape[0]), "accuracy"
    )
    X, y = load_diabetes(return_X_y=True)
    run_problem("Diabetes, regression", X, y, regressors(X.shape[0]), "R^2")


if __name__ == "__main__":
    main()
