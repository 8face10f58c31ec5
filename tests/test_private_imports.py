"""Nothing reaches into another package's private modules.

A private module is any dotted name with a component that starts with ``_`` (``_lake``, not
``__main__``); its *owner* is the package above that component (``heliograph.lake`` for
``heliograph.lake._lake``, ``heliograph.apps.energy`` for ``heliograph.apps.energy._train``).
Only the owner's own modules may import it; everyone else uses the names the owner's
``__init__`` re-exports. ``from heliograph.lake import _lake`` counts as importing the private
module, and ``from heliograph.lake import _helper`` as reaching for a private name.

Tests follow the same rule, with one allowance: the tests of a package (``tests/lake/**`` for
``heliograph.lake``, ``tests/apps/energy/**`` for ``heliograph.apps.energy``) may import that
package's private modules, to test what is not public. Benchmarks and the other tests may not.

import-linter cannot say "another package's" in one contract (a wildcard ``forbidden`` contract
would also forbid each ``__init__`` from importing its own modules), so the rule is this walk
over every module's ``import`` statements with ``ast``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"

# Each exception names the file, the private module it may import, and why.
EXCEPTIONS: set[tuple[str, str]] = set()


def _is_private(part: str) -> bool:
    return part.startswith("_") and not (part.startswith("__") and part.endswith("__"))


def _owner(module: str) -> str | None:
    """The package a private module belongs to, or None if ``module`` is public."""
    parts = module.split(".")
    for i, part in enumerate(parts):
        if _is_private(part):
            return ".".join(parts[:i])
    return None


def _within(importer: str, owner: str) -> bool:
    return importer == owner or importer.startswith(owner + ".")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported(tree: ast.Module, package: str) -> Iterator[tuple[int, str]]:
    """(line, dotted name) for every heliograph module or name a module imports."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}" if alias.name != "*" else module


def _violations(path: Path, importer: str, package: str, allowed: str | None) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for line, name in _imported(tree, package):
        if not (name == "heliograph" or name.startswith("heliograph.")):
            continue
        owner = _owner(name)
        if owner is None or _within(importer, owner):
            continue
        if allowed is not None and _within(allowed, owner):
            continue
        if any(
            (path.relative_to(REPO).as_posix(), module) in EXCEPTIONS and _within(name, module)
            for module in {m for _, m in EXCEPTIONS}
        ):
            continue
        found.append(f"{path.relative_to(REPO)}:{line}: {name} (private to {owner})")
    return found


def _library() -> Iterator[tuple[Path, str, str]]:
    for path in sorted((SRC / "heliograph").rglob("*.py")):
        name = _module_name(path)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        yield path, name, package


def _package_under_test(path: Path) -> str | None:
    """``heliograph.<pkg>`` for a test under ``tests/<pkg>/`` (deepest existing package)."""
    parts = path.relative_to(REPO / "tests").parts[:-1]
    for depth in range(len(parts), 0, -1):
        candidate = SRC / "heliograph" / Path(*parts[:depth])
        if (candidate / "__init__.py").exists():
            return ".".join(["heliograph", *parts[:depth]])
    return None


def _outside() -> Iterator[tuple[Path, str | None]]:
    for folder in ("tests", "benchmarks", "scripts", "docs"):
        for path in sorted((REPO / folder).rglob("*.py")):
            allowed = _package_under_test(path) if folder == "tests" else None
            yield path, allowed


def test_the_rule_sees_private_modules_and_their_owners() -> None:
    assert _owner("heliograph.lake._lake") == "heliograph.lake"
    assert _owner("heliograph.apps.energy._train.train_market") == "heliograph.apps.energy"
    assert _owner("heliograph.cli.__main__") is None
    assert _owner("heliograph.lake.Lake") is None
    tree = ast.parse("from ..core._errors import HelioError\nfrom . import _lake\n")
    assert list(_imported(tree, "heliograph.lake")) == [
        (1, "heliograph.core._errors.HelioError"),
        (2, "heliograph.lake._lake"),
    ]
    assert _package_under_test(REPO / "tests" / "apps" / "energy" / "test_x.py") == (
        "heliograph.apps.energy"
    )
    assert _package_under_test(REPO / "tests" / "test_x.py") is None


def test_the_library_imports_no_other_packages_private_modules() -> None:
    found = [v for path, name, pkg in _library() for v in _violations(path, name, pkg, None)]
    assert not found, "import the package's public name instead:\n" + "\n".join(found)


@pytest.mark.parametrize("folder", ["tests", "benchmarks", "scripts", "docs"])
def test_tests_and_benchmarks_import_only_their_own_packages_private_modules(
    folder: str,
) -> None:
    found = [
        v
        for path, allowed in _outside()
        if path.relative_to(REPO).parts[0] == folder
        for v in _violations(path, "", "", allowed)
    ]
    assert not found, "import the package's public name instead:\n" + "\n".join(found)
