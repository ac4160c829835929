"""The stochastic solvers against scikit-learn's SGD, at equal epochs.

    python benchmarks/stochastic.py [--repeat 7] [--epochs 1 5 20] [--data a9a mnist]

For each data set and number of epochs: the objective reached (the library's
convention, ``mean loss + alpha / 2 ||W||^2`` with alpha = 1e-4, the default of
both libraries, evaluated in float64 at each model's coefficients), its relative
gap to the optimum, and the wall time of ``fit`` (median of ``--repeat`` fits),
with the ratio ours / scikit-learn. scikit-learn runs
``SGDClassifier(loss="log_loss")`` / ``SGDRegressor()`` with ``tol=None`` so that
it runs exactly the epochs asked for. For MNIST (10 classes) scikit-learn fits
one-vs-rest binary models; its coefficients are scored with the multinomial
objective as they stand.

Timing: BLAS pinned to one thread for everybody; the repeats interleave the
three fits (scikit-learn, ``"sgd"``, ``"minibatch"``), in an order that rotates
from one repeat to the next, so that the load of other processes on a shared
machine hits all of them alike; the garbage collector is off while the clock
runs. Only the ratios of one run are evidence: absolute times move with the load.

The optimum comes from ``solver="auto"`` at ``tol=1e-10``, cached in
``benchmarks/results/stochastic_reference.json`` (keyed by a fingerprint of the
data). Data: breast_cancer (unscaled, bundled with scikit-learn), and from
``../shared/data``: California housing (unscaled), a9a, MNIST t10k (pixels
0..255, unscaled, as in the file). Writes ``benchmarks/results/stochastic.json``
and prints a Markdown table.
"""

import argparse
import gc
import hashlib
import json
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.special import logsumexp
from sklearn.datasets import load_breast_cancer, load_svmlight_file
from sklearn.linear_model import SGDClassifier, SGDRegressor
from threadpoolctl import threadpool_limits

from sklearn_hessian import HessianClassifier, HessianRegressor

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
RESULTS = Path(__file__).resolve().parent / "results"
ALPHA = 1e-4
SOLVERS = ("sgd", "minibatch")


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


def _optimum(name, X, y, classifier):
    """The objective at ``solver="auto"``, ``tol=1e-10``; cached by a
    fingerprint of the data (MNIST's takes minutes)."""
    data = X.data if sp.issparse(X) else X
    key = hashlib.sha256(
        f"{name}|{X.shape}|{ALPHA!r}|{float(np.sum(data))!r}|{float(np.sum(y))!r}".encode()
    ).hexdigest()[:16]
    path = RESULTS / "stochastic_reference.json"
    cache = json.loads(path.read_text()) if path.is_file() else {}
    if key not in cache:
        Ours = HessianClassifier if classifier else HessianRegressor
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = Ours(solver="auto", alpha=ALPHA, tol=1e-10).fit(X, y)
        cache[key] = _objective(est, X, y, classifier)
        RESULTS.mkdir(exist_ok=True)
        path.write_text(json.dumps(cache, indent=1))
    return cache[key]


def _interleaved(makers, X, y, repeat):
    """Median wall time of ``fit`` for each maker, the fits of one repeat run
    one after the other in an order rotated at every repeat; and the last
    fitted estimator of each."""
    names = list(makers)
    times = {name: [] for name in names}
    fitted = {}
    for r in range(repeat):
        for name in names[r % len(names):] + names[:r % len(names)]:
            est = makers[name]()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                gc.disable()
                try:
                    start = time.perf_counter()
                    est.fit(X, y)
                    times[name].append(time.perf_counter() - start)
                finally:
                    gc.enable()
            fitted[name] = est
    return {name: float(np.median(t)) for name, t in times.items()}, fitted


def _table(rows):
    lines = ["| data | epochs | gap `sgd` | gap `minibatch` | gap scikit-learn "
             "| scikit-learn time | time ratio `sgd` | time ratio `minibatch` |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        ran = {s: row[s]["epochs_run"] for s in SOLVERS}
        gaps = [f"{row[s]['gap']:.1e}" + (f" ({ran[s]} run)" if ran[s] < row["epochs"]
                                          else "") for s in SOLVERS]
        lines.append(
            f"| {row['data']} | {row['epochs']} | {gaps[0]} | {gaps[1]} "
            f"| {row['gap_sklearn']:.1e} | {row['time_sklearn'] * 1e3:.1f} ms "
            f"| {row['sgd']['time_ratio']:.2f} | {row['minibatch']['time_ratio']:.2f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
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
            f_star = _optimum(name, X, y, classifier)
            for epochs in args.epochs:
                def sklearn(epochs=epochs):
                    if classifier:
                        return SGDClassifier(loss="log_loss", alpha=ALPHA, max_iter=epochs,
                                             tol=None, random_state=0)
                    return SGDRegressor(alpha=ALPHA, max_iter=epochs, tol=None,
                                        random_state=0)
                makers = {"sklearn": sklearn}
                for solver in SOLVERS:
                    makers[solver] = (lambda solver=solver, epochs=epochs:
                                      Ours(solver=solver, alpha=ALPHA, max_iter=epochs))
                times, fitted = _interleaved(makers, X, y, args.repeat)
                gap = {key: (_objective(est, X, y, classifier) - f_star) / abs(f_star)
                       for key, est in fitted.items()}
                row = dict(data=name, epochs=epochs, f_star=f_star,
                           gap_sklearn=gap["sklearn"], time_sklearn=times["sklearn"])
                for solver in SOLVERS:
                    row[solver] = dict(epochs_run=int(fitted[solver].n_iter_),
                                       gap=gap[solver], time=times[solver],
                                       time_ratio=times[solver] / times["sklearn"])
                rows.append(row)
                print(f"{name:14s} {epochs:3d} epochs  sklearn {times['sklearn']*1e3:8.1f} ms "
                      f"gap {gap['sklearn']:8.1e}  |  "
                      + "  |  ".join(f"{s} {times[s]*1e3:8.1f} ms x{row[s]['time_ratio']:.2f}"
                                     f" gap {gap[s]:8.1e} ({row[s]['epochs_run']} run)"
                                     for s in SOLVERS), flush=True)
    print()
    print(_table(rows))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "stochastic.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
