"""
=====================================================
Pipeline, GridSearchCV over solver settings, pickle
=====================================================

The estimators are ordinary scikit-learn estimators: they go in a
:class:`~sklearn.pipeline.Pipeline`, their parameters are tuned by
:class:`~sklearn.model_selection.GridSearchCV`, and the fitted pipeline is saved
with :mod:`pickle` (or :func:`joblib.dump`) and loaded again to predict.

Two kinds of parameter are tuned here. ``alpha`` changes the model. ``solver`` and
``tol`` only change how the optimum is approached: every solver minimises the same
objective, so at a tight ``tol`` they give the same model, and what a search over
them can tell you is which setting is *fastest* on your data (from
``cv_results_``'s fit times), not which one scores best.
"""

# %%
# The search
# ----------
import pickle
import tempfile
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_hessian import HessianClassifier

X, y = load_breast_cancer(return_X_y=True, as_frame=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)

pipe = make_pipeline(StandardScaler(), HessianClassifier())
param_grid = {
    "hessianclassifier__alpha": np.logspace(-4, -1, 4),
    "hessianclassifier__solver": ["newton", "newton-cg", "lbfgs"],
    "hessianclassifier__tol": [1e-4, 1e-8],
}
search = GridSearchCV(pipe, param_grid, scoring="neg_log_loss", cv=5)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    search.fit(X_train, y_train)
print(f"{len(search.cv_results_['params'])} candidates x 5 folds, "
      f"{len(caught)} warnings")
print("best_params_:", {name.split("__")[-1]: value if isinstance(value, str)
                        else float(value) for name, value in search.best_params_.items()})

# %%
# What the solvers change: time, not the model
# --------------------------------------------
# At ``tol=1e-8`` (the default) the three solvers agree on the score to six
# digits at every ``alpha``; ``mean_fit_time`` is what tells them apart. (The
# warnings are two ``lbfgs`` fits at the smallest ``alpha`` that ran out of
# iterations just short of ``tol=1e-8``; their scores agree all the same.)
results = pd.DataFrame(search.cv_results_)
results = results.rename(columns=lambda c: c.replace("param_hessianclassifier__", ""))
tight = results[results["tol"] == 1e-8]
print(tight.pivot(index="alpha", columns="solver", values="mean_test_score").round(6))
print(tight.pivot(index="alpha", columns="solver", values="mean_fit_time").round(4))

# %%
# A loose ``tol`` stops each solver somewhere short of the optimum, in its own way,
# and changes the scores in the third or fourth decimal: a form of early stopping.
# When such a fit happens to score better on the validation folds, ``best_params_``
# picks it (as it may have done above), but that is noise, not a better model. Tune ``alpha`` (the
# model) by score, choose the solver by time, and keep a tight ``tol``.
loose = results[results["tol"] == 1e-4].set_index(["alpha", "solver"])
exact = tight.set_index(["alpha", "solver"])
gap = (loose["mean_test_score"] - exact["mean_test_score"]).abs().max()
print(f"largest score change from tol=1e-8 to tol=1e-4: {gap:.1e}")

fig, ax = plt.subplots(figsize=(7, 4))
for (solver, tol), group in results.groupby(["solver", "tol"]):
    ax.semilogx(group["alpha"], group["mean_fit_time"] * 1e3, marker="o",
                linestyle="-" if tol == 1e-8 else ":", label=f"{solver}, tol={tol:g}")
ax.set_xlabel("alpha")
ax.set_ylabel("mean fit time (ms)")
ax.set_title("Same models, different costs")
ax.legend(fontsize="small", ncol=2)
fig.tight_layout()
plt.show()

# %%
# The final model: the best ``alpha`` at ``tol=1e-8``, with the solver that was
# fastest there, refitted on all the training data.
by_alpha = tight.groupby("alpha")["mean_test_score"].mean()
best_alpha = float(by_alpha.idxmax())
at_best = tight[tight["alpha"] == best_alpha]
fastest = at_best.loc[at_best["mean_fit_time"].idxmin(), "solver"]
print(f"alpha={best_alpha:g}, solver={fastest!r}")
best = clone(pipe).set_params(
    hessianclassifier__alpha=best_alpha, hessianclassifier__solver=fastest
).fit(X_train, y_train)
print(f"test log-loss: {log_loss(y_test, best.predict_proba(X_test)):.4f}")

# %%
# Pickle, reload, predict
# -----------------------
# The pipeline pickles as a whole, scaler and classifier. Its pickle holds the parameters and the fitted attributes
# (``coef_``, ``intercept_``, ``classes_``, the scaler's means and scales...), not
# the training data, and the library version that wrote it.
best = search.best_estimator_
with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "model.pkl"
    with open(path, "wb") as f:
        pickle.dump(best, f)
    print(f"pickle: {path.stat().st_size} bytes")
    with open(path, "rb") as f:
        loaded = pickle.load(f)

print("identical predictions:",
      np.array_equal(loaded.predict_proba(X_test), best.predict_proba(X_test)))
print("first test samples:", loaded.predict(X_test.iloc[:5]).tolist(),
      "| truth:", y_test.iloc[:5].tolist())

# %%
# The version that wrote the pickle is stored with the estimator. Loading it under
# another version of ``sklearn_hessian`` warns
# :class:`~sklearn_hessian.VersionMismatchWarning` (scikit-learn does the same for
# the scaler with its ``InconsistentVersionWarning``); turn it into an error where
# a silent mismatch would be worse than a failure. :doc:`/deployment` says more.
from sklearn_hessian import VersionMismatchWarning, __version__  # noqa: E402

print("written by sklearn_hessian", loaded[-1].__getstate__()["_sklearn_hessian_version"],
      "| running", __version__)
with warnings.catch_warnings():
    warnings.simplefilter("error", VersionMismatchWarning)
    pickle.loads(pickle.dumps(best))  # same version: no warning
