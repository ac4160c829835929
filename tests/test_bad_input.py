"""Bad and unusual input: one table, for both estimators and every solver.

``BAD_INPUTS`` is data: each row names an input, builds it, and says what each
estimator must do with it: fit (finite coefficients, sensible predictions, any
row-specific check) or raise a ``ValueError``/``TypeError`` whose message contains
the given text. ``doc/make_bad_input_table.py`` imports the table from here and
writes ``doc/bad_input.md``, so the documentation and the tests cannot drift;
``test_doc_table_is_up_to_date`` fails when the committed page is stale.

Every row also checks that no input is modified, that no ``RuntimeWarning``
(overflow, invalid value) escapes, and that an expected error is raised by the
library's validation (the estimators' ``fit``/``predict`` or scikit-learn's
``validate_data`` they call), never from deep inside numpy or scipy.
"""

import copy
import re
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from sklearn_hessian import HessianClassifier, HessianRegressor

ESTIMATORS = {"classifier": HessianClassifier, "regressor": HessianRegressor}
SOLVERS = ["auto", "newton", "newton-cg", "lbfgs", "sgd", "minibatch"]
N, P = 40, 3


# --------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------
def _clean(kind):
    """A small, well-posed problem: (X, y) for the classifier or the regressor."""
    rng = np.random.RandomState(0)
    X = rng.randn(N, P)
    score = X @ np.array([1.0, -2.0, 0.5])
    if kind == "classifier":
        y = (score + 0.5 * rng.randn(N) > 0).astype(np.int64)
    else:
        y = score + 3.0 + 0.1 * rng.randn(N)
    return X, y


def case(kind, X=None, y=None, sample_weight=None, params=None, predict_X=None):
    """The inputs of one row: clean data where a field is not given."""
    X0, y0 = _clean(kind)
    return dict(
        X=X0 if X is None else X,
        y=y0 if y is None else y,
        sample_weight=sample_weight,
        params={} if params is None else params,
        predict_X=predict_X,
    )


def _with(array, index, value, dtype=np.float64):
    out = np.array(array, dtype=dtype)
    out[index] = value
    return out


def _memmap(kind, tmp_path):
    X, y = _clean(kind)
    path = tmp_path / "X.npy"
    np.save(path, X)
    return case(kind, X=np.load(path, mmap_mode="r"), y=y)


def _csr_int64(kind):
    X, y = _clean(kind)
    A = sp.csr_matrix(X)
    A.indices = A.indices.astype(np.int64)
    A.indptr = A.indptr.astype(np.int64)
    return case(kind, X=A, y=y)


def _frame(kind, **extra):
    pd = pytest.importorskip("pandas")
    X, y = _clean(kind)
    return pd.DataFrame(X, columns=["age", "income", "score"]).assign(**extra), y


def _pl():
    return pytest.importorskip(
        "polars", reason="polars is not installed (pip install polars, or the "
        "package's test extra): its rows of the bad-input table are not checked")


def _polars_frame(kind, **extra):
    pl = _pl()
    X, y = _clean(kind)
    frame = pl.DataFrame({"age": X[:, 0], "income": X[:, 1], "score": X[:, 2]})
    return frame.with_columns(**{name: pl.Series(values)
                                 for name, values in extra.items()}), y


def _polars(kind):
    return case(kind, *_polars_frame(kind))


def _polars_with_nulls(kind):
    pl = _pl()
    X, y = _polars_frame(kind)
    age = pl.when(pl.col("age") > 1.5).then(None).otherwise(pl.col("age"))
    return case(kind, X=X.with_columns(age.alias("age")), y=y)


def _polars_series_y(kind):
    pl = _pl()
    X, y = _clean(kind)
    return case(kind, X=X, y=pl.Series("target", y))


def _polars_string_labels(kind):
    pl = _pl()
    X, y = _clean("classifier")
    return case(kind, X=X, y=pl.Series("target", np.array(["no", "yes"])[y]))


# Row-specific checks of a fitted estimator (``data`` is the row's case).
def _same_as_dense(est, data):
    X, y = _clean(est._kind)
    dense = type(est)(**est.get_params()).fit(X, y)
    np.testing.assert_allclose(est.coef_, dense.coef_, rtol=1e-6, atol=1e-9)


def _same_as_unweighted(est, data):
    _same_as_dense(est, data)


def _same_as_subset(est, data):
    keep = data["sample_weight"] > 0
    X, y = data["X"][keep], np.asarray(data["y"])[keep]
    ref = type(est)(**est.get_params()).fit(X, y)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-6, atol=1e-9)


def _predicts_the_one_target(est, data):
    np.testing.assert_allclose(est.predict(data["X"]), data["y"], rtol=1e-6)


def _predicts_the_constant(est, data):
    np.testing.assert_allclose(est.predict(data["X"]), data["y"][0], atol=1e-6)


def _keeps_feature_names(est, data):
    assert list(est.feature_names_in_) == ["age", "income", "score"]
    # Predicting with the columns in another order is refused, by name (pandas
    # and polars alike), ...
    reordered = data["X"][["score", "income", "age"]]
    with pytest.raises(ValueError, match="feature names should match"):
        est.predict(reordered)
    # ... and a plain array, without names, draws scikit-learn's warning.
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        est.predict(np.asarray(data["X"]))


def _keeps_string_classes(est, data):
    assert est.classes_.dtype.kind in "UO" and set(est.classes_) == {"no", "yes"}


def _keeps_bool_classes(est, data):
    assert list(est.classes_) == [False, True]


def _two_targets(est, data):
    assert est.coef_.shape == (2, P) and est.predict(data["X"]).shape == (N, 2)


def _zero_coefficients(est, data):
    np.testing.assert_allclose(est.coef_, 0, atol=1e-10)


def _float64_coefficients(est, data):
    assert est.coef_.dtype == np.float64


# --------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    """What one estimator does with a row's input.

    ``error`` None means the fit succeeds (``warns``: a warning it must emit);
    otherwise ``error`` is raised with ``message`` (literal text) in its message.
    ``check`` is an extra check of the fitted estimator.
    """

    error: Optional[type] = None
    message: str = ""
    warns: Optional[type] = None
    check: Optional[Callable] = None
    note: str = ""

    def describe(self):
        if self.error is None:
            text = "fits"
            if self.warns is not None:
                text += f", warns `{self.warns.__name__}`"
            return text + (f" ({self.note})" if self.note else "")
        return f"`{self.error.__name__}`: {self.message!r}".replace("|", "\\|")


FITS = Outcome()


def fits(check=None, note="", warns=None):
    return Outcome(check=check, note=note, warns=warns)


def raises(message, error=ValueError):
    return Outcome(error=error, message=message)


@dataclass(frozen=True)
class Row:
    """One input: ``build(kind[, tmp_path])`` returns its ``case``; ``stage`` is
    where it goes wrong ("fit" or "predict", the latter fitting clean data first)."""

    name: str
    build: Callable
    classifier: Optional[Outcome]  # None: does not apply to this estimator
    regressor: Optional[Outcome]
    stage: str = "fit"
    needs: tuple = field(default=())

    def outcome(self, kind):
        return getattr(self, kind)


def both(outcome):
    return dict(classifier=outcome, regressor=outcome)


ONE_CLASS = raises("contain only one class")

BAD_INPUTS = [
    # --- non-finite values ------------------------------------------------------------
    Row("NaN in X", lambda k: case(k, X=_with(_clean(k)[0], (0, 0), np.nan)),
        **both(raises("Input X contains NaN"))),
    Row("inf in X", lambda k: case(k, X=_with(_clean(k)[0], (0, 0), np.inf)),
        **both(raises("Input X contains infinity"))),
    Row("NaN in y", lambda k: case(k, y=_with(_clean(k)[1], 0, np.nan)),
        **both(raises("Input y contains NaN"))),
    Row("inf in y", lambda k: case(k, y=_with(_clean(k)[1], 0, np.inf)),
        **both(raises("Input y contains infinity"))),
    Row("NaN in sample_weight",
        lambda k: case(k, sample_weight=_with(np.ones(N), 0, np.nan)),
        **both(raises("Input sample_weight contains NaN"))),
    Row("inf in sample_weight",
        lambda k: case(k, sample_weight=_with(np.ones(N), 0, np.inf)),
        **both(raises("Input sample_weight contains infinity"))),
    Row("NaN in X, at predict",
        lambda k: case(k, predict_X=_with(_clean(k)[0][:5], (1, 1), np.nan)),
        stage="predict", **both(raises("Input X contains NaN"))),
    Row("X values near the float64 limit (1e200)",
        lambda k: case(k, X=_clean(k)[0] * 1e200),
        **both(raises("overflow float64"))),
    Row("float32 X values whose squares overflow float32 (1e19)",
        lambda k: case(k, X=(_clean(k)[0] * 1e19).astype(np.float32)),
        **both(raises("overflow float32"))),
    Row("y values near the float64 limit (1e200)",
        lambda k: case(k, y=_clean(k)[1] * 1e200),
        classifier=None, regressor=raises("y has values up to")),
    # --- sample weights ---------------------------------------------------------------
    Row("negative sample_weight", lambda k: case(k, sample_weight=-np.ones(N)),
        **both(raises("Negative values in data passed to `sample_weight`"))),
    Row("all-zero sample_weight", lambda k: case(k, sample_weight=np.zeros(N)),
        **both(raises("Sample weights must contain at least one non-zero number"))),
    Row("wrong-length sample_weight", lambda k: case(k, sample_weight=np.ones(5)),
        **both(raises("sample_weight.shape == (5,), expected (40,)"))),
    Row("2-D sample_weight", lambda k: case(k, sample_weight=np.ones((N, 1))),
        **both(raises("Sample weights must be 1D array or scalar"))),
    Row("string sample_weight",
        lambda k: case(k, sample_weight=np.array(["1"] * (N - 1) + ["a"])),
        **both(raises("could not convert string to float"))),
    Row("scalar sample_weight", lambda k: case(k, sample_weight=3.0),
        **both(fits(_same_as_unweighted, "same as no weights"))),
    Row("sample_weight of 1e308 (sum overflows)",
        lambda k: case(k, sample_weight=np.full(N, 1e308)),
        **both(fits(_same_as_unweighted, "same as no weights"))),
    Row("some zero sample_weight",
        lambda k: case(k, sample_weight=(np.arange(N) % 4 > 0).astype(float)),
        **both(fits(_same_as_subset, "same as leaving those rows out"))),
    # --- shapes -----------------------------------------------------------------------
    Row("empty X (0 samples)", lambda k: case(k, X=np.empty((0, P)), y=np.empty(0)),
        **both(raises("Found array with 0 sample(s)"))),
    Row("X with 0 features", lambda k: case(k, X=np.empty((N, 0))),
        **both(raises("Found array with 0 feature(s)"))),
    Row("1 sample", lambda k: case(k, X=_clean(k)[0][:1], y=_clean(k)[1][:1]),
        classifier=ONE_CLASS,
        regressor=fits(_predicts_the_one_target, "predicts that sample's target")),
    Row("1 feature", lambda k: case(k, X=_clean(k)[0][:, :1]), **both(FITS)),
    Row("y of the wrong length", lambda k: case(k, y=_clean(k)[1][:5]),
        **both(raises("inconsistent numbers of samples"))),
    Row("y with 2 columns", lambda k: case(k, y=np.column_stack([_clean(k)[1]] * 2)),
        classifier=raises("y should be a 1d array"),
        regressor=fits(_two_targets, "two targets")),
    Row("3-D X", lambda k: case(k, X=_clean(k)[0].reshape(N, P, 1)),
        **both(raises("Found array with dim 3"))),
    Row("wrong n_features, at predict",
        lambda k: case(k, predict_X=_clean(k)[0][:, :2]), stage="predict",
        **both(raises("X has 2 features, but"))),
    # --- targets ----------------------------------------------------------------------
    Row("1 class", lambda k: case(k, y=np.full(N, 2.0)),
        classifier=ONE_CLASS,
        regressor=fits(_predicts_the_constant, "predicts the constant")),
    Row("continuous y", lambda k: case(k, y=_clean("regressor")[1]),
        classifier=raises("Unknown label type: continuous"), regressor=FITS),
    Row("string labels",
        lambda k: case(k, y=np.array(["no", "yes"])[_clean("classifier")[1]]),
        classifier=fits(_keeps_string_classes, "classes_ are the strings"),
        regressor=raises("needs a numeric target y")),
    Row("boolean labels",
        lambda k: case(k, y=_clean("classifier")[1].astype(bool)),
        classifier=fits(_keeps_bool_classes, "classes_ [False, True]"),
        regressor=fits(note="y as 0/1")),
    Row("mixed labels (strings and integers)",
        lambda k: case(k, y=np.array(["no", 1], dtype=object)[_clean("classifier")[1]]),
        classifier=raises("Unknown label type"),
        regressor=raises("needs a numeric target y")),
    # --- dtypes -----------------------------------------------------------------------
    Row("object X holding numbers", lambda k: case(k, X=_clean(k)[0].astype(object)),
        **both(fits(_float64_coefficients))),
    Row("object X holding strings",
        lambda k: case(k, X=np.where(_clean(k)[0] > 0, "a", "b").astype(object)),
        **both(raises("could not convert string to float"))),
    Row("complex X", lambda k: case(k, X=_clean(k)[0].astype(complex)),
        **both(raises("Complex data not supported"))),
    Row("boolean X", lambda k: case(k, X=_clean(k)[0] > 0),
        **both(fits(_float64_coefficients))),
    Row("int64 X", lambda k: case(k, X=np.round(10 * _clean(k)[0]).astype(np.int64)),
        **both(fits(_float64_coefficients))),
    Row("all-zero X", lambda k: case(k, X=np.zeros((N, P))),
        **both(fits(_zero_coefficients, "zero coefficients"))),
    # --- containers -------------------------------------------------------------------
    Row("CSC X", lambda k: case(k, X=sp.csc_matrix(_clean(k)[0])),
        **both(fits(_same_as_dense, "same as dense"))),
    Row("COO X", lambda k: case(k, X=sp.coo_matrix(_clean(k)[0])),
        **both(fits(_same_as_dense, "same as dense"))),
    Row("CSR X with int64 indices", _csr_int64,
        **both(fits(_same_as_dense, "same as dense"))),
    Row("read-only memory-mapped X", _memmap, needs=("tmp_path",),
        **both(fits(_same_as_dense, "same as in memory"))),
    Row("pandas DataFrame", lambda k: case(k, *_frame(k)),
        **both(fits(_keeps_feature_names, "feature_names_in_ kept and checked"))),
    Row("pandas DataFrame with pd.NA",
        lambda k: case(k, X=_frame(k)[0].astype("Float64").mask(_frame(k)[0] > 1.5)),
        **both(raises("Input X contains NaN"))),
    Row("pandas DataFrame with a string column",
        lambda k: case(k, X=_frame(k, city=["Paris", "Oslo"] * (N // 2))[0]),
        **both(raises("could not convert string to float"))),
    Row("polars DataFrame", _polars,
        **both(fits(_keeps_feature_names, "feature_names_in_ kept and checked"))),
    Row("polars DataFrame with nulls", _polars_with_nulls,
        **both(raises("Input X contains NaN"))),
    Row("polars DataFrame with a string column",
        lambda k: case(k, *_polars_frame(k, city=["Paris", "Oslo"] * (N // 2))),
        **both(raises("could not convert string to float"))),
    Row("polars Series as y", _polars_series_y, **both(FITS)),
    Row("polars Series of string labels as y", _polars_string_labels,
        classifier=fits(_keeps_string_classes, "classes_ are the strings"),
        regressor=raises("needs a numeric target y")),
    # --- solver settings --------------------------------------------------------------
    Row("max_iter=1 on an ill-conditioned problem",
        lambda k: case(k, X=_clean(k)[0] * [1.0, 1e3, 1e-3], params=dict(max_iter=1,
                                                                       alpha=1e-8)),
        classifier=fits(warns=ConvergenceWarning),
        regressor=fits(note="may warn ConvergenceWarning; one Newton step solves it")),
    Row("tol=0", lambda k: case(k, params=dict(tol=0)),
        **both(fits(_same_as_dense, "stops at rounding level; same optimum"))),
    Row("max_iter=0", lambda k: case(k, params=dict(max_iter=0)),
        **both(raises("The 'max_iter' parameter"))),
    Row("negative alpha", lambda k: case(k, params=dict(alpha=-1.0)),
        **both(raises("The 'alpha' parameter"))),
]

_ROW_NAMES = [row.name for row in BAD_INPUTS]
assert len(set(_ROW_NAMES)) == len(_ROW_NAMES), "row names must be unique"


# --------------------------------------------------------------------------------------
# Running a row
# --------------------------------------------------------------------------------------
def _snapshot(value):
    if value is None or np.isscalar(value):
        return copy.deepcopy(value)
    if sp.issparse(value):  # its own arrays: scipy's copy() may downcast indices
        return {name: np.array(getattr(value, name), copy=True)
                for name in ("data", "indices", "indptr", "row", "col")
                if hasattr(value, name)} | {"format": value.format}
    if hasattr(value, "clone"):  # polars
        return value.clone()
    if hasattr(value, "copy") and not isinstance(value, np.memmap):
        return value.copy()
    return np.array(value, copy=True)


def _assert_unchanged(before, after):
    if before is None or np.isscalar(before):
        assert before == after or (before != before and after != after)
    elif isinstance(before, dict):  # a sparse matrix's snapshot
        assert after.format == before["format"]
        for name, array in before.items():
            if name != "format":
                assert getattr(after, name).dtype == array.dtype, name
                np.testing.assert_array_equal(getattr(after, name), array)
    elif hasattr(before, "equals"):  # pandas / polars
        assert before.equals(after)
    else:
        before, after = np.asarray(before), np.asarray(after)
        assert before.dtype == after.dtype and before.shape == after.shape
        np.testing.assert_array_equal(before, after)


def _fit_checks(est, kind, data):
    assert np.all(np.isfinite(est.coef_)) and np.all(np.isfinite(est.intercept_))
    X = data["X"]
    pred = est.predict(X)
    assert len(pred) == X.shape[0]
    if kind == "classifier":
        assert set(np.unique(pred)) <= set(est.classes_)
        proba = est.predict_proba(X)
        assert np.all(np.isfinite(proba))
        np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    else:
        assert np.all(np.isfinite(pred))


def _raised_by_validation(excinfo):
    """The error comes from validation (this library, scikit-learn's
    ``validate_data``, or pandas converting a frame), not from numpy/scipy
    internals such as a failed factorisation."""
    frames = traceback.extract_tb(excinfo.tb)
    origin = frames[-1].filename.replace("\\", "/")
    assert not any(part in origin for part in ("/numpy/", "/scipy/")), (
        f"raised from deep inside {origin}:{frames[-1].lineno}"
    )
    # X's value check may run from the solver's first pass over X (least
    # squares' Gram matrix, ``LinearObjective.confirm_values``): still the
    # validation function, before anything is solved.
    deferred = any(frame.name == "confirm_values" for frame in frames)
    assert deferred or not any("/solvers/" in frame.filename.replace("\\", "/")
                               for frame in frames), "raised by a solver, not by validation"


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("kind", list(ESTIMATORS))
@pytest.mark.parametrize("row", BAD_INPUTS, ids=_ROW_NAMES)
def test_bad_input(row, kind, solver, request):
    extra = [request.getfixturevalue(name) for name in row.needs]
    data = row.build(kind, *extra)
    outcome = row.outcome(kind)
    if outcome is None:
        pytest.skip(f"{row.name!r} does not apply to the {kind}")
    inputs = {name: data[name] for name in ("X", "y", "sample_weight", "predict_X")}
    before = {name: _snapshot(value) for name, value in inputs.items()}
    est = ESTIMATORS[kind](solver=solver, **data["params"])
    est._kind = kind

    def run():
        if row.stage == "predict":
            fitted = est.fit(*_clean(kind))
            return fitted.predict(data["predict_X"])
        return est.fit(data["X"], data["y"], sample_weight=data["sample_weight"])

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if outcome.error is not None:
            with pytest.raises(outcome.error, match=re.escape(outcome.message)) as exc:
                run()
            _raised_by_validation(exc)
        else:
            run()
            _fit_checks(est, kind, data)
            if outcome.check is not None:
                outcome.check(est, data)
    categories = [w.category for w in caught]
    assert RuntimeWarning not in categories, [str(w.message) for w in caught]
    if outcome.warns is not None:
        assert outcome.warns in categories
    for name, value in inputs.items():
        _assert_unchanged(before[name], value)


# --------------------------------------------------------------------------------------
# The published table
# --------------------------------------------------------------------------------------
def markdown_table():
    """``doc/bad_input.md``, generated from ``BAD_INPUTS``."""
    lines = [
        "# Bad and unusual input",
        "",
        "What `HessianClassifier` and `HessianRegressor` do with each input, for every",
        "solver (" + ", ".join(f"`{name}`" for name in SOLVERS) + "). \"fits\" means finite",
        "coefficients and finite predictions (probabilities summing to one); an error",
        "is raised by the estimator's validation and its message contains the text",
        "shown. No input is ever modified, and no `RuntimeWarning` escapes.",
        "",
        "Generated from the table `BAD_INPUTS` in `tests/test_bad_input.py` by",
        "`python doc/make_bad_input_table.py`; `tests/test_bad_input.py` runs every",
        "row, so this page and the tests cannot drift.",
        "",
        "| input | `HessianClassifier` | `HessianRegressor` |",
        "| --- | --- | --- |",
    ]
    for row in BAD_INPUTS:
        cells = [o.describe() if o is not None else "n/a" for o in
                 (row.classifier, row.regressor)]
        lines.append(f"| {row.name} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines) + "\n"


def test_doc_table_is_up_to_date():
    path = Path(__file__).resolve().parents[1] / "doc" / "bad_input.md"
    assert path.read_text() == markdown_table(), (
        "doc/bad_input.md is stale: run python doc/make_bad_input_table.py"
    )
