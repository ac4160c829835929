"""Peak extra memory of ``fit`` against the size of X, on the dense tall problems.

    python benchmarks/memory.py [--problems dense_tall_logistic,dense_multinomial,...]

For each problem and deterministic solver of ours: the peak of numpy's allocations
during ``fit`` (``tracemalloc``, which numpy reports its buffers to), minus what was
allocated before it, as a multiple of the size of X. The performance issue's bound
is 0.5 x size(X) for n >> d. BLAS and OpenMP are limited to one thread.
"""

import argparse
import tracemalloc
import warnings

from threadpoolctl import threadpool_limits

from problems import get_problem

from sklearn_hessian import HessianClassifier, HessianRegressor

SOLVERS = ("newton", "newton-cg", "lbfgs")


def peak_extra(problem, solver):
    cls = HessianRegressor if problem.kind == "squared_error" else HessianClassifier
    est = cls(alpha=problem.alpha, solver=solver, max_iter=2000)
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(problem.X, problem.y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak - base


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", default="dense_tall_logistic,dense_illcond_logistic,"
                        "dense_multinomial,dense_tall_ls")
    args = parser.parse_args(argv)
    print("| problem | size of X | " + " | ".join(f"`{s}`" for s in SOLVERS) + " |")
    print("| --- | ---: |" + " ---: |" * len(SOLVERS))
    with threadpool_limits(1):
        for name in args.problems.split(","):
            problem = get_problem(name)
            size = problem.X.nbytes
            cells = []
            for solver in SOLVERS:
                extra = peak_extra(problem, solver)
                cells.append(f"{extra / 2**20:.1f} MiB ({extra / size:.2f} x)")
            print(f"| {name} | {size / 2**20:.1f} MiB | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
