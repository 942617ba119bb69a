"""Every notebook runs top to bottom against the embedded sandbox (nbclient), failing on any error."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import TEST_RATES

ROOT = Path(__file__).parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_the_four_notebooks_exist():
    assert {p.stem for p in NOTEBOOKS} >= {
        "quickstart",
        "bulk_update_from_spreadsheet",
        "edit_one_opportunity",
        "pipeline_report",
        "new_opportunities_from_spreadsheet",
        "leads_to_opportunities",
    }


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path, monkeypatch):
    # imported here: nbformat's jsonschema compiles a grammar on import, a few seconds of every collection
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.delenv("OPPTOOLKIT_ENDPOINT", raising=False)  # each notebook starts its own sandbox
    monkeypatch.setenv("OPPTOOLKIT_LEDGER", str(tmp_path / "ledger"))
    for name, value in TEST_RATES.items():  # its sandbox enforces, and its calls pace at, the fast sandbox's quotas
        monkeypatch.setenv(name, value)
    # the kernel imports the tree under test, not whichever copy the environment installed
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    nb = nbformat.read(path, as_version=4)
    shutil.copy(path, tmp_path / path.name)
    # execute() raises CellExecutionError at the first cell that fails, so what is left to check is
    # what a reader would see go wrong in cells that ran: a warning, a log line or a traceback on stderr.
    # the kernel is stopped at once when the last cell has run: what the test checks is in the outputs and the
    # files the cells wrote, and a graceful shutdown only waits for the kernel's interpreter to wind down
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}},
                   shutdown_kernel="immediate").execute()  # fmt: skip
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert [o["text"] for o in outputs if o.get("name") == "stderr"] == []
    if path.stem == "edit_one_opportunity":  # the form is displayed, not just built
        assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)
    if path.stem == "pipeline_report":
        assert (tmp_path / "report.html").stat().st_size > 10_000
    if path.stem in ("quickstart", "bulk_update_from_spreadsheet", "new_opportunities_from_spreadsheet"):
        assert (tmp_path / "ledger").exists()
    if path.stem == "aws_referrals":  # two accepted, one rejected, in the ledger
        import opptoolkit as ot

        log = ot.read_ledger(tmp_path / "ledger")
        done = log[log["status"] == "succeeded"]["operation"].value_counts().to_dict()
        assert done == {"StartEngagementByAcceptingInvitationTask": 2, "RejectEngagementInvitation": 1}
    if path.stem == "leads_to_opportunities":  # two leads accepted, qualified, converted, given a solution, submitted
        import opptoolkit as ot

        log = ot.read_ledger(tmp_path / "ledger")
        done = log[log["status"] == "succeeded"]["operation"].value_counts().to_dict()
        assert done == {
            "AcceptEngagementInvitation": 2,
            "UpdateEngagementContext": 2,
            "StartOpportunityFromEngagementTask": 2,
            "AssociateOpportunity": 2,
            "StartEngagementFromOpportunityTask": 2,
        }
