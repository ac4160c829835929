"""Build the compiled modules: the per-sample loop of solver="sgd", and the
one-pass sparse Hessian-vector product of the Newton solvers.

Everything else is declared in pyproject.toml; setuptools needs this file only to
know about the extensions. Cython is a build-time requirement, not a runtime one.
"""

from Cython.Build import cythonize
from setuptools import Extension, setup

setup(
    ext_modules=cythonize(
        [Extension("sklearn_hessian.solvers._sgd_fast",
                   ["sklearn_hessian/solvers/_sgd_fast.pyx"]),
         Extension("sklearn_hessian._sparse_kernels",
                   ["sklearn_hessian/_sparse_kernels.pyx"])],
        compiler_directives={"language_level": 3},
    ),
)
