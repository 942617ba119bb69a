"""The README's architecture section is checked against the real import graph (grimp, import-linter's engine).

Every module of the package is listed there once, and each imports only modules listed above it, so the list is
the layer order a reader can trust.
"""

from __future__ import annotations

import ast
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


# Package-internal imports inside a function, by (module, function): each one deferred on purpose, with why.
# A new one fails the test below until it moves to the top of its module or is listed here with its reason.
# The command imports at its top what `opptoolkit --help` and a usage error need anyway (the schema, botocore, the
# connection); each subcommand imports the modules that bring pandas (and pyarrow, openpyxl) when it runs, so that
# those start at once (tests/test_import.py holds `--help` to it).
_PANDAS = "brings pandas, which `opptoolkit --help` and a usage error never wait for"
DEFERRED_IMPORTS: dict[tuple[str, str], str] = {
    ("opptoolkit.cli", "_one_of.parse"): "rules " + _PANDAS + "; a --stage or --status is checked when given",
    ("opptoolkit.cli", "_demo"): "the demo runs every step: " + _PANDAS,
    ("opptoolkit.cli", "_kind"): "a workbook's kind, by the sheet names of the modules that write it: " + _PANDAS,
    ("opptoolkit.cli", "_sandbox"): "the sandbox server " + _PANDAS,
    **{
        ("opptoolkit.cli", command): "the subcommand's flow " + _PANDAS
        for command in (
            "_pull",
            "_template",
            "_solutions",
            "_sync",
            "_confirmed",
            "_referrals",
            "_leads",
            "_push_leads",
            "_lead_results",
            "_snapshots",
            "_push_triage",
            "_push",
            "_submit",
            "_results",
            "_report",
        )
    },
}


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> list[str]:
    """The modules a ``from ... import`` names, made absolute (``from . import x`` names the module ``x``)."""
    if not node.level:
        return [node.module or ""]
    parts = module.split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (node.level - 1)]
    if node.module:
        return [".".join([*base, node.module])]
    return [".".join([*base, alias.name]) for alias in node.names]


def _deferred_imports(source: str, module: str, is_package: bool = False) -> set[tuple[str, str, str]]:
    """The package-internal imports inside functions of one module's source: (module, function, imported)."""
    found = set()

    def walk(node: ast.AST, scope: list[str], in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                inner = in_function or not isinstance(child, ast.ClassDef)
                walk(child, [*scope, child.name], inner)
                continue
            if in_function and isinstance(child, ast.Import | ast.ImportFrom):
                names = (
                    [alias.name for alias in child.names]
                    if isinstance(child, ast.Import)
                    else _resolve(module, is_package, child)
                )
                for name in names:
                    if name == PACKAGE or name.startswith(PACKAGE + "."):
                        found.add((module, ".".join(scope), name))
            walk(child, scope, in_function)

    walk(ast.parse(source), [], False)
    return found


def _package_deferred_imports() -> set[tuple[str, str, str]]:
    root = Path(__file__).parents[1] / PACKAGE
    found = set()
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        module = ".".join(parts[:-1] if is_package else parts)
        found |= _deferred_imports(path.read_text(encoding="utf-8"), module, is_package)
    return found


def test_the_deferred_imports_are_found_by_function_and_made_absolute():
    source = (
        "from .schema import get_schema\n"
        "def f():\n    from .rules import x\n    import json\n"
        "class C:\n    def m(self):\n        from ..connection import get_client\n"
        "        def inner():\n            from . import fields\n"
    )
    assert _deferred_imports(source, "opptoolkit.sandbox._seed") == {
        ("opptoolkit.sandbox._seed", "f", "opptoolkit.sandbox.rules"),
        ("opptoolkit.sandbox._seed", "C.m", "opptoolkit.connection"),
        ("opptoolkit.sandbox._seed", "C.m.inner", "opptoolkit.sandbox.fields"),
    }
    assert _deferred_imports("def f():\n    from ..schema import x\n", "opptoolkit.sandbox", is_package=True) == {
        ("opptoolkit.sandbox", "f", "opptoolkit.schema")
    }


def test_a_package_internal_import_inside_a_function_is_deferred_on_purpose():
    found = _package_deferred_imports()
    new = sorted(f"{m} {f}() imports {i}" for m, f, i in found if not {(m, f), (m, "*")} & DEFERRED_IMPORTS.keys())
    assert not new, f"import these at the top of their module, or list them in DEFERRED_IMPORTS with why: {new}"
    stale = sorted(key for key in DEFERRED_IMPORTS if not any(key[0] == m and key[1] in (f, "*") for m, f, _ in found))
    assert not stale, f"DEFERRED_IMPORTS lists imports that are no longer inside a function: {stale}"
