"""Amounts are compared by value: ``60000`` is ``60000.00`` (issue #31's workbook re-saved without its hidden sheet).

The pipeline workbook remembers each amount's text in a very hidden sheet ("opptoolkit cells"), so a number cell
reads back as the API's text. A program that drops that sheet on save leaves the number alone: ``60000`` where the
export held ``60000.00``. That is no edit (the model's amount fields, :attr:`opptoolkit.schema.Field.is_amount`,
hold a decimal number as text); a real change still is one, and sends the analyst's text.

A real boto3 client against the sandbox over HTTP.
"""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from openpyxl import load_workbook

import opptoolkit as ot
from opptoolkit.plan import changes, unchanged_cells
from opptoolkit.schema import get_schema

FAST = dict(reads_per_second=1000, writes_per_second=1000, progress=False)
SPEND = "Project.ExpectedCustomerSpend[0].Amount"
NEXT = "LifeCycle.NextSteps"


@pytest.fixture
def without_cells(pulled_workbook, tmp_path):
    """The pulled workbook saved by a program that drops the very hidden sheet of the cells' texts."""
    path = shutil.copy(pulled_workbook, tmp_path / "pipeline.xlsx")
    wb = load_workbook(path)
    del wb["opptoolkit cells"]
    wb.save(path)
    return path


def test_a_workbook_without_its_cells_sheet_plans_no_change(pulled, without_cells):
    read = ot.read_sheet(without_cells)
    assert "60000" in set(read[SPEND]) and "60000.00" in set(pulled[SPEND])  # the texts differ ...
    for base in ({"base": pulled}, {}):  # ... against a base given, and the one the workbook carries
        plan = ot.plan_updates(without_cells, "Sandbox", **base)
        assert (plan["action"] == "unchanged").all(), plan.loc[plan["action"] != "unchanged", "changes"].head(3)


@pytest.mark.parametrize("same", ["60000", "60000.0", "60000.00", 60000, 60000.0])
def test_an_amount_is_compared_by_value(same):
    schema = get_schema()
    base = {"Id": "O1", SPEND: "60000.00"}
    assert changes({"Id": "O1", SPEND: same}, base, schema, "keep") == {}
    assert changes({"Id": "O1", SPEND: "60000.01"}, base, schema, "keep") == {SPEND: ("60000.00", "60000.01")}
    # text the model refuses is never the same number: it is a change, which validation then names
    assert SPEND in changes({"Id": "O1", SPEND: "60,000"}, base, schema, "keep")
    # the column-wise pass clears it as well, and still keeps a real change
    edit = pd.DataFrame({"Id": ["O1", "O2"], SPEND: pd.Series([same, "60000.01"], dtype=object)})
    frame = pd.DataFrame({"Id": ["O1", "O2"], SPEND: ["60000.00", "60000.00"]})
    columns, cells = unchanged_cells(edit, frame, schema, "keep")
    assert columns == [SPEND] and cells.tolist() == [[True, False]]


def test_a_push_sends_a_changed_amount_as_typed_and_nothing_for_an_equal_one(sb, pulled, without_cells, tmp_path):
    wb = load_workbook(without_cells)
    ws = wb.worksheets[0]
    head = {c.value: c.column for c in ws[1]}
    rows = {ws.cell(r, head["Id"]).value: r for r in range(2, ws.max_row + 1)}
    ok = (pulled["LifeCycle.ReviewStatus"] == "Pending Submission") & (pulled[SPEND] == "60000.00")
    changed, other = pulled.loc[ok, "Id"].tolist()[:2]
    ws.cell(rows[changed], head[ot.label_for(SPEND)]).value = 60000.01  # a number cell, as a spreadsheet types it
    ws.cell(rows[other], head[ot.label_for(NEXT)]).value = "Book the briefing"  # its amount reads 60000: no edit
    wb.save(without_cells)
    result = ot.push_updates(without_cells, "Sandbox", ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    by_id = result.set_index("Id")
    assert by_id.loc[changed, "status"] == "succeeded" and list(by_id.loc[changed, "changed_fields"]) == [SPEND]
    assert by_id.loc[other, "status"] == "succeeded" and list(by_id.loc[other, "changed_fields"]) == [NEXT]
    assert set(result.loc[result["status"] != "unchanged", "Id"]) == {changed, other}
    assert sb.record("Sandbox", changed)["Project"]["ExpectedCustomerSpend"][0]["Amount"] == "60000.01"
    assert sb.record("Sandbox", other)["Project"]["ExpectedCustomerSpend"][0]["Amount"] == "60000.00"  # as it was
