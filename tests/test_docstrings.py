"""Doctests: every Examples section of the package, and the code of the doc pages.

The docstrings are collected from the *imported* package, whatever is installed
(CI installs it non-editable, and compiled modules exist only there), rather than
by ``pytest --doctest-modules`` over the source tree: a source file is not what
users run. The pages of ``doc/`` with ``>>>`` examples are run as doctests too, so
that the quick start and the user guide cannot drift from the code.

Also checked: every public class and function, and every public method defined in
the package, has a numpydoc ``Examples`` section with at least one example.
"""

import doctest
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import sklearn_hessian
import sklearn_hessian.inference

OPTIONFLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
# Examples of penalised fits call the inference methods, which then warn (on
# purpose) that the result is a Laplace approximation.
EXPECTED_WARNINGS = pytest.mark.filterwarnings(
    "ignore::sklearn_hessian.inference.InferenceWarning"
)
DOC_DIR = Path(__file__).resolve().parents[1] / "doc"


def _package_modules():
    """Every module of the installed package (``__main__`` runs the demo: skip)."""
    names = [sklearn_hessian.__name__]
    for info in pkgutil.walk_packages(
        sklearn_hessian.__path__, prefix=sklearn_hessian.__name__ + "."
    ):
        if info.name.rsplit(".", 1)[-1] != "__main__":
            names.append(info.name)
    return [importlib.import_module(name) for name in sorted(names)]


def _docstring_tests():
    finder = doctest.DocTestFinder(exclude_empty=True)
    tests = {}
    for module in _package_modules():
        for test in finder.find(module):
            if test.examples:
                tests.setdefault(test.name, test)  # re-exports: once
    return [tests[name] for name in sorted(tests)]


DOCSTRING_TESTS = _docstring_tests()


def _run(test):
    runner = doctest.DocTestRunner(optionflags=OPTIONFLAGS)
    report = []
    runner.run(test, out=report.append)
    return runner.summarize(verbose=False), "".join(report)


def test_docstring_examples_are_found():
    # The package's own Examples sections, not only what a re-export brings in.
    assert any(t.name.endswith("HessianClassifier") for t in DOCSTRING_TESTS)
    assert any(t.name.endswith("coef_table") for t in DOCSTRING_TESTS)


@EXPECTED_WARNINGS
@pytest.mark.parametrize("test", DOCSTRING_TESTS, ids=[t.name for t in DOCSTRING_TESTS])
def test_docstring_examples(test):
    result, report = _run(test)
    assert result.failed == 0, report


# --------------------------------------------------------------------------------------
# The public API has examples
# --------------------------------------------------------------------------------------
def _public_objects():
    objects = {}
    for module in (sklearn_hessian, sklearn_hessian.inference):
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                objects[f"{obj.__module__}.{obj.__qualname__}"] = obj
    for obj in list(objects.values()):
        if not inspect.isclass(obj):
            continue
        for name, member in inspect.getmembers(obj):
            # Public methods written in this package (what is inherited from
            # scikit-learn, such as ``get_params``, is documented there).
            if (
                not name.startswith("_")
                and inspect.isfunction(member)
                and member.__module__.startswith("sklearn_hessian")
            ):
                objects[f"{obj.__module__}.{obj.__qualname__}.{name}"] = member
    return objects


PUBLIC = _public_objects()


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_public_object_has_examples(name):
    doc = inspect.getdoc(PUBLIC[name]) or ""
    lines = doc.splitlines()
    assert "Examples" in lines and lines[lines.index("Examples") + 1].startswith("---"), (
        f"{name} has no numpydoc Examples section"
    )
    examples = doc[doc.index("Examples\n--------"):]
    assert ">>>" in examples, f"{name}: its Examples section has no example"


# --------------------------------------------------------------------------------------
# The documentation pages
# --------------------------------------------------------------------------------------
DOC_PAGES = sorted(
    path for path in DOC_DIR.glob("*.md") if ">>>" in path.read_text(encoding="utf-8")
) if DOC_DIR.is_dir() else []


def test_doc_pages_are_found():
    if not DOC_DIR.is_dir():
        pytest.skip("no doc/ directory beside tests/ (not a source checkout)")
    assert any(path.name == "quick_start.md" for path in DOC_PAGES)


@EXPECTED_WARNINGS
@pytest.mark.parametrize("path", DOC_PAGES, ids=[p.name for p in DOC_PAGES])
def test_doc_page_examples(path):
    # Each page is one doctest: its snippets run in order, sharing their names,
    # as a reader would type them.
    text = path.read_text(encoding="utf-8")
    test = doctest.DocTestParser().get_doctest(text, {}, path.name, str(path), 0)
    result, report = _run(test)
    assert result.failed == 0, report
