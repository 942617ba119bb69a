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
