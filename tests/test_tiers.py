"""What the suite's shortcuts stand on: a pull read once a session is the pull each test would read itself."""

from __future__ import annotations

import pandas as pd

import opptoolkit as ot
from opptoolkit.cli import main
from opptoolkit.sheets._base import read_base_texts


def test_the_session_pull_is_the_pull_of_a_fresh_sandbox(sb, pulled):
    fresh = ot.read_opportunities("Sandbox", endpoint_url=sb.endpoint_url, progress=False, reads_per_second=1000)
    pd.testing.assert_frame_equal(pulled, fresh)
    assert pulled.attrs == fresh.attrs


def test_the_session_workbook_is_the_pull_of_a_fresh_sandbox(sb, pulled_workbook, tmp_path):
    path = tmp_path / "fresh.xlsx"
    pull = ["pull", "--catalog", "Sandbox", "--endpoint-url", sb.endpoint_url, "--reads-per-second", "1000"]
    assert main([*pull, "--out", str(path), "--headers", "label"]) == 0
    pd.testing.assert_frame_equal(ot.read_sheet(pulled_workbook), ot.read_sheet(path))
    assert read_base_texts(pulled_workbook) == read_base_texts(path)


def test_every_slow_entry_names_a_test_that_exists():
    """A test renamed would leave the slow tier without a word: each entry of conftest's SLOW names a test."""
    import importlib
    import re
    from pathlib import Path

    from tests.conftest import SLOW

    here = Path(__file__).parent
    missing = []
    for entry in sorted(SLOW):
        file, name = entry.split("::")
        if file == "README.md":
            found = name == "README.md"
        elif name.startswith("opptoolkit."):  # a doctest: its object
            module, _, attr = name.rpartition(".")
            found = Path(importlib.import_module(module).__file__ or "").name == file and hasattr(
                importlib.import_module(module), attr
            )
        else:
            sources = [p.read_text(encoding="utf-8") for p in here.rglob(file)]
            found = any(re.search(rf"^def {re.escape(name)}\(", s, re.MULTILINE) for s in sources)
        if not found:
            missing.append(entry)
    assert missing == []
