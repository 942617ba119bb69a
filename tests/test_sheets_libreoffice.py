"""A real spreadsheet program in the loop: LibreOffice Calc opens the exported workbook and saves
it again, as an analyst's Excel or Calc would; nothing may drift."""

from __future__ import annotations

import openpyxl

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


def test_to_excel_shows_times_in_utc_lists_on_lines_and_text_as_typed(tmp_path, resave):
    """What an analyst sees of ``ot.to_excel``: LibreOffice Calc opens it and prints each cell as shown."""
    import subprocess
    from decimal import Decimal

    import pandas as pd

    times = pd.to_datetime(["2026-01-31T09:30:00.000Z", "2026-07-01T23:15:00.250Z"])
    df = pd.DataFrame(
        {
            "Id": ["O1", "O2"],
            "LastModifiedDate": times,
            "Paris": times.tz_convert("Europe/Paris"),
            "PrimaryNeedsFromAws": [["Co-Sell - Architectural Validation", "Co-Sell - Pricing Assistance"], None],
            "Project.Title": ["=1+1", "Data lake"],
            "Amount": [Decimal("1200.50"), Decimal("99")],
            "Project.ExpectedCustomerSpend[0].Amount": ["1200.50", "99"],  # the API's text: a number to Excel
        }
    )
    out = ot.to_excel(df, tmp_path / "pipeline.xlsx")
    saved = resave(out)  # a real spreadsheet program opened it and kept it
    csv_dir = tmp_path / "shown"
    profile = tmp_path / "profile"
    subprocess.run(
        ["soffice", "--headless", "--norestore", f"-env:UserInstallation=file://{profile}", "--convert-to", "csv",
         "--outdir", str(csv_dir), str(saved)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    shown = pd.read_csv(csv_dir / "pipeline.csv", dtype=str, keep_default_na=False)
    assert shown.columns.tolist() == [
        "Id",
        "LastModifiedDate (UTC)",
        "Paris (Europe/Paris)",
        "PrimaryNeedsFromAws",
        "Project.Title",
        "Amount",
        "Project.ExpectedCustomerSpend[0].Amount",
    ]
    assert shown["LastModifiedDate (UTC)"].tolist() == ["2026-01-31 09:30:00", "2026-07-01 23:15:00"]
    assert shown["Paris (Europe/Paris)"].tolist() == ["2026-01-31 10:30:00", "2026-07-02 01:15:00"]
    assert shown["PrimaryNeedsFromAws"][0] == "Co-Sell - Architectural Validation\nCo-Sell - Pricing Assistance"
    assert shown["Project.Title"].tolist() == ["'=1+1", "Data lake"]  # never run as a formula
    assert shown["Amount"].tolist() == shown["Project.ExpectedCustomerSpend[0].Amount"].tolist() == ["1200.5", "99"]
    cells = openpyxl.load_workbook(saved).active
    assert [cells.cell(r, 7).value for r in (2, 3)] == [1200.5, 99]  # numbers: they add up
