"""Line-search trial cost, serial vs threaded (``n_jobs``), at n >= 10^6.

A trial step of the line search costs O(n k) once ``X @ d`` is known: the loss at
``z + t X d`` summed over the samples. With ``n_jobs > 1`` the sum runs over fixed
blocks of rows on joblib threads. This script times one trial (median of repeats)
for the binomial and the multinomial loss, and checks that the values are
bit-identical to the serial ones.

    python benchmarks/linesearch.py [--sizes 1000000,4000000] [--repeats 15]
"""

import argparse
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

from sklearn_hessian._objective import make_objective


def trial_time(objective, coef, Z, D, repeats):
    line = objective.line(coef, Z, D)
    times, values = [], []
    for i in range(repeats):
        t = 0.5 ** (i % 4)
        start = time.perf_counter()
        values.append(line(t))
        times.append(time.perf_counter() - start)
    return statistics.median(times), values


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,4000000")
    parser.add_argument("--features", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--jobs", default="2")
    args = parser.parse_args()
    rng = np.random.RandomState(0)
    print("one line-search trial, median seconds (BLAS 1 thread)")
    print(f"{'loss':<12}{'n':>10}{'n_jobs':>8}{'seconds':>10}{'speedup':>9}  identical")
    with threadpool_limits(1, "blas"):
        for n in [int(s) for s in args.sizes.split(",")]:
            X = rng.randn(n, args.features)
            for loss, k, y in [
                ("binomial", 1, (rng.rand(n) < 0.5).astype(np.float64)),
                ("multinomial", 5, rng.randint(0, 5, n)),
            ]:
                coef = rng.randn(args.features + 1, k) * 0.1
                D = rng.randn(args.features + 1, k) * 0.1
                serial = None
                for n_jobs in [None] + [int(j) for j in args.jobs.split(",")]:
                    obj = make_objective(loss, X, y, None, 1e-4, True, k, n_jobs=n_jobs)
                    try:
                        Z = obj.predictor(coef)
                        seconds, values = trial_time(obj, coef, Z, D, args.repeats)
                    finally:
                        obj.close()
                    if serial is None:
                        serial = (seconds, values)
                    print(
                        f"{loss:<12}{n:>10}{str(n_jobs or 1):>8}{seconds:>10.4f}"
                        f"{serial[0] / seconds:>9.2f}  {values == serial[1]}"
                    )


if __name__ == "__main__":
    main()
