"""scikit-learn's estimator checks, for both estimators and every solver."""

import pytest
from sklearn.utils.estimator_checks import (
    check_dataframe_column_names_consistency,
    check_param_validation,
    parametrize_with_checks,
)

from sklearn_hessian import HessianClassifier, HessianRegressor
from sklearn_hessian.solvers import SOLVERS

SOLVER_NAMES = ["auto", *SOLVERS]
ESTIMATORS = [
    Estimator(solver=solver)
    for Estimator in (HessianClassifier, HessianRegressor)
    for solver in SOLVER_NAMES
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=repr)
def test_dataframe_column_names_consistency(estimator):
    pytest.importorskip("pandas")
    check_dataframe_column_names_consistency(type(estimator).__name__, estimator)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=repr)
def test_param_validation(estimator):
    check_param_validation(type(estimator).__name__, estimator)
