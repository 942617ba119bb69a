"""The results workbook an analyst works from (issue 31, item 2).

Problems first, then what was done, then one line counting the unchanged rows (listed on their own sheet);
messages name the fields by the sheet's labels; the cell at fault is filled and carries the message; rows are
as tall as their wrapped message; times in words. Real boto3 client against the sandbox over HTTP; the workbook
edited in place with openpyxl and saved again by LibreOffice Calc, as an analyst's program would."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import opptoolkit as ot
from opptoolkit.sheets import RESULTS_SHEET
from opptoolkit.sheets._results import KEPT_NOTE, ORDER, UNCHANGED_SHEET, add_results_sheet, human_time

FAST = dict(reads_per_second=1000, writes_per_second=1000, progress=False)
TITLE, NEXT, AMOUNT = "Project.Title", "LifeCycle.NextSteps", "Project.ExpectedCustomerSpend[0].Amount"


@pytest.fixture
def pushed(sb, tmp_path, pulled_workbook):
    """A pulled workbook with four edits pushed: one lands, one is invalid, one conflicts, one is locked."""
    path = Path(shutil.copy(pulled_workbook, tmp_path / "pipeline.xlsx"))
    df = ot.read_sheet(path)
    pending = df.loc[df["LifeCycle.ReviewStatus"] == "Pending Submission", "Id"].tolist()
    good, bad, same = pending[:3]
    locked = df.loc[df["LifeCycle.ReviewStatus"] == "Submitted", "Id"].iloc[0]
    sb.edit("Sandbox", same, lambda r: r["LifeCycle"].update(NextSteps="Colleague's next step"))
    edits = {(good, TITLE): "Pushed", (bad, AMOUNT): "12,500", (same, NEXT): "Mine", (locked, TITLE): "Too late"}
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    cols = {ot.get_schema().path_for_label(str(c.value)): c.column for c in ws[1]}
    rows = {ws.cell(r, cols["Id"]).value: r for r in range(2, ws.max_row + 1)}
    for (ident, col), value in edits.items():
        ws.cell(rows[ident], cols[col]).value = value
    wb.save(path)
    result = ot.push_updates(path, "Sandbox", ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    ids = {"good": good, "bad": bad, "same": same, "locked": locked}
    assert result.set_index("Id").loc[list(ids.values()), "status"].tolist() == [
        "succeeded", "invalid", "conflict", "not_editable",
    ]  # fmt: skip
    return df, path, result, ids, rows, cols


def _table(ws) -> list[dict]:
    head = [c.value for c in ws[1]]
    out = []
    for r in ws.iter_rows(min_row=2, values_only=True):
        if r[1] is None:  # the line under the table
            break
        out.append(dict(zip(head, r, strict=True)))
    return out


def _read_me(book) -> list[str]:
    return [r[0] for r in book["Read me"].iter_rows(values_only=True) if r[0]]


def _check(book, df, ids, rows, cols, sb) -> None:
    res = book[RESULTS_SHEET]
    table = _table(res)
    statuses = [t["Status"] for t in table]
    # problems first (in the order a person fixes them), then what was done; no unchanged row among them
    assert statuses == ["invalid", "conflict", "not_editable", "succeeded"] == sorted(statuses, key=ORDER.index)
    line = next(r[3] for r in res.iter_rows(min_row=len(table) + 2, values_only=True) if r[3])
    unchanged = [r for r in book[UNCHANGED_SHEET].iter_rows(min_row=2, values_only=True) if r[1]]
    assert line == f"{len(df) - 4} rows unchanged: nothing to send (they are listed on the sheet '{UNCHANGED_SHEET}')."
    assert len(unchanged) + len(table) == len(df)  # nothing lost
    assert {r[1] for r in unchanged} | {t["Id"] for t in table} == set(df["Id"])
    assert book.sheetnames[:3] == ["Opportunities", RESULTS_SHEET, UNCHANGED_SHEET]
    assert res.page_setup.orientation == "landscape" and res.sheet_properties.pageSetUpPr.fitToPage
    by = {t["Id"]: t for t in table}
    # the messages name the fields by the sheet's labels, never by the API's path
    bad = by[ids["bad"]]["Message"]
    assert bad.startswith("Not sent: fix the cells") and "\nExpected spend 1 amount: " in bad and AMOUNT not in bad
    assert by[ids["bad"]]["Code"] == "INVALID_STRING_FORMAT"
    assert "\nNext steps: " in by[ids["same"]]["Message"] and NEXT not in by[ids["same"]]["Message"]
    locked = by[ids["locked"]]["Message"]  # a field the rule names is in words too, as the terminal says it
    assert "\nProject title: " in locked and "review status" in locked and "ReviewStatus" not in locked, locked
    assert by[ids["good"]]["Changed fields"] == "Project title"
    stored = sb.record("Sandbox", ids["good"])["LastModifiedDate"]
    assert by[ids["good"]]["Last modified"] == human_time(stored)
    assert re.fullmatch(r"\d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2} UTC", by[ids["good"]]["Last modified"])
    # a row as tall as its wrapped message; the row number leads to the row on the data sheet
    at = {t["Id"]: n for n, t in enumerate(table, start=2)}
    assert res.row_dimensions[at[ids["bad"]]].height >= 30 > res.row_dimensions[at[ids["good"]]].height
    link = res.cell(at[ids["bad"]], 1).hyperlink
    assert link is not None and link.location.replace("'", "") == f"Opportunities!A{rows[ids['bad']]}"
    # the cells at fault, on the data sheet: each filled, the message in its comment
    ws = book.worksheets[0]
    cell = ws.cell(rows[ids["bad"]], cols[AMOUNT])
    assert cell.comment is not None and "(INVALID_STRING_FORMAT)" in cell.comment.text
    conflict = ws.cell(rows[ids["same"]], cols[NEXT])
    assert conflict.comment is not None and "(CONFLICT)" in conflict.comment.text
    filled = {str(c) for rng in ws.conditional_formatting for c in rng.sqref.ranges}
    assert {cell.coordinate, conflict.coordinate} <= filled
    assert ws.cell(rows[ids["good"]], cols[TITLE]).comment is None
    rule = ws.cell(rows[ids["locked"]], cols[TITLE]).comment.text
    assert "review status" in rule and "ReviewStatus" not in rule, rule


def test_the_results_workbook_puts_problems_first_names_fields_by_label_and_marks_the_cells(sb, pushed):
    df, path, result, ids, rows, cols = pushed
    out = ot.write_results(result, path)
    book = openpyxl.load_workbook(out)
    _check(book, df, ids, rows, cols, sb)
    # its Read me pushes this very workbook back where its rows came from (the rows' catalog)
    assert "    opptoolkit push pipeline.results.xlsx --catalog Sandbox" in _read_me(book)
    where = _read_me(openpyxl.load_workbook(ot.write_results(result, path, endpoint_url=sb.endpoint_url)))
    assert f"    opptoolkit push pipeline.results.xlsx --catalog Sandbox --endpoint-url {sb.endpoint_url}" in where
    plan = ot.plan_updates(out, "Sandbox")  # still the edited sheet: what is pending plans again
    assert set(plan.loc[plan["action"] != "unchanged", "Id"]) == {ids["bad"], ids["same"], ids["locked"]}


def test_the_results_workbook_survives_a_libreoffice_save(sb, pushed, resave):
    df, path, result, ids, rows, cols = pushed
    again = resave(ot.write_results(result, path))
    _check(openpyxl.load_workbook(again), df, ids, rows, cols, sb)


def test_a_cell_whose_edit_aws_kept_is_marked_with_why(sb, tmp_path, pulled_workbook):
    path = Path(shutil.copy(pulled_workbook, tmp_path / "pipeline.xlsx"))
    df = ot.read_sheet(path)
    ident = df.loc[df["LifeCycle.ReviewStatus"] == "Approved", "Id"].iloc[0]
    edited = df.copy()
    at = edited.index[edited["Id"] == ident][0]
    edited.loc[at, TITLE] = "AWS keeps titles once Approved"
    edited.loc[at, NEXT] = "Lands"
    sheet = ot.write_sheet(edited, tmp_path / "edited.xlsx")
    result = ot.push_updates(sheet, "Sandbox", base=df, ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    row = result.set_index("Id").loc[ident]
    assert row["status"] == "succeeded" and list(row["kept_fields"]) == [TITLE]
    out = ot.write_results(result, sheet, base=df)
    ws = openpyxl.load_workbook(out).worksheets[0]
    labels = [c.value for c in ws[1]]
    n = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == ident)
    assert ws.cell(n, labels.index(ot.label_for(TITLE)) + 1).comment.text.startswith(KEPT_NOTE)
    assert ws.cell(n, labels.index(ot.label_for(NEXT)) + 1).comment is None


def test_a_dry_run_lists_what_would_be_sent_after_the_problems(sb, pushed, tmp_path):
    _, path, _, ids, _, _ = pushed
    plan = ot.plan_updates(path, "Sandbox", endpoint_url=sb.endpoint_url, progress=False)
    out = ot.write_results(plan, path, tmp_path / "dry.results.xlsx")
    table = _table(openpyxl.load_workbook(out)[RESULTS_SHEET])
    # planned against the export the workbook carries: the pushed edits would be sent, after the problems
    assert [t["Status"] for t in table] == ["invalid", "not_editable", "update", "update"]
    assert [t["Id"] for t in table][:2] == [ids["bad"], ids["locked"]]
    assert "Expected spend 1 amount: " in table[0]["Message"] and AMOUNT not in table[0]["Message"]


def test_the_rows_link_to_the_workbooks_own_data_sheet(tmp_path):
    """A leads workbook's results link to its "Leads" sheet, as a pipeline's to "Opportunities"."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    data = wb.create_sheet("Leads")
    data.append(["Id", "Decision"])
    data.append(["L1", "accept"])
    rows = pd.DataFrame([{"Row": 2, "Id": "L1", "Status": "failed", "Message": "Not sent.", "Changed fields": "",
                          "Code": "X", "Last modified": ""}])  # fmt: skip
    add_results_sheet(wb, rows, {"failed": [2]}, ["Id", "Decision"])
    wb.save(tmp_path / "leads.results.xlsx")
    book = openpyxl.load_workbook(tmp_path / "leads.results.xlsx")
    assert book.sheetnames == ["Leads", RESULTS_SHEET]
    assert book[RESULTS_SHEET].cell(2, 1).hyperlink.location == "'Leads'!A2"
