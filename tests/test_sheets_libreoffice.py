"""A real spreadsheet program in the loop: LibreOffice Calc opens the exported workbook and saves
it again, as an analyst's Excel or Calc would; nothing may drift."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

import opptoolkit as ot

SOFFICE = shutil.which("soffice")


@pytest.fixture(scope="module")
def resave(tmp_path_factory):
    if SOFFICE is None:
        if os.environ.get("CI") == "true":
            pytest.fail("LibreOffice is missing in CI: `make test` should have installed it")
        pytest.skip("no LibreOffice (apt-get install libreoffice-calc-nogui)")
    profile = tmp_path_factory.mktemp("lo-profile")

    def run(path):
        out = path.parent / "resaved"
        subprocess.run([SOFFICE, "--headless", "--norestore", f"-env:UserInstallation=file://{profile}",
                        "--convert-to", "xlsx", "--outdir", str(out), str(path)],
                       check=True, capture_output=True, timeout=300)  # fmt: skip
        return out / path.name

    return run


def test_a_workbook_saved_again_by_libreoffice_plans_no_change(resave, tmp_path, frame):
    """Everything survives except what spreadsheet programs do to every cell on save (CR LF
    becomes LF), which the plan does not count as an edit."""
    frame = frame[frame["Catalog"] == "Sandbox"].reset_index(drop=True)  # one catalog per push
    path = ot.write_sheet(frame, tmp_path / "pipeline.xlsx", headers="label")
    back = ot.read_sheet(resave(path))
    assert back.attrs["sheet_warnings"] == []
    assert len(back) == len(frame) and list(back["Id"]) == list(frame["Id"])
    plan = ot.plan_updates(back, "Sandbox", base=frame, blank="clear")
    assert set(plan["action"]) == {"unchanged"}, plan.loc[plan["action"] != "unchanged", ["Id", "changes"]].head()
    # and the edits an analyst makes there come through
    back.loc[0, "Project.Title"] = "=edited in Calc"
    back.loc[1, "Customer.Account.Address.PostalCode"] = "00501"
    path2 = ot.write_sheet(back, tmp_path / "edited.xlsx")
    again = ot.read_sheet(resave(path2))
    assert again.loc[0, "Project.Title"] == "=edited in Calc"
    assert again.loc[1, "Customer.Account.Address.PostalCode"] == "00501"
