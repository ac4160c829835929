"""scikit-learn estimators for linear and logistic models fitted with
second-order (Hessian-based) optimisation."""

from ._base import VersionMismatchWarning
from ._classifier import HessianClassifier
from ._cv import HessianClassifierCV, HessianRegressorCV
from ._regressor import HessianRegressor
from ._version import __version__

__all__ = [
    "HessianClassifier",
    "HessianClassifierCV",
    "HessianRegressor",
    "HessianRegressorCV",
    "VersionMismatchWarning",
    "__version__",
]
