"""The stochastic solvers against scikit-learn's SGD, at equal epochs.

    python benchmarks/stochastic.py [--repeat 3] [--epochs 1 5 20]

For each data set and number of epochs: the objective reached (the library's
convention, ``mean loss + alpha / 2 ||W||^2`` with alpha = 1e-4, the default of
both libraries, evaluated in float64 at each model's coefficients), its relative
gap to the optimum (from ``solver="auto"``), and the wall time (median of
``--repeat`` fits, BLAS pinned to one thread for everybody), with the ratio ours /
scikit-learn. scikit-learn runs ``SGDClassifier(loss="log_loss")`` /
``SGDRegressor()`` with ``tol=None`` so that it runs exactly the epochs asked for.
For MNIST (10 classes) scikit-learn fits one-vs-rest binary models; its
coefficients are scored with the multinomial objective as they stand.

Data: breast_cancer (unscaled, bundled with scikit-learn), and from
``../shared/data``: California housing (unscaled), a9a, MNIST t10k (pixels 0..255,
unscaled, as in the file). Writes ``benchmarks/results/stochastic.json``.
"""

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.special import logsumexp
from sklearn.datasets import load_breast_cancer, load_svmlight_file
from sklearn.linear_model import SGDClassifier, SGDRegressor
from threadpoolctl import threadpool_limits

from sklearn_hessian import HessianClassifier, HessianRegressor

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
ALPHA = 1e-4


def _objective(est, X, y, classifier):
    W = np.atleast_2d(est.coef_).astype(np.float64)
    b = np.atleast_1d(est.intercept_).astype(np.float64)
    with np.errstate(all="ignore"):
        Z = np.asarray(X @ W.T) + b
        if not classifier:
            loss = 0.5 * (Z[:, 0] - y) ** 2
        elif W.shape[0] == 1:
            t = (y == est.classes_[1]).astype(float)
            loss = np.logaddexp(0, Z[:, 0]) - t * Z[:, 0]
        else:
            idx = np.searchsorted(est.classes_, y)
            loss = logsumexp(Z, axis=1) - Z[np.arange(len(y)), idx]
        return float(np.mean(loss) + 0.5 * ALPHA * np.sum(W * W))


def _datasets():
    X, y = load_breast_cancer(return_X_y=True)
    yield "breast_cancer", X, y, True
    path = DATA / "cal_housing.data"
    if path.is_file():
        data = np.loadtxt(path, delimiter=",", skiprows=1)
        yield "cal_housing", data[:, :-1], data[:, -1], False
    for name, p in (("a9a", 123), ("mnist", 784)):
        path = DATA / {"a9a": "a9a.libsvm", "mnist": "mnist_t10k.libsvm.gz"}[name]
        if path.is_file():
            X, y = load_svmlight_file(str(path), n_features=p)
            X = X.tocsr()
            # scikit-learn's SGD accepts 32-bit sparse indices only.
            X.indices = X.indices.astype(np.int32)
            X.indptr = X.indptr.astype(np.int32)
            yield name, X, y, True


def _time(make, X, y, repeat):
    times, est = [], None
    for _ in range(repeat):
        est = make()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            est.fit(X, y)
            times.append(time.perf_counter() - start)
    return float(np.median(times)), est


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--epochs", type=int, nargs="+", default=[1, 5, 20])
    parser.add_argument("--data", nargs="+", default=None,
                        help="a subset of breast_cancer cal_housing a9a mnist")
    args = parser.parse_args(argv)
    rows = []
    with threadpool_limits(1):
        for name, X, y, classifier in _datasets():
            if args.data and name not in args.data:
                continue
            Ours = HessianClassifier if classifier else HessianRegressor
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                f_star = _objective(Ours(solver="auto").fit(X, y), X, y, classifier)
            for epochs in args.epochs:
                def sk():
                    if classifier:
                        return SGDClassifier(loss="log_loss", max_iter=epochs, tol=None,
                                             random_state=0)
                    return SGDRegressor(max_iter=epochs, tol=None, random_state=0)
                t_sk, est = _time(sk, X, y, args.repeat)
                f_sk = _objective(est, X, y, classifier)
                for solver in ("sgd", "minibatch"):
                    t, est = _time(lambda: Ours(solver=solver, max_iter=epochs), X, y,
                                   args.repeat)
                    f = _objective(est, X, y, classifier)
                    row = dict(data=name, epochs=epochs, solver=solver,
                               epochs_run=int(est.n_iter_),
                               gap=(f - f_star) / abs(f_star),
                               gap_sklearn=(f_sk - f_star) / abs(f_star),
                               time=t, time_sklearn=t_sk, time_ratio=t / t_sk)
                    rows.append(row)
                    print(f"{name:14s} {epochs:3d} epochs  {solver:9s} (ran "
                          f"{row['epochs_run']:3d})  gap {row['gap']:9.2e}  "
                          f"sklearn gap {row['gap_sklearn']:9.2e}  time {t:7.3f} s  "
                          f"sklearn {t_sk:7.3f} s  ratio {t / t_sk:5.2f}", flush=True)
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "stochastic.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
