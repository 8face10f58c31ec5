"""Docstring examples either run or are plainly prose.

The rule: a ``>>>`` example is a doctest, and this test runs it. The modules below hold
self-contained examples (they need nothing but the module's own names) and every one of them is
run here, in a temporary folder. Anywhere else an example is illustrative (it names a project, a
frame, a trained model that a docstring cannot build) and is written as prose: ``Example::``
with an indented block and no ``>>>``, so nothing looks like a doctest that is never run. A
skipped doctest (``+SKIP``) counts as never run.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import warnings
from pathlib import Path

import pytest

import heliograph

DOCTESTED = [
    "heliograph.apps.energy._battery",
    "heliograph.apps.energy._catalogue",
    "heliograph.apps.energy._simulator",
    "heliograph.apps.recsys._rules",
    "heliograph.apps.recsys._simulator",
    "heliograph.checks._builtin",
    "heliograph.checks._check",
    "heliograph.checks._result",
    "heliograph.core._duck",
    "heliograph.core._logging",
    "heliograph.core._project",
    "heliograph.features",
    "heliograph.metrics",
    "heliograph.metrics._drift",
    "heliograph.metrics._forecast",
    "heliograph.metrics._point",
    "heliograph.metrics._probabilistic",
    "heliograph.metrics._ranking",
    "heliograph.reports",
    "heliograph.tracking",
    "heliograph.training",
]
# ``__main__`` modules are left out: importing one runs the program.
MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(heliograph.__path__, "heliograph.")
    if not m.name.endswith(".__main__")
)
_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _doctests(name: str) -> list[doctest.DocTest]:
    with warnings.catch_warnings():  # MLflow warns about type hints when a pyfunc is defined
        warnings.simplefilter("ignore")
        module = importlib.import_module(name)
    return [t for t in doctest.DocTestFinder().find(module, module=module) if t.examples]


def test_the_doctested_modules_exist_and_are_sorted() -> None:
    assert sorted(DOCTESTED) == DOCTESTED
    assert set(DOCTESTED) <= set(MODULES)


@pytest.mark.parametrize("name", DOCTESTED)
def test_a_docstring_example_runs(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # examples that make a project make it here
    tests = _doctests(name)
    assert tests, f"{name} has no doctest: take it off DOCTESTED"
    runner = doctest.DocTestRunner(optionflags=_FLAGS)
    report: list[str] = []
    for test in tests:
        for example in test.examples:
            assert not example.options.get(doctest.SKIP), (
                f"{test.name}: a skipped doctest is never run; write it as prose (Example::)"
            )
        runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)


@pytest.mark.parametrize("name", sorted(set(MODULES) - set(DOCTESTED)))
def test_any_other_example_is_prose(name: str) -> None:
    found = [t.name for t in _doctests(name)]
    assert not found, (
        f"{name}: {found} hold >>> examples that no test runs; make them self-contained and add "
        "the module to DOCTESTED, or write them as prose (Example:: and an indented block)"
    )
