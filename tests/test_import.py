"""The cost of ``import opptoolkit``: the notebook and chart libraries load only when used."""

from __future__ import annotations

import subprocess
import sys
import textwrap
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


# What only some steps need: pandas (and numpy, pyarrow under it), Excel files, charts, the notebook form. The
# package imports each public name's module on first use, and the command each subcommand's, so neither a bare
# ``import opptoolkit`` nor the command's help and usage errors wait for these.
HEAVY = {"pandas", "numpy", "pyarrow", "openpyxl", "matplotlib", "ipywidgets", "IPython"}


def test_import_loads_no_heavy_library() -> None:
    loaded = _modules_after("import opptoolkit")
    assert HEAVY & loaded == set()
    assert "botocore" not in loaded  # the schema too is read when first asked for


def test_cli_help_of_every_command_and_a_usage_error_load_no_heavy_library() -> None:
    """``opptoolkit --help``, each subcommand's ``--help`` (the subcommands as the help lists them), ``--version``
    and a usage error, all in one interpreter."""
    code = textwrap.dedent(
        r"""
        import contextlib, io, re
        from opptoolkit.cli import main

        def run(*argv):
            out = io.StringIO()
            with contextlib.suppress(SystemExit), contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
                main(list(argv))
            return out.getvalue()

        commands = re.search(r"\{([a-z,]+)\}", run("--help")).group(1).split(",")
        assert len(commands) > 5 and "pull" in commands, commands
        for command in commands:
            assert "usage:" in run(command, "--help"), command
        run("--version")
        run("pull", "--catalog", "Sandbox")  # --out missing: a usage error
        """
    )
    assert HEAVY & _modules_after(code) == set()


def _public_homes() -> dict[str, str]:
    """Each public name's module, as the package's ``TYPE_CHECKING`` imports (what mypy sees) name it."""
    import ast

    tree = ast.parse((ROOT / "opptoolkit" / "__init__.py").read_text(encoding="utf-8"))
    block = next(n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING")
    homes = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom) and node.level == 1, ast.unparse(node)
        for alias in node.names:
            homes[alias.name] = f"opptoolkit.{node.module or alias.name}"
    return homes


def test_every_public_name_is_its_home_modules_object() -> None:
    """``from opptoolkit import X`` and ``opptoolkit.X`` give the object the module it lives in defines, and the
    names the type checker sees are the names there are."""
    import importlib

    import opptoolkit

    homes = _public_homes()
    assert sorted([*homes, "__version__"]) == sorted(opptoolkit.__all__)
    for name, home in homes.items():
        module = importlib.import_module(home)
        expected = module if home == f"opptoolkit.{name}" else getattr(module, name)
        assert getattr(opptoolkit, name) is expected, name
        namespace: dict[str, object] = {}
        exec(f"from opptoolkit import {name}", namespace)
        assert namespace[name] is expected, name
    assert set(opptoolkit.__all__) <= set(dir(opptoolkit))


def test_star_import_and_help_give_every_public_name() -> None:
    import pydoc

    import opptoolkit

    namespace: dict[str, object] = {}
    exec("from opptoolkit import *", namespace)
    assert set(opptoolkit.__all__) <= set(namespace)
    text = pydoc.render_doc(opptoolkit, renderer=pydoc.plaintext)
    assert "read_opportunities(" in text and "class OpportunityForm" in text


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
