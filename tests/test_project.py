"""The project's promises about itself: the README's commands, public names, no side effects."""

from __future__ import annotations

import ast
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
PACKAGES = sorted(
    ".".join(init.parent.relative_to(SRC).parts) for init in SRC.glob("heliograph/**/__init__.py")
)
# Every module file; ``__main__`` runs the CLI when imported, so it is the one left out.
MODULES = sorted(path for path in SRC.glob("heliograph/**/*.py") if path.name != "__main__.py")
HEAVY = ("mlflow", "great_expectations", "matplotlib", "lightgbm", "implicit")


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def isort_order(names: list[str]) -> list[str]:
    """Ruff's (RUF022) order: CONSTANTS, then Classes, then functions, each alphabetical."""
    return sorted(names, key=lambda n: (0 if n.isupper() else 1 if n[:1].isupper() else 2, n))


def literal_all(path: Path) -> list[str]:
    """The module's ``__all__`` as written: it must be a literal list of strings."""
    for node in ast.parse(path.read_text()).body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        if isinstance(target, ast.Name) and target.id == "__all__":
            value = node.value  # type: ignore[attr-defined]
            assert isinstance(value, ast.List) and all(
                isinstance(item, ast.Constant) and isinstance(item.value, str)
                for item in value.elts
            ), f"{module_name(path)}.__all__ is not a literal list of names"
            return [item.value for item in value.elts]
    raise AssertionError(f"{module_name(path)} has no __all__")


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    block = text.split("## Set up", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    return [line.split("#")[0].strip() for line in block.strip().splitlines()]


def test_readme_setup_is_two_commands_and_ci_runs_the_test_one() -> None:
    assert readme_commands() == ["./scripts/quickstart", "./scripts/test"]
    ci = (REPO / ".ci" / "run").read_text()
    assert "scripts/test" in ci.split("exec", 1)[1]


@pytest.mark.slow
@pytest.mark.serial  # it reinstalls heliograph into this environment: no other test may run
def test_quickstart_installs_and_runs_the_main_job(tmp_path: Path) -> None:
    """The README's first command, as written (in this environment, into a fresh project)."""
    env = {
        **os.environ,
        "HELIO_VENV": sys.prefix,
        "HELIO_DEMO": str(tmp_path / "demo"),
        "HELIO_PROGRESS": "0",
    }
    for _ in (1, 2):  # the second run finds the project and continues it
        done = subprocess.run(
            [str(REPO / "scripts" / "quickstart")],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert re.search(r"snapshot energy_prices@[0-9a-f]{12}: [\d,]+ rows", done.stdout)
        assert "Traceback" not in done.stderr
    assert (tmp_path / "demo" / ".helio" / "lake" / "energy_prices").is_dir()
    assert list((tmp_path / "demo" / ".helio" / "reports" / "data").glob("*/*.html"))


def test_every_package_is_discovered() -> None:
    assert {"heliograph", "heliograph.core", "heliograph.apps.energy"} <= set(PACKAGES)
    assert len(MODULES) > len(PACKAGES) > 10


@pytest.mark.parametrize("path", MODULES, ids=module_name)
def test_every_module_has_a_literal_sorted_all(path: Path) -> None:
    names = literal_all(path)
    assert names == isort_order(names), f"{module_name(path)}.__all__ is not sorted"
    assert len(names) == len(set(names)), f"{module_name(path)}.__all__ repeats a name"


@pytest.mark.filterwarnings("ignore:.*type hint:UserWarning")  # MLflow on a PythonModel
@pytest.mark.parametrize("name", PACKAGES)
def test_public_names_are_complete(name: str) -> None:
    """A package re-exports its private modules' names, and every name it exports exists."""
    module = importlib.import_module(name)
    exported = module.__all__
    folder = Path(module.__file__).parent  # type: ignore[arg-type]
    assert exported == literal_all(folder / "__init__.py")
    lazy = getattr(module, "LAZY", ())
    for submodule in folder.glob("_*.py"):
        if submodule.name in ("__init__.py", "__main__.py") or submodule.stem in lazy:
            continue  # a module the package imports lazily, on purpose (e.g. it needs MLflow)
        private = importlib.import_module(f"{name}.{submodule.stem}")
        missing = set(private.__all__) - set(exported)
        assert not missing, f"{name} does not re-export {sorted(missing)} of {submodule.stem}"
    absent = [n for n in exported if not hasattr(module, n)]
    assert not absent, f"{name}.__all__ names what it does not hold: {absent}"


def test_importing_has_no_side_effects(tmp_path: Path) -> None:
    """Importing every package makes no folder or database and imports nothing heavy."""
    home = tmp_path / "home"
    home.mkdir()
    code = (
        "import importlib, sys\n"
        f"for name in {PACKAGES!r}:\n"
        "    importlib.import_module(name)\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**os.environ, "HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", f"heavy modules imported at import time: {done.stdout}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]
    assert list(home.iterdir()) == []


def drawn_exception_tree() -> dict[str, str | None]:
    """The tree in ``core/_errors.py``'s docstring: each class name and its parent's."""
    import sys

    import heliograph.core  # noqa: F401  (loads heliograph.core._errors)

    errors = sys.modules["heliograph.core._errors"]  # its docstring draws the tree
    drawing = (errors.__doc__ or "").split("```", 2)[1]
    tree: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []  # (indent, name) of the open branches
    for line in drawing.strip("\n").splitlines():
        indent = len(line) - len(line.lstrip())
        name = line.strip().lstrip("x+-· ").split()[0]
        while stack and stack[-1][0] >= indent:
            stack.pop()
        assert name not in tree, f"{name} is drawn twice"
        tree[name] = stack[-1][1] if stack else None
        stack.append((indent, name))
    return tree


def exception_classes() -> list[type[BaseException]]:
    """Every exception class defined in heliograph, found by importing every module."""
    for path in MODULES:
        importlib.import_module(module_name(path))
    found: list[type[BaseException]] = []
    todo: list[type[BaseException]] = [BaseException]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            todo.append(sub)
            if sub.__module__.split(".")[0] == "heliograph" and sub not in found:
                found.append(sub)
    return found


@pytest.mark.filterwarnings("ignore:.*type hint:UserWarning")  # MLflow on a PythonModel
def test_the_drawn_exception_tree_is_the_real_one() -> None:
    from heliograph.core import HelioError

    classes = exception_classes()
    outside = [
        f"{c.__module__}.{c.__qualname__}"
        for c in classes
        if not issubclass(c, HelioError) and not c.__name__.startswith("_")
    ]
    assert not outside, f"exceptions users can meet must be HelioErrors: {outside}"
    real = {
        c.__name__: (None if c is HelioError else c.__bases__[0].__name__)
        for c in classes
        if issubclass(c, HelioError)
    }
    assert drawn_exception_tree() == real
