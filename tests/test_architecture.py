"""The README's architecture section is checked against the real import graph (grimp, import-linter's engine).

Every module of the package is listed there once, and each imports only modules listed above it, so the list is
the layer order a reader can trust.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import grimp

README = Path(__file__).parents[1] / "README.md"
PACKAGE = "opptoolkit"


def _listed() -> list[str]:
    """The package's modules in the order the README's Architecture section first names them."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Architecture\n", 1)[1].split("\n## ", 1)[0]
    names = re.findall(r"`([a-z_]+)(?:\.py|/)`", section)
    return list(dict.fromkeys(names))


def _declared_exceptions() -> set[tuple[str, str]]:
    """The imports the layer contracts ignore (``ignore_imports`` in pyproject.toml), as (importer, imported)."""
    config = tomllib.loads((README.parent / "pyproject.toml").read_text(encoding="utf-8"))
    pairs = set()
    for contract in config["tool"]["importlinter"]["contracts"]:
        for rule in contract.get("ignore_imports", []):
            a, b = (part.strip() for part in rule.split("->"))
            pairs.add((_top(a), _top(b)))
    return pairs


def _top(module: str) -> str:
    return module.split(".")[1]


def _imports() -> set[tuple[str, str]]:
    graph = grimp.build_graph(PACKAGE)
    edges = set()
    for importer in graph.modules:
        if importer == PACKAGE or not importer.startswith(PACKAGE + "."):
            continue
        for imported in graph.find_modules_directly_imported_by(importer):
            if imported.startswith(PACKAGE + ".") and _top(imported) != _top(importer):
                edges.add((_top(importer), _top(imported)))
    return edges


def _modules() -> set[str]:
    root = Path(__file__).parents[1] / PACKAGE
    found = {p.stem for p in root.glob("*.py")} | {p.parent.name for p in root.glob("*/__init__.py")}
    return found - {"__init__", "__main__"}


def test_every_module_is_listed_once_in_the_readme_architecture():
    listed = _listed()
    missing, extra = sorted(_modules() - set(listed)), sorted(set(listed) - _modules())
    assert not missing, f"add these modules to README's Architecture section, each with its job: {missing}"
    assert not extra, f"README's Architecture section names modules that do not exist: {extra}"


def test_each_module_imports_only_modules_listed_above_it():
    order = {name: i for i, name in enumerate(_listed())}
    edges = _imports() - _declared_exceptions()
    upward = sorted(f"{a} imports {b}" for a, b in edges if a in order and b in order and order[b] > order[a])
    assert not upward, f"README's Architecture section lists a module above what it imports: {upward}"
