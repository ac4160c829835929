"""
=======================================================
Out-of-core training with ``partial_fit``
=======================================================

A data set that does not fit in memory can be learned chunk by chunk: here it is
written to a file on disk, opened as a numpy memory map (nothing is loaded until a
chunk is sliced) and passed to :meth:`~sklearn_hessian.HessianClassifier.partial_fit`
one chunk at a time, for a few passes over the file.

The features are deliberately left unscaled (their scales span four orders of
magnitude): the stochastic solvers take steps preconditioned by a sub-sampled
Hessian, so the default step needs no tuning and no ``StandardScaler``.

We report the objective gap to the full-batch optimum (computed with
``solver="newton"``) after each pass, next to ``fit(solver="sgd")`` run for the
same number of epochs on the data in memory, which is variance-reduced and so
converges to the optimum itself.
"""

# %%
# Write a data set to disk
# ------------------------
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_classification

from sklearn_hessian import HessianClassifier

n_samples, n_features, chunk_size = 200_000, 20, 20_000
X, y = make_classification(n_samples=n_samples, n_features=n_features,
                           n_informative=10, random_state=0)
scales = np.logspace(-2, 2, n_features)  # unscaled features: 1e-2 ... 1e2
X *= scales

folder = Path(tempfile.mkdtemp())
np.save(folder / "X.npy", X.astype(np.float64))
np.save(folder / "y.npy", y)
del X, y  # from here on, the data live on disk only

X_disk = np.load(folder / "X.npy", mmap_mode="r")
y_disk = np.load(folder / "y.npy", mmap_mode="r")


def objective(model, X, y, alpha):
    """Mean log-loss + alpha / 2 ||w||^2, read chunk by chunk."""
    total = 0.0
    for start in range(0, len(y), chunk_size):
        z = np.asarray(X[start:start + chunk_size]) @ model.coef_[0] + model.intercept_[0]
        t = np.asarray(y[start:start + chunk_size])
        total += np.sum(np.logaddexp(0, z) - t * z)
    return total / len(y) + 0.5 * alpha * float(model.coef_[0] @ model.coef_[0])


alpha = 1e-4
f_star = objective(HessianClassifier(alpha=alpha, solver="newton").fit(X_disk, y_disk),
                   X_disk, y_disk, alpha)

# %%
# Learn from the chunks
# ---------------------
# One call per chunk; each call continues from the previous one (coefficients,
# step counter). The classes must be given on the first call, as a chunk may not
# contain all of them.
epochs = 4
online = HessianClassifier(alpha=alpha, solver="sgd", random_state=0)
online_gaps, fit_gaps = [], []
for epoch in range(1, epochs + 1):
    for start in range(0, n_samples, chunk_size):
        online.partial_fit(X_disk[start:start + chunk_size],
                           y_disk[start:start + chunk_size], classes=[0, 1])
    online_gaps.append((objective(online, X_disk, y_disk, alpha) - f_star) / f_star)
    batch = HessianClassifier(alpha=alpha, solver="sgd", max_iter=epoch,
                              random_state=0).fit(X_disk, y_disk)
    fit_gaps.append((objective(batch, X_disk, y_disk, alpha) - f_star) / f_star)
    print(f"epoch {epoch}: partial_fit gap {online_gaps[-1]:.2e}, "
          f"fit gap {fit_gaps[-1]:.2e}")

# %%
# The objective gap per pass
# --------------------------
fig, ax = plt.subplots(figsize=(6, 4))
ax.semilogy(range(1, epochs + 1), online_gaps, "o-",
            label="partial_fit, 10 chunks from disk")
ax.semilogy(range(1, epochs + 1), np.maximum(fit_gaps, 1e-16), "s-",
            label='fit(solver="sgd"), in memory')
ax.set_xlabel("passes over the data (epochs)")
ax.set_ylabel("relative objective gap to the optimum")
ax.set_xticks(range(1, epochs + 1))
ax.legend()
fig.tight_layout()
plt.show()
