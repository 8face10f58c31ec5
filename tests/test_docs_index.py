"""docs/index.md is drawn from the code: its layer diagram is the import-linter contract, and
its package layout names every module under src/heliograph and no other."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
INDEX = REPO / "docs" / "index.md"
SRC = REPO / "src" / "heliograph"


def _block_after(heading: str) -> list[str]:
    text = INDEX.read_text(encoding="utf-8")
    section = text[text.index(f"## {heading}\n") :]
    block = re.search(r"^```\n(.*?)^```", section, flags=re.S | re.M)
    assert block is not None, f"docs/index.md: no diagram under '## {heading}'"
    return block.group(1).splitlines()


def _drawn_layers() -> list[list[str]]:
    layers = []
    for line in _block_after("Layers"):
        if line.startswith(" "):
            continue  # the description goes on
        names = re.split(r"\s{2,}", line.strip(), maxsplit=1)[0]  # then the description
        layer = []
        for part in names.split("|"):
            name = part.strip()
            optional = name.startswith("(")
            name = name.strip("()")
            name = "heliograph" + name if name.startswith(".") else name
            layer.append(f"({name})" if optional else name)
        layers.append(sorted(layer))
    return layers


def _contract_layers() -> list[list[str]]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    (contract,) = [c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    assert contract["containers"] == ["heliograph"] and contract["exhaustive"] is True
    layers = []
    for line in contract["layers"]:
        layer = []
        for part in line.split("|"):
            name = part.strip()
            optional = name.startswith("(")
            full = "heliograph." + name.strip("()")
            layer.append(f"({full})" if optional else full)
        layers.append(sorted(layer))
    return layers


def test_the_layer_diagram_is_the_contract() -> None:
    assert _drawn_layers() == _contract_layers()


def _drawn_layout() -> dict[str, set[str]]:
    layout: dict[str, set[str]] = {}
    package = None
    for line in _block_after("Package layout")[1:]:  # after "src/heliograph/"
        start = re.match(r"^  ([\w/]+)/\s", line)
        if start:
            package = start.group(1)
            layout[package] = set()
        assert package is not None, line
        layout[package] |= set(re.findall(r"(?<!\w)(_[a-z]\w*\.py)\b", line))
    return layout


def _source_layout() -> dict[str, set[str]]:
    layout = {}
    for init in sorted(SRC.rglob("__init__.py")):
        folder = init.parent
        modules = {p.name for p in folder.glob("_*.py")} - {"__init__.py", "__main__.py"}
        if modules:
            layout[folder.relative_to(SRC).as_posix()] = modules
    return layout


def test_the_package_layout_names_every_module_of_the_source() -> None:
    drawn, source = _drawn_layout(), _source_layout()
    assert sorted(drawn) == sorted(source), "docs/index.md's package layout lists other packages"
    for package, modules in source.items():
        assert drawn[package] == modules, (
            f"docs/index.md, {package}/: missing {sorted(modules - drawn[package])}, "
            f"not in the source {sorted(drawn[package] - modules)}"
        )
