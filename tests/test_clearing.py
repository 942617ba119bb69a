"""Clearing is never silent (issue #31, item 3): a cell emptied where the export had a value is named, with the way to
clear it for real; leaving Closed Lost with its reason emptied says exactly what to do."""

from __future__ import annotations

import shutil

import pytest
from openpyxl import load_workbook

import opptoolkit as ot
from opptoolkit.cli import main
from opptoolkit.plan import KEPT_BLANK
from opptoolkit.sandbox import SEED_DAY

WEBSITE, STAGE, REASON = "Customer.Account.WebsiteUrl", "LifeCycle.Stage", "LifeCycle.ClosedLostReason"


def _row(df, **where):
    ok = df["LifeCycle.ReviewStatus"].isin(["Pending Submission", "Approved"]) & df[WEBSITE].notna()
    for col, value in where.items():
        ok &= df[col] == value
    return df.index[ok][0]


def test_an_emptied_cell_is_named_with_the_way_to_clear_it(pulled):
    edited = pulled.copy()
    at = _row(pulled)
    edited.loc[at, WEBSITE] = ""
    plan = ot.plan_updates(edited, "Sandbox", base=pulled)
    row = plan.iloc[at]
    assert row["action"] == "unchanged"
    assert row["warnings"] == [f"{WEBSITE}: ACTION_NOT_PERMITTED: {KEPT_BLANK}"]
    assert "--blank clear" in KEPT_BLANK
    assert (plan["warnings"].map(len) > 0).sum() == 1  # no other row says anything
    cleared = ot.plan_updates(edited, "Sandbox", base=pulled, blank="clear").iloc[at]
    assert cleared["changed_fields"] == [WEBSITE] and cleared["warnings"] == []


def test_leaving_closed_lost_with_the_reason_emptied_says_what_to_do(pulled):
    edited = pulled.copy()
    at = _row(pulled, **{STAGE: "Closed Lost", "LifeCycle.ReviewStatus": "Pending Submission"})
    edited.loc[at, [STAGE, REASON]] = ["Qualified", ""]
    row = ot.plan_updates(edited, "Sandbox", base=pulled, today=SEED_DAY).iloc[at]
    assert row["action"] == "invalid"
    assert any(e.startswith(f"{REASON}: INVALID_VALUE") for e in row["errors"]), row["errors"]
    assert f"{REASON}: ACTION_NOT_PERMITTED: {KEPT_BLANK}" in row["warnings"]
    cleared = ot.plan_updates(edited, "Sandbox", base=pulled, blank="clear", today=SEED_DAY).iloc[at]
    assert cleared["action"] == "update", cleared["errors"]
    assert set(cleared["changed_fields"]) >= {STAGE, REASON}


@pytest.mark.parametrize("how", ["workbook", "cli"])
def test_a_dry_run_of_a_workbook_names_the_emptied_cell(pulled_workbook, tmp_path, capsys, how):
    path = shutil.copy(pulled_workbook, tmp_path / "pipeline.xlsx")
    wb = load_workbook(path)
    ws = wb.worksheets[0]
    head = {c.value: c.column for c in ws[1]}
    label = ot.label_for(WEBSITE)
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, head[label]).value)
    ws.cell(row, head[label]).value = None
    wb.save(path)
    if how == "workbook":
        plan = ot.plan_updates(path, "Sandbox")
        said = plan.loc[plan["row"] == str(row), "warnings"].iloc[0]
        assert said == [f"{WEBSITE}: ACTION_NOT_PERMITTED: {KEPT_BLANK}"]
        return
    assert main(["push", str(path), "--catalog", "Sandbox", "--endpoint-url", "http://127.0.0.1:9", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"  row {row} " in out and "--blank clear" in out and "unchanged" in out
