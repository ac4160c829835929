"""
==========================================
Cross-validation on a dask cluster
==========================================

:class:`~sklearn_hessian.HessianClassifierCV` fits one joblib task per fold, each
running the whole ``alpha`` path with warm starts, and
:class:`~sklearn.model_selection.GridSearchCV` one task per candidate and fold.
Both run on any joblib backend, so the same code runs on your laptop's cores or on
a dask cluster: connect a :class:`distributed.Client` and select the ``"dask"``
backend with :func:`joblib.parallel_config`.

This example starts a small :class:`~distributed.LocalCluster` inside this process
(``processes=False``: two workers as threads), so that it runs anywhere; with a real
cluster only the ``Client(...)`` line changes. :ref:`parallel` says what is sent to
the workers and how to keep BLAS threads from oversubscribing the cores.
"""

# %%
# The data, and a reference fit on one core
# ------------------------------------------
import time

import matplotlib.pyplot as plt
import numpy as np
from distributed import Client, LocalCluster
from joblib import parallel_config
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV
from threadpoolctl import threadpool_limits

from sklearn_hessian import HessianClassifier, HessianClassifierCV

X, y = make_classification(
    n_samples=5_000, n_features=40, n_informative=10, random_state=0
)
cv_params = dict(alphas=12, cv=4, scoring="neg_log_loss")

start = time.perf_counter()
local = HessianClassifierCV(**cv_params).fit(X, y)
print(f"one core: alpha_={local.alpha_:.3g} in {time.perf_counter() - start:.2f} s")

# %%
# The same fit on the cluster
# ---------------------------
# Worker threads share this process, and with it the BLAS thread pool: one BLAS
# thread per task keeps two tasks on two cores from competing for them.
# (Workers started as processes, the default, get one BLAS thread each from dask.)
cluster = LocalCluster(
    n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
)
with cluster, Client(cluster) as client, threadpool_limits(limits=1):
    print(client)
    with parallel_config(backend="dask"):
        start = time.perf_counter()
        on_dask = HessianClassifierCV(**cv_params, n_jobs=-1).fit(X, y)
        print(f"dask: alpha_={on_dask.alpha_:.3g} in "
              f"{time.perf_counter() - start:.2f} s")

        # GridSearchCV: one dask task per (candidate, fold).
        search = GridSearchCV(
            HessianClassifier(),
            {"alpha": local.alphas_, "solver": ["newton", "lbfgs"]},
            cv=4, scoring="neg_log_loss", n_jobs=-1,
        ).fit(X, y)

# %%
# Same results, wherever they ran
# -------------------------------
# Each fold runs the same deterministic computation in the same order on any
# backend, so the cross-validation scores, the chosen ``alpha_`` and the refitted
# coefficients are identical, not only close.
print("identical cv scores:", np.array_equal(
    local.cv_results_["mean_test_score"], on_dask.cv_results_["mean_test_score"]))
print("identical coefficients:", np.array_equal(local.coef_, on_dask.coef_))

# %%
# ``HessianClassifierCV`` fits the same models as ``GridSearchCV`` over ``alpha``
# (its refit is exactly ``HessianClassifier(alpha=alpha_)``), with fewer solver
# iterations, because each fit along the path starts from the previous ``alpha``'s
# optimum; the scores agree to the solvers' tolerance.
newton = search.cv_results_["param_solver"] == "newton"
grid_scores = search.cv_results_["mean_test_score"][newton]
print("largest score difference to GridSearchCV:",
      f"{np.max(np.abs(grid_scores - local.cv_results_['mean_test_score'])):.1e}")

fig, ax = plt.subplots(figsize=(6, 4))
ax.semilogx(local.alphas_, -local.cv_results_["mean_test_score"], "o-",
            label="HessianClassifierCV")
ax.semilogx(local.alphas_, -grid_scores, "x", markersize=9,
            label="GridSearchCV(HessianClassifier())")
ax.axvline(local.alpha_, color="grey", linestyle=":", label="alpha_")
ax.set_xlabel("alpha")
ax.set_ylabel("mean validation log-loss")
ax.legend()
fig.tight_layout()
plt.show()
