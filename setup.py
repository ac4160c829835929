"""Build the one compiled module (the per-sample loop of solver="sgd").

Everything else is declared in pyproject.toml; setuptools needs this file only to
know about the extension. Cython is a build-time requirement, not a runtime one.
"""

from Cython.Build import cythonize
from setuptools import Extension, setup

setup(
    ext_modules=cythonize(
        [Extension("sklearn_hessian.solvers._sgd_fast",
                   ["sklearn_hessian/solvers/_sgd_fast.pyx"])],
        compiler_directives={"language_level": 3},
    ),
)
