"""The cost of ``import opptoolkit``: the notebook and chart libraries load only when used."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _modules_after(code: str) -> set[str]:
    """The top-level modules loaded in a fresh interpreter after running ``code``."""
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            f"{code}\nimport sys\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(out.split())


def test_import_loads_no_notebook_or_chart_library() -> None:
    loaded = _modules_after("import opptoolkit")
    assert {"ipywidgets", "IPython", "matplotlib"} & loaded == set()


def test_cli_help_loads_no_notebook_or_chart_library() -> None:
    loaded = _modules_after(
        "import contextlib, io, sys\nsys.argv = ['opptoolkit', '--help']\nfrom opptoolkit.cli import main\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n    main()"
    )
    assert {"ipywidgets", "IPython", "matplotlib"} & loaded == set()


def test_form_names_resolve_on_first_use() -> None:
    loaded = _modules_after(
        "import opptoolkit\nassert callable(opptoolkit.edit_opportunity)\nopptoolkit.OpportunityForm"
    )
    assert "ipywidgets" in loaded


def test_unknown_attribute_is_an_attribute_error() -> None:
    import opptoolkit

    with pytest.raises(AttributeError, match="no_such_name"):
        opptoolkit.no_such_name  # noqa: B018


def test_version_is_written_once_in_pyproject() -> None:
    import importlib.metadata
    import tomllib

    import opptoolkit

    with open(ROOT / "pyproject.toml", "rb") as f:
        written = tomllib.load(f)["project"]["version"]
    assert opptoolkit.__version__ == importlib.metadata.version("opptoolkit") == written


def test_no_module_imports_another_modules_private_name() -> None:
    """A concept two modules need lives in a module of its own (``_values``, ``_gc``, ...), never
    borrowed as another module's ``_name``; private modules themselves are imported by name."""
    import ast

    offences = []
    for path in sorted((ROOT / "opptoolkit").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.ImportFrom) and node.level):
                continue
            package = path.parent
            for _ in range(node.level - 1):
                package = package.parent
            target = package.joinpath(*(node.module or "").split(".")) if node.module else package
            for a in node.names:
                is_module = (target / f"{a.name}.py").exists() or (target / a.name).is_dir()
                if a.name.startswith("_") and a.name != "__version__" and not is_module:
                    offences.append(f"{path.name}: from {'.' * node.level}{node.module or ''} import {a.name}")
    assert offences == []
