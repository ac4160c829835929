"""
==================================================
Ill-conditioned data: warnings vs a converged fit
==================================================

Two kinds of data make gradient-based solvers stall and Newton solvers fail:
features in very different units (the Hessian's condition number grows with the
ratio of their scales squared) and collinear or duplicated features with little or
no penalty (the Hessian is singular). This example runs scikit-learn's
:class:`~sklearn.linear_model.LogisticRegression` and
:class:`~sklearn_hessian.HessianClassifier` on both, with the same objective, and
shows what ``condition_number_``, ``verbose`` and ``hessian_report`` tell you.

How the ``"newton"`` solver corrects the Hessian is explained in
:ref:`condition`.
"""

# %%
# Unscaled features: breast cancer
# --------------------------------
# The thirty features of the breast cancer data range from about 0.001 (fractal
# dimensions) to a few thousand (areas). With its defaults (``C=1``, L-BFGS,
# ``max_iter=100``) scikit-learn stops before the optimum and warns.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from sklearn_hessian import HessianClassifier

X, y = load_breast_cancer(return_X_y=True)
n_samples = X.shape[0]
C = 1.0
alpha = 1.0 / (C * n_samples)  # the same objective as LogisticRegression(C=C)


def objective(model, X, alpha):
    """Mean log-loss plus alpha / 2 ||w||^2, the intercept unpenalised."""
    w, b = np.ravel(model.coef_), float(np.ravel(model.intercept_)[0])
    z = X @ w + b
    return np.mean(np.logaddexp(0, z) - y * z) + 0.5 * alpha * (w @ w)


def fit_and_report(model, X):
    """Fit; print the first line of every warning raised; return the model."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, y)
    for w in caught:
        print(f"{type(model).__name__}: {w.category.__name__}: "
              f"{str(w.message).splitlines()[0]}")
    return model


sk = fit_and_report(LogisticRegression(C=C), X)
ours = fit_and_report(HessianClassifier(alpha=alpha), X)
f_sk, f_ours = objective(sk, X, alpha), objective(ours, X, alpha)
print(f"LogisticRegression: objective {f_sk:.10f}")
print(f"HessianClassifier:  objective {f_ours:.10f}, solver {ours.solver_!r}, "
      f"{ours.n_iter_} iterations, condition number {ours.condition_number_:.2e}")

# %%
# ``condition_number_`` is the condition number of the Hessian at the solution:
# about 1e9 here, which is why a first-order method crawls. The ``"newton"`` solver
# eliminates the intercept and scales every coefficient to unit curvature before it
# factorises the Hessian, so the units of the features cost it nothing: it
# converges in about as many iterations as on standardised data.
# ``hessian_report`` shows the two condition numbers and the features involved.
print(ours.hessian_report(X, y, n_top=3))

# %%
# The objective along the iterations: ``loss_curve_`` for ours, and scikit-learn's
# L-BFGS refitted with growing ``max_iter``.
budgets = [5, 10, 20, 50, 100, 200, 500, 1000]
sk_curve = []
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    for max_iter in budgets:
        model = LogisticRegression(C=C, max_iter=max_iter).fit(X, y)
        sk_curve.append(objective(model, X, alpha))
f_star = min(f_ours, *sk_curve)
floor = 1e-16

fig, ax = plt.subplots(figsize=(7, 4))
ax.semilogy(budgets, np.maximum((np.array(sk_curve) - f_star) / f_star, floor),
            "--o", label="LogisticRegression (lbfgs)")
ax.semilogy(np.arange(1, ours.n_iter_ + 1),
            np.maximum((ours.loss_curve_ - f_star) / f_star, floor),
            "-o", label="HessianClassifier (newton)")
ax.set_xscale("log")
ax.set_xlabel("iterations")
ax.set_ylabel("relative suboptimality")
ax.set_title("Breast cancer, unscaled features, C = 1")
ax.legend()
fig.tight_layout()
plt.show()

# %%
# Collinear features without a penalty
# -------------------------------------
# Take the ten "mean" features (with them the classes are not linearly separable,
# so the unpenalised fit has a finite optimum), append a copy of the first one in
# other units (times 1000) and exact duplicates of the first three, and drop the
# penalty (``alpha=0``, ``C=np.inf``). The Hessian is now singular: the optimum is
# not unique, since the weight of a feature can be shared in any way between its
# copies. scikit-learn's ``newton-cholesky`` cannot factorise the Hessian and falls
# back to L-BFGS, which then runs out of iterations.
X10 = X[:, :10]
X_dup = np.column_stack([X10, 1000 * X10[:, 0], X10[:, :3]])
sk = fit_and_report(LogisticRegression(C=np.inf, solver="newton-cholesky"), X_dup)

# %%
# ``HessianClassifier`` detects the null directions of the Hessian and leaves them
# out of every step (``verbose=1`` prints what was corrected at each iteration).
# It converges without a warning; ``condition_number_`` is ``inf``, which says that
# the Hessian at the solution is singular.
ours = fit_and_report(HessianClassifier(alpha=0, verbose=1), X_dup)
print(f"converged in {ours.n_iter_} iterations, condition number "
      f"{ours.condition_number_}")
print(f"objective: ours {objective(ours, X_dup, 0):.10f}, "
      f"scikit-learn {objective(sk, X_dup, 0):.10f}")

# %%
# Starting from zero and never stepping along a null direction, the solver ends at
# the *minimum-norm* optimum, as :func:`numpy.linalg.lstsq` does for least squares:
# exact duplicates share their weight equally, and a copy scaled by 1000 takes
# almost all of it (a coefficient 1000 times smaller is the cheaper way to carry
# it). The combined effect of each feature, and the predictions, are those of the
# model fitted without the copies.
plain = HessianClassifier(alpha=0).fit(X10, y)
c = ours.coef_[0]
print("feature 0: alone", round(plain.coef_[0, 0], 4), "| split",
      np.round([c[0], c[10], c[11]], 6), "| combined",
      round(c[0] + 1000 * c[10] + c[11], 4))
print("feature 1: alone", round(plain.coef_[0, 1], 4), "| split",
      np.round([c[1], c[12]], 4))
print("largest difference in predicted probabilities:",
      f"{np.abs(ours.predict_proba(X_dup) - plain.predict_proba(X10)).max():.1e}")

# %%
# ``hessian_report`` names the coefficients that the data do not identify: the
# flattest directions of the scaled Hessian are the collinear combinations.
report = ours.hessian_report(X_dup, y, n_top=4)
print(report)
