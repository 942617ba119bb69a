"""A real spreadsheet program in the loop: LibreOffice Calc opens the exported workbook and saves
it again, as an analyst's Excel or Calc would; nothing may drift."""

from __future__ import annotations

import opptoolkit as ot


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
