"""Pickled deployment: small pickles, the library version, bit-identical predictions
after pickle and joblib round trips, also across processes."""

import pickle
import subprocess
import sys
import textwrap
import warnings

import joblib
import numpy as np
import pytest

import sklearn_hessian
import sklearn_hessian._base as base
from sklearn_hessian import (
    HessianClassifier,
    HessianClassifierCV,
    HessianRegressor,
    HessianRegressorCV,
    VersionMismatchWarning,
    __version__,
)

SOLVERS = ["newton", "newton-cg", "lbfgs", "sgd", "minibatch"]

# Data and models, built the same way here and in the subprocesses.
SETUP = textwrap.dedent(
    """
    import numpy as np
    from sklearn_hessian import HessianClassifier, HessianRegressor

    def data(dtype):
        rng = np.random.RandomState(0)
        X = rng.randn(200, 6).astype(dtype)
        y3 = np.digitize(X @ np.arange(1.0, 7.0) + rng.randn(200), [-2, 2])
        yr = X @ np.arange(1.0, 7.0) + rng.randn(200)
        return X, y3, yr

    def fit(name, solver, dtype):
        X, y3, yr = data(dtype)
        if name == "classifier":
            return HessianClassifier(alpha=1e-3, solver=solver).fit(X, y3)
        return HessianRegressor(alpha=1e-3, solver=solver).fit(X, yr)

    def outputs(model, X):
        out = {"predict": model.predict(X)}
        if hasattr(model, "predict_proba"):
            out["proba"] = model.predict_proba(X)
            out["decision"] = model.decision_function(X)
        return out
    """
)
namespace = {}
exec(SETUP, namespace)
data, fit, outputs = namespace["data"], namespace["fit"], namespace["outputs"]

CASES = [(name, solver, dtype) for name in ("classifier", "regressor")
         for solver in SOLVERS for dtype in ("float64", "float32")]
IDS = [f"{n}-{s}-{d}" for n, s, d in CASES]


def _assert_bit_identical(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].dtype == b[key].dtype, key
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def _run(code, tmp_path):
    script = SETUP + textwrap.dedent(code)
    result = subprocess.run(
        [sys.executable, "-W", "error::UserWarning", "-c", script], cwd=tmp_path,
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("name,solver,dtype", CASES, ids=IDS)
def test_round_trips_predict_bit_identically(name, solver, dtype, tmp_path):
    model = fit(name, solver, dtype)
    X = data(dtype)[0]
    expected = outputs(model, X)
    if dtype == "float32":
        assert model.coef_.dtype == np.float32
        key = "proba" if name == "classifier" else "predict"
        assert expected[key].dtype == np.float32
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # same version: no VersionMismatchWarning
        again = pickle.loads(pickle.dumps(model))
        joblib.dump(model, tmp_path / "model.joblib")
        loaded = joblib.load(tmp_path / "model.joblib")
    _assert_bit_identical(outputs(again, X), expected)
    _assert_bit_identical(outputs(loaded, X), expected)
    assert again.get_params() == model.get_params()
    assert "_sklearn_hessian_version" not in vars(again)  # in the state, not kept


def test_pickles_written_in_a_fresh_process_load_here(tmp_path):
    # One subprocess writes every case (a fresh interpreter per case would cost
    # a second of imports each).
    _run(
        f"""
        import pickle, joblib
        for name, solver, dtype in {CASES!r}:
            tag = f"{{name}}-{{solver}}-{{dtype}}"
            model = fit(name, solver, dtype)
            with open(tag + ".pkl", "wb") as f:
                pickle.dump(model, f)
            joblib.dump(model, tag + ".joblib")
            np.savez(tag + ".npz", **outputs(model, data(dtype)[0]))
        """,
        tmp_path,
    )
    for (name, solver, dtype), tag in zip(CASES, IDS):
        X = data(dtype)[0]
        expected = dict(np.load(tmp_path / f"{tag}.npz"))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with open(tmp_path / f"{tag}.pkl", "rb") as f:
                model = pickle.load(f)
            loaded = joblib.load(tmp_path / f"{tag}.joblib")
        _assert_bit_identical(outputs(model, X), expected)
        _assert_bit_identical(outputs(loaded, X), expected)
        # and the same model fitted here: fitting is deterministic across processes
        _assert_bit_identical(outputs(fit(name, solver, dtype), X), expected)


def test_pickles_written_here_load_in_a_fresh_process(tmp_path):
    expected = {}
    for (name, solver, dtype), tag in zip(CASES, IDS):
        model = fit(name, solver, dtype)
        with open(tmp_path / f"{tag}.pkl", "wb") as f:
            pickle.dump(model, f)
        joblib.dump(model, tmp_path / f"{tag}.joblib")
        expected[tag] = outputs(model, data(dtype)[0])
    _run(
        f"""
        import pickle, joblib
        for name, solver, dtype in {CASES!r}:
            tag = f"{{name}}-{{solver}}-{{dtype}}"
            X = data(dtype)[0]
            with open(tag + ".pkl", "rb") as f:
                model = pickle.load(f)
            np.savez(tag + ".pickle.npz", **outputs(model, X))
            np.savez(tag + ".joblib.npz", **outputs(joblib.load(tag + ".joblib"), X))
        """,
        tmp_path,
    )
    for tag in IDS:
        for how in ("pickle", "joblib"):
            got = dict(np.load(tmp_path / f"{tag}.{how}.npz"))
            _assert_bit_identical(got, expected[tag])


@pytest.mark.parametrize("Estimator", [HessianClassifier, HessianRegressor])
def test_pickle_size_is_proportional_to_the_coefficients(Estimator):
    rng = np.random.RandomState(1)

    def size(n, p):
        X = rng.randn(n, p)
        y = (X[:, 0] + rng.randn(n) > 0).astype(int)
        return len(pickle.dumps(Estimator(alpha=1e-2).fit(X, y)))

    small, many_rows = size(100, 10), size(20_000, 10)
    # 200 times the rows: the pickle holds no training data (only loss_curve_
    # may be an iteration or two longer).
    assert abs(many_rows - small) < 200
    wide = size(100, 2000)
    # 1990 more coefficients, 8 bytes each, plus a fixed overhead
    assert 8 * 1990 <= wide - small <= 8 * 1990 + 500
    assert small < 2000


def test_state_carries_the_version_and_sklearn_keeps_its_own_handling():
    X, y = data("float64")[0], data("float64")[1]
    model = HessianClassifier().fit(X, y)
    state = model.__getstate__()
    assert state["_sklearn_hessian_version"] == __version__
    assert "_sklearn_hessian_version" not in vars(model)  # a copy, not __dict__
    assert state["coef_"] is model.coef_
    assert "X" not in state and all(
        not (isinstance(v, np.ndarray) and v.shape[0] == X.shape[0])
        for v in state.values()
    )


@pytest.mark.parametrize(
    "Estimator", [HessianClassifier, HessianRegressor, HessianClassifierCV,
                  HessianRegressorCV]
)
def test_unpickling_under_another_version_warns(Estimator, monkeypatch):
    X, y3, yr = data("float64")
    y = y3 if "Classifier" in Estimator.__name__ else yr
    params = dict(alphas=3, cv=2) if Estimator.__name__.endswith("CV") else {}
    model = Estimator(**params).fit(X, y)
    monkeypatch.setattr(base, "__version__", "0.0.1")
    blob = pickle.dumps(model)
    monkeypatch.undo()
    with pytest.warns(VersionMismatchWarning, match=r"version 0\.0\.1 when using") as w:
        again = pickle.loads(blob)
    warning = w[0].message
    assert warning.original_version == "0.0.1"
    assert warning.current_version == __version__
    assert warning.estimator_name == Estimator.__name__
    np.testing.assert_array_equal(again.predict(X), model.predict(X))
    # A state without a version (pickled before versions were recorded) warns too.
    state = model.__getstate__()
    del state["_sklearn_hessian_version"]
    fresh = Estimator.__new__(Estimator)
    with pytest.warns(VersionMismatchWarning, match="version unknown"):
        fresh.__setstate__(state)


def test_warning_is_exported():
    assert "VersionMismatchWarning" in sklearn_hessian.__all__
    assert issubclass(VersionMismatchWarning, UserWarning)
